/* pic.c: the 8259A's edge and level triggering, with the UART's THRE interrupt as
 * the source (its line stays high until the UART is served): an edge-triggered
 * input interrupts once, a level-triggered one (by ELCR) again after every EOI
 * while the line is high.  The ELCR's writable bits.  Nothing is printed while
 * the UART may interrupt.  (ICW1.LTIM, level for a whole chip, is modelled but
 * left out: QEMU ignores it.) */
#include "desc.h"

#define COM1 0x3f8
static volatile u32 count;

static void hook(struct frame *f)
{
	if (f->vector == 0x24) {
		count++;
		if (count == 3)
			outb(COM1 + 1, 0);                 /* IER off: the line goes low */
		outb(0x20, 0x20);                          /* EOI, the UART not served */
		return;
	}
	if (f->vector == 0x27)
		return;
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

static void pic_setup(u8 icw1)
{
	outb(0x20, icw1); outb(0xa0, icw1);
	outb(0x21, 0x20); outb(0xa1, 0x28);
	outb(0x21, 0x04); outb(0xa1, 0x02);
	outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xef); outb(0xa1, 0xff);               /* IRQ 4 only */
}

static u32 run(void)
{
	count = 0;
	asm volatile("sti");
	outb(COM1 + 1, 0x02);                              /* ETBEI: THR is empty: the line rises */
	for (int i = 0; i < 200000 && count < 3; i++)
		asm volatile("nop");
	for (int i = 0; i < 200000; i++)
		asm volatile("nop");
	asm volatile("cli");
	outb(COM1 + 1, 0);
	inb(COM1 + 2);                                     /* serve it: IIR read */
	return count;
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	printf("ELCR writable: %x %x\n", inb(0x4d0), inb(0x4d1));
	outb(0x4d0, 0);
	outb(0x4d1, 0);
	pic_setup(0x11);
	u32 edge = run();
	outb(0x4d0, 0x10);                                 /* IRQ 4 level by ELCR */
	u32 elcr = run();
	outb(0x4d0, 0);
	printf("edge: %u interrupt(s); level by ELCR: %u\n", edge, elcr);
	exit(0);
}
