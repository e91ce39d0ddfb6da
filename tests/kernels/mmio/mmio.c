/* mmio.c: device registers in memory: the local APIC and the I/O APIC, reached with
 * the instruction forms kernels use on them (mov of every kind, movzx, the ALU group
 * on memory, xchg, bit tests, rep movs), with paging off and through a page table
 * that maps them elsewhere; interrupts through the local APIC (self IPI, TPR
 * masking, EOI, the timer one-shot and periodic) and from the PIT through the
 * I/O APIC.  Timer facts only, never counts that depend on the emulator's speed. */
#include "desc.h"
#include "paging.h"

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u
#define R(base, off) (*(volatile u32 *)((base) + (off)))

enum { ID = 0x20, VER = 0x30, TPR = 0x80, PPR = 0xa0, EOI = 0xb0, LDR = 0xd0, DFR = 0xe0,
       SVR = 0xf0, ISR = 0x100, IRR = 0x200, ESR = 0x280, ICR_LO = 0x300, ICR_HI = 0x310,
       LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370,
       TMICT = 0x380, TMCCT = 0x390, TDCR = 0x3e0 };

static u32 lapic_base = LAPIC;
static volatile u32 hits[256], order[8], norder;

static u32 la(u32 off) { return R(lapic_base, off); }
static void la_set(u32 off, u32 v) { R(lapic_base, off) = v; }
static u32 io_read(u32 reg) { R(IOAPIC, 0) = reg; return R(IOAPIC, 0x10); }
static void io_write(u32 reg, u32 v) { R(IOAPIC, 0) = reg; R(IOAPIC, 0x10) = v; }

/* Spin on the Current Count until it has fallen by `ticks` (one-shot): 1, or 0
 * if it stood still for 100 million reads. */
static u32 ccr_delay(u32 ticks)
{
	u32 start = la(TMCCT);
	for (u32 n = 0; n < 100000000u; n++)
		if (start - la(TMCCT) >= ticks)
			return 1;
	return 0;
}

static u32 ccr_moves(void)
{
	u32 first = la(TMCCT);
	for (u32 n = 0; n < 100000000u; n++)
		if (la(TMCCT) != first)
			return 1;
	return 0;
}

static void hook(struct frame *f)
{
	hits[f->vector]++;
	if (norder < 8)
		order[norder++] = f->vector;
	if (f->vector >= 0x50 && f->vector != 0xff)
		la_set(EOI, 0);
	else if (f->vector == 0x20 || f->vector == 0x27)
		outb(0x20, 0x20);
	else if (f->vector != 0xff) {
		printf("unexpected vector %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7f);
	}
}

static void forms(void)
{
	volatile u32 *tpr = (u32 *)(lapic_base + TPR);
	u32 v;
	*tpr = 0x10;
	asm volatile("orl $0x20, %0" : "+m"(*tpr));
	printf("or: %x", *tpr);
	asm volatile("andl $0xf0, %0" : "+m"(*tpr));
	printf(" and: %x", *tpr);
	asm volatile("addl $0x11, %0" : "+m"(*tpr));
	printf(" add: %x", *tpr);
	asm volatile("subl $0x1, %0" : "+m"(*tpr));
	printf(" sub: %x", *tpr);
	asm volatile("incl %0" : "+m"(*tpr));
	asm volatile("incl %0" : "+m"(*tpr));
	asm volatile("decl %0" : "+m"(*tpr));
	printf(" inc/dec: %x", *tpr);
	asm volatile("xorl $0xff, %0" : "+m"(*tpr));
	printf(" xor: %x\n", *tpr);
	v = 0x42;
	asm volatile("xchgl %0, %1" : "+r"(v), "+m"(*tpr));
	printf("xchg: old %x new %x\n", v, *tpr);
	asm volatile("btsl $7, %0" : "+m"(*tpr));
	printf("bts: %x", *tpr);
	asm volatile("btrl $1, %0" : "+m"(*tpr));
	printf(" btr: %x", *tpr);
	u8 cf;
	asm volatile("btl $6, %1; setc %0" : "=q"(cf) : "m"(*tpr));
	printf(" bt 6: %u", cf);
	u32 flags;
	asm volatile("cmpl $0xc0, %1; pushfl; popl %0" : "=r"(flags) : "m"(*tpr));
	printf(" cmp flags: %x", flags & 0x8d5);
	asm volatile("testl $0x80, %1; pushfl; popl %0" : "=r"(flags) : "m"(*tpr));
	printf(" test flags: %x\n", flags & 0x8d5);
	u32 z = 0x30;
	asm volatile("movl %1, %0" : "=m"(*tpr) : "r"(z));
	asm volatile("movl $0x50, %0" : "=m"(*tpr));
	printf("mov imm: %x\n", *tpr);
	u32 src = 0x20, dst[4];
	u32 *dp = dst, cnt = 1;
	volatile u32 *sp = tpr;
	asm volatile("cld; rep movsl" : "+S"(sp), "+D"(dp), "+c"(cnt) : : "memory");
	printf("rep movsl from the TPR: %x\n", dst[0]);
	u32 *s = &src;
	volatile u32 *d = (u32 *)(lapic_base + TPR);
	u32 n = 1;
	asm volatile("cld; rep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	printf("rep movsl to the TPR: %x, ecx %u\n", la(TPR), n);
	la_set(TPR, 0);
}

static void registers(const char *how)
{
	printf("%s: id %x version %x tpr %x ppr %x ldr %x dfr %x svr %x\n", how, la(ID), la(VER),
	       la(TPR), la(PPR), la(LDR), la(DFR), la(SVR));
	printf("  lvt timer %x lint0 %x lint1 %x error %x tdcr %x tmict %x esr %x\n",
	       la(LVT_TIMER), la(LVT_LINT0), la(LVT_LINT1), la(LVT_ERROR), la(TDCR), la(TMICT),
	       la(ESR));
}

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[1024] __attribute__((aligned(4096)));

static void paging_alias(void)
{
	identity_4m(pd, 0, 8, P | W);                       /* 0-32 MiB */
	pt[0] = LAPIC | 0x13;                               /* PCD PWT: an uncached device page */
	pt[1] = IOAPIC | 0x13;
	pd[0x300] = (u32)pt | P | W;                        /* 0xc0000000: the APICs */
	set_cr4(get_cr4() | CR4_PSE);
	paging_on(pd, 0);
	lapic_base = 0xc0000000u;
}

static u16 pit_read0(void)
{
	outb(0x43, 0x00);
	u8 lo = inb(0x40), hi = inb(0x40);
	return lo | hi << 8;
}

/* Let n PIT periods pass with interrupts enabled (counter 0 wraps n times). */
static void pit_periods(int n)
{
	u16 last = pit_read0();
	asm volatile("sti");
	for (int wraps = 0; wraps < n;) {
		u16 c = pit_read0();
		if (c > last)
			wraps++;
		last = c;
	}
	asm volatile("cli");
}

static void wait_vector(int v)
{
	for (int i = 0; i < 1000000 && !hits[v]; i++)
		asm volatile("sti; hlt; cli");
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	outb(0x21, 0xff); outb(0xa1, 0xff);
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
	printf("IA32_APIC_BASE %x:%x\n", hi, lo);
	registers("at boot");
	printf("ioapic id %x ver %x arb %x red0 %x:%x red23 %x:%x\n", io_read(0), io_read(1),
	       io_read(2), io_read(0x10), io_read(0x11), io_read(0x3e), io_read(0x3f));

	la_set(SVR, 0x1ff);                               /* enable, spurious vector 0xff */
	la_set(LDR, 0x01000000);
	la_set(DFR, 0x0fffffff);
	la_set(ID, 0x05000000);
	printf("id after write %x (restored) ", la(ID));
	la_set(ID, 0);
	printf("%x\n", la(ID));
	forms();

	/* Self IPIs: delivered by priority, TPR holds back lower classes. */
	asm volatile("cli");
	la_set(TPR, 0x60);
	la_set(ICR_HI, 0);
	la_set(ICR_LO, 0x00044051);                        /* self, fixed, vector 0x51 */
	la_set(ICR_LO, 0x00044071);                        /* self, fixed, vector 0x71 */
	printf("irr 0x51 %x 0x71 %x, ppr %x\n", (la(IRR + 0x20) >> 17) & 1, (la(IRR + 0x30) >> 17) & 1,
	       la(PPR));
	asm volatile("sti; nop; cli");
	printf("with tpr 0x60: order %x, hits 0x51 %u 0x71 %u\n", order[0], hits[0x51], hits[0x71]);
	la_set(TPR, 0);
	asm volatile("sti; nop; cli");
	printf("tpr 0: order %x %x\n", order[0], order[1]);
	printf("icr %x:%x\n", la(ICR_HI), la(ICR_LO));

	/* The timer: one-shot, then periodic; divide by 16. */
	la_set(TDCR, 0x3);
	la_set(LVT_TIMER, 0x60);
	la_set(TMICT, 1000000);                            /* 16 ms */
	u32 c1 = la(TMCCT);
	printf("one-shot: counting %u, tdcr %x\n", c1 > 0 && c1 <= 1000000, la(TDCR));
	wait_vector(0x60);
	printf("one-shot fired %u, current count %x\n", hits[0x60], la(TMCCT));
	la_set(LVT_TIMER, 0x20061);
	la_set(TMICT, 100000);                             /* 1.6 ms */
	wait_vector(0x61);
	while (hits[0x61] < 3)
		asm volatile("sti; hlt; cli");
	la_set(LVT_TIMER, 0x30061);                        /* masked */
	printf("periodic: at least 3 ticks, masked: lvt %x\n", la(LVT_TIMER));
	la_set(TMICT, 0);

	/* The Current Count read in a loop with nothing else running (NetBSD's delay()):
	 * it falls as time passes, with interrupts off, and after reads that left it
	 * alone (lvm then reads the APIC natively, and must look again). */
	la_set(TDCR, 0x3);
	la_set(LVT_TIMER, 0x10062);                        /* masked, one-shot */
	la_set(TMICT, 0xffffffffu);                        /* ~68 s */
	printf("a 50 us delay on the current count, interrupts off: %u\n", ccr_delay(3125));
	la_set(LVT_TIMER, 0x20063);                        /* periodic */
	la_set(TMICT, 62500);                              /* 1 ms */
	u32 ids = 0;
	for (int i = 0; i < 1000; i++)
		ids += la(ID) >> 24;
	asm volatile("sti");
	printf("the count moves after %u id reads, interrupts on: %u\n", ids + 1000, ccr_moves());
	asm volatile("cli");
	la_set(LVT_TIMER, 0x30063);
	la_set(TMICT, 0);

	/* The PIT through I/O APIC input 2, the 8259A masked. */
	io_write(0x14, 0x70);                              /* input 2: vector 0x70, edge, high */
	io_write(0x15, 0);
	printf("red2 %x:%x\n", io_read(0x14), io_read(0x15));
	outb(0x43, 0x34); outb(0x40, 0x9c); outb(0x40, 0x2e);   /* 100 Hz */
	wait_vector(0x70);
	printf("PIT through the I/O APIC: %u\n", hits[0x70] > 0);
	io_write(0x14, 0x10070);                           /* masked */
	u32 before = hits[0x70];
	pit_periods(3);
	printf("masked at the I/O APIC: %u more\n", hits[0x70] - before);
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);   /* 8259A */
	outb(0x21, 0xff);                                  /* IRQ 0 masked at the 8259A */
	pit_periods(3);
	printf("masked at the 8259A: %u\n", hits[0x20]);
	outb(0x21, 0xfe);
	wait_vector(0x20);
	outb(0x21, 0xff);
	printf("unmasked at the 8259A, through LINT0: %u\n", hits[0x20] > 0);

	/* sti; hlt with an interrupt already pending: the HLT runs (sti's shadow), and
	 * the interrupt wakes it at once.  Nothing else would (the timers are off). */
	asm volatile("cli");
	la_set(ICR_LO, 0x00044055);
	asm volatile("sti; hlt; cli");
	printf("sti; hlt woken by the pending IPI: %u\n", hits[0x55]);

	paging_alias();
	registers("through a page table at 0xc0000000");
	forms();
	u32 sum = 0;
	for (int i = 0; i < 100000; i++)
		sum += la(ID) >> 24;                           /* native reads */
	printf("100000 id reads: %u\n", sum);
	printf("done\n");
	exit(0);
}
