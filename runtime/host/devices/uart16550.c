/* uart16550.c: the National Semiconductor 16550A UART at COM1 (0x3f8, IRQ 4).
 *
 * Register and bit names as in the PC16550D datasheet.  The line is infinitely
 * fast outward: a byte written to THR goes to the console at once, so THR and
 * the transmitter are empty again before the next instruction (LSR.THRE and
 * TEMT), and the THRE interrupt is pending again after every write.  Inward,
 * bytes arrive as the host has them, paced like QEMU's serial model so that the
 * differential tests see the same interrupts: the receiver takes at most what the
 * FIFO can hold below the trigger level (one byte at a time past it, none with a
 * full FIFO or, FIFOs off, an unread RBR).  The character timeout (CTI) fires four
 * character times (from the divisor latch and LCR) after the last byte moved.
 *
 * Where the hardware leaves a choice, QEMU's behaviour is kept (it is the oracle):
 * the IRQ line is not gated by MCR.OUT2 (real PCs gate it; Linux sets OUT2
 * anyway); reading an empty FIFO returns 0; enabling ETBEI raises THRE again.
 * In loopback the serial input is disconnected (the host's bytes wait) and the
 * modem outputs show in MSR.
 */
#include <signal.h>
#include <time.h>
#include "../console.h"
#include "../irq.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
enum { IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_ELSI = 0x04, IER_EDSSI = 0x08 };
enum { IIR_NO_INT = 0x01, IIR_MODEM = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_RLS = 0x06,
       IIR_CTI = 0x0c, IIR_FIFOS = 0xc0 };
enum { FCR_ENABLE = 0x01, FCR_RX_RESET = 0x02, FCR_TX_RESET = 0x04, FCR_KEPT = 0xc9 };
enum { LCR_DLAB = 0x80, LCR_PEN = 0x08, LCR_STB = 0x04 };
enum { MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10 };
enum { LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40,
       LSR_ERRORS = 0x1e };
enum { MSR_DELTAS = 0x0f, MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_DCD = 0x80 };

#define FIFO_SIZE 16
#define BAUD_BASE 115200u            /* 1.8432 MHz / 16 */

struct uart {
	u8 ier, iir, fcr, lcr, mcr, lsr, msr, scr, rbr;
	u16 divisor;
	u8 rx[FIFO_SIZE];
	unsigned rx_head, rx_count, trigger;
	bool thr_ipending, timeout_ipending;
	bool lsr_polled;                 /* LSR read, no THR write since: the guest waits */
	u64 char_ns;                     /* one character at the current line settings */
	u64 timeout_at, timer_at;        /* CTI deadline; when the host timer fires (0: none) */
	struct vtimer timer;
};

/* The state SeaBIOS leaves (QEMU's reset values): 9600 baud, OUT2. */
static struct uart com1 = {
	.iir = IIR_NO_INT, .lsr = LSR_THRE | LSR_TEMT, .msr = MSR_DCD | MSR_DSR | MSR_CTS,
	.divisor = 12, .mcr = MCR_OUT2, .trigger = 1, .char_ns = 1000000000u / 9600 * 10,
};

static void update_irq(struct uart *u)
{
	u8 id = IIR_NO_INT;
	bool fifo = u->fcr & FCR_ENABLE;
	if ((u->ier & IER_ELSI) && (u->lsr & LSR_ERRORS))
		id = IIR_RLS;
	else if ((u->ier & IER_ERBFI) && u->timeout_ipending)
		id = IIR_CTI;
	else if ((u->ier & IER_ERBFI) && (u->lsr & LSR_DR) && (!fifo || u->rx_count >= u->trigger))
		id = IIR_RDA;
	else if ((u->ier & IER_ETBEI) && u->thr_ipending)
		id = IIR_THRE;
	else if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
		id = IIR_MODEM;
	u->iir = id | (fifo ? IIR_FIFOS : 0);
	irq_line(4, id != IIR_NO_INT);
}

/* The character timeout, four character times from now.  The host timer is only
 * moved earlier, never later: a deadline that moved on is re-armed when it fires. */
static void arm_timeout(struct uart *u)
{
	u->timeout_at = now_ns() + 4 * u->char_ns;
	if (!u->timer_at || u->timer_at > u->timeout_at) {
		u->timer_at = u->timeout_at;
		device_timer_arm(&u->timer, u->timer_at);
	}
}

static void line_settings(struct uart *u)
{
	if (u->divisor == 0)
		return;                          /* no clock: keep the last speed, as QEMU does */
	unsigned speed = BAUD_BASE / u->divisor;
	unsigned bits = 1 + 5 + (u->lcr & 3) + (u->lcr & LCR_PEN ? 1 : 0) + (u->lcr & LCR_STB ? 2 : 1);
	u->char_ns = (u64)(1000000000u / speed) * bits;
}

static void receive(struct uart *u, const u8 *buf, int n)
{
	if (u->fcr & FCR_ENABLE) {
		for (int i = 0; i < n; i++) {
			if (u->rx_count == FIFO_SIZE) {
				u->lsr |= LSR_OE;        /* an overrun keeps the FIFO's contents */
				continue;
			}
			u->rx[(u->rx_head + u->rx_count++) % FIFO_SIZE] = buf[i];
		}
		u->lsr |= LSR_DR;
		arm_timeout(u);
	} else {
		if (u->lsr & LSR_DR)
			u->lsr |= LSR_OE;
		u->rbr = buf[n - 1];
		u->lsr |= LSR_DR;
	}
	update_irq(u);
}

/* How many bytes the receiver takes now (QEMU's serial_can_receive). */
static int room(const struct uart *u)
{
	if (!(u->fcr & FCR_ENABLE))
		return !(u->lsr & LSR_DR);
	if (u->rx_count >= FIFO_SIZE)
		return 0;
	return u->rx_count <= u->trigger ? u->trigger - u->rx_count : 1;
}

/* Bring in what the host has, as far as the receiver takes it. */
static void pull(struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return;                          /* serial input disconnected */
	u8 buf[FIFO_SIZE];
	int max, n;
	while ((max = room(u)) > 0 && (n = console_read(buf, max)) > 0)
		receive(u, buf, n);
	if (console_take_break()) {
		u8 zero = 0;                     /* a break is received as a 0 with BI */
		receive(u, &zero, 1);
		u->lsr |= LSR_BI;
		update_irq(u);
	}
}

static void transmit(struct uart *u, u8 c)
{
	u->lsr_polled = false;
	u->thr_ipending = false;
	u->lsr &= ~(LSR_THRE | LSR_TEMT);
	update_irq(u);                           /* the THRE interrupt is cleared... */
	if (u->mcr & MCR_LOOP)
		receive(u, &c, 1);
	else
		console_write(c);
	u->lsr |= LSR_THRE | LSR_TEMT;
	u->thr_ipending = true;
	update_irq(u);                           /* ...and pending again: an edge per byte */
}

static u8 read_rbr(struct uart *u)
{
	u8 v;
	if (u->fcr & FCR_ENABLE) {
		v = 0;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
			u->rx_count--;
		}
		if (u->rx_count == 0)
			u->lsr &= ~(LSR_DR | LSR_BI);
		else
			arm_timeout(u);
		u->timeout_ipending = false;
	} else {
		v = u->rbr;
		u->lsr &= ~(LSR_DR | LSR_BI);
	}
	update_irq(u);
	pull(u);                                 /* room again: the host's next bytes */
	return v;
}

static u8 read_msr(struct uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return u->msr;
	/* Loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD. */
	return (u->mcr & (MCR_OUT1 | MCR_OUT2)) << 4 | (u->mcr & MCR_RTS) << 3 | (u->mcr & MCR_DTR) << 5;
}

static u8 uart_read_reg(struct uart *u, u32 reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	u8 v;
	switch (reg) {
	case RBR_THR:
		return dlab ? u->divisor & 0xff : read_rbr(u);
	case IER:
		return dlab ? u->divisor >> 8 : u->ier;
	case IIR_FCR:
		v = u->iir;
		if ((v & 0x0f) == IIR_THRE) {        /* reading IIR acknowledges THRE */
			u->thr_ipending = false;
			update_irq(u);
		}
		return v;
	case LCR:
		return u->lcr;
	case MCR:
		return u->mcr;
	case LSR:
		v = u->lsr;
		if (u->lsr_polled)
			console_flush();             /* polled twice with nothing sent: show the prompt */
		u->lsr_polled = true;
		if (v & (LSR_BI | LSR_OE)) {         /* read clears the error bits */
			u->lsr &= ~(LSR_BI | LSR_OE);
			update_irq(u);
		}
		return v;
	case MSR:
		v = read_msr(u);
		if (!(u->mcr & MCR_LOOP) && (u->msr & MSR_DELTAS)) {
			u->msr &= ~MSR_DELTAS;
			update_irq(u);
		}
		return v;
	default:
		return u->scr;
	}
}

static void write_fcr(struct uart *u, u8 v)
{
	if ((v ^ u->fcr) & FCR_ENABLE)
		v |= FCR_RX_RESET | FCR_TX_RESET;    /* turning the FIFOs on or off clears them */
	if (v & FCR_RX_RESET) {
		u->lsr &= ~(LSR_DR | LSR_BI);
		u->timeout_ipending = false;
		u->timeout_at = 0;
		u->rx_head = u->rx_count = 0;
	}
	if (v & FCR_TX_RESET) {
		u->lsr |= LSR_THRE;
		u->thr_ipending = true;
	}
	static const u8 levels[4] = { 1, 4, 8, 14 };
	u->fcr = v & FCR_KEPT;
	u->trigger = levels[v >> 6];
	update_irq(u);
	pull(u);
}

static void uart_write_reg(struct uart *u, u32 reg, u8 v)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR:
		if (!dlab) {
			transmit(u, v);
			return;
		}
		u->divisor = (u->divisor & 0xff00) | v;
		line_settings(u);
		return;
	case IER:
		if (dlab) {
			u->divisor = (u->divisor & 0xff) | v << 8;
			line_settings(u);
			return;
		}
		u8 changed = (u->ier ^ v) & 0x0f;
		u->ier = v & 0x0f;
		/* Enabling ETBEI with THR empty raises THRE even if IIR acknowledged it
		 * (not in the datasheet; QEMU and Bochs do it, Windows relies on it). */
		if (changed & IER_ETBEI)
			u->thr_ipending = (u->ier & IER_ETBEI) && (u->lsr & LSR_THRE);
		if (changed)
			update_irq(u);
		return;
	case IIR_FCR:
		write_fcr(u, v);
		return;
	case LCR:
		u->lcr = v;
		line_settings(u);
		return;
	case MCR:
		u->mcr = v & 0x1f;
		pull(u);                         /* out of loopback: the host's bytes */
		return;
	case LSR: case MSR:
		return;                          /* read-only (factory test use) */
	default:
		u->scr = v;
	}
}

/* Wider accesses are byte accesses to consecutive registers, as on the ISA bus. */
static u32 uart_read(void *dev, u32 reg, int size)
{
	u32 v = 0;
	for (int i = 0; i < size; i++)
		v |= (u32)(reg + i < 8 ? uart_read_reg(dev, reg + i) : 0xff) << 8 * i;
	return v;
}

static void uart_write(void *dev, u32 reg, u32 v, int size)
{
	for (int i = 0; i < size && reg + i < 8; i++)
		uart_write_reg(dev, reg + i, v >> 8 * i);
}

/* irq.c, when input may have arrived (SIGIO) or a device timer expired. */
void uart_poll(bool input)
{
	struct uart *u = &com1;
	if (input)
		console_kick();
	pull(u);
	u64 now = now_ns();
	if (u->timer_at && now >= u->timer_at) {
		u->timer_at = 0;
		if (u->timeout_at > now) {
			u->timer_at = u->timeout_at;     /* the deadline moved on: wait for it */
			device_timer_arm(&u->timer, u->timer_at);
		} else if (u->timeout_at) {
			u->timeout_at = 0;
			if (u->rx_count) {
				u->timeout_ipending = true;
				update_irq(u);
			}
		}
	}
}

/* Could the UART still interrupt a halted guest? */
bool uart_can_interrupt(void)
{
	const struct uart *u = &com1;
	if (console_is_terminal())
		return true;                     /* someone can type (or quit) */
	return u->timeout_at || (console_input_open() && (u->ier & (IER_ERBFI | IER_ELSI)));
}

void uart_init(void)
{
	device_timer_init(&com1.timer);
	io_register("uart16550 COM1", 0x3f8, 8, &com1, uart_read, uart_write);
}
