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
 *
 * No event may be noted after the monitor's last look (check_interrupts) and left
 * there: a guest spinning on a variable would never enter the monitor again, and
 * a one-shot timer never fire (issue 15).  Signal handlers run with SIGALRM and
 * SIGIO blocked (signals.c): an event during one waits for its sigreturn, which
 * delivers it in guest code.  The monitor's own way in (call mode) checks
 * host_events last and is restarted by a signal (switch.S).  And an interrupt
 * that comes from such an event while the guest is at a HLT is taken after it:
 * the HLT could have executed first and been woken, while taken before it, it
 * would leave the HLT asleep (the lost wakeup of `sti; hlt`).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "console.h"
#include "irq.h"
#include "guest-code.h"
#include "traps.h"
#include "gdb.h"

static timer_t host_timer;
volatile u32 host_events = EVENT_INPUT;  /* noted by handlers; a first look at the console */
static bool devtimer_signalled;
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

/* From the handlers: one instruction (lock or), so the monitor's exchange in
 * poll_sources() never loses one. */
void irq_timer_signal(void)
{
	__atomic_fetch_or(&host_events, EVENT_TIMER, __ATOMIC_SEQ_CST);
}

void irq_input_signal(void)
{
	__atomic_fetch_or(&host_events, EVENT_INPUT, __ATOMIC_SEQ_CST);
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

static void poll_sources(void)
{
	pit_catch_up();
	u32 events = host_events ? __atomic_exchange_n(&host_events, 0, __ATOMIC_SEQ_CST) : 0;
	if (events & EVENT_TIMER) {
		console_flush();                 /* a partial line waits at most a tick */
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
	}
	if ((events & EVENT_INPUT) || devtimer_signalled) {   /* device deadlines just passed too */
		devtimer_signalled = false;
		uart_poll(events & EVENT_INPUT);
		rtc_poll();
	}
	if (events & EVENT_INPUT)
		gdb_poll();                      /* the debugger's Ctrl-C, a connection */
}

/* A vCPU page field's address as the bytes of an absolute operand. */
#define BYTES32(a) (a) & 0xff, (a) >> 8 & 0xff, (a) >> 16 & 0xff, (a) >> 24
#define FIELD(f) BYTES32(LVM_VCPU_ADDR + offsetof(struct lvm_vcpu, f))
/* lcall $LVM_MONITOR_SEL, $LVM_MONITOR_ENTRY (runtime/guest/\*.s.j2) */
#define LCALL_MONITOR 0x9a, BYTES32(LVM_MONITOR_ENTRY), LVM_MONITOR_SEL & 0xff, LVM_MONITOR_SEL >> 8

/* Where a signal can find guest code inside __lvm_emulate (runtime/guest/
 * emulate.s.j2, bytes in out/gen/guest-code.h): the offset, the opcode there (checked
 * against the generated bytes), what is pushed above the near return, and whether
 * the top word is the caller's %ecx (the routine borrows it to test %ss). */
static const struct { u8 at, op, pushed, ecx; } emulate_points[] = {
	{ 0, 0x51, 0, 0 }, { 1, 0x8c, 4, 1 }, { 3, 0x8d, 4, 1 }, { 6, 0xe3, 4, 1 },
	{ 8, 0x59, 4, 1 }, { 9, 0x6a, 0, 0 }, { 11, 0xf4, 4, 0 }, { 12, 0x59, 4, 1 },
	{ 13, 0x6a, 0, 0 }, { 15, 0x9a, 4, 0 } };

static void check_emulate_points(void)
{
	for (unsigned i = 0; i < sizeof emulate_points / sizeof emulate_points[0]; i++)
		if (emulate_points[i].at >= sizeof guest_code_emulate ||
		    guest_code_emulate[emulate_points[i].at] != emulate_points[i].op)
			host_bug("irq.c's points in __lvm_emulate do not match runtime/guest/emulate.s.j2");
}

/* Is the guest about to execute a (rewritten) HLT?  Trap mode: the marker, then
 * hlt.  Call mode: `call __lvm_emulate; hlt`, or already in that __lvm_emulate (a
 * signal can land anywhere in it), recognized by its bytes and by the call before
 * the hlt that reached it.  If so, *r becomes the state after the HLT. */
static bool skip_hlt(struct lvm_regs *r)
{
	static bool checked;
	if (!checked)
		check_emulate_points(), checked = true;
	u32 cs = cpu.seg[LVM_CS].base, ss = cpu.seg[LVM_SS].base, site, pop, stack[2], rel, ecx = r->ecx;
	u8 b[sizeof guest_code_emulate], call, hlt;
	if (!guest_read(cs + r->eip, b, 2))
		return false;
	if (b[0] == 0xf4 && b[1] == 0xf4) {
		r->eip += 2;
		return true;
	}
	u32 fn;
	if (b[0] == 0xe8) {
		if (!guest_read(cs + r->eip + 1, &rel, 4))
			return false;
		site = r->eip + 5, pop = 0, fn = site + rel;
	} else {
		unsigned i, n = sizeof emulate_points / sizeof emulate_points[0];
		for (i = 0; i < n; i++)
			if (guest_read(cs + r->eip - emulate_points[i].at, b, sizeof b) &&
			    !memcmp(b, guest_code_emulate, sizeof b))
				break;
		if (i == n)
			return false;
		pop = 4 + emulate_points[i].pushed;
		if (!guest_read(ss + r->esp, stack, pop))
			return false;
		site = stack[pop / 4 - 1];
		if (emulate_points[i].ecx)
			ecx = stack[0];
		fn = r->eip - emulate_points[i].at;
	}
	if (!guest_read(cs + site - 5, &call, 1) || call != 0xe8 ||
	    !guest_read(cs + site - 4, &rel, 4) || site + rel != fn ||
	    !guest_read(cs + site, &hlt, 1) || hlt != 0xf4 ||
	    !guest_read(cs + fn, b, sizeof b) || memcmp(b, guest_code_emulate, sizeof b))
		return false;
	r->eip = site + 1;
	r->esp += pop;
	r->ecx = ecx;
	return true;
}

/* Call mode: a signal can land in __lvm_sti after its store of the virtual IF.
 * The interrupt comes at the end of that sti, under its shadow: finish the
 * subroutine first (its pushfl, its near return).  Recognized by its bytes
 * (runtime/guest/sti.s.j2) and by the call that reached it. */
static bool finish_sti(struct lvm_regs *r)
{
	static const u8 sti[34] = {
		0x36, 0xc7, 0x05, FIELD(vif), 0x00, 0x02, 0x00, 0x00, 0x9c,      /* movl %ss:; pushfl */
		0x2e, 0x83, 0x3d, FIELD(pending), 0x00, 0x75, 0x02, 0x9d, 0xc3,    /* cmpl %cs:; jne; popfl; ret */
		0x9d, 0x6a, LVM_ENTRY_STI_WINDOW, LCALL_MONITOR };            /* popfl; pushl; lcall */
	/* Where it can be after the movl: how much it pushed, and whether that is EFLAGS. */
	static const struct { u8 at, pushed, flags; } points[] = {
		{ 11, 0, 0 }, { 12, 4, 1 }, { 20, 4, 1 }, { 22, 4, 1 }, { 23, 0, 0 },
		{ 24, 4, 1 }, { 25, 0, 0 }, { 27, 4, 0 } };
	u32 cs = cpu.seg[LVM_CS].base, ss = cpu.seg[LVM_SS].base, stack[2], rel;
	u8 b[sizeof sti], call;
	for (unsigned i = 0; i < sizeof points / sizeof points[0]; i++) {
		u32 fn = r->eip - points[i].at, n = points[i].pushed / 4;
		if (!guest_read(ss + r->esp, stack, 4 * (n + 1)) || !guest_read(cs + stack[n] - 5, &call, 1) ||
		    call != 0xe8 || !guest_read(cs + stack[n] - 4, &rel, 4) || stack[n] + rel != fn ||
		    !guest_read(cs + fn, b, sizeof b) || memcmp(b, sti, sizeof b))
			continue;
		if (points[i].flags)
			r->eflags = stack[0];
		r->eip = stack[n];
		r->esp += 4 * (n + 1);
		return true;
	}
	return false;
}

void check_interrupts(struct lvm_regs *r)
{
	bool was_pending = VCPU->pending;
	poll_sources();
	/* The Current Count on the local APIC's mirror: only kernel code reads it (the
	 * page is the kernel's), so not for a return to CPL 3, but for an interrupt
	 * taken there. */
	bool refreshed = VCPU->cpl != 3;
	if (refreshed)
		lapic_refresh();
	bool shadow = cpu.sti_shadow;
	cpu.sti_shadow = false;
	/* None while a debugger steps or is about to stop the guest: it stops at the
	 * guest's instruction, not at a handler's first. */
	if (!VCPU->vif || !VCPU->pending || gdb_stepping() || gdb_stop_requested())
		return;
	if (!shadow && VCPU->cpl == 0)
		shadow = finish_sti(r);
	/* At a HLT, the interrupt comes after it (the HLT executes, and the interrupt
	 * wakes it at once) under STI's shadow (`sti; hlt`), and when it just came
	 * from a host event: then the HLT may as well have come first, and taking the
	 * interrupt before it would leave it asleep.  Not for one pending already
	 * (a self-IPI, an EOI that unmasks one): the CPU takes it before the HLT. */
	if ((shadow || !was_pending) && VCPU->cpl == 0)
		skip_hlt(r);
	int vector = acknowledge();
	if (vector < 0)
		return;
	if (!refreshed)
		lapic_refresh();
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
		if (VCPU->pending || gdb_stop_requested())
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
