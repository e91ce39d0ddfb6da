/* irq.c: interrupt delivery to the vCPU and the waits of HLT.
 *
 * Devices raise lines on the 8259A pair; its INTR output is VCPU->pending, which
 * rewritten code reads on the vCPU page (sti, popf) to enter the monitor exactly
 * when an interrupt becomes deliverable.  Time comes from one POSIX timer on
 * CLOCK_MONOTONIC signalling SIGALRM: the handler only notes the expiry and, when
 * it interrupted guest code with IF set, delivers at that instruction boundary.
 * HLT sleeps in sigsuspend() until the timer (or, later, another source) makes an
 * interrupt pending: no busy loop, no host CPU while the guest idles.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include "irq.h"
#include "traps.h"

static timer_t host_timer;
static bool timer_armed;
static volatile sig_atomic_t timer_fired;

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

static void poll_sources(void)
{
	if (timer_fired) {
		timer_fired = 0;
		pit_timer_expired();
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
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	for (;;) {
		sigprocmask(SIG_BLOCK, &alrm, &old);
		poll_sources();
		if (pic_pending())
			break;
		if (!timer_armed)
			kill_guest(r, "hlt with no interrupt source armed: the guest would sleep forever");
		sigset_t wait = old;
		sigdelset(&wait, SIGALRM);
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
