/* oddities.c: a guest that programs the PC's controllers into states their
 * datasheets call invalid or that lvm does not model.  Each must be a line on
 * stderr (once), and the machine must go on: the kernel finishes, its transcript
 * is QEMU's (tests/test_platform.py). */
#include "desc.h"

#define LAPIC 0xfee00000u
#define R(off) (*(volatile u32 *)(LAPIC + (off)))

static void hook(struct frame *f)
{
	if (f->vector >= 0x20)
		return;
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	outb(0x21, 0xff); outb(0xa1, 0xff);
	outb(0x43, 0x34); outb(0x40, 1); outb(0x40, 0);     /* PIT mode 2, count 1 */
	outb(0x43, 0x3a); outb(0x40, 0); outb(0x40, 1);     /* PIT mode 5 */
	outb(0x64, 0xc5);                                    /* an 8042 command that is not one */
	R(0x3f0) = 1;                                        /* a local APIC register that is not one */
	*(volatile u32 *)0xfec00000 = 0x10;                  /* I/O APIC: input 0 ... */
	*(volatile u32 *)0xfec00010 = 0x00000003;            /* ... to vector 3, unmasked */
	*(volatile u32 *)0xfec00000 = 0x12;
	*(volatile u32 *)0xfec00010 = 0x00010220;            /* input 1: SMI delivery, masked */
	*(volatile u32 *)0xfec00010 = 0x10000;
	*(volatile u32 *)0xfec00000 = 0x10;
	*(volatile u32 *)0xfec00010 = 0x10000;
	outb(0x43, 0x34); outb(0x40, 0); outb(0x40, 0);      /* PIT back to sense */
	printf("still here\n");
	exit(0);
}
