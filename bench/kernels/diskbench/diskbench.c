/* diskbench.c: what a sector costs through IDE PIO, in TSC cycles: sequential
 * 512-byte WRITE SECTORS, one sector per command, each completed by IRQ 14 (the
 * handler reads Status), then the same for READ SECTORS.  The data moves with
 * `rep outsl` / `rep insl`.  bench/disk.py runs it with a fresh 1 MiB image. */
#include "desc.h"

#define SECTORS 2000
#define DATA    0x1f0
#define COUNT   0x1f2
#define DEVICE  0x1f6
#define STATUS  0x1f7
#define ALT     0x3f6

static volatile u32 irqs;
static u32 buf[128];

static void hook(struct frame *f)
{
	if (f->vector == 0x2e) {
		irqs++;
		(void)inb(STATUS);
		outb(0xa0, 0x20);
		outb(0x20, 0x20);
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

static void command(u32 lba, u8 cmd)
{
	outb(DEVICE, 0xe0 | ((lba >> 24) & 0x0f));
	outb(COUNT, 1);
	outb(0x1f3, lba);
	outb(0x1f4, lba >> 8);
	outb(0x1f5, lba >> 16);
	outb(STATUS, cmd);
}

static void wait_irq(u32 n)
{
	while (irqs < n)
		asm volatile("pause");
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	pic_init(0xfb, 0xbf);        /* the cascade and IRQ 14 */
	outb(DEVICE, 0xa0);
	outb(ALT, 0);
	asm volatile("sti");

	unsigned long long t0 = rdtsc();
	for (u32 lba = 0; lba < SECTORS; lba++) {
		for (u32 i = 0; i < 128; i++)
			buf[i] = lba << 16 | i;
		command(lba, 0x30);
		while (!(inb(ALT) & 0x08))              /* DRQ: the drive wants the sector */
			;
		const void *src = buf;
		u32 n = 128;
		asm volatile("cld; rep outsl" : "+S"(src), "+c"(n) : "d"(DATA) : "memory");
		wait_irq(lba + 1);
	}
	report_cycles("sector-write", rdtsc() - t0, SECTORS);

	u32 bad = 0;
	t0 = rdtsc();
	for (u32 lba = 0; lba < SECTORS; lba++) {
		command(lba, 0x20);
		wait_irq(SECTORS + lba + 1);
		void *dst = buf;
		u32 n = 128;
		asm volatile("cld; rep insl" : "+D"(dst), "+c"(n) : "d"(DATA) : "memory");
		bad += buf[5] != (lba << 16 | 5);
	}
	report_cycles("sector-read", rdtsc() - t0, SECTORS);
	printf("sectors read back wrong: %u\n", bad);
	exit(0);
}
