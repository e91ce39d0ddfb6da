/* pit.c: the 8254 as kernels use it: counter 0 in mode 0 (one shot: one interrupt,
 * then OUT stays high), mode 2 and mode 3 (periodic), the read-back command
 * (status and count of several counters at once), and Linux's TSC calibration
 * loop on counter 2 (gate and output through port 0x61).  With "show-tsc" on the
 * command line it also prints the TSC rate it measured (tests/test_platform.py
 * compares it with the host's); without, only facts that do not depend on speed. */
#include "desc.h"

static volatile u32 ticks;

static void hook(struct frame *f)
{
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
		return;
	}
	if (f->vector == 0x27)
		return;
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

/* Counter 2, mode 0, gated by port 0x61: wait `count` PIT periods; TSC cycles. */
static unsigned long long wait_ch2(u16 count)
{
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);          /* gate on, speaker off */
	outb(0x43, 0xb0);                                /* counter 2, LSB/MSB, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	unsigned long long t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	return rdtsc() - t0;
}

/* As Linux's TSC calibration does (native_calibrate_tsc: the smallest of three PIT
 * samples): the count can only be seen ending late, when the host does not run the
 * guest for a while after it ended (a busy machine; an SMI on hardware), which makes
 * a sample larger, never smaller; so the smallest of several is the measurement.
 * (Linux's other guard, refusing a sample whose longest poll took 10 times its
 * shortest, refuses nearly every sample under lvm and under QEMU alike: the host's
 * timer signals and TCG's exits make polls uneven even on an idle machine.) */
static unsigned long long calibrate(u16 count)
{
	unsigned long long best = ~0ull;
	for (int i = 0; i < 5; i++) {
		unsigned long long c = wait_ch2(count);
		if (c < best)
			best = c;
	}
	return best;
}

static void counter0(u8 mode, u16 count)
{
	outb(0x43, 0x30 | mode << 1);                    /* counter 0, LSB/MSB */
	outb(0x40, count & 0xff);
	outb(0x40, count >> 8);
}

static u8 status0(void)
{
	outb(0x43, 0xe2);                                /* read-back: status of counter 0 only */
	return inb(0x40);
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xfe); outb(0xa1, 0xff);

	asm volatile("sti");
	counter0(0, 11932);                              /* one shot in 10 ms */
	printf("mode 0 armed: status %x\n", status0() & 0x3f);
	wait_ch2(59659);                                 /* 50 ms */
	printf("mode 0 after 50 ms: %u interrupt(s), OUT %u\n", ticks, status0() >> 7);
	ticks = 0;
	counter0(3, 11932);                              /* square wave, 100 Hz */
	wait_ch2(59659);
	u32 t3 = ticks;
	printf("mode 3 over 50 ms: %s, status %x\n", t3 >= 3 && t3 <= 6 ? "4-5 interrupts" : "wrong",
	       status0() & 0x3f);
	ticks = 0;
	counter0(2, 11932);                              /* rate generator, 100 Hz */
	wait_ch2(59659);
	u32 t2 = ticks;
	printf("mode 2 over 50 ms: %s, status %x\n", t2 >= 3 && t2 <= 6 ? "4-5 interrupts" : "wrong",
	       status0() & 0x3f);
	asm volatile("cli");

	outb(0x43, 0xca);                                /* read-back: count and status, 0 and 2 */
	u8 s0 = inb(0x40), l0 = inb(0x40), h0 = inb(0x40);
	u8 s2 = inb(0x42);
	(void)l0, (void)h0;
	printf("read-back: counter 0 status %x, counter 2 status %x\n", s0 & 0x3f, s2 & 0x3f);

	unsigned long long cycles = calibrate(59659);    /* Linux's calibration: 50 ms */
	const char *cmd = (magic == 0x2badb002 && (mbi[0] & 4)) ? (const char *)mbi[4] : "";
	int show = 0;
	for (const char *c = cmd; *c; c++)
		if (c[0] == 's' && c[1] == 'h' && c[2] == 'o' && c[3] == 'w')
			show = 1;
	if (show)
		printf("tsc %u kHz\n", (u32)(cycles * 1193182 / 59659 / 1000));
	printf("done\n");
	exit(0);
}
