/* interrupts.c: the timer (host time drives it: print facts, never counts that
 * depend on how fast the emulator runs)  through the 8259A: HLT waits, IF from cli/sti/pushf/popf
 * and iret decides when a pending interrupt is taken, nested interrupts, and the
 * PIT counters as Linux reads them (latch, counter 2 gated by port 0x61). */
#include "desc.h"

static volatile u32 ticks, depth, max_depth, nest_wait;
static volatile u32 spurious;

static void eoi(void) { outb(0x20, 0x20); }

static void hook(struct frame *f)
{
	if (f->vector == 0x20) {
		ticks++;
		depth++;
		if (depth > max_depth)
			max_depth = depth;
		eoi();
		if (nest_wait) {                      /* take the next tick inside this one */
			nest_wait = 0;
			u32 t = ticks;
			asm volatile("sti");
			while (ticks == t)
				asm volatile("hlt");
			asm volatile("cli");
		}
		depth--;
		return;
	}
	if (f->vector == 0x27) {
		spurious++;
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

static void pit_periodic(u16 count)
{
	outb(0x43, 0x34);                          /* counter 0, LSB/MSB, mode 2 */
	outb(0x40, count & 0xff);
	outb(0x40, count >> 8);
}

static u16 pit_read0(void)
{
	outb(0x43, 0x00);                          /* latch counter 0 */
	u8 lo = inb(0x40), hi = inb(0x40);
	return lo | hi << 8;
}

/* Busy-wait (IF=0) until the PIT has counted at least `n` periods of `count`. */
static void spin_periods(int n, u16 count)
{
	for (int i = 0; i < n; i++) {
		u16 prev = pit_read0(), now;
		for (;;) {
			now = pit_read0();
			if (now > prev)                    /* wrapped: one period */
				break;
			prev = now;
		}
	}
	(void)count;
}

/* Wait (IF=0) until IRQ 0 is requested: the PIC's IRR, read with OCW3. */
static void wait_irr(void)
{
	outb(0x20, 0x0a);
	while (!(inb(0x20) & 1))
		;
}

/* A few instructions with IF=1: enough for any emulator to look at its interrupt
 * line (QEMU only does at translation-block boundaries). */
static void window(void)
{
	for (volatile int i = 0; i < 50; i++)
		;
}

static u32 flags(void)
{
	u32 f;
	asm volatile("pushfl; popl %0" : "=r"(f));
	return f;
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	pic_init(0xfe, 0xff);        /* only IRQ 0 */
	pit_periodic(1193);                        /* 1 kHz */

	asm volatile("sti");
	while (ticks < 10)
		asm volatile("hlt");
	asm volatile("cli");
	printf("hlt woke up for %u ticks\n", ticks >= 10 ? 10 : ticks);

	u32 t = ticks;
	spin_periods(3, 1193);
	printf("cli: ticks during 3 periods: %u\n", ticks - t);
	wait_irr();
	asm volatile("sti");
	window();
	asm volatile("cli");
	printf("sti: pending tick taken at once: %s\n", ticks - t >= 1 ? "yes" : "no");

	t = ticks;
	wait_irr();
	u32 f = flags() | 0x200;
	asm volatile("pushl %0; popfl" : : "r"(f) : "cc");
	window();
	asm volatile("cli");
	printf("popf IF=1: taken %s\n", ticks - t >= 1 ? "yes" : "no");

	t = ticks;
	wait_irr();
	asm volatile("pushl %0; popfl" : : "r"(f & ~0x200) : "cc");
	window();
	printf("popf IF=0: taken %s\n", ticks - t >= 1 ? "yes" : "no");

	/* iret to the same level with IF=1 in the popped flags. */
	t = ticks;
	wait_irr();
	asm volatile("pushfl\n\torl $0x200, (%%esp)\n\tpushl %%cs\n\tpushl $1f\n\tiret\n1:" ::: "memory");
	window();
	asm volatile("cli");
	printf("iret IF=1: taken %s\n", ticks - t >= 1 ? "yes" : "no");

	nest_wait = 1;
	max_depth = 0;
	asm volatile("sti");
	while (nest_wait)
		asm volatile("hlt");
	asm volatile("cli");
	printf("nested depth %u\n", max_depth);

	/* Counter 2 gated by port 0x61, mode 0, as Linux's PIT calibration uses it. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);                          /* counter 2, LSB/MSB, mode 0 */
	outb(0x42, 11932 & 0xff);
	outb(0x42, 11932 >> 8);
	int before = (inb(0x61) & 0x20) != 0;
	u32 loops = 0;
	while (!(inb(0x61) & 0x20))
		loops++;
	printf("counter 2: out low at start %u, high after counting %u\n", !before, loops > 0);

	u16 c = pit_read0();
	printf("counter 0 latched in range: %u\n", c <= 1193);
	printf("IF now %u\n", (flags() >> 9) & 1);
	exit(0);
}
