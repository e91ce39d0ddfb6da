/* ide.c: the primary IDE channel as a kernel drives it, through PIO: software
 * reset, IDENTIFY DEVICE, reads and writes (LBA and CHS, one and many sectors,
 * READ/WRITE MULTIPLE), polled and with IRQ 14, 16- and 32-bit data transfers,
 * errors, nIEN, Status vs Alternate Status, the absent or present slave, a slave
 * alone (an empty device 0 beside it: QEMU's disk without a medium, which reads
 * as ready and aborts what needs the medium; the tests then run on device 1).
 *
 * tests/test_ide.py runs it with fresh images: sector n of the master holds the
 * dwords (n << 16 | i), i = 0..127, the slave's the same xor SLAVE_XOR; what this
 * kernel writes is the complement of the master's pattern (written()).  Only what
 * QEMU's IDE disk must answer the same way is printed (our model and serial
 * strings differ from QEMU's: printed only with "model" on the command line).
 * "kill" on the command line: write sector 42, say "written" once the drive says
 * it is done, and spin: the test kills the process and looks at the image.
 *
 * QEMU completes reads and writes asynchronously (BSY, then DRQ or the interrupt
 * later); lvm at once.  So every step waits on Alternate Status or on the
 * interrupt count, never on time, and interrupts are counted after a window with
 * IF=1; the interrupt is awaited with `sti; hlt`, which must work when it is
 * already pending (wait_irq()).
 * Paging is turned on near the end, for string I/O that faults in the middle.
 */
#include "desc.h"

#define DATA     0x1f0
#define ERROR    0x1f1
#define FEATURES 0x1f1
#define COUNT    0x1f2
#define LBA_LOW  0x1f3
#define LBA_MID  0x1f4
#define LBA_HIGH 0x1f5
#define DEVICE   0x1f6
#define STATUS   0x1f7
#define COMMAND  0x1f7
#define ALT      0x3f6              /* Alternate Status (read), Device Control (write) */

#define BSY  0x80
#define DRQ  0x08
#define ERR  0x01
#define NIEN 0x02
#define SRST 0x04

#define SLAVE_XOR 0x5a5a5a5au

static inline u16 inw(u16 p) { u16 v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 inl(u16 p) { u32 v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outw(u16 p, u16 v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
static inline void insw(u16 p, void *b, u32 n) { asm volatile("cld; rep insw" : "+D"(b), "+c"(n) : "d"(p) : "memory"); }
static inline void insl(u16 p, void *b, u32 n) { asm volatile("cld; rep insl" : "+D"(b), "+c"(n) : "d"(p) : "memory"); }
static inline void outsw(u16 p, const void *b, u32 n) { asm volatile("cld; rep outsw" : "+S"(b), "+c"(n) : "d"(p) : "memory"); }
static inline void outsl(u16 p, const void *b, u32 n) { asm volatile("cld; rep outsl" : "+S"(b), "+c"(n) : "d"(p) : "memory"); }

static volatile u32 irqs, spurious, page_faults, fault_addr;
static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[1024] __attribute__((aligned(4096)));     /* 4-8 MiB in 4 KiB pages */
static volatile int ack_in_handler = 1;
static u32 buf[128 * 16];
static u16 id[256];
static u32 capacity, heads, spt;       /* of the drive under test */
static int dev;                        /* the drive under test: 0, or 1 alone */
static const char *cmdline = "";

static void hook(struct frame *f)
{
	if (f->vector == 0x2e) {               /* IRQ 14: slave PIC input 6 */
		irqs++;
		(void)inb(ack_in_handler ? STATUS : ALT);
		outb(0xa0, 0x20);
		outb(0x20, 0x20);
		return;
	}
	if (f->vector == 14) {                 /* map the page and restart the instruction */
		u32 cr2;
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
		page_faults++;
		fault_addr = cr2;
		pt[(cr2 >> 12) & 1023] |= 1;
		asm volatile("invlpg (%0)" : : "r"(cr2) : "memory");
		return;
	}
	if (f->vector == 0x27 || f->vector == 0x2f) {
		spurious++;
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

/* IF=1 for a moment: QEMU takes interrupts at translation-block boundaries. */
static void window(void)
{
	asm volatile("sti");
	for (volatile int i = 0; i < 200; i++)
		;
	asm volatile("cli");
}

static void __attribute__((noreturn)) fail(const char *what)
{
	printf("timeout: %s (status %x)\n", what, inb(ALT));
	exit(0x7e);
}

static u8 wait_not_busy(void)
{
	for (u32 n = 0; n < 50000000; n++) {
		u8 s = inb(ALT);
		if (!(s & BSY))
			return s;
	}
	fail("BSY");
}

/* The drive wants data, or has it, or gave up. */
static u8 wait_drq(void)
{
	for (u32 n = 0; n < 50000000; n++) {
		u8 s = inb(ALT);
		if (!(s & BSY) && (s & (DRQ | ERR)))
			return s;
	}
	fail("DRQ");
}

/* The idiom: the interrupt may already be pending at `sti` (lvm completes commands
 * at once); sti's shadow makes the hlt run first and the interrupt wake it. */
static void wait_irq(u32 n)
{
	for (u32 i = 0; i < 1000000 && irqs < n; i++)
		asm volatile("sti; hlt; cli");
	if (irqs < n)
		fail("interrupt");
}

static void regs(const char *what)
{
	printf("%s: status %2x error %2x count %2x lba %2x %2x %2x device %2x\n", what, inb(ALT),
	       inb(ERROR), inb(COUNT), inb(LBA_LOW), inb(LBA_MID), inb(LBA_HIGH), inb(DEVICE));
}

static void setup(int dev, u32 lba, u8 count)
{
	outb(DEVICE, 0xe0 | dev << 4 | ((lba >> 24) & 0x0f));
	outb(COUNT, count);
	outb(LBA_LOW, lba);
	outb(LBA_MID, lba >> 8);
	outb(LBA_HIGH, lba >> 16);
}

static u32 pattern(int dev, u32 lba, u32 i) { return (lba << 16 | i) ^ (dev ? SLAVE_XOR : 0); }
static u32 written(u32 lba, u32 i) { return ~(lba << 16 | i); }

/* Compare one sector of buf (at word offset `at`) with what should be there. */
static int check(u32 at, int dev, u32 lba, int was_written)
{
	for (u32 i = 0; i < 128; i++) {
		u32 want = was_written ? written(lba, i) : pattern(dev, lba, i);
		if (buf[at + i] != want) {
			printf("sector %u dword %u: %x, expected %x\n", lba, i, buf[at + i], want);
			return 0;
		}
	}
	return 1;
}

static void fill(u32 at, u32 lba)
{
	for (u32 i = 0; i < 128; i++)
		buf[at + i] = written(lba, i);
}

static int has_word(const char *w)
{
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *a = p, *b = w;
		while (*a && *a != ' ' && *a == *b)
			a++, b++;
		if ((!*a || *a == ' ') && !*b)
			return 1;
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

static void print_string(const char *name, int from, int words)
{
	printf("%s '", name);
	for (int i = from; i < from + words; i++)
		printf("%c%c", id[i] >> 8, id[i] & 0xff);
	printf("'\n");
}

static void simple(const char *name, u8 cmd)
{
	u32 n = irqs;
	outb(COMMAND, cmd);
	wait_irq(n + 1);
	regs(name);
}

/* Device 0 is selected before the reset: QEMU keeps the drive selected across it
 * (SeaBIOS leaves device 1 selected), and an absent device 1 reads Status 0 while
 * the reset is still under way. */
static void reset(void)
{
	outb(DEVICE, 0xa0);
	outb(ALT, NIEN | SRST);
	outb(ALT, NIEN);
	wait_not_busy();
	outb(DEVICE, 0xa0);
}

/* Interrupts on again after polling: read Status first.  A drive keeps the
 * interrupt of a polled command pending until then, and INTRQ shows it as soon as
 * nIEN is 0 (ATA-6; QEMU forgets an interrupt raised while nIEN was 1). */
static void interrupts_on(void)
{
	(void)inb(STATUS);
	outb(ALT, 0);
}

static int identify(int d)
{
	outb(DEVICE, 0xa0 | d << 4);
	outb(COMMAND, 0xec);
	if (wait_drq() & ERR) {
		regs("identify failed");
		return 0;
	}
	insw(DATA, id, 256);
	if (d == dev) {
		capacity = id[60] | (u32)id[61] << 16;
		heads = id[3];
		spt = id[6];
	}
	printf("identify %u: config %4x chs %u/%u/%u lba %u dword-io %u multiple max %u current %4x "
	       "sectors %u flush %u\n", d, id[0], id[1], id[3], id[6], (id[49] >> 9) & 1, id[48],
	       id[47] & 0xff, id[59], id[60] | (u32)id[61] << 16, (id[83] >> 12) & 1);
	if (has_word("model")) {
		print_string("serial", 10, 10);
		print_string("firmware", 23, 4);
		print_string("model", 27, 20);
		u8 sum = 0;
		for (int i = 0; i < 256; i++)
			sum += (id[i] & 0xff) + (id[i] >> 8);
		printf("integrity word %x, sum %x\n", id[255] & 0xff, sum);
	}
	regs("after identify");
	return 1;
}

/* The empty device 0 beside a lone device 1, as QEMU has it: ready, its own
 * registers, commands that need a medium aborted (with the interrupt), the
 * others done. */
static void empty_master(void)
{
	outb(DEVICE, 0xa0);
	printf("device 0 empty: status %x alt %x\n", inb(STATUS), inb(ALT));
	setup(dev, 5, 1);
	outb(COMMAND, 0x20);
	wait_not_busy();
	regs("  read sectors");
	setup(dev, 5, 1);
	outb(COMMAND, 0x30);
	wait_not_busy();
	regs("  write sectors");
	outb(COMMAND, 0xe7);
	wait_not_busy();
	regs("  flush cache");
	outb(COMMAND, 0xe5);
	wait_not_busy();
	regs("  check power mode");
	outb(COUNT, 8);
	outb(COMMAND, 0xc6);
	wait_not_busy();
	regs("  set multiple 8");
	outb(FEATURES, 0x02);
	outb(COMMAND, 0xef);
	wait_not_busy();
	regs("  set features");
	outb(DEVICE, 0xa0 | 15);
	outb(COUNT, 63);
	outb(COMMAND, 0x91);
	wait_not_busy();
	regs("  initialize device parameters");
	outb(COMMAND, 0x40);
	wait_not_busy();
	regs("  read verify");
	outb(COMMAND, 0x10);
	wait_not_busy();
	regs("  recalibrate");
	interrupts_on();
	irqs = 0;
	outb(COMMAND, 0xec);
	wait_irq(1);
	window();
	printf("  identify with interrupts: interrupts %u\n", irqs);
	outb(ALT, NIEN);
	(void)inb(STATUS);
}

static void kill_test(void)
{
	outb(ALT, 0);
	fill(0, 42);
	setup(dev, 42, 1);
	outb(COMMAND, 0x30);
	wait_drq();
	outsl(DATA, buf, 128);
	wait_irq(1);
	printf("written\n");
	for (;;)
		asm volatile("pause");
}

void kmain(u32 magic, u32 *info)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	pic_init(0xfb, 0xbf);        /* only the cascade and IRQ 14 */
	if (magic == 0x2badb002 && (info[0] & 4))
		cmdline = (const char *)info[4];

	/* Software reset, nIEN set throughout: the signature, diagnostic code 01h. */
	reset();
	regs("after reset");
	if (has_word("kill"))
		kill_test();

	int slave = 0;
	outb(DEVICE, 0xb0);
	u8 s = inb(STATUS), a = inb(ALT), e = inb(ERROR);
	outb(COUNT, 0x55);
	if (s) {
		slave = 1;
		printf("slave present: status %x\n", s);
	} else {
		/* Absent: Status, Alternate Status and Error read 0, the other registers
		 * latched the writes, commands are ignored. */
		printf("slave absent: status %x alt %x error %x count %x\n", s, a, e, inb(COUNT));
		outb(ALT, 0);
		outb(COMMAND, 0xec);
		window();
		printf("  identify ignored: status %x, interrupts %u\n", inb(STATUS), irqs);
		outb(ALT, NIEN);
	}
	outb(DEVICE, 0xa0);

	if (!identify(0) && slave) {
		empty_master();
		dev = 1;
	}
	if (slave)
		identify(1);

	/* One sector, polled, 32-bit data transfers. */
	setup(dev, 5, 1);
	outb(COMMAND, 0x20);
	wait_drq();
	insl(DATA, buf, 128);
	printf("read lba 5 polled: %s\n", check(0, dev, 5, 0) ? "ok" : "BAD");
	regs("after read");

	/* Four sectors with interrupts; the handler reads Status (acknowledge). */
	interrupts_on();
	irqs = 0;
	setup(dev, 10, 4);
	outb(COMMAND, 0x20);
	int ok = 1;
	for (u32 n = 0; n < 4; n++) {
		wait_irq(n + 1);
		if (!(inb(ALT) & DRQ))
			ok = 0;
		insl(DATA, buf, 128);
		ok &= check(0, dev, 10 + n, 0);
	}
	window();
	printf("read 4 sectors, IRQ 14: data %s, interrupts %u\n", ok ? "ok" : "BAD", irqs);
	regs("after read");

	/* Count 0 is 256 sectors; 16-bit data transfers. */
	outb(ALT, NIEN);
	setup(dev, 1000, 0);
	outb(COMMAND, 0x20);
	ok = 1;
	for (u32 n = 0; n < 256; n++) {
		wait_drq();
		insw(DATA, buf, 256);
		ok &= check(0, dev, 1000 + n, 0);
	}
	printf("read 256 sectors (count 0): %s\n", ok ? "ok" : "BAD");
	regs("after read");

	/* CHS: cylinder 1, head 2, sector 3 in the drive's default translation. */
	outb(DEVICE, 0xa0 | dev << 4 | 2);
	outb(COUNT, 1);
	outb(LBA_LOW, 3);
	outb(LBA_MID, 1);
	outb(LBA_HIGH, 0);
	outb(COMMAND, 0x20);
	wait_drq();
	for (u32 i = 0; i < 128; i++)
		buf[i] = inl(DATA);
	u32 chs_lba = (1 * heads + 2) * spt + 2;
	printf("read chs 1/2/3 (lba %u), single inl: %s\n", chs_lba, check(0, dev, chs_lba, 0) ? "ok" : "BAD");
	regs("after chs read");

	/* Writes with interrupts: no interrupt before the first block, one after each. */
	interrupts_on();
	irqs = 0;
	setup(dev, 100, 3);
	outb(COMMAND, 0x30);
	wait_drq();
	window();
	printf("write: DRQ for the first sector, interrupts %u\n", irqs);
	for (u32 n = 0; n < 3; n++) {
		fill(0, 100 + n);
		outsl(DATA, buf, 128);
		wait_irq(n + 1);
	}
	window();
	printf("wrote 3 sectors: interrupts %u\n", irqs);
	regs("after write");

	/* SET MULTIPLE MODE 2, READ MULTIPLE 3: blocks of 2 and 1. */
	irqs = 0;
	outb(COUNT, 2);
	simple("set multiple 2", 0xc6);
	irqs = 0;
	setup(dev, 100, 3);
	outb(COMMAND, 0xc4);
	wait_irq(1);
	insl(DATA, buf, 256);
	wait_irq(2);
	insl(DATA, buf + 256, 128);
	window();
	ok = check(0, dev, 100, 1) && check(128, dev, 101, 1) && check(256, dev, 102, 1);
	printf("read multiple 3 back: %s, interrupts %u\n", ok ? "ok" : "BAD", irqs);

	/* WRITE MULTIPLE 5 in blocks of 4 and 1, 16-bit transfers. */
	outb(COUNT, 4);
	simple("set multiple 4", 0xc6);
	irqs = 0;
	for (u32 n = 0; n < 5; n++)
		fill(128 * n, 200 + n);
	setup(dev, 200, 5);
	outb(COMMAND, 0xc5);
	wait_drq();
	outsw(DATA, buf, 4 * 256);
	wait_irq(1);
	outsw(DATA, buf + 4 * 128, 256);
	wait_irq(2);
	window();
	printf("write multiple 5: interrupts %u\n", irqs);
	regs("after write multiple");
	outb(COUNT, 3);
	simple("set multiple 3 (not a power of 2)", 0xc6);
	outb(COUNT, 0);
	simple("set multiple 0", 0xc6);
	setup(dev, 100, 1);
	simple("read multiple, multiple mode off", 0xc4);
	outb(COUNT, 4);
	simple("set multiple 4", 0xc6);

	/* Errors: past the end (QEMU: ABRT), the registers at the failing sector. */
	irqs = 0;
	setup(dev, capacity, 1);
	simple("read past the end", 0x20);
	setup(dev, capacity - 1, 2);
	outb(COMMAND, 0x20);
	wait_irq(2);
	insl(DATA, buf, 128);
	ok = check(0, dev, capacity - 1, 0);
	wait_irq(3);
	printf("read of the last sector: %s\n", ok ? "ok" : "BAD");
	regs("and the one after");
	setup(dev, capacity, 1);
	u32 n0 = irqs;
	outb(COMMAND, 0x30);
	wait_drq();
	fill(0, capacity);
	outsl(DATA, buf, 128);
	wait_irq(n0 + 1);
	regs("write past the end");
	simple("command 0x50 (unknown)", 0x50);
	outb(FEATURES, 0x99);
	simple("set features 0x99 (unknown)", 0xef);
	printf("interrupts %u\n", irqs);

	/* Non-data commands. */
	simple("flush cache", 0xe7);
	simple("idle immediate", 0xe1);
	simple("standby immediate", 0xe0);
	simple("check power mode", 0xe5);
	outb(FEATURES, 0x03);
	outb(COUNT, 0x0c);
	simple("set features: PIO mode 4", 0xef);
	outb(FEATURES, 0x02);
	simple("set features: write cache on", 0xef);
	outb(DEVICE, 0xa0 | dev << 4 | (heads - 1));
	outb(COUNT, spt);
	simple("initialize device parameters (default)", 0x91);
	simple("recalibrate", 0x10);
	simple("seek", 0x70);
	simple("execute device diagnostic", 0x90);

	/* nIEN: no interrupt while set; reading Status acknowledges before it is cleared. */
	outb(ALT, NIEN);
	irqs = 0;
	setup(dev, 20, 1);
	outb(COMMAND, 0x20);
	wait_drq();
	window();
	insl(DATA, buf, 128);
	printf("nIEN set: interrupts %u, data %s\n", irqs, check(0, dev, 20, 0) ? "ok" : "BAD");
	interrupts_on();
	window();
	printf("nIEN cleared after Status was read: interrupts %u\n", irqs);
	if (has_word("spec")) {
		/* lvm only: the interrupt of a command polled with nIEN=1 arrives when nIEN
		 * is cleared, if Status was not read. */
		outb(ALT, NIEN);
		setup(dev, 20, 1);
		outb(COMMAND, 0x20);
		wait_drq();
		insl(DATA, buf, 128);
		outb(ALT, 0);
		window();
		printf("spec: nIEN cleared, Status not read: interrupts %u\n", irqs);
		/* A byte access to the Data register moves one byte (QEMU: reads 0xff). */
		interrupts_on();
		outb(ALT, NIEN);
		setup(dev, 21, 1);
		outb(COMMAND, 0x20);
		wait_drq();
		for (u32 i = 0; i < 512; i++)
			((u8 *)buf)[i] = inb(DATA);
		printf("spec: read lba 21 with inb: %s\n", check(0, dev, 21, 0) ? "ok" : "BAD");
		interrupts_on();
		/* INITIALIZE DEVICE PARAMETERS changes the CHS translation (QEMU ignores it). */
		outb(DEVICE, 0xa0 | dev << 4 | 3);
		outb(COUNT, 32);
		simple("spec: initialize device parameters 4 heads, 32 sectors", 0x91);
		outb(DEVICE, 0xa0 | dev << 4 | 2);
		outb(COUNT, 1);
		outb(LBA_LOW, 3);
		outb(LBA_MID, 1);
		outb(LBA_HIGH, 0);
		outb(COMMAND, 0x20);
		wait_drq();
		insl(DATA, buf, 128);
		printf("spec: chs 1/2/3 is lba 194: %s\n", check(0, dev, 194, 0) ? "ok" : "BAD");
		outb(DEVICE, 0xa0 | dev << 4);
		outb(COMMAND, 0xec);
		wait_drq();
		insw(DATA, id, 256);
		printf("spec: identify: current chs %u/%u/%u capacity %u\n", id[54], id[55], id[56],
		       id[57] | (u32)id[58] << 16);
		outb(DEVICE, 0xa0 | dev << 4 | (heads - 1));
		outb(COUNT, spt);
		simple("spec: initialize device parameters (default)", 0x91);
		interrupts_on();
	}

	/* Alternate Status does not acknowledge: the second sector's interrupt finds
	 * INTRQ still asserted, no new edge.  Status does: two interrupts. */
	ack_in_handler = 0;
	irqs = 0;
	setup(dev, 30, 2);
	outb(COMMAND, 0x20);
	wait_irq(1);
	insl(DATA, buf, 128);
	wait_drq();
	window();
	insl(DATA, buf, 128);
	printf("Alternate Status only: interrupts %u\n", irqs);
	(void)inb(STATUS);
	irqs = 0;
	setup(dev, 30, 2);
	outb(COMMAND, 0x20);
	wait_irq(1);
	(void)inb(STATUS);
	insl(DATA, buf, 128);
	wait_irq(2);
	insl(DATA, buf, 128);
	(void)inb(STATUS);
	printf("Status read after each: interrupts %u\n", irqs);
	ack_in_handler = 1;

	if (slave && dev == 0) {                   /* the second drive of two */
		irqs = 0;
		setup(1, 7, 1);
		outb(COMMAND, 0x20);
		wait_irq(1);
		insl(DATA, buf, 128);
		printf("slave: read lba 7: %s\n", check(0, 1, 7, 0) ? "ok" : "BAD");
		fill(0, 9);
		setup(1, 9, 1);
		outb(COMMAND, 0x30);
		wait_drq();
		outsl(DATA, buf, 128);
		wait_irq(2);
		regs("slave: after write lba 9");
		outb(DEVICE, 0xa0);
	}

	/* REP INSL/OUTSL with paging, into and out of a buffer whose second page is not
	 * present: #PF in the middle, the handler maps the page, the instruction goes on
	 * with ECX/EDI (ESI) where it stopped and no element lost or repeated. */
	for (u32 i = 0; i < 4; i++)
		pd[i] = i << 22 | 0x83;               /* 4 MiB pages: present, writable */
	pd[1] = (u32)pt | 3;
	for (u32 i = 0; i < 1024; i++)
		pt[i] = (0x400000 + (i << 12)) | 3;
	pt[0x101] &= ~1u;
	u32 cr;
	asm volatile("mov %%cr4, %0; orl $0x10, %0; mov %0, %%cr4" : "=r"(cr));
	asm volatile("mov %0, %%cr3" : : "r"(pd));
	asm volatile("mov %%cr0, %0; orl $0x80000000, %0; mov %0, %%cr0" : "=r"(cr));
	u32 *in = (u32 *)0x500e00, *src = (u32 *)0x502e00;
	outb(ALT, NIEN);
	setup(dev, 60, 2);
	outb(COMMAND, 0xc4);                       /* one block of 2 sectors */
	wait_drq();
	insl(DATA, in, 256);
	ok = 1;
	for (u32 i = 0; i < 256; i++)
		ok &= in[i] == pattern(dev, 60 + i / 128, i % 128);
	printf("rep insl across a page fault: %s, faults %u at %x\n", ok ? "ok" : "BAD", page_faults,
	       fault_addr);
	for (u32 i = 0; i < 256; i++)
		src[i] = written(300 + i / 128, i % 128);
	pt[0x103] &= ~1u;
	asm volatile("invlpg (%0)" : : "r"(0x503000) : "memory");
	setup(dev, 300, 2);
	outb(COMMAND, 0xc5);
	wait_drq();
	outsl(DATA, src, 256);
	wait_not_busy();
	regs("rep outsl across a page fault");
	printf("faults %u at %x\n", page_faults, fault_addr);
	(void)inb(STATUS);

	/* A reset in the middle of a transfer ends it. */
	outb(ALT, NIEN);
	setup(dev, 50, 2);
	outb(COMMAND, 0x20);
	wait_drq();
	reset();
	regs("reset during a read");
	printf("spurious interrupts %u\n", spurious);
	exit(0);
}
