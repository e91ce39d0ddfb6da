/* idle.c: half a second of HLT at 100 Hz: the guest sleeps, and so must the host
 * process (tests/test_kernels.py compares its CPU time with the wall time). */
#include "desc.h"

static volatile u32 ticks;

static void hook(struct frame *f)
{
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
	}
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	pic_init(0xfe, 0xff);                     /* only IRQ 0 */
	outb(0x43, 0x34);                          /* 100 Hz */
	outb(0x40, 11932 & 0xff);
	outb(0x40, 11932 >> 8);
	asm volatile("sti");
	while (ticks < 50)
		asm volatile("hlt");
	asm volatile("cli");
	printf("slept %u ticks\n", ticks >= 50 ? 50 : ticks);
	exit(0);
}
