/* mc146818.c: the Motorola MC146818 real-time clock and CMOS RAM (ports 0x70-0x71, IRQ 8).
 *
 * Register and bit names as in the MC146818 datasheet.  Port 0x70 selects a byte
 * (bit 7 masks NMI on a PC: remembered, nothing raises an NMI here; the port reads
 * 0xff as on QEMU); port 0x71 reads or writes it.  128 bytes as on PC chipsets.
 *
 * The clock is not ticked: the time registers are computed from host time (UTC,
 * as QEMU's default -rtc base=utc) plus the offset the guest set, whenever the
 * guest reads them, in BCD or binary (register B DM) and 12- or 24-hour form.
 * UIP reads 1 during the last 244 us before each second's update, as on the chip,
 * so a kernel that waits for UIP to clear (Linux's mc146818_get_time) then has
 * 244 us to read a consistent time.  SET and the divider reset freeze the time
 * registers for the guest to write; the clock restarts from what it wrote.
 * Register C's flags (PF, AF, UF) are brought up to date when it is read or a
 * device timer fires; IRQF and IRQ 8 follow register B's enables; reading C
 * clears them.  Lost periodic ticks are dropped (QEMU's default policy).
 *
 * The RAM holds what QEMU's pc_cmos_init and SeaBIOS leave there for the memory
 * size (0x15-0x18, 0x30-0x31, 0x34-0x35) and the FPU in the equipment byte; no
 * floppy or PS/2 mouse is claimed, as lvm has neither.  cmos_set() lets other
 * devices fill in their part (disk types...).
 */
#include <time.h>
#include "../irq.h"

enum { SECONDS = 0x00, SECONDS_ALARM = 0x01, MINUTES = 0x02, MINUTES_ALARM = 0x03, HOURS = 0x04,
       HOURS_ALARM = 0x05, DAY_OF_WEEK = 0x06, DATE_OF_MONTH = 0x07, MONTH = 0x08, YEAR = 0x09,
       REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, EQUIPMENT = 0x14,
       CENTURY = 0x32, PS2_CENTURY = 0x37 };
enum { A_UIP = 0x80, A_DV = 0x70, A_RS = 0x0f };
enum { B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02 };
enum { C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10 };
enum { D_VRT = 0x80 };

#define NS 1000000000ll
#define UIP_NS 244141                    /* 8 cycles of 32.768 kHz */
#define POLL_GAP_NS 100000000LL          /* reads closer than this are a poll loop */
#define MIN_PERIOD_NS 50000              /* faster periodic rates merge (the host's limit) */

static u8 cmos[128];
static u8 index_reg;
static bool nmi_masked;                  /* port 0x70 bit 7; no NMI source to mask */
static long long offset_ns;              /* guest time = host UTC + offset */
static long long last_sec;               /* the last update cycle accounted for in C */
static u64 next_periodic;                /* now_ns() time of the next PF, 0: none */
static struct vtimer timer;
static u64 timer_at;                     /* what the host timer is armed for, 0: nothing */

static long long host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static long long floor_div(long long a, long long b) { return a / b - (a % b < 0); }

/* Days since 1970-01-01 from a civil date, and back (H. Hinnant's algorithms). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = floor_div(y, 400);
	unsigned yoe = y - era * 400;
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long long era = floor_div(z, 146097);
	unsigned doe = z - era * 146097;
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static bool running(void)                /* updates happen and show in the registers */
{
	return !(cmos[REG_B] & B_SET) && (cmos[REG_A] & A_DV) <= 0x20;
}

static bool dividers_on(void)            /* update cycles happen (flags, UIP) */
{
	return (cmos[REG_A] & A_DV) <= 0x20;
}

static u8 to_reg(unsigned v)
{
	return cmos[REG_B] & B_DM ? v : (v / 10) << 4 | v % 10;
}

static int from_reg(u8 v)
{
	return cmos[REG_B] & B_DM ? v : (v >> 4) * 10 + (v & 15);
}

static unsigned hour_from_reg(u8 v)
{
	if (cmos[REG_B] & B_24H)
		return from_reg(v);
	return from_reg(v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

/* The time registers from a guest time in seconds. */
static void set_registers(long long sec)
{
	long long days = floor_div(sec, 86400), y;
	unsigned s = sec - days * 86400, m, d, hour = s / 3600;
	civil_from_days(days, &y, &m, &d);
	cmos[SECONDS] = to_reg(s % 60);
	cmos[MINUTES] = to_reg(s / 60 % 60);
	if (cmos[REG_B] & B_24H)
		cmos[HOURS] = to_reg(hour);
	else
		cmos[HOURS] = to_reg(hour % 12 ? hour % 12 : 12) | (hour >= 12 ? 0x80 : 0);
	cmos[DAY_OF_WEEK] = to_reg((unsigned)((days % 7 + 11) % 7) + 1);   /* 1 = Sunday */
	cmos[DATE_OF_MONTH] = to_reg(d);
	cmos[MONTH] = to_reg(m);
	cmos[YEAR] = to_reg((unsigned)(y % 100));
	cmos[CENTURY] = to_reg((unsigned)(y / 100) % 100);
}

static long long registers_time(void)
{
	long long y = from_reg(cmos[CENTURY]) * 100 + from_reg(cmos[YEAR]);
	long long days = days_from_civil(y, from_reg(cmos[MONTH]), from_reg(cmos[DATE_OF_MONTH]));
	return days * 86400 + hour_from_reg(cmos[HOURS]) * 3600 + from_reg(cmos[MINUTES]) * 60 +
	       from_reg(cmos[SECONDS]);
}

static long long guest_ns(void) { return host_ns() + offset_ns; }

static void refresh(void)
{
	if (running())
		set_registers(floor_div(guest_ns(), NS));
}

/* The clock restarts from the registers, `frac_ns` into the second. */
static void restart(long long frac_ns)
{
	long long sec = registers_time();
	offset_ns = sec * NS + frac_ns - host_ns();
	last_sec = sec;
}

static bool alarm_field(u8 reg, int value)
{
	return (cmos[reg] & 0xc0) == 0xc0 || (reg == HOURS_ALARM ? (int)hour_from_reg(cmos[reg])
							      : from_reg(cmos[reg])) == value;
}

/* Did an update cycle in (from, to] match the alarm?  Checked minute by minute. */
static bool alarm_between(long long from, long long to)
{
	if (to - from > 86400)
		to = from + 86400;
	for (long long t = from + 1; t <= to; t = (floor_div(t, 60) + 1) * 60) {
		long long s = t - floor_div(t, 86400) * 86400;
		if (!alarm_field(HOURS_ALARM, s / 3600) || !alarm_field(MINUTES_ALARM, s / 60 % 60))
			continue;
		if ((cmos[SECONDS_ALARM] & 0xc0) == 0xc0)
			return true;
		long long at = t - s % 60 + from_reg(cmos[SECONDS_ALARM]);
		if (at >= t && at <= to)
			return true;
	}
	return false;
}

static u64 period_ns(void)
{
	unsigned rs = cmos[REG_A] & A_RS;
	if (!rs || !(cmos[REG_B] & B_PIE))
		return 0;
	unsigned clocks = 1u << ((rs <= 2 ? rs + 7 : rs) - 1);
	u64 ns = (u64)clocks * NS / 32768;
	return ns < MIN_PERIOD_NS ? MIN_PERIOD_NS : ns;
}

static void raise_flags(u8 flags)
{
	u8 fresh = flags & ~cmos[REG_C];
	cmos[REG_C] |= flags;
	if (fresh & cmos[REG_B] & (C_PF | C_AF | C_UF)) {
		cmos[REG_C] |= C_IRQF;
		irq_line(8, true);
	}
}

/* Register C up to now; the device timer at the next event the guest enabled. */
static void update_flags(void)
{
	u8 flags = 0;
	u64 now = now_ns(), next = 0;
	if (dividers_on()) {
		long long g = guest_ns(), sec = floor_div(g, NS);
		if (sec > last_sec) {
			flags |= C_UF;
			if (alarm_between(last_sec, sec))
				flags |= C_AF;
			last_sec = sec;
		}
		if (cmos[REG_B] & (B_UIE | B_AIE))
			next = now + (u64)((sec + 1) * NS - g);   /* the next update cycle */
	}
	u64 period = period_ns();
	if (!period) {
		next_periodic = 0;
	} else if (!next_periodic) {
		next_periodic = now + period;
	} else if (now >= next_periodic) {
		flags |= C_PF;
		next_periodic += (now - next_periodic) / period * period + period;
	}
	if (next_periodic && (!next || next_periodic < next))
		next = next_periodic;
	raise_flags(flags);
	/* Re-arm when it fired or the event moved: the update cycle's time, computed
	 * from two clocks, jitters by nanoseconds, which is no reason for a system call. */
	bool fired = timer_at && now >= timer_at;
	if (fired || !next != !timer_at || next + 100000 < timer_at || next > timer_at + 100000) {
		timer_at = next;
		device_timer_arm(&timer, next);
	}
}

void rtc_poll(void)
{
	if (cmos[REG_B] & (B_PIE | B_AIE | B_UIE))
		update_flags();
}

bool rtc_can_interrupt(void)
{
	return (cmos[REG_B] & (B_PIE | B_AIE | B_UIE)) && dividers_on();
}

static u32 rtc_read(void *dev, u32 port, int size)
{
	if (port == 0)
		return 0xff;                     /* the index register is write-only */
	u8 i = index_reg;
	switch (i) {
	case PS2_CENTURY:
		index_reg = i = CENTURY;         /* an alias, as on QEMU */
		/* fall through */
	case SECONDS: case MINUTES: case HOURS: case DAY_OF_WEEK: case DATE_OF_MONTH:
	case MONTH: case YEAR: case CENTURY:
		refresh();
		return cmos[i];
	case REG_A: {
		/* A guest polling for UIP reads it every few microseconds, but the host
		 * may stop lvm for longer than the 244 us window: if an update passed
		 * since the last read, which was recent (a poller's) and did not see it,
		 * this read sees UIP, as a poller running undisturbed would have. */
		static long long last_ns;
		static bool polled;
		long long ns = guest_ns(), sec = floor_div(ns, NS), frac = ns - sec * NS;
		long long last_sec = floor_div(last_ns, NS);
		bool uip = running() && frac >= NS - UIP_NS;
		if (!uip && running() && polled && ns - last_ns < POLL_GAP_NS && sec > last_sec &&
		    last_ns - last_sec * NS < NS - UIP_NS)
			uip = true;
		last_ns = ns;
		polled = true;
		return cmos[REG_A] | (uip ? A_UIP : 0);
	}
	case REG_C: {
		update_flags();
		u8 v = cmos[REG_C];
		cmos[REG_C] = 0;                 /* reading clears the flags and the request */
		irq_line(8, false);
		return v;
	}
	case REG_D:
		return D_VRT;                    /* valid RAM and time */
	default:
		return cmos[i];
	}
}

static void write_reg_a(u8 v)
{
	bool was_reset = !dividers_on();
	if ((v & 0x60) == 0x60)
		refresh();                       /* divider reset: the time stops here */
	cmos[REG_A] = v & ~A_UIP;                /* UIP is read-only */
	if (was_reset && dividers_on()) {
		if (!(cmos[REG_B] & B_SET))
			restart(NS / 2);         /* the first update comes half a second later */
		last_sec = floor_div(guest_ns(), NS);
	}
	if ((v & A_DV) > 0x20 && (v & 0x60) != 0x60)
		unimplemented_once("MC146818 time bases other than 32.768 kHz");
	next_periodic = 0;
	update_flags();
}

static void write_reg_b(u8 v)
{
	if (v & B_SET) {
		refresh();                       /* the time stops for the guest to write it */
		v &= ~B_UIE;                     /* SET clears UIE (datasheet) */
	} else if ((cmos[REG_B] & B_SET) && dividers_on()) {
		long long frac = guest_ns() % NS;
		cmos[REG_B] = v;                 /* registers read in the new format */
		restart(frac < 0 ? frac + NS : frac);
	}
	if ((v ^ cmos[REG_B]) & B_PIE)
		next_periodic = 0;
	/* A flag already set raises the request when its interrupt becomes enabled. */
	if (v & cmos[REG_C] & (C_PF | C_AF | C_UF)) {
		cmos[REG_C] |= C_IRQF;
		irq_line(8, true);
	} else {
		cmos[REG_C] &= ~C_IRQF;
		irq_line(8, false);
	}
	cmos[REG_B] = v;
	update_flags();
}

static void rtc_write(void *dev, u32 port, u32 v, int size)
{
	if (port == 0) {
		index_reg = v & 0x7f;
		nmi_masked = v & 0x80;
		return;
	}
	u8 i = index_reg;
	switch (i) {
	case PS2_CENTURY:
		index_reg = i = CENTURY;
		/* fall through */
	case SECONDS: case MINUTES: case HOURS: case DAY_OF_WEEK: case DATE_OF_MONTH:
	case MONTH: case YEAR: case CENTURY:
		refresh();
		cmos[i] = v;
		if (running())
			restart(0);              /* set while running: the second starts now */
		return;
	case SECONDS_ALARM: case MINUTES_ALARM: case HOURS_ALARM:
		cmos[i] = v;
		update_flags();
		return;
	case REG_A:
		write_reg_a(v);
		return;
	case REG_B:
		write_reg_b(v);
		return;
	case REG_C: case REG_D:
		return;                          /* read-only */
	default:
		cmos[i] = v;
	}
}

void cmos_set(u8 index, u8 value)
{
	cmos[index & 0x7f] = value;
}

void rtc_init(void)
{
	device_timer_init(&timer);
	/* QEMU's reset state: 32.768 kHz, 1024 Hz periodic rate, 24-hour BCD. */
	cmos[REG_A] = 0x26;
	cmos[REG_B] = B_24H;
	cmos[REG_D] = D_VRT;
	u32 kb = mem_size() / 1024;
	u32 base = kb < 640 ? kb : 640;
	u32 ext = kb > 1024 ? kb - 1024 : 0;
	u32 high = kb > 16384 ? (kb - 16384) / 64 : 0;
	if (ext > 0xffff)
		ext = 0xffff;
	if (high > 0xffff)
		high = 0xffff;
	cmos[0x15] = base, cmos[0x16] = base >> 8;          /* base memory, KiB */
	cmos[0x17] = ext, cmos[0x18] = ext >> 8;            /* memory above 1 MiB, KiB */
	cmos[0x30] = ext, cmos[0x31] = ext >> 8;            /* the same, as the BIOS reports it */
	cmos[0x34] = high, cmos[0x35] = high >> 8;          /* above 16 MiB, 64 KiB units */
	cmos[EQUIPMENT] = 0x02;                             /* math coprocessor */
	set_registers(floor_div(guest_ns(), NS));
	last_sec = floor_div(guest_ns(), NS);
	(void)nmi_masked;
	io_register("mc146818 RTC", 0x70, 2, NULL, rtc_read, rtc_write);
}
