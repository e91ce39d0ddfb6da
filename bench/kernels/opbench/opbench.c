/* opbench.c: what one emulated operation costs, in TSC cycles per operation.
 * Built like the test kernels (tests/kernels/Makefile); bench/ops.py runs it under
 * lvm (call and trap mode) and QEMU and converts cycles to ns. */
#include "desc.h"

static u8 user_stack[4096] __attribute__((aligned(16)));

#define N_FAST 200000
#define N_SLOW 20000

void bare_iret(void);
asm(".text\nbare_iret:\n\tiret");

static void hook(struct frame *f)
{
	switch (f->eax) {
	case 0:
		return;                          /* a null system call */
	case 1:                                  /* eax 1..3: reports, see user.S */
		report_cycles("user-int80-roundtrip", f->ebx, 1);
		set_gate_handler(0x80, (u32)bare_iret);
		return;
	case 2:
		report_cycles("user-int80-bare-iret", f->ebx, 1);
		set_gate_handler(0x81, (u32)bare_iret);
		return;
	case 3:
		report_cycles("user-int-gp-bare-iret", f->ebx, 1);
		printf("done\n");
		exit(0);
	}
	printf("unexpected vector %u eax %x\n", f->vector, f->eax);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	set_gate(0x81, 0xe, 3);
	set_gate(0x82, 0xe, 3);
	outb(0x21, 0xff);                       /* no interrupts during measurements */
	outb(0xa1, 0xff);

	unsigned long long t0 = rdtsc();
	for (int i = 0; i < N_FAST; i++)
		asm volatile("" ::: "memory");
	report_cycles("empty-loop", rdtsc() - t0, N_FAST);

	t0 = rdtsc();
	for (int i = 0; i < N_FAST; i++)
		asm volatile("cli; sti" ::: "memory");
	report_cycles("cli+sti", rdtsc() - t0, N_FAST);
	asm volatile("cli");

	t0 = rdtsc();
	for (int i = 0; i < N_FAST; i++)
		asm volatile("pushfl; popfl" ::: "memory", "cc");
	report_cycles("pushf+popf", rdtsc() - t0, N_FAST);

	t0 = rdtsc();
	for (int i = 0; i < N_SLOW; i++)
		asm volatile("outb %%al, $0x80" : : "a"(0) : "memory");
	report_cycles("out-port-0x80", rdtsc() - t0, N_SLOW);

	t0 = rdtsc();
	for (int i = 0; i < N_SLOW; i++)
		asm volatile("pushfl; pushl %%cs; pushl $1f; iret; 1:" ::: "memory");
	report_cycles("iret-same-level", rdtsc() - t0, N_SLOW);

	load_user();
	enter_user(USER_BASE, (u32)user_stack + sizeof user_stack);
}
