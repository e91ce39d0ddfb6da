/* rtc.c: the MC146818 real-time clock and CMOS RAM (names from its datasheet).
 *
 * The time itself differs from run to run: it is printed once on a line of its
 * own ("host time: ..."), which tests/test_devices.py compares with the host's
 * UTC clock and leaves out of the comparison with QEMU.  Everything else is
 * deterministic: the registers' reset values, the index port (write-only, bit 7
 * the NMI mask), the memory sizes in CMOS RAM, BCD against binary and 12- against
 * 24-hour forms of the same instant, UIP before an update, the SET bit and the
 * divider reset freezing the clock for a new time (a leap day, midnight, noon),
 * and IRQ 8: periodic, update-ended and alarm interrupts with register C's flags.
 * Waits are for the seconds register to change or for interrupts, never for a
 * number of loops; the whole run takes about five seconds of mostly HLT.
 */
#include "desc.h"

enum { SEC = 0, SEC_ALARM = 1, MIN = 2, MIN_ALARM = 3, HOUR = 4, HOUR_ALARM = 5, WDAY = 6, MDAY = 7,
       MONTH = 8, YEAR = 9, A = 0x0a, B = 0x0b, C = 0x0c, D = 0x0d, CENTURY = 0x32 };

static u8 rd(u8 i) { outb(0x70, i); return inb(0x71); }
static void wr(u8 i, u8 v) { outb(0x70, i); outb(0x71, v); }
static u8 bcd(u8 v) { return (v >> 4) * 10 + (v & 15); }
static u8 to_bcd(u8 v) { return (v / 10) << 4 | v % 10; }

struct tm { u8 r[10], century; };

/* Linux's mc146818_get_time: wait for UIP to clear, read, and read again if an
 * update began meanwhile. */
static void get_time(struct tm *t)
{
	for (;;) {
		while (rd(A) & 0x80)
			;
		for (int i = 0; i < 10; i++)
			t->r[i] = rd(i);
		t->century = rd(CENTURY);
		if (!(rd(A) & 0x80))
			return;
	}
}

/* Until the seconds register changes n times. */
static void wait_updates(int n)
{
	for (int i = 0; i < n; i++) {
		u8 s = rd(SEC);
		while (rd(SEC) == s)
			;
	}
}

static volatile u32 irqs, last_c, sec_at_irq;

static void hook(struct frame *f)
{
	if (f->vector != 0x28) {
		printf("unexpected vector %u\n", f->vector);
		exit(0x7f);
	}
	last_c = rd(C);                            /* reading C acknowledges */
	sec_at_irq = rd(SEC);
	irqs++;
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

static void reset_state(void)
{
	printf("A %2x B %2x D %2x C.IRQF %x\n", rd(A) & 0x7f, rd(B), rd(D), rd(C) >> 7);
	printf("port 0x70 reads %2x\n", inb(0x70));
	outb(0x70, 0x80 | B);                      /* NMI masked: the index is still B */
	u8 b = inb(0x71);
	outb(0x70, 0x80 | A);
	u8 a = inb(0x71) & 0x7f;
	outb(0x70, 0x0d);                          /* NMI unmasked again */
	printf("with NMI masked: B %2x A %2x\n", b, a);
	static const u8 ram[] = { 0x0e, 0x0f, 0x12, 0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35,
				  0x32, 0x37 };
	printf("CMOS:");
	for (unsigned i = 0; i < sizeof ram; i++)
		printf(" %2x=%2x", ram[i], rd(ram[i]));
	printf(" 14&2=%x\n", rd(0x14) & 2);
}

static int valid_bcd(u8 v, int lo, int hi)
{
	return (v & 15) <= 9 && (v >> 4) <= 9 && bcd(v) >= lo && bcd(v) <= hi;
}

static void formats(void)
{
	struct tm t, u;
	int ok_bcd = 0, same_binary = 0, same_12h = 0;
	for (int tries = 0; tries < 3; tries++) {
		wr(B, 0x02);
		get_time(&t);
		ok_bcd = valid_bcd(t.r[SEC], 0, 59) && valid_bcd(t.r[MIN], 0, 59) &&
			 valid_bcd(t.r[HOUR], 0, 23) && valid_bcd(t.r[WDAY], 1, 7) &&
			 valid_bcd(t.r[MDAY], 1, 31) && valid_bcd(t.r[MONTH], 1, 12) &&
			 valid_bcd(t.r[YEAR], 0, 99) && t.century == 0x20;
		wr(B, 0x06);                       /* DM: binary */
		get_time(&u);
		same_binary = u.r[SEC] == bcd(t.r[SEC]) && u.r[MIN] == bcd(t.r[MIN]) &&
			      u.r[HOUR] == bcd(t.r[HOUR]) && u.r[MDAY] == bcd(t.r[MDAY]) &&
			      u.r[MONTH] == bcd(t.r[MONTH]) && u.r[YEAR] == bcd(t.r[YEAR]) &&
			      u.century == 20;
		wr(B, 0x00);                       /* BCD, 12-hour */
		get_time(&u);
		u8 h = bcd(u.r[HOUR] & 0x7f) % 12 + (u.r[HOUR] & 0x80 ? 12 : 0);
		same_12h = u.r[SEC] == t.r[SEC] && h == bcd(t.r[HOUR]) &&
			   bcd(u.r[HOUR] & 0x7f) >= 1 && bcd(u.r[HOUR] & 0x7f) <= 12;
		if (same_binary && same_12h)
			break;                     /* else a second went by: again */
	}
	wr(B, 0x02);
	printf("valid BCD %u, binary matches %u, 12-hour matches %u\n", ok_bcd, same_binary, same_12h);
}

/* UIP must show (in the 244 us before an update) and clear again.  A busy host
 * may deschedule us through the window: then try the next second, up to 15 (QEMU
 * missed 6 in a row with a Linux guest running beside it).  (Whether the
 * seconds changed when it cleared is not printed: QEMU latches UIP until its
 * update timer runs, which a loaded host delays past the update.) */
static void uip(void)
{
	int seen = 0;
	for (int tries = 0; tries < 15 && !seen; tries++) {
		u8 s = rd(SEC);
		for (;;) {
			u8 a = rd(A);
			if (rd(SEC) != s)
				break;                     /* missed it */
			if (a & 0x80) {
				while (rd(A) & 0x80)
					;
				seen = 1;
				break;
			}
		}
	}
	printf("UIP: %s\n", seen ? "seen, then cleared" : "not seen");
}

static void print_regs(const char *what)
{
	printf("%s:", what);
	for (int i = 0; i < 10; i++)
		if (i != SEC_ALARM && i != MIN_ALARM && i != HOUR_ALARM)
			printf(" %2x", rd(i));
	printf(" century %2x\n", rd(CENTURY));
}

static void set_time(u8 b, const u8 *r)
{
	wr(B, b | 0x80);                           /* SET: updates stop */
	static const u8 idx[] = { SEC, MIN, HOUR, WDAY, MDAY, MONTH, YEAR, CENTURY };
	for (int i = 0; i < 8; i++)
		wr(idx[i], r[i]);
}

static void setting(void)
{
	/* A leap day, a second to midnight, with a wrong day of the week. */
	static const u8 leap[] = { 0x59, 0x59, 0x23, 0x01, 0x29, 0x02, 0x24, 0x20 };
	set_time(0x02, leap);
	print_regs("SET, written");
	for (volatile int i = 0; i < 2000000; i++)
		;
	print_regs("SET, still");
	wr(B, 0x02);                               /* runs again from what we wrote */
	wait_updates(1);
	print_regs("1 s later");

	/* Binary, 12-hour: 11:59:59 PM on 2099-12-31. */
	static const u8 eoc[] = { 59, 59, 0x80 | 11, 5, 31, 12, 99, 20 };
	set_time(0x00 | 0x04, eoc);
	wr(B, 0x04);
	wait_updates(1);
	print_regs("binary 12-hour, 1 s after 2099-12-31 11:59:59 PM");

	/* Divider reset (DV = 11x) holds the time; released, it runs from there. */
	wr(B, 0x02);
	wr(A, 0x70);
	static const u8 ten[] = { 0x00, 0x00, 0x10, 0x04, 0x15, 0x06, 0x33, 0x20 };
	for (int i = 0; i < 8; i++) {
		static const u8 idx[] = { SEC, MIN, HOUR, WDAY, MDAY, MONTH, YEAR, CENTURY };
		wr(idx[i], ten[i]);
	}
	u8 held = rd(SEC);
	u8 a = rd(A);
	wr(A, 0x26);
	wait_updates(1);
	printf("divider reset: A %2x, held %2x; ", a, held);
	print_regs("released, 1 s later");
}

static void interrupts(void)
{
	pic_init(0xfb, 0xfe);        /* cascade and IRQ 8 */
	wr(SEC_ALARM, 0x30); wr(MIN_ALARM, 0x30); wr(HOUR_ALARM, 0x30);   /* far away */
	rd(C);

	/* Periodic, rate 6: 1024 Hz; 20 of them. */
	irqs = 0;
	wr(B, 0x42);
	asm volatile("sti");
	while (irqs < 20)
		asm volatile("hlt");
	asm volatile("cli");
	wr(B, 0x02);
	u8 c_periodic = last_c;
	rd(C);

	/* Update-ended: at the next update. */
	irqs = 0;
	wr(B, 0x12);
	asm volatile("sti");
	while (irqs < 1)
		asm volatile("hlt");
	asm volatile("cli");
	wr(B, 0x02);
	u8 c_update = last_c;
	rd(C);

	/* Alarm, two seconds ahead (this minute and hour, seconds wrapping). */
	struct tm t;
	get_time(&t);
	u8 s = (bcd(t.r[SEC]) + 2) % 60;
	wr(SEC_ALARM, to_bcd(s));
	wr(MIN_ALARM, 0xff);                       /* don't care */
	wr(HOUR_ALARM, 0xff);
	rd(C);
	irqs = 0;
	wr(B, 0x22);
	asm volatile("sti");
	while (irqs < 1)
		asm volatile("hlt");
	asm volatile("cli");
	wr(B, 0x02);
	printf("periodic C %2x; update-ended C %2x; alarm C %2x at the alarm second %u\n",
	       c_periodic, c_update, last_c, sec_at_irq == to_bcd(s));
}

/* "cmos" on the command line: the registers and RAM only (quick, for other -m sizes). */
static int cmos_only(u32 magic, u32 *mbi)
{
	if (magic != 0x2badb002 || !(mbi[0] & 4))
		return 0;
	for (const char *s = (const char *)mbi[4]; *s; s++)
		if (s[0] == 'c' && s[1] == 'm' && s[2] == 'o' && s[3] == 's')
			return 1;
	return 0;
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	reset_state();
	if (cmos_only(magic, mbi))
		exit(0);
	struct tm t;
	get_time(&t);
	printf("host time: %2x%2x-%2x-%2x %2x:%2x:%2x\n", t.century, t.r[YEAR], t.r[MONTH], t.r[MDAY],
	       t.r[HOUR], t.r[MIN], t.r[SEC]);
	formats();
	uip();
	setting();
	interrupts();
	exit(0);
}
