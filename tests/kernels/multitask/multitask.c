/* multitask.c: a tiny multitasking kernel: the PIT at 100 Hz drives a round-robin
 * scheduler over three user processes (an idle one, two that log and sleep), and
 * every log line goes to the IDE disk as a sector, written by PIO with its
 * completion interrupt (IRQ 14).  It runs 1000 ticks (10 s of guest time), then
 * writes a header sector and prints what it counted.  tests/test_platform.py runs
 * it with a fresh disk image, checks the time it took (lost ticks would make it
 * longer), the CPU it used (the idle process halts the CPU), and the log on disk. */
#include "desc.h"

#define TICKS 1000
#define NPROC 3
#define USER_STACK(i) (0x410000 - (i) * 0x1000)

struct proc { struct frame f; u32 wake; int asleep; u32 logged; };

static struct proc procs[NPROC];
static int cur;
static volatile u32 ticks, disk_irqs, switches, records;
static char sector[512];

static void eoi(int irq)
{
	if (irq >= 8)
		outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

static void outsl(u16 port, const void *p, u32 n)
{
	asm volatile("cld; rep outsl" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}

/* One sector by PIO: WRITE SECTORS, the data, then wait for the drive. */
static void disk_write(u32 lba, const void *data)
{
	while (inb(0x1f7) & 0x80)
		;
	outb(0x1f6, 0xe0 | ((lba >> 24) & 0x0f));
	outb(0x1f2, 1);
	outb(0x1f3, lba);
	outb(0x1f4, lba >> 8);
	outb(0x1f5, lba >> 16);
	outb(0x1f7, 0x30);
	while ((inb(0x1f7) & 0x88) != 0x08)          /* BSY clear, DRQ set */
		;
	outsl(0x1f0, data, 128);
	while (inb(0x3f6) & 0x80)                     /* alternate status: BSY */
		;
	if (inb(0x3f6) & 0x21) {
		printf("disk error %x status %x at lba %u\n", inb(0x1f1), inb(0x3f6), lba);
		exit(0x7d);
	}
}

static void format(char *out, const char *fmt, u32 a, u32 b, u32 c)
{
	/* A tiny formatter for the log lines: "%u" only. */
	u32 args[3] = { a, b, c }, k = 0;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			*out++ = *fmt;
			continue;
		}
		fmt++;                                     /* the 'u' */
		char digits[12];
		int n = 0;
		u32 v = args[k++];
		do digits[n++] = '0' + v % 10; while (v /= 10);
		while (n)
			*out++ = digits[--n];
	}
	*out = 0;
}

static void schedule(struct frame *f)
{
	procs[cur].f = *f;
	int next = 0;                                      /* the idle process, if nobody else */
	for (int i = 1; i <= NPROC; i++) {
		int c = (cur + i) % NPROC;
		if (c != 0 && !procs[c].asleep) {
			next = c;
			break;
		}
	}
	if (next != cur)
		switches++;
	cur = next;
	*f = procs[cur].f;
}

static void finish(void)
{
	for (int i = 0; i < 512; i++)
		sector[i] = 0;
	format(sector, "lvm multitask log: %u records, %u ticks, %u switches\n", records, ticks, switches);
	disk_write(0, sector);
	asm volatile("sti; nop; cli");                 /* the last completion interrupt */
	printf("ticks %u, records %u (process 1: %u, process 2: %u), disk interrupts %u\n",
	       ticks, records, procs[1].logged, procs[2].logged, disk_irqs);
	printf("switches %u\n", switches);
	exit(0);
}

static void hook(struct frame *f)
{
	switch (f->vector) {
	case 0x20:
		ticks++;
		eoi(0);
		for (int i = 0; i < NPROC; i++)
			if (procs[i].asleep && (int)(ticks - procs[i].wake) >= 0)
				procs[i].asleep = 0;
		if (ticks >= TICKS)
			finish();
		if ((f->cs & 3) == 3)
			schedule(f);                       /* preempt; from the idle halt: just tick */
		return;
	case 0x2e:
		disk_irqs++;
		inb(0x1f7);                                /* acknowledge the drive */
		eoi(14);
		return;
	case 0x27:
		return;                                    /* spurious */
	case 0x80:
		break;
	default:
		printf("unexpected vector %u err %x eip %x\n", f->vector, f->err, f->eip);
		exit(0x7f);
	}
	switch (f->eax) {
	case 1:                                            /* log(count) */
		records++;
		procs[cur].logged++;
		for (int i = 0; i < 512; i++)
			sector[i] = 0;
		format(sector, "tick %u process %u count %u\n", ticks, cur, f->ebx);
		disk_write(records, sector);
		return;
	case 2:                                            /* sleep(ticks) */
		procs[cur].wake = ticks + f->ebx;
		procs[cur].asleep = 1;
		schedule(f);
		return;
	case 4:                                            /* whoami */
		f->eax = cur;
		return;
	case 3: {                                          /* idle: halt, then yield */
		u32 t = ticks;
		while (ticks == t && procs[1].asleep && procs[2].asleep)
			asm volatile("sti; hlt; cli");
		schedule(f);
		return;
	}
	}
	printf("bad system call %u\n", f->eax);
	exit(0x7e);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	pic_init(0xfa, 0xbf);                /* IRQ 0, 2 (cascade), 14 */
	outb(0x3f6, 0);                                    /* disk interrupts on */
	outb(0x43, 0x34);                                  /* PIT: mode 2, 100 Hz */
	outb(0x40, 11932 & 0xff);
	outb(0x40, 11932 >> 8);
	load_user();
	for (int i = 0; i < NPROC; i++) {
		struct frame *f = &procs[i].f;
		f->eip = USER_BASE;
		f->cs = UCODE;
		f->eflags = 0x202;
		f->uesp = USER_STACK(i);
		f->uss = UDATA;
		f->ds = f->es = UDATA;
		f->eax = i;
	}
	printf("3 processes, %u ticks at 100 Hz\n", TICKS);
	cur = 1;
	enter_user(USER_BASE, USER_STACK(1));
}
