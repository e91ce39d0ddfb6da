/* i8254.c: the Intel 8254 programmable interval timer (PIT) and port 0x61.
 *
 * Names as in the 8254 datasheet: the control word (SC, RW, M, BCD), counter
 * latch, read-back.  The counters are not ticked: their value is computed from
 * host time at 1.193182 MHz whenever the guest reads one, so reads are exact and
 * cost nothing while the guest does not look.  Counter 0 drives IRQ 0 through the
 * host timer (irq.c) in modes 0 (one shot), 2 and 3 (periodic); counter 2's gate
 * and output are bits 0 and 5 of port 0x61 (system control port B), which is how
 * Linux calibrates the TSC.  Modes 1, 4, 5 and BCD counting are reported once.
 */
#include "../monitor.h"
#include "../irq.h"

#define PIT_HZ 1193182u
#define MIN_PERIOD_NS 50000u     /* the host cannot deliver faster; ticks merge */

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_LSB_MSB = 3 };

struct counter {
	u8 mode, rw;
	u32 count;               /* reload value, 1..65536 */
	u64 start_ns;            /* when counting (re)started */
	bool gate, counting;
	bool latched, read_msb, write_msb, status_latched;
	u16 latch;
	u8 status, write_lsb;
};

static struct counter ctr[3];
static struct vtimer out0;              /* counter 0's OUT: IRQ 0 */
static u32 backlog;                     /* periods the host was late for, not yet raised */
#define MAX_BACKLOG 200                 /* beyond that (the process was stopped), forget */
static u8 port61;

static u64 ticks_since(const struct counter *c)
{
	return (now_ns() - c->start_ns) * PIT_HZ / 1000000000u;
}

static u16 current(const struct counter *c)
{
	if (!c->counting)
		return c->count & 0xffff;
	u64 t = ticks_since(c);
	switch (c->mode) {
	case 0:
		return (u16)(c->count - t);
	case 3:
		return (u16)((c->count - (2 * t) % c->count) & ~1u);
	default:
		return (u16)(c->count - t % c->count);
	}
}

static bool output(const struct counter *c)
{
	if (!c->counting)
		return c->mode != 0;
	u64 t = ticks_since(c);
	switch (c->mode) {
	case 0: return t >= c->count;
	case 3: return t % c->count < (c->count + 1) / 2;
	default: return t % c->count != c->count - 1;
	}
}

static void start(int i)
{
	struct counter *c = &ctr[i];
	c->start_ns = now_ns();
	c->counting = c->gate;
	if (i != 0)
		return;
	u64 period = (u64)c->count * 1000000000u / PIT_HZ;
	if (period < MIN_PERIOD_NS)
		period = MIN_PERIOD_NS;
	if (c->mode == 0)
		vtimer_arm(&out0, c->start_ns + period, 0);
	else if (c->mode == 2 || c->mode == 3)
		vtimer_arm(&out0, c->start_ns + period, period);
	else
		vtimer_arm(&out0, 0, 0);
}

static void pulse(void)
{
	irq_line(0, true);
	irq_line(0, false);
}

/* Counter 0 reached its terminal count: an edge on IRQ 0.  Periods the host was
 * too late for are not lost: each becomes an edge of its own once the 8259A has
 * taken the previous one (pit_catch_up), so a guest counting ticks keeps time. */
static void out0_expired(struct vtimer *t, u64 periods)
{
	(void)t;
	if (pic_irq_masked(0))
		pulse(), backlog = 0;           /* nobody counts: latch one, as the IRR does */
	else if (pic_irq_busy(0))
		backlog += periods;
	else
		pulse(), backlog += periods - 1;
	if (backlog > MAX_BACKLOG)
		backlog = 0;
}

void pit_catch_up(void)
{
	if (backlog && !pic_irq_busy(0) && !pic_irq_masked(0)) {
		backlog--;
		pulse();
	}
}

static u32 pit_read(void *dev, u32 reg, int size)
{
	if (reg == 3)
		return 0xff;
	struct counter *c = &ctr[reg];
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	u16 v = c->latched ? c->latch : current(c);
	u8 byte;
	if (c->rw == RW_LSB)
		byte = v;
	else if (c->rw == RW_MSB)
		byte = v >> 8;
	else {
		byte = c->read_msb ? v >> 8 : v;
		c->read_msb = !c->read_msb;
		if (c->read_msb)
			return byte;
	}
	c->latched = false;
	return byte;
}

static void control_word(u8 v)
{
	int sc = v >> 6;
	if (sc == 3) {                                        /* read-back */
		for (int i = 0; i < 3; i++) {
			if (!(v & (2 << i)))
				continue;
			struct counter *c = &ctr[i];
			if (!(v & 0x20) && !c->latched) {
				c->latch = current(c);
				c->latched = true;
			}
			if (!(v & 0x10)) {
				c->status = (output(c) ? 0x80 : 0) | c->rw << 4 | c->mode << 1;
				c->status_latched = true;
			}
		}
		return;
	}
	struct counter *c = &ctr[sc];
	int rw = (v >> 4) & 3;
	if (rw == RW_LATCH) {
		if (!c->latched) {
			c->latch = current(c);
			c->latched = true;
		}
		return;
	}
	c->rw = rw;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;                                /* 6, 7 are 2, 3 */
	if (v & 1)
		unimplemented_once("8254 BCD counting");
	if (c->mode == 1 || c->mode == 4 || c->mode == 5)
		unimplemented_once("8254 modes 1, 4, 5");
	c->latched = c->read_msb = c->write_msb = false;
	c->counting = false;
	if (sc == 0)
		vtimer_arm(&out0, 0, 0);
}

static void pit_write(void *dev, u32 reg, u32 v, int size)
{
	if (reg == 3) {
		control_word(v);
		return;
	}
	struct counter *c = &ctr[reg];
	u32 n;
	if (c->rw == RW_LSB)
		n = v & 0xff;
	else if (c->rw == RW_MSB)
		n = (v & 0xff) << 8;
	else if (!c->write_msb) {
		c->write_lsb = v;
		c->write_msb = true;
		return;
	} else {
		n = c->write_lsb | (v & 0xff) << 8;
		c->write_msb = false;
	}
	c->count = n ? n : 0x10000;
	if (c->count == 1 && (c->mode == 2 || c->mode == 3)) {
		guest_complaint("8254", "loaded a count of 1 in mode 2 or 3, which the datasheet "
				"forbids: counting 2");
		c->count = 2;
	}
	start(reg);
}

/* Port 0x61: bit 0 gate of counter 2, bit 1 speaker data, bit 4 refresh toggle,
 * bit 5 counter 2 output. */
static u32 port61_read(void *dev, u32 reg, int size)
{
	static bool refresh;
	refresh = !refresh;
	return (port61 & 3) | (refresh ? 0x10 : 0) | (output(&ctr[2]) ? 0x20 : 0);
}

static void port61_write(void *dev, u32 reg, u32 v, int size)
{
	bool gate = v & 1;
	if (gate && !ctr[2].gate) {
		ctr[2].gate = true;
		start(2);                                    /* rising edge restarts the count */
	} else if (!gate) {
		ctr[2].gate = false;
		ctr[2].counting = false;                     /* the count is held while gate is low */
	}
	port61 = v & 3;
}

void i8254_init(void)
{
	out0.expired = out0_expired;
	vtimer_register(&out0);
	/* As the BIOS leaves it: counter 0 in mode 3 with count 65536 (18.2 Hz).  The
	 * others hold 65536 too (QEMU's reset: the register's 0), so that counting
	 * before a count is written (counter 2's gate raised after a control word
	 * alone) divides by a count that exists. */
	for (int i = 0; i < 3; i++)
		ctr[i].count = 0x10000;
	ctr[0].gate = ctr[1].gate = true;
	ctr[0].rw = ctr[1].rw = ctr[2].rw = RW_LSB_MSB;
	ctr[0].mode = 3;
	start(0);
	io_register("8254 PIT", 0x40, 4, NULL, pit_read, pit_write);
	io_register("port B (0x61)", 0x61, 1, NULL, port61_read, port61_write);
}
