/* irqbench.c: interrupt delivery latency, timer expiry to the guest's handler, in
 * TSC cycles.  The local APIC timer (divide by 1: one count per ns of the 1 GHz bus)
 * is armed one-shot for 100 us; the handler reads the TSC.  The printed cycles are
 * the whole interval; bench/irq.py subtracts the 100 us with the host's TSC rate.
 * Two cases: the guest halted (HLT: the host process sleeps) and the guest busy in
 * a loop.  Median of 201 samples each. */
#include "desc.h"

#define LAPIC 0xfee00000u
#define R(off) (*(volatile u32 *)(LAPIC + (off)))
#define N 201

static volatile unsigned long long fired;

static void hook(struct frame *f)
{
	if (f->vector == 0x40) {
		fired = rdtsc();
		R(0xb0) = 0;                              /* EOI */
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

static u32 median(u32 *v)
{
	for (int i = 1; i < N; i++)                       /* insertion sort: N is small */
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u32 t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
		}
	return v[N / 2];
}

static u32 sample(int halt)
{
	fired = 0;
	asm volatile("cli");
	unsigned long long t0 = rdtsc();
	R(0x380) = 100000;                                /* TMICT: 100 us */
	if (halt) {
		while (!fired)
			asm volatile("sti; hlt; cli");
	} else {
		asm volatile("sti");
		while (!fired)
			;
		asm volatile("cli");
	}
	return (u32)(fired - t0);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	outb(0x21, 0xff);
	outb(0xa1, 0xff);                                 /* the 8259A masked */
	R(0xf0) = 0x1ff;                                  /* SVR: enabled */
	R(0x3e0) = 0xb;                                   /* divide by 1 */
	R(0x320) = 0x40;                                  /* LVT timer: one-shot, vector 0x40 */
	static u32 v[N];
	for (int i = 0; i < N; i++)
		v[i] = sample(1);
	printf("op timer-100us-halted %u\n", median(v));
	for (int i = 0; i < N; i++)
		v[i] = sample(0);
	printf("op timer-100us-busy %u\n", median(v));
	exit(0);
}
