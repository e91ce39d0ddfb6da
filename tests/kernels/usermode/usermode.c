/* usermode.c: a native user program at CPL 3: iret into it, system calls by
 * int $0x80 and sysenter, and its faults and privileged instructions delivered to
 * this kernel through the IDT with the CPU's frames (user SS:ESP, error codes). */
#include "desc.h"

static u8 user_stack[4096] __attribute__((aligned(16)));
static u8 sysenter_stack[4096] __attribute__((aligned(16)));
void sysenter_entry(void);

static void hook(struct frame *f)
{
	if ((f->cs & 3) != 3) {
		printf("kernel trap %u err %x\n", f->vector, f->err);
		exit(0x7e);
	}
	if (f->uss != UDATA || f->uesp < (u32)user_stack || f->uesp > (u32)user_stack + sizeof user_stack)
		printf("bad user stack in frame: %x:%x\n", f->uss, f->uesp);
	if (f->vector == 0x80) {
		switch (f->eax) {
		case 1: puts((const char *)f->ebx); break;
		case 2: printf("%x\n", f->ebx); break;
		case 3: printf("user exit\n"); exit(0);
		}
		return;
	}
	static u32 last_eip;
	if (f->eip == last_eip) {
		printf("the same fault twice: stop\n");
		exit(0x7d);
	}
	last_eip = f->eip;
	printf(": vector %u err %x at user+%x, IF %u\n", f->vector, f->err, f->eip - USER_BASE,
	       (f->eflags >> 9) & 1);
	f->eip = f->edi;                  /* resume after the faulting instruction */
}

/* sysenter lands here (CPL 0, IF 0) on the MSR stack; sysexit returns. */
void sysenter_c(u32 eax)
{
	u32 cs, ss;
	asm volatile("movl %%cs, %0; movl %%ss, %1" : "=r"(cs), "=r"(ss));
	printf("(sysenter: cs %x ss %x eax %x) ", cs, ss, eax);
}
asm(".text\n"
    "sysenter_entry:\n\t"
    "pushl %ecx\n\tpushl %edx\n\tpushl %eax\n\t"
    "call sysenter_c\n\t"
    "popl %eax\n\tpopl %edx\n\tpopl %ecx\n\t"
    "addl $1, %eax\n\t"
    "sysexit");

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	set_gdt(11, 0, 0xfffff, 0x12, 3);          /* 0x5b: DPL 3 data, not present */
	set_gdt(12, 0, 0xfffff, 0x12, 3);          /* 0x63: likewise */
	set_gdt(13, 0, 0xfff, 0x92, 3);            /* 0x6b: DPL 3 data, 16 MiB */
	set_gate(3, 0xe, 3);
	set_gate(4, 0xe, 3);
	wrmsr(0x174, KCODE);
	wrmsr(0x175, (u32)sysenter_stack + sizeof sysenter_stack);
	wrmsr(0x176, (u32)sysenter_entry);
	load_user();
	printf("entering user mode\n");
	enter_user(USER_BASE, (u32)user_stack + sizeof user_stack);
}
