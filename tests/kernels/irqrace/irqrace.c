/* irqrace.c: timer interrupts that arrive while the monitor works on the guest's
 * behalf (issue 15: irqbench in trap mode spun for ever, one run in eight under
 * load).  The local APIC timer is armed one-shot for 20 us with interrupts off;
 * its host signal comes some 10-40 us later (the host's timer latency).  The kernel
 * spins with interrupts off for a delay, then enables them and runs an instruction
 * lvm emulates (trap mode: sti and out both trap; call mode: the out enters the
 * monitor), and aims the delay so that the signal lands while the monitor emulates
 * that out: where the interrupt is taken says whether it came too early (at the
 * out: during sti) or too late (after it, in the loop), and each sample moves the
 * delay by 100 ns towards the boundary, where the host's jitter spreads the
 * arrivals over the whole emulation, before, during and after its last look at
 * the timers.  Then:
 *
 *   busy:   the kernel spins on a variable, entering the monitor no more.  The
 *           interrupt must come: after 3 ms it is counted lost, and one more
 *           monitor entry (an out) must collect it.
 *   halted: with delays spread around the same boundary, `sti; hlt`, the idiom of
 *           every idle loop.  The interrupt must wake the HLT: the handler's return
 *           address is the one after the hlt (STI's shadow), never the hlt or code
 *           before it, from where the CPU would go back to sleep.  A PIT tick every
 *           10 ms (IRQ 0) wakes a HLT that missed its interrupt.
 *
 * It prints the counts, which tests/test_irq.py wants to be 0, and how many busy
 * samples the monitor took at the out ("aimed"), which it wants not to be few. */
#include "desc.h"

#define LAPIC 0xfee00000u
#define R(off) (*(volatile u32 *)(LAPIC + (off)))
#define N 2000

static volatile u32 fired, fired_eip, ticks;
static u32 tsc_per_us;
static u32 delay = 20000;                   /* ns from arming to sti, aimed */

extern char at_out[], after_out[], after_hlt[];

/* The two instruction sequences, with labels where the CPU returns to. */
__attribute__((noinline)) static void sti_out(void)
{
	asm volatile("sti\n\t.globl at_out\nat_out:\n\toutb %%al, $0x80\n\t"
		     ".globl after_out\nafter_out:" : : "a"(0) : "memory");
}

__attribute__((noinline)) static void sti_hlt(void)
{
	asm volatile("sti; hlt\n\t.globl after_hlt\nafter_hlt:\n\tcli" ::: "memory");
}

static void hook(struct frame *f)
{
	if (f->vector == 0x40) {
		fired = 1;
		fired_eip = f->eip;
		R(0xb0) = 0;                              /* EOI */
		return;
	}
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

/* Arm the one-shot with interrupts off, then wait `ns`. */
static void arm(u32 ns)
{
	fired = 0;
	asm volatile("cli");
	unsigned long long t0 = rdtsc(), end = t0 + (unsigned long long)tsc_per_us * ns / 1000;
	R(0x380) = 20000;                                 /* TMICT: 20 us */
	while (rdtsc() < end)
		;
}

/* Interrupts on: spin, entering the monitor no more, until the handler ran; lost
 * (1) if it did not within 3 ms.  Then one monitor entry (an out) must bring it. */
static u32 wait_spinning(void)
{
	unsigned long long t1 = rdtsc(), limit = (unsigned long long)tsc_per_us * 3000;
	while (!fired && rdtsc() - t1 < limit)
		;
	u32 lost = !fired;
	if (lost) {
		outb(0x80, 0);
		t1 = rdtsc();
		while (!fired && rdtsc() - t1 < 100 * limit)
			;
		if (!fired) {
			printf("busy: the interrupt never came\n");
			exit(0x7e);
		}
	}
	asm volatile("cli");
	return lost;
}

static u32 aimed;

static u32 busy(void)
{
	arm(delay);
	sti_out();
	u32 lost = wait_spinning();
	if (fired_eip == (u32)at_out) {                   /* it came before: spin less */
		if (delay > 100)
			delay -= 100;
	} else if (fired_eip == (u32)after_out) {
		aimed++;
	} else {                                          /* it came after: spin more */
		delay += 100;
	}
	return lost;
}

/* `sti; hlt` until the handler ran; 1 if it was not entered from the HLT. */
static u32 halted(u32 ns)
{
	arm(ns);
	u32 t = ticks;
	while (!fired && ticks - t < 100)                 /* a second of PIT ticks */
		sti_hlt();
	if (!fired) {
		printf("halted: the interrupt never came\n");
		exit(0x7e);
	}
	return fired_eip != (u32)after_hlt;
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	pic_init(0xff, 0xff);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);           /* counter 2: 10 ms, for the TSC rate */
	outb(0x43, 0xb0);
	outb(0x42, 11932 & 0xff);
	outb(0x42, 11932 >> 8);
	unsigned long long c0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	tsc_per_us = (u32)((rdtsc() - c0) / 10000);
	outb(0x43, 0x34);                                 /* counter 0: IRQ 0 every 10 ms */
	outb(0x40, 11932 & 0xff);
	outb(0x40, 11932 >> 8);
	R(0xf0) = 0x1ff;                                  /* SVR: enabled */
	R(0x3e0) = 0xb;                                   /* divide by 1 */
	R(0x320) = 0x40;                                  /* LVT timer: one-shot, vector 0x40 */
	u32 lost = 0, early = 0;
	for (u32 i = 0; i < N; i++)
		lost += busy();
	printf("busy: %u samples, %u interrupts lost\n", N, lost);
	outb(0x21, 0xfe);                                 /* the PIT's watchdog ticks */
	u32 around = delay > 8000 ? delay - 8000 : 0;
	for (u32 i = 0; i < N; i++)                       /* 0..12 us from 8 us before */
		early += halted(around + i * 37 % 120 * 100);
	asm volatile("cli");
	printf("halted: %u samples, %u taken before the hlt\n", N, early);
	printf("aimed: %s\n", aimed >= N / 50 ? "yes" : "no");
	exit(0);
}
