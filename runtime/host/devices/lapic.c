/* lapic.c: the local APIC of the one vCPU, at 0xfee00000 (Intel SDM vol. 3, ch. 10).
 *
 * Register names as in the SDM: ID, Version, TPR, PPR, EOI, LDR, DFR, SVR,
 * ISR/TMR/IRR, ESR, ICR, the LVT (Timer, Thermal, Performance, LINT0, LINT1,
 * Error), the timer's Initial Count, Current Count and Divide Configuration.
 *
 * Every register is readable without side effects, so the device keeps a mirror
 * page (mmio.c) with what each reads as, rewritten after every change: a kernel
 * reading its APIC ID in every lock runs natively.  Writes trap.  The one register
 * that changes by itself, the timer's Current Count, is the mirror's problem: it is
 * refreshed there whenever the monitor resumes kernel code (only the kernel maps
 * the page), but a guest that spins on it (NetBSD's
 * delay(): its ATA probe took 8.5 s instead of 0.3) would see it stand still.  So
 * while the timer counts, reads trap and are exact, until QUIET_READS reads in a
 * row have left the Current Count alone (a kernel that reads only its ID, in every
 * lock): reads then run natively on the mirror again, and every RESAMPLE_TICKS
 * timer expiries (and at every start of the timer) they trap again for a look.
 * A kernel that mixes many other reads with rare Current Count reads can still
 * read one as old as the last monitor entry; none we know does.
 *
 * The timer counts at 1 GHz divided by the Divide Configuration (the bus clock
 * QEMU models too), one-shot or periodic (TSC-deadline is not advertised), driven
 * by a virtual timer.  ICR: a fixed IPI to ourselves (shorthand self, all
 * including self, or our own ID) is accepted; INIT and SIPI to other CPUs go
 * nowhere (there are none).  A vector below 16 from any source is dropped with
 * "received illegal vector" in the ESR (QEMU delivers it: test kernels avoid it).  The state at
 * boot is what SeaBIOS leaves on QEMU: APIC enabled in IA32_APIC_BASE and in the
 * SVR (spurious vector 0xff), LINT0 as ExtINT and LINT1 as NMI, both level (the
 * 8259A reaches the CPU through LINT0: the virtual-wire mode).
 */
#include "../monitor.h"
#include "../irq.h"
#include "../mmio.h"
#include "../mmu.h"

#define LAPIC_BASE 0xfee00000u
#define BASE_BSP 0x100u
#define BASE_ENABLE 0x800u
#define LVT_MASKED 0x10000u
#define LVT_PERIODIC 0x20000u
#define SVR_ENABLE 0x100u
#define MIN_PERIOD_NS 20000u

enum { ID = 0x20, VERSION = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, LDR = 0xd0,
       DFR = 0xe0, SVR = 0xf0, ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280,
       ICR_LO = 0x300, ICR_HI = 0x310, LVT = 0x320, TMICT = 0x380, TMCCT = 0x390, TDCR = 0x3e0 };
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, NLVT };

static struct lapic {
	u64 base;                         /* IA32_APIC_BASE */
	u32 id, tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi, tmict, tdcr;
	u32 lvt[NLVT];
	u32 isr[8], tmr[8], irr[8];
	u64 timer_start;                  /* ns when TMICT was written or the period began */
	struct vtimer timer;
	u8 *mirror;
} apic;

static bool enabled(void) { return apic.base & BASE_ENABLE; }
static bool sw_enabled(void) { return enabled() && (apic.svr & SVR_ENABLE); }

static int highest(const u32 *bits)
{
	for (int i = 7; i >= 0; i--)
		if (bits[i])
			return i * 32 + 31 - __builtin_clz(bits[i]);
	return -1;
}

static u32 ppr(void)
{
	int isrv = highest(apic.isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;
	return (apic.tpr & 0xf0) >= isr_class ? apic.tpr & 0xff : isr_class;
}

static u32 divide_shift(void)
{
	u32 v = (apic.tdcr & 3) | (apic.tdcr & 8) >> 1;
	return (v + 1) & 7;               /* 0b111 divides by 1 */
}

static u32 current_count(void)
{
	if (!apic.tmict || !apic.timer.armed)
		return 0;
	u64 done = (now_ns() - apic.timer_start) >> divide_shift();
	if (apic.lvt[LVT_TIMER] & LVT_PERIODIC)
		return apic.tmict - (u32)(done % apic.tmict);
	return done >= apic.tmict ? 0 : apic.tmict - (u32)done;
}

static u32 reg_value(u32 off)
{
	if (off >= ISR && off < ISR + 0x80) return apic.isr[(off - ISR) >> 4];
	if (off >= TMR && off < TMR + 0x80) return apic.tmr[(off - TMR) >> 4];
	if (off >= IRR && off < IRR + 0x80) return apic.irr[(off - IRR) >> 4];
	if (off >= LVT && off < LVT + NLVT * 0x10) return apic.lvt[(off - LVT) >> 4];
	switch (off) {
	case ID:      return apic.id << 24;
	case VERSION: return 0x14 | (NLVT - 1) << 16;
	case TPR:     return apic.tpr;
	case PPR:     return ppr();
	case LDR:     return apic.ldr;
	case DFR:     return apic.dfr;
	case SVR:     return apic.svr;
	case ESR:     return apic.esr;
	case ICR_LO:  return apic.icr_lo;
	case ICR_HI:  return apic.icr_hi;
	case TMICT:   return apic.tmict;
	case TMCCT:   return current_count();
	case TDCR:    return apic.tdcr;
	}
	return 0;
}

/* After every change: the mirror the guest reads, and the vCPU's INTR. */
static void update(void)
{
	for (u32 off = 0; off < 0x400; off += 0x10)
		*(volatile u32 *)(apic.mirror + off) = reg_value(off);
	irq_update();
}

void lapic_refresh(void)
{
	if (apic.timer.armed)
		*(volatile u32 *)(apic.mirror + TMCCT) = current_count();
}

static void set_bit(u32 *bits, int v, bool on)
{
	if (on)
		bits[v >> 5] |= 1u << (v & 31);
	else
		bits[v >> 5] &= ~(1u << (v & 31));
}

/* An error: its ESR bit, and the Error LVT's interrupt.  When that vector is
 * itself illegal (below 16), the error it causes is recorded but sends nothing
 * (else each would raise the next, for ever). */
static void error(u32 bit)
{
	u32 lvt = apic.lvt[LVT_ERROR];
	apic.esr_pending |= bit;
	if ((lvt & LVT_MASKED) || !sw_enabled())
		return;
	if ((lvt & 0xff) < 16)
		apic.esr_pending |= 0x40;             /* received illegal vector */
	else
		lapic_accept(lvt & 0xff, false);
}

void lapic_accept(int vector, bool level)
{
	if (vector < 16) {
		guest_complaint("local APIC", "sent itself a vector below 16: dropped, ESR says so");
		error(0x40);
		return;
	}
	set_bit(apic.irr, vector, true);
	set_bit(apic.tmr, vector, level);
	update();
}

bool lapic_pending(void)
{
	if (!sw_enabled())
		return false;
	int v = highest(apic.irr);
	return v >= 0 && ((u32)v & 0xf0) > (ppr() & 0xf0);
}

int lapic_acknowledge(void)
{
	if (!lapic_pending())
		return -1;
	int v = highest(apic.irr);
	set_bit(apic.irr, v, false);
	set_bit(apic.isr, v, true);
	update();
	return v;
}

bool lapic_accepts_extint(void)
{
	u32 lint0 = apic.lvt[LVT_LINT0];
	return !enabled() || (!(lint0 & LVT_MASKED) && (lint0 & 0x700) == 0x700);
}

/* Loads from the APIC page: natively from the mirror, or trapped (the comment at
 * the top). */
#define QUIET_READS 256
#define RESAMPLE_TICKS 8
static struct { bool native; u32 quiet, ticks; } loads = { .native = true };

static void loads_native(bool native)
{
	if (native != loads.native)
		mmu_mirror_reads(LAPIC_BASE, native);
	loads.native = native;
	loads.quiet = 0;
}

static bool counting(void) { return apic.tmict && apic.timer.armed; }

static void timer_start(void)
{
	apic.timer_start = now_ns();
	loads_native(!apic.tmict);                /* a look at what the guest reads */
	if (!apic.tmict) {
		vtimer_arm(&apic.timer, 0, 0);
		return;
	}
	u64 period = (u64)apic.tmict << divide_shift();
	u64 fire = period < MIN_PERIOD_NS ? MIN_PERIOD_NS : period;
	vtimer_arm(&apic.timer, apic.timer_start + fire,
		   apic.lvt[LVT_TIMER] & LVT_PERIODIC ? fire : 0);
}

static void timer_expired(struct vtimer *t, u64 periods)
{
	(void)periods;                            /* late periods merge in the IRR */
	if (apic.lvt[LVT_TIMER] & LVT_PERIODIC)
		apic.timer_start = t->deadline - t->period;
	if (!counting())
		loads_native(true);                   /* one-shot done: the mirror is exact */
	else if (loads.native && ++loads.ticks >= RESAMPLE_TICKS)
		loads_native(false), loads.ticks = 0;
	if (!(apic.lvt[LVT_TIMER] & LVT_MASKED))
		lapic_accept(apic.lvt[LVT_TIMER] & 0xff, false);
	else
		update();
}

static void eoi(void)
{
	int v = highest(apic.isr);
	if (v < 0)
		return;
	set_bit(apic.isr, v, false);
	bool level = apic.tmr[v >> 5] & (1u << (v & 31));
	update();
	if (level)
		ioapic_eoi(v);
}

static void send_ipi(void)
{
	u32 shorthand = (apic.icr_lo >> 18) & 3, mode = (apic.icr_lo >> 8) & 7;
	bool to_self = shorthand == 1 || shorthand == 2 ||
		       (shorthand == 0 && (apic.icr_hi >> 24) == apic.id);
	if (mode == 0 && to_self)
		lapic_accept(apic.icr_lo & 0xff, false);
	else if (mode != 5 && mode != 6)
		trace_event("IPI %#x to %#x: no such CPU", apic.icr_lo, apic.icr_hi);
}

static void lapic_write(void *dev, u32 off, u32 v, int size)
{
	(void)dev;
	if (size != 4 || (off & 0xf)) {
		unimplemented_once("local APIC access that is not an aligned 32-bit word");
		return;
	}
	static const u32 lvt_bits[NLVT] = { 0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff };
	if (off >= LVT && off < LVT + NLVT * 0x10) {
		int i = (off - LVT) >> 4;
		apic.lvt[i] = v & lvt_bits[i];
		if (!(apic.svr & SVR_ENABLE))
			apic.lvt[i] |= LVT_MASKED;
		if (i == LVT_TIMER && apic.timer.armed)
			timer_start();                 /* a mode change restarts the count */
		update();
		return;
	}
	switch (off) {
	case ID:     apic.id = v >> 24; break;
	case TPR:    apic.tpr = v & 0xff; break;
	case EOI:    eoi(); return;
	case LDR:    apic.ldr = v & 0xff000000u; break;
	case DFR:    apic.dfr = v | 0x0fffffffu; break;
	case SVR:
		apic.svr = v & 0x1ff;
		if (!(v & SVR_ENABLE))
			for (int i = 0; i < NLVT; i++)
				apic.lvt[i] |= LVT_MASKED;
		break;
	case ESR:    apic.esr = apic.esr_pending; apic.esr_pending = 0; break;
	case ICR_LO: apic.icr_lo = v & ~0x1000u; send_ipi(); break;
	case ICR_HI: apic.icr_hi = v & 0xff000000u; break;
	case TMICT:  apic.tmict = v; timer_start(); break;
	case TDCR:   apic.tdcr = v & 0xb; if (apic.timer.armed) timer_start(); break;
	default:
		if (off != TMCCT && off != VERSION && off != PPR && off != APR) {
			guest_complaint("local APIC", "wrote a register that does not exist: ESR says so");
			error(0x80);                  /* illegal register address */
		}
		break;
	}
	update();
}

static u32 lapic_read(void *dev, u32 off, int size)
{
	(void)dev, (void)size;
	if ((off & ~0xfu) == TMCCT)
		loads.quiet = 0;
	else if (!loads.native && (!counting() || ++loads.quiet >= QUIET_READS))
		loads_native(true);
	return reg_value(off & ~0xfu) >> 8 * (off & 3);
}

u64 lapic_base_msr(void) { return apic.base; }

void lapic_set_base_msr(u64 v)
{
	if ((v & ~0xfffull) != LAPIC_BASE)
		unimplemented_once("moving the local APIC away from 0xfee00000");
	apic.base = LAPIC_BASE | (v & BASE_ENABLE) | BASE_BSP;
	update();
}

void lapic_init(void)
{
	apic.base = LAPIC_BASE | BASE_BSP | BASE_ENABLE;
	apic.dfr = 0xffffffffu;
	apic.svr = 0x1ff;                         /* SeaBIOS leaves it enabled */
	for (int i = 0; i < NLVT; i++)
		apic.lvt[i] = LVT_MASKED;
	apic.lvt[LVT_LINT0] = 0x8700;             /* ExtINT, level: the 8259A */
	apic.lvt[LVT_LINT1] = 0x8400;             /* NMI */
	apic.timer.expired = timer_expired;
	vtimer_register(&apic.timer);
	apic.mirror = mmio_register("local APIC", LAPIC_BASE, 0x1000, &apic, lapic_read,
				    lapic_write, true);
	update();
}
