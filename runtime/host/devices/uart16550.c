/* uart16550.c: the 16550A UART at COM1 (0x3f8), transmitter side, to stdout.
 *
 * Register names as in the National Semiconductor PC16550D datasheet.  The
 * transmitter is infinitely fast: THR is always empty (LSR.THRE and TEMT set).
 * Receive, interrupts and the FIFO model come with the platform issue.
 */
#include <stdlib.h>
#include <unistd.h>
#include "../monitor.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
enum { LCR_DLAB = 0x80, LSR_THRE = 0x20, LSR_TEMT = 0x40, IIR_NO_INT = 0x01 };

struct uart {
	u8 ier, fcr, lcr, mcr, scr, dll, dlm;
	u8 outbuf[256];
	unsigned outlen;
};

static struct uart com1 = { .dll = 0x0c };

static void flush(struct uart *u)
{
	unsigned off = 0;
	while (off < u->outlen) {
		ssize_t n = write(1, u->outbuf + off, u->outlen - off);
		if (n <= 0)
			break;
		off += n;
	}
	u->outlen = 0;
}

static void transmit(struct uart *u, u8 c)
{
	u->outbuf[u->outlen++] = c;
	if (c == '\n' || u->outlen == sizeof u->outbuf)
		flush(u);
}

static u32 uart_read(void *dev, u32 reg, int size)
{
	struct uart *u = dev;
	(void)size;
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR: return dlab ? u->dll : 0;
	case IER:     return dlab ? u->dlm : u->ier;
	case IIR_FCR: return IIR_NO_INT | ((u->fcr & 1) ? 0xc0 : 0);
	case LCR:     return u->lcr;
	case MCR:     return u->mcr;
	case LSR:     return LSR_THRE | LSR_TEMT;
	case MSR:     return 0xb0;   /* DCD, DSR, CTS */
	default:      return u->scr;
	}
}

static void uart_write(void *dev, u32 reg, u32 v, int size)
{
	struct uart *u = dev;
	(void)size;
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR: if (dlab) u->dll = v; else transmit(u, v); break;
	case IER:     if (dlab) u->dlm = v; else u->ier = v & 0x0f; break;
	case IIR_FCR: u->fcr = v; break;
	case LCR:     u->lcr = v; break;
	case MCR:     u->mcr = v & 0x1f; break;
	case LSR: case MSR: break;
	default:      u->scr = v;
	}
}

static void uart_atexit(void) { flush(&com1); }

void uart_init(void)
{
	io_register("uart16550 COM1", 0x3f8, 8, &com1, uart_read, uart_write);
	atexit(uart_atexit);
}
