/* segbase.c: data segments with a non-zero base and a limit, in FS and GS (per-CPU
 * data in the kernel, TLS in user mode): accesses go through the base, and a user
 * program reads its TLS through %gs natively. */
#include "desc.h"

static u8 user_stack[4096] __attribute__((aligned(16)));
static u32 tls[4] = { 0x7715, 0x7716, 0, 0 };
static volatile u32 resume_at;

#define AREA 0x200000

static void hook(struct frame *f)
{
	if (f->vector == 0x80) {
		if (f->eax == 1) {
			printf("user read %%gs:0 = %x, %%gs:4 = %x\n", f->ebx, f->ecx);
			return;
		}
		printf("done\n");
		exit(0);
	}
	printf("vector %u err %x from cpl %u\n", f->vector, f->err, f->cs & 3);
	if ((f->cs & 3) == 3)
		f->eip = f->edi;                   /* the user program put its resume point there */
	else
		f->eip = resume_at;
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	set_gdt(7, AREA, 0xfff, 0x92, 0);          /* 0x38: 4 KiB at AREA */
	set_gdt(8, AREA + 0x100, 0xff, 0x92, 0);   /* 0x40: 256 bytes at AREA + 0x100 */
	set_gdt(9, (u32)tls, sizeof tls - 1, 0x92, 3);   /* 0x4b: user TLS */

	volatile u32 *area = (u32 *)AREA;
	area[4] = 0xdeadbeef;
	area[0x44] = 0x0badf00d;                   /* AREA + 0x110 */
	u32 a, b;
	asm volatile("movl $0x38, %%eax; movl %%eax, %%fs; movl %%fs:0x10, %0\n\t"
		     "movl $0x40, %%eax; movl %%eax, %%gs; movl %%gs:0x10, %1"
		     : "=r"(a), "=r"(b) : : "eax");
	printf("fs:0x10 = %x, gs:0x10 = %x\n", a, b);
	asm volatile("movl $0x12345678, %%fs:0x20" ::: "memory");
	printf("written through fs: %x\n", area[8]);
	asm volatile("movl %%fs, %0" : "=r"(a));
	printf("fs selector %x\n", a);

	/* A stack segment with a base (Linux's espfix stack): pushes and pops native,
	 * a rewritten instruction (push %ds: a vCPU-page read; inb: the monitor's entry
	 * through a far call onto that stack; cli: a vCPU-page write), then back. */
	set_gdt(10, AREA + 0x800, 0xfffff, 0x92, 0);   /* 0x50: 4 GiB from AREA + 0x800 */
	u32 popped, ds_pushed, ss_now, flat_esp;
	asm volatile("movl %%esp, %%esi\n\t"
		     "movl %%ss, %%edi\n\t"
		     "leal -(0x200000 + 0x800)(%%esp), %%eax\n\t"  /* the same bytes, through 0x50 */
		     "pushl $0x50\n\t"
		     "pushl %%eax\n\t"
		     "lss (%%esp), %%esp\n\t"         /* as Linux switches to espfix */
		     "movl %%esp, %3\n\t"
		     "pushl $0x5eed\n\t"
		     "pushl %%ds\n\t"
		     "inb $0x80, %%al\n\t"
		     "cli\n\t"
		     "popl %1\n\t"
		     "popl %0\n\t"
		     "movl %%ss, %2\n\t"
		     "movl %%edi, %%ss\n\t"
		     "movl %%esi, %%esp\n\t"
		     : "=r"(popped), "=r"(ds_pushed), "=r"(ss_now), "=m"(flat_esp)
		     : : "eax", "esi", "edi", "memory");
	(void)flat_esp;
	printf("based ss %x: popped %x, pushed ds %x\n", ss_now, popped, ds_pushed);

	/* Limit violations are not in this differential test: QEMU's TCG does not
	 * check data segment limits or null FS/GS uses (the CPU does). */

	asm volatile("movl $0x4b, %%eax; movl %%eax, %%gs" ::: "eax");
	load_user();
	enter_user(USER_BASE, (u32)user_stack + sizeof user_stack);
}
