/* vga.c: the VGA's CRT controller ports at 0x3d4/0x3d5 and Input Status #1 at 0x3da.
 *
 * Text-mode kernels write 80x25 characters to 0xb8000 (plain RAM here: nothing is
 * displayed, the console is the UART) and move the hardware cursor through the
 * CRTC: Index (CRTCX) selects one of the 25 registers, Data (CRTC) reads or writes
 * it; Cursor Location High/Low (0x0e/0x0f) and Start Address read back.  Input
 * Status #1 toggles its vertical retrace and display-disable bits on every read,
 * so a kernel that waits for the retrace does not wait long.  Register names as in
 * IBM's VGA technical reference.
 */
#include "../monitor.h"

enum { CRTCX = 0, CRTC = 1 };          /* offsets from 0x3d4 */
#define NREGS 25

static struct { u8 index, regs[NREGS]; bool retrace; } crt;

static u32 crtc_read(void *dev, u32 reg, int size)
{
	(void)dev, (void)size;
	if (reg == CRTCX)
		return crt.index;
	return crt.index < NREGS ? crt.regs[crt.index] : 0xff;
}

static void crtc_write(void *dev, u32 reg, u32 v, int size)
{
	(void)dev;
	if (reg == CRTCX) {
		crt.index = v & 0xff;
		if (size == 2)                  /* outw: index in the low byte, data in the high */
			crtc_write(dev, CRTC, v >> 8, 1);
		return;
	}
	if (crt.index < NREGS)
		crt.regs[crt.index] = v;
}

static u32 status1_read(void *dev, u32 reg, int size)
{
	(void)dev, (void)reg, (void)size;
	crt.retrace = !crt.retrace;
	return crt.retrace ? 0x09 : 0x00;   /* VRetrace, Display Disabled */
}

void vga_init(void)
{
	/* What the BIOS leaves in 80x25 text mode: cursor lines 14-15, cursor at 0. */
	crt.regs[0x0a] = 0x0d;
	crt.regs[0x0b] = 0x0e;
	io_register("VGA CRT controller", 0x3d4, 2, NULL, crtc_read, crtc_write);
	io_register("VGA input status 1", 0x3da, 1, NULL, status1_read, NULL);
}
