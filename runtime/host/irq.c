/* irq.c: interrupt delivery to the vCPU and the waits of HLT.
 *
 * Devices raise lines on the 8259A pair; its INTR output is VCPU->pending, which
 * rewritten code reads on the vCPU page (sti, popf) to enter the monitor exactly
 * when an interrupt becomes deliverable.  Time comes from one POSIX timer on
 * CLOCK_MONOTONIC signalling SIGALRM: the handler only notes the expiry and, when
 * it interrupted guest code with IF set, delivers at that instruction boundary.
 * Other devices' host events: SIGIO for readable console input (O_ASYNC,
 * console.c), and SIG_DEVICE_TIMER (a real-time signal) for the one-shot device
 * timers below (the UART's character timeout, the RTC).  The handlers only note
 * them, and poll_sources() lets the devices look.  Two signals, not one: a
 * standard signal that is already pending absorbs the next one with its siginfo,
 * so a timer's SIGIO would hide the terminal's and its input would wait.
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
static bool timer_armed;
static volatile sig_atomic_t timer_fired;
static volatile sig_atomic_t input_signalled = 1;   /* a first look at the console */
static volatile sig_atomic_t devtimer_signalled;

u64 now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

void irq_update_pending(bool pending)
{
	VCPU->pending = pending;
}

void host_timer_arm(u64 first_ns, u64 period_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / 1000000000u, first_ns % 1000000000u },
		.it_interval = { period_ns / 1000000000u, period_ns % 1000000000u },
	};
	if (first_ns == 0 && period_ns == 0)
		its.it_value.tv_nsec = 0;
	else if (first_ns == 0)
		its.it_value.tv_nsec = 1;
	timer_armed = first_ns || period_ns;
	timer_settime(host_timer, 0, &its, NULL);
}

void irq_timer_signal(void)
{
	timer_fired = 1;
}

void irq_input_signal(void)
{
	input_signalled = 1;
}

void irq_device_timer_signal(void)
{
	devtimer_signalled = 1;
}

/* A device's one-shot timer: at `when_ns` (now_ns() time; 0 disarms) it raises
 * SIG_DEVICE_TIMER. */
int device_timer_create(timer_t *t)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIG_DEVICE_TIMER };
	return timer_create(CLOCK_MONOTONIC, &sev, t);
}

void device_timer_arm(timer_t t, u64 when_ns)
{
	struct itimerspec its = { .it_value = { when_ns / 1000000000u, when_ns % 1000000000u } };
	timer_settime(t, TIMER_ABSTIME, &its, NULL);
}

static void poll_sources(void)
{
	if (timer_fired) {
		timer_fired = 0;
		pit_timer_expired();
		console_flush();                 /* a partial line waits at most a tick */
	}
	if (input_signalled || devtimer_signalled) {
		/* Taken with an exchange: a signal between a read and a clear would be lost. */
		bool input = __atomic_exchange_n(&input_signalled, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&devtimer_signalled, 0, __ATOMIC_SEQ_CST);
		uart_poll(input);
		rtc_poll();
	}
}

void check_interrupts(struct lvm_regs *r)
{
	poll_sources();
	if (!VCPU->vif || !pic_pending())
		return;
	int vector = pic_acknowledge();
	trace_event("interrupt vector %d at %04x:%08x", vector, VCPU->sel[LVM_CS], r->eip);
	deliver(r, vector, NO_ERROR_CODE, false);
}

void wait_for_interrupt(struct lvm_regs *r)
{
	sigset_t events, old;
	sigemptyset(&events);
	sigaddset(&events, SIGALRM);
	sigaddset(&events, SIGIO);
	sigaddset(&events, SIG_DEVICE_TIMER);
	for (;;) {
		sigprocmask(SIG_BLOCK, &events, &old);
		poll_sources();
		if (pic_pending())
			break;
		if (!timer_armed && !uart_can_interrupt() && !rtc_can_interrupt())
			kill_guest(r, "hlt with no interrupt source armed: the guest would sleep forever");
		console_flush();                 /* what the guest printed before it waits */
		sigset_t wait = old;
		sigdelset(&wait, SIGALRM);
		sigdelset(&wait, SIGIO);
		sigdelset(&wait, SIG_DEVICE_TIMER);
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
	return 0;
}
