/* opbench.c: what one emulated operation costs, in TSC cycles per operation.
 * Built like the test kernels (tests/kernels/Makefile); bench/ops.py runs it under
 * lvm (call and trap mode) and QEMU and converts cycles to ns. */
#include "desc.h"

extern u8 user_image[], user_image_end[];
static u8 user_stack[4096] __attribute__((aligned(16)));

#define N_FAST 200000
#define N_SLOW 20000

static inline unsigned long long rdtsc(void)
{
	unsigned int lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (unsigned long long)hi << 32 | lo;
}

static void report(const char *name, unsigned long long cycles, u32 n)
{
	printf("op %s %u\n", name, (u32)(cycles / n));
}

static void hook(struct frame *f)
{
	if (f->vector != 0x80) {
		printf("unexpected vector %u\n", f->vector);
		exit(0x7f);
	}
	if (f->eax == 1)                        /* report: ebx cycles per call */
		report("user-int80-roundtrip", f->ebx, 1);
	if (f->eax == 2) {
		report("user-int-bare-iret", f->ebx, 1);
		printf("done\n");
		exit(0);
	}
}

void bare_iret(void);
asm(".text\nbare_iret:\n\tiret");

static void set_bare_gate(int v, int dpl)
{
	set_gate(v, 0xe, dpl);
	set_gate_handler(v, (u32)bare_iret);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	set_bare_gate(0x81, 3);                 /* handler: a lone iret */
	outb(0x21, 0xff);                       /* no interrupts during measurements */
	outb(0xa1, 0xff);

	unsigned long long t0 = rdtsc();
	for (int i = 0; i < N_FAST; i++)
		asm volatile("" ::: "memory");
	report("empty-loop", rdtsc() - t0, N_FAST);

	t0 = rdtsc();
	for (int i = 0; i < N_FAST; i++)
		asm volatile("cli; sti" ::: "memory");
	report("cli+sti", rdtsc() - t0, N_FAST);
	asm volatile("cli");

	t0 = rdtsc();
	for (int i = 0; i < N_FAST; i++)
		asm volatile("pushfl; popfl" ::: "memory", "cc");
	report("pushf+popf", rdtsc() - t0, N_FAST);

	t0 = rdtsc();
	for (int i = 0; i < N_SLOW; i++)
		asm volatile("outb %%al, $0x80" : : "a"(0) : "memory");
	report("out-port-0x80", rdtsc() - t0, N_SLOW);

	t0 = rdtsc();
	for (int i = 0; i < N_SLOW; i++)
		asm volatile("pushfl; pushl %%cs; pushl $1f; iret; 1:" ::: "memory");
	report("iret-same-level", rdtsc() - t0, N_SLOW);

	u8 *dst = (u8 *)USER_BASE;
	for (u8 *p = user_image; p < user_image_end; p++)
		*dst++ = *p;
	enter_user(USER_BASE, (u32)user_stack + sizeof user_stack);
}
