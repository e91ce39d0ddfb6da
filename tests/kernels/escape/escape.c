/* escape.c: guest code trying to leave the guest (tests/test_escape.py): reach the
 * host's system calls, or lvm's own memory, from user code and from kernel code.
 * The command line's last word is WHO.HOW[.ADDR]: WHO `user` runs the attack in
 * the user program, `kernel` calls the same function of user.S at CPL 0.  HOW:
 *   ljmp lcall iret lret  to the host's 64-bit selector 0x33, then 64-bit
 *                  `syscall`s: write(1, "ESCAPED"), mkdir("lvm-escaped"), execve of
 *                  /bin/sh -c "mkdir lvm-shell; echo SHELL", exit(42)
 *   int80 sysenter the host's i386 numbers (mkdir 39, write 4, execve 11, exit 1)
 *                  through the 32-bit entries: these are the guest's own entries
 *   sels           each host selector (0x23, 0x2b, 0x33, 0x7b) in DS, then a read
 *                  and a write of the kernel's half
 *   read.A write.A jump.A  64-bit code reads a byte at A (hex), writes it back, or
 *                  jumps there with a forged request for lvm's stub in registers
 *   spin           loops for ever (the tests read the process's maps meanwhile, or
 *                  kill it); the kernel's, with interrupts off
 * The kernel prints what reaches it: guest system calls, faults, and "back in
 * 32-bit code" with the probe's result (0x1XX: the byte XX was read). */
#include "desc.h"
#include "split.h"

#define RESULT 0x1001
#define DONE 0x1002


struct params { u32 which, probe; u32 addr[2]; u32 result; };
#define PARAMS ((volatile struct params *)(USER_BASE + 4))
#define TABLE ((volatile u32 *)(USER_BASE + 0x20))

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 0x80) {
		if (f->eax == RESULT) {
			printf("back in 32-bit code: %x\n", f->ebx);
		} else if (f->eax == DONE) {
			printf("done\n");
			exit(0);
		} else {
			printf("guest system call %u at cpl %u\n", f->eax, f->cs & 3);
			f->eax = -38;                 /* ENOSYS */
		}
		return;
	}
	if (f->vector == 14 || f->vector == 13 || f->vector == 6) {
		if (f->vector == 14)
			printf("#PF cr2 %x err %x at cpl %u\n", cr2, f->err, f->cs & 3);
		else if (f->vector == 13)
			printf("#GP err %x at cpl %u\n", f->err, f->cs & 3);
		else
			printf("#UD at cpl %u\n", f->cs & 3);
		f->eip = f->edi;                  /* where the attack resumes */
		if (f->cs & 3)
			f->uesp = f->ebp;
		return;
	}
	printf("unexpected vector %u err %x eip %x\n", f->vector, f->err, f->eip);
	exit(0x7f);
}


static u32 hex(const char *s)
{
	u32 v = 0;
	for (; *s && *s != '.'; s++)
		v = v << 4 | (u32)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
	return v;
}

/* "A" as 64 bits: up to 16 hex digits. */
static void parse_addr(const char *s, u32 addr[2])
{
	u32 n = 0;
	while (s[n])
		n++;
	addr[1] = 0;
	if (n > 8) {                                 /* the high part: all but 8 digits */
		char hi[9] = { 0 };
		for (u32 i = 0; i < n - 8; i++)
			hi[i] = s[i];
		addr[1] = hex(hi);
		s += n - 8;
	}
	addr[0] = hex(s);
}

static const char *after(const char *s, const char *prefix)
{
	while (*prefix && *s == *prefix)
		s++, prefix++;
	return *prefix ? 0 : s;
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	const char *cmd = cmdline_last_word(magic, mbi);
	printf("case %s\n", cmd);
	static const char *const hows[] = { "", "ljmp", "lcall", "iret", "lret", "int80", "sysenter",
					    "sels", "probe", "spin" };
	static const char *const probes[] = { "", "read.", "write.", "jump." };
	const char *how = after(cmd, "user.");
	int in_user = how != 0;
	if (!how)
		how = after(cmd, "kernel.");
	u32 which = 0, probe = 0, addr[2] = { 0, 0 };
	for (u32 i = 1; how && i < sizeof probes / sizeof probes[0]; i++)
		if (after(how, probes[i])) {
			parse_addr(after(how, probes[i]), addr);
			which = 8, probe = i;
		}
	for (u32 i = 1; how && !which && i < sizeof hows / sizeof hows[0]; i++)
		if (streq(how, hows[i]))
			which = i;
	if (!which) {
		printf("unknown case\n");
		exit(0x7e);
	}
	load_user();
	PARAMS->which = which, PARAMS->probe = probe;
	PARAMS->addr[0] = addr[0], PARAMS->addr[1] = addr[1];
	PARAMS->result = 0;
	paging_split();
	if (in_user) {
		printf("entering user mode\n");
		enter_user(USER_BASE, 0x41f000);
	}
	u32 fn = TABLE[which];
	asm volatile("cli");                         /* kernel.spin: a loop with interrupts off */
	asm volatile("pushl %%ebp; call *%0; popl %%ebp" : : "r"(fn) : "eax", "ebx", "ecx", "edx", "esi",
		     "edi", "memory");
	printf("back in the kernel: %x\n", PARAMS->result);
	printf("done\n");
	exit(0);
}
