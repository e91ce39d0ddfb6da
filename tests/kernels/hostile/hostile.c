/* hostile.c: guest code attacking lvm's own state, one case per command line word
 * (tests/test_hardening.py).  Under paging, with the kernel above its user part as
 * Linux has it, the user program reloads segment registers with the host's flat
 * selectors 0x2b/0x23 (the limits lvm cuts user segments at do not bound them)
 * and goes for what a user program must never reach:
 *   user-cpl      writes cpl = 0 and vif = 0 on the vCPU page, then runs `out`,
 *                 `mov %cr0`, `cli`, `hlt`: each must still be the #GP of CPL 3
 *   user-peek     reads the vCPU page: no control or debug register but CR0, no
 *                 register saved at the last monitor entry may show
 *   user-vif      writes vif = 0, then spins: the timer must still interrupt it
 *   user-kernel   reads and writes the kernel's half through DS/SS = 0x2b: #PF
 *   user-stub     far-calls lvm's entry stub (0x33:0xffffe000) with a forged frame
 *                 asking for an `out`: emulated at CPL 3, so #GP
 * and, at CPL 0, the kernel itself:
 *   kernel-scribble  overwrites the whole vCPU page (with a far pointer where the
 *                 monitor's entry used to be), then goes on: port I/O, control
 *                 registers, interrupts, paging must work as before
 *   user-spin     prints "spinning", then loops in user mode for ever (tests kill
 *                 lvm from outside)
 *   user-far64    far-jumps to the host's 64-bit code selector 0x33, where nothing
 *                 is mapped: a guest error report (status 4), not a crash of the
 *                 monitor (that user code can run 64-bit code at all is the
 *                 in-process modes' documented limit: README, Security model)
 * QEMU has no vCPU page, so these are lvm's own assertions (user-kernel is also
 * part of the userlimit kernel's differential test). */
#include "desc.h"
#include "split.h"
#include "lvm/vcpu.h"

#define VCPU_FIELD(f) (LVM_VCPU_ADDR + __builtin_offsetof(struct lvm_vcpu, f))

static volatile u32 ticks;
static int quiet_faults;                    /* user-vif: faults there are a race, not news */

/* What user.S finds at USER_BASE + 4: the case and the vCPU page's addresses. */
struct params { u32 which, cpl, vif, saved, cr3, dr7, sel_cs; };

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
		if (ticks == 3) {
			printf("3 timer interrupts in user mode, last at cpl %u\n", f->cs & 3);
			printf("done\n");
			exit(0);
		}
		return;
	}
	if (f->vector == 0x80) {
		switch (f->eax) {
		case 1:
			printf("user read %x\n", f->ebx);
			return;
		case 2:
			printf("done\n");
			exit(0);
		}
		printf("unexpected system call %u\n", f->eax);
		exit(0x7d);
	}
	if (f->vector == 14 || f->vector == 13) {
		if (quiet_faults)
			;
		else if (f->vector == 13)
			printf("#GP err %x at cpl %u\n", f->err, f->cs & 3);
		else
			printf("#PF cr2 %x err %x at cpl %u\n", cr2, f->err, f->cs & 3);
		f->eip = f->edi;                  /* where the user program resumes */
		f->uesp = f->ebp;
		return;
	}
	printf("unexpected vector %u err %x eip %x\n", f->vector, f->err, f->eip);
	exit(0x7f);
}

static u32 pd;

static void paging(void)
{
	pd = paging_split();
	*(volatile u32 *)0xc0000000 = 0xc0c0;        /* the kernel uses its half */
}

static void user(u32 which)
{
	load_user();
	struct params *p = (struct params *)(USER_BASE + 4);
	*p = (struct params){ which, VCPU_FIELD(cpl), VCPU_FIELD(vif), VCPU_FIELD(saved),
			      VCPU_FIELD(cr[3]), VCPU_FIELD(dr[7]), VCPU_FIELD(sel[LVM_CS]) };
	paging();
	if (which == 3) {                            /* user-vif: the PIT at 100 Hz */
		quiet_faults = 1;
		pic_init(0xfe, 0xff);
		outb(0x43, 0x34);
		outb(0x40, 11932 & 0xff);
		outb(0x40, 11932 >> 8);
	}
	printf("entering user mode\n");
	enter_user(USER_BASE, 0x41f000);
}

static void scribble(void)
{
	paging();
	u32 before = get_cr0();
	volatile u32 *page = (u32 *)LVM_VCPU_ADDR;
	for (u32 i = 0; i < 64; i++)
		page[i] = 0xffffffffu;
	/* Where ABI 1 kept the far pointer to the monitor's entry: 0x33 and a jump
	 * into the kernel, which would run as 64-bit code. */
	page[27] = 0x100000;
	page[28] = 0x33;
	outb(0x80, 1);                                /* enters the monitor */
	printf("after the scribble: cr0 %s, cr3 %s\n", get_cr0() == before ? "kept" : "lost",
	       ({ u32 v; asm volatile("movl %%cr3, %0" : "=r"(v)); v; }) == pd ? "kept" : "lost");
	asm volatile("cli; sti");
	asm volatile("movl %0, %%cr3" : : "r"(pd) : "memory");
	printf("kernel half after a CR3 load: %x\n", *(volatile u32 *)0xc0000000);
	asm volatile("int $0x80" : : "a"(1), "b"(0x5c));
	for (u32 i = 0; i < 64; i++)
		page[i] = 0;
	asm volatile("int $0x80" : : "a"(1), "b"(0x5d));
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	const char *cmd = cmdline_last_word(magic, mbi);
	printf("case %s\n", cmd);
	static const char *const cases[] = { "", "user-cpl", "user-peek", "user-vif", "user-kernel",
					     "user-stub", "user-far64", "user-spin" };
	for (u32 i = 1; i < sizeof cases / sizeof cases[0]; i++)
		if (streq(cmd, cases[i]))
			user(i);
	if (streq(cmd, "kernel-scribble")) {
		scribble();
	} else {
		printf("unknown case\n");
		exit(0x7e);
	}
	printf("done\n");
	exit(0);
}
