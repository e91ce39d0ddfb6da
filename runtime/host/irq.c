/* irq.c: interrupt delivery to the vCPU, the devices' timers, and the waits of HLT.
 *
 * One path, as on a PC: a device raises an ISA line (irq_line); the line goes to
 * the 8259A pair and to the I/O APIC; the I/O APIC sends vectors to the local APIC;
 * the 8259A's INTR reaches the local APIC's LINT0 (ExtINT, the "virtual wire").
 * The vCPU's INTR (VCPU->pending) is "the local APIC has a vector above its
 * priority, or LINT0 passes the 8259A's INTR": rewritten code reads it on the vCPU
 * page (sti, popf) to enter the monitor exactly when an interrupt becomes
 * deliverable.
 *
 * Time: devices arm virtual timers (struct vtimer, a deadline on CLOCK_MONOTONIC
 * and an optional period); one POSIX timer, always set to the earliest deadline,
 * signals SIGALRM.  The handler only notes the expiry and, when it interrupted
 * guest code with IF set, delivers at that instruction boundary.  A periodic timer
 * that fell behind reports how many periods passed, so devices can count them.
 * The other host event is SIGIO, for readable console input (O_ASYNC, console.c);
 * the UART's and the RTC's own deadlines are virtual timers like the PIT's.  The
 * handlers only note them, and poll_sources() lets the devices look.  Timers and
 * input have separate signals: a standard signal already pending absorbs the
 * next one, so a timer's SIGIO would hide the terminal's and its input would wait.
 * HLT sleeps in sigsuspend() until one of these makes an interrupt pending: no
 * busy loop, no host CPU while the guest idles.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include "console.h"
#include "irq.h"
#include "traps.h"

static timer_t host_timer;
static volatile sig_atomic_t timer_fired;
static volatile sig_atomic_t input_signalled = 1;   /* a first look at the console */
static volatile sig_atomic_t devtimer_signalled;
static struct vtimer *timers[8];
static int ntimers;
static bool pic_intr;

u64 now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* The vCPU's INTR line, recomputed after every change at a controller. */
void irq_update(void)
{
	VCPU->pending = lapic_pending() || (pic_intr && lapic_accepts_extint());
}

void irq_update_pending(bool pending)
{
	pic_intr = pending;
	irq_update();
}

/* An ISA interrupt line, as a device drives it. */
void irq_line(int isa_irq, bool level)
{
	pic_set_irq(isa_irq, level);
	ioapic_set_isa_irq(isa_irq, level);
}

/* The vector the CPU takes: the local APIC's, else the 8259A's through LINT0. */
static int acknowledge(void)
{
	int v = lapic_acknowledge();
	if (v < 0)
		v = pic_acknowledge();
	return v;
}

static void host_timer_set(void)
{
	u64 first = 0;
	for (int i = 0; i < ntimers; i++)
		if (timers[i]->armed && (!first || timers[i]->deadline < first))
			first = timers[i]->deadline;
	struct itimerspec its = { .it_value = { first / 1000000000u, first % 1000000000u } };
	timer_settime(host_timer, TIMER_ABSTIME, &its, NULL);
}

void vtimer_register(struct vtimer *t)
{
	if (ntimers == (int)(sizeof timers / sizeof timers[0]))
		host_bug("too many virtual timers");
	timers[ntimers++] = t;
}

/* Expire at `deadline` (CLOCK_MONOTONIC ns), then every `period` ns if not 0;
 * deadline 0 disarms. */
void vtimer_arm(struct vtimer *t, u64 deadline, u64 period)
{
	t->deadline = deadline;
	t->period = period;
	t->armed = deadline != 0;
	host_timer_set();
}

static bool any_timer_armed(void)
{
	for (int i = 0; i < ntimers; i++)
		if (timers[i]->armed)
			return true;
	return false;
}

void irq_timer_signal(void)
{
	timer_fired = 1;
}

void irq_input_signal(void)
{
	input_signalled = 1;
}

/* A device's one-shot deadline (the UART's character timeout, the RTC's events):
 * a virtual timer whose expiry lets the devices look (poll_device_events). */
static void device_timer_expired(struct vtimer *t, u64 periods)
{
	(void)t, (void)periods;
	devtimer_signalled = 1;
}

void device_timer_init(struct vtimer *t)
{
	t->expired = device_timer_expired;
	vtimer_register(t);
}

void device_timer_arm(struct vtimer *t, u64 when_ns)
{
	vtimer_arm(t, when_ns, 0);
}

static void poll_device_events(void)
{
	if (input_signalled || devtimer_signalled) {
		/* Taken with an exchange: a signal between a read and a clear would be lost. */
		bool input = __atomic_exchange_n(&input_signalled, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&devtimer_signalled, 0, __ATOMIC_SEQ_CST);
		uart_poll(input);
		rtc_poll();
	}
}

static void poll_sources(void)
{
	pit_catch_up();
	if (!timer_fired) {
		poll_device_events();
		return;
	}
	timer_fired = 0;
	console_flush();                         /* a partial line waits at most a tick */
	u64 now = now_ns();
	for (int i = 0; i < ntimers; i++) {
		struct vtimer *t = timers[i];
		if (!t->armed || t->deadline > now)
			continue;
		u64 n = 1;
		if (t->period) {
			n += (now - t->deadline) / t->period;
			t->deadline += n * t->period;
		} else {
			t->armed = false;
		}
		t->expired(t, n);
	}
	host_timer_set();
	poll_device_events();                    /* device deadlines that just passed */
}

/* Is the instruction at r->eip a (rewritten) HLT?  Call mode: `call __lvm_emulate;
 * hlt`; trap mode: the marker, then hlt.  Nothing else puts f4 there. */
static u32 hlt_length(const struct lvm_regs *r)
{
	u8 b[6];
	if (!guest_read(cpu.seg[LVM_CS].base + r->eip, b, sizeof b))
		return 0;
	return b[0] == 0xe8 && b[5] == 0xf4 ? 6 : b[0] == 0xf4 && b[1] == 0xf4 ? 2 : 0;
}

void check_interrupts(struct lvm_regs *r)
{
	poll_sources();
	lapic_refresh();
	bool shadow = cpu.sti_shadow;
	cpu.sti_shadow = false;
	if (!VCPU->vif || !VCPU->pending)
		return;
	/* STI's shadow: the interrupt comes after the next instruction.  That matters
	 * for `sti; hlt`: the HLT executes, and the pending interrupt wakes it at once
	 * (it is delivered with the return address after the HLT). */
	if (shadow && VCPU->cpl == 0)
		r->eip += hlt_length(r);
	int vector = acknowledge();
	if (vector < 0)
		return;
	trace_event("interrupt vector %d at %04x:%08x", vector, VCPU->sel[LVM_CS], r->eip);
	deliver(r, vector, NO_ERROR_CODE, false);
}

void wait_for_interrupt(struct lvm_regs *r)
{
	sigset_t events, old;
	sigemptyset(&events);
	sigaddset(&events, SIGALRM);
	sigaddset(&events, SIGIO);
	for (;;) {
		sigprocmask(SIG_BLOCK, &events, &old);
		poll_sources();
		if (VCPU->pending)
			break;
		if (!any_timer_armed() && !uart_can_interrupt() && !rtc_can_interrupt())
			kill_guest(r, "hlt with no interrupt source armed: the guest would sleep forever");
		console_flush();                 /* what the guest printed before it waits */
		sigset_t wait = old;
		sigdelset(&wait, SIGALRM);
		sigdelset(&wait, SIGIO);
		sigsuspend(&wait);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int irq_init(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	if (timer_create(CLOCK_MONOTONIC, &sev, &host_timer) < 0) {
		perror("lvm: timer_create");
		return -1;
	}
	i8259_init();
	i8254_init();
	lapic_init();
	ioapic_init();
	return 0;
}
