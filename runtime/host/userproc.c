/* userproc.c: guest user code (CPL 3) runs in a host process of its own.
 *
 * Why: the host gives one address space per process and no protection level
 * between the guest's kernel and its programs, so while user code ran in the
 * monitor's process every kernel page had to be revoked (mprotect PROT_NONE) at
 * each entry to CPL 3 and faulted back after it: a Linux system call cost ~35
 * mprotect calls, 170 us.  Here user code runs in a child process whose address
 * space holds only what the guest's tables give CPL 3 (mmu.c's user view: its
 * fills and invalidations are queued as operations this file applies in the child
 * before it runs again); the kernel's view stays mapped in the monitor, unrevoked.
 * A transition between CPL 3 and the kernel is a handoff between the two processes
 * on a shared page: registers, host selectors, the x87/SSE state, the queued
 * operations; the turn is a futex word (spun on briefly first: the other process
 * usually answers within microseconds).
 *
 * The child lives in its signal handler: every signal user code raises (faults,
 * SIGSYS for system calls, SIGUSR1 when the monitor wants it to stop for an
 * interrupt) is reported, the handler waits for its turn, writes the registers it
 * is given into the frame and returns into user code.  The monitor turns each
 * report into the same guest_signal() as a signal of its own from CPL 3.  Its
 * loop runs on the stack of the resume() that first entered CPL 3, and goes back
 * to that frame (longjmp) for each new entry, so the stack does not grow; entering
 * guest kernel code again leaves it (userproc_left).
 *
 * The child's side is userchild.c, the turn both sides hand each other handoff.c.
 * The child dies with the monitor (PR_SET_PDEATHSIG) and is killed at its exit;
 * a child that dies otherwise is the monitor's bug, reported so.  It ignores the
 * terminal's signals (the monitor handles them for both).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "traps.h"
#include "irq.h"
#include "mmu.h"
#include "userproc.h"
#include "console.h"

bool userproc_wanted;
uintptr_t userproc_min_addr = 0x10000;

#include "handoff.h"

/* One user process per recent guest address space (aspaces.c picks which runs):
 * `ho` and `child` are the current one's; in a child, its own. */
static struct slot {
	pid_t pid;
	struct handoff *ho;
	bool fpu_known;                     /* fpu: the state agreed with that process */
	u8 fpu[512] __attribute__((aligned(16)));
} slots[ASPACES_MAX], *cur;
static int nslots;
static pid_t child;
static bool looping, stop_sent;
static jmp_buf loop;
static struct lvm_regs next;
static u16 live_sel[4];
static u32 ops_max = OPS_MAX;           /* LVM_USERPROC_OPS=N: tests reach the overflow */

bool userproc_active(void) { return child > 0; }
int userproc_count(void) { return nslots; }

const u16 *userproc_live_selectors(void) { return looping ? live_sel : NULL; }

/* Make user process `slot` the one user code runs in (aspaces.c).  The one that
 * ran is parked (it stops spinning for a turn that will not come soon); the new
 * one is woken now, while the guest kernel finishes its context switch, so that
 * it is spinning when its turn comes.  The wake is the parked process's to do
 * (TURN_HANDOVER), on the CPU it is on: the monitor's would cross CPUs, and an
 * interrupt that wakes a sleeping virtual CPU here comes ~20 us late (a context
 * switch cost 30-39 us with the monitor's wake, 26-30 with the hand-over).  A
 * process that sleeps already cannot: then the monitor wakes the new one itself. */
void userproc_select(int slot)
{
	struct handoff *old = ho, *new = slots[slot].ho;
	u32 mine = TURN_MONITOR;
	bool handed = false;
	if (old && new != old) {
		old->successor = new;
		handed = __atomic_compare_exchange_n(&old->turn, &mine, TURN_HANDOVER, false,
						     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	cur = &slots[slot];
	ho = new;
	child = cur->pid;
	u32 t = __atomic_load_n(&ho->turn, __ATOMIC_ACQUIRE);
	if (t == TURN_HANDOVER && hand_over(ho))  /* its own hand-over never taken */
		t = TURN_PARKED;
	if (t != TURN_PARKED)
		return;
	if (!handed) {
		give_turn(TURN_MONITOR);
		return;
	}
	/* The old process wakes this one, on its CPU, as it parks; unless it sleeps
	 * already: then the monitor does. */
	__atomic_store_n(&ho->turn, TURN_MONITOR, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&old->sleepers, __ATOMIC_SEQ_CST))
		hand_over(old);
}

static void kill_child(void)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, SIGKILL);
}

/* Where a process of lvm's may map: vm.mmap_min_addr, unless this process may map
 * page 0 anyway (root, CAP_SYS_RAWIO). */
void userproc_probe_min_addr(void)
{
	/* Where the child may map: vm.mmap_min_addr, unless this process may map page 0
	 * anyway (root, CAP_SYS_RAWIO). */
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
	unsigned long v;
	if (f) {
		if (fscanf(f, "%lu", &v) == 1)
			userproc_min_addr = v;
		fclose(f);
	}
	void *zero = mmap(NULL, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (zero == NULL) {
		userproc_min_addr = 0;
		munmap(zero, 0x1000);
	}
}

/* Where the processes run: the monitor on the CPU it is on, every user process on
 * one other (only one of them runs at a time: the guest has one CPU).  A user
 * process then wakes the next one on its own CPU (TURN_HANDOVER), and none waits
 * for a CPU the monitor spins on.  LVM_PIN=0, or a single CPU: wherever the host
 * puts them. */
static bool placed;
static cpu_set_t monitor_cpu, user_cpu;

static void choose_cpus(void)
{
	cpu_set_t allowed;
	const char *e = getenv("LVM_PIN");
	if ((e && !strcmp(e, "0")) || sched_getaffinity(0, sizeof allowed, &allowed) < 0 ||
	    CPU_COUNT(&allowed) < 2)
		return;
	int here = sched_getcpu(), there = -1;
	if (here < 0 || !CPU_ISSET(here, &allowed))
		for (here = 0; !CPU_ISSET(here, &allowed); here++)
			;
	for (int i = 1; i < CPU_SETSIZE && there < 0; i++)
		if (CPU_ISSET((here + i) % CPU_SETSIZE, &allowed))
			there = (here + i) % CPU_SETSIZE;
	CPU_ZERO(&monitor_cpu);
	CPU_SET(here, &monitor_cpu);
	CPU_ZERO(&user_cpu);
	CPU_SET(there, &user_cpu);
	placed = true;
}

int userproc_start(void)
{
	if (!userproc_wanted)
		return 0;
	userproc_probe_min_addr();
	const char *q = getenv("LVM_USERPROC_OPS");
	if (q && atoi(q) > 0 && atoi(q) < OPS_MAX)
		ops_max = atoi(q);
	pid_t monitor = getpid();
	atexit(kill_child);
	choose_cpus();
	/* A child's SIGUSR1 is its handler's only once it set it up. */
	sigset_t usr1, was;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &was);
	/* Every page before any fork: a process may wake any other (TURN_HANDOVER). */
	for (int i = 0; i < aspaces_max; i++) {
		slots[i].ho = mmap(NULL, sizeof *ho, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (slots[i].ho == MAP_FAILED) {
			perror("lvm: a user process's shared page");
			return -1;
		}
		slots[i].ho->turn = TURN_PARKED;    /* asleep at once: one of them runs */
	}
	for (nslots = 0; nslots < aspaces_max; nslots++) {
		struct slot *sl = &slots[nslots];
		ho = sl->ho;
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("lvm: fork of a user process");
			return -1;
		}
		if (pid == 0) {
			if (placed)
				spin_rounds = 25000;
			if (userchild_handlers() < 0)
				_exit(123);
			userchild_main(monitor);
		}
		sl->pid = pid;
		if (placed)                  /* here: it may not have run yet when we go on */
			sched_setaffinity(pid, sizeof user_cpu, &user_cpu);
	}
	sigprocmask(SIG_SETMASK, &was, NULL);
	if (placed)
		sched_setaffinity(0, sizeof monitor_cpu, &monitor_cpu);
	ho = NULL;
	userproc_select(0);
	return 0;
}

/* --- the monitor --- */

static struct op *new_op(int slot, u32 kind)
{
	struct handoff *ho = slots[slot].ho;
	if (ho->nops >= ops_max) {
		/* Too much at once: the child drops its whole view, the monitor forgets
		 * it (mmu.c refills on demand); the LDT writes stay queued, after it. */
		u32 kept = 0;
		for (u32 i = 0; i < ho->nops; i++)
			if (ho->ops[i].kind == OP_LDT)
				ho->ops[kept++] = ho->ops[i];
		if (kept >= OPS_MAX - 1)
			host_bug("%u LDT writes queued for the user process", kept);
		ho->nops = kept;
		ho->unmap_all = true;
		mmu_stats.user_resets++;
		mmu_user_view_lost(slot);
		if (kind != OP_LDT)
			return NULL;
	}
	return &ho->ops[ho->nops++];
}

void userproc_map(int slot, u64 at, u64 len, int prot, u64 off)
{
	mmu_stats.user_maps++;
	struct op *o = new_op(slot, OP_MAP);
	if (o)
		*o = (struct op){ .kind = OP_MAP, .prot = prot, .at = at, .len = len, .off = off };
}

void userproc_unmap(int slot, u64 at, u64 len)
{
	mmu_stats.user_unmaps++;
	struct op *o = new_op(slot, OP_UNMAP);
	if (o)
		*o = (struct op){ .kind = OP_UNMAP, .at = at, .len = len };
}

/* Optional: never the operation that overflows the queue (the mapping after it). */
bool userproc_anchor(int slot, u64 at)
{
	if (slots[slot].ho->nops + 2 > ops_max)
		return false;
	*new_op(slot, OP_ANCHOR) = (struct op){ .kind = OP_ANCHOR, .at = at, .len = 0x1000 };
	return true;
}

void userproc_ldt(const void *desc, u32 size)
{
	if (!userproc_active())
		return;
	mmu_stats.user_ldts++;
	/* Every user process has an LDT of its own: each gets the write.  One that does
	 * not run meanwhile needs only the last write of each entry (the first word of
	 * modify_ldt's struct user_desc is its number). */
	for (int i = 0; i < nslots; i++) {
		struct handoff *h = slots[i].ho;
		struct op *o = NULL;
		for (u32 k = 0; k < h->nops && !o; k++)
			if (h->ops[k].kind == OP_LDT && !memcmp(h->ops[k].desc, desc, 4))
				o = &h->ops[k];
		if (!o)
			o = new_op(i, OP_LDT);
		*o = (struct op){ .kind = OP_LDT };
		memcpy(o->desc, desc, size < sizeof o->desc ? size : sizeof o->desc);
	}
}

/* Killed from outside, or its own mmap failed: the guest cannot go on. */
static __attribute__((noreturn)) void child_died(int status)
{
	pid_t pid = child;
	child = 0;
	fpu_protect();
	console_restore();
	if (WIFSIGNALED(status))
		fprintf(stderr, "lvm: lvm's user process (pid %d) was killed by signal %d (%s): the "
			"guest cannot go on\n", pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "lvm: lvm's user process (pid %d) exited with status %d%s\n", pid,
			WEXITSTATUS(status), WEXITSTATUS(status) >= 120 ? " (a mapping or LDT write of "
			"the user view failed: an lvm bug)" : "");
	exit(EXIT_HOST_BUG);
}

/* Wait for the child's report.  Host events (the timers, input) make the monitor
 * ask it to stop (SIGUSR1): the interrupt is then delivered as for guest code
 * the monitor interrupted itself. */
static void wait_for_child(void)
{
	stop_sent = false;
	if (spin_for(TURN_MONITOR))
		return;                      /* the usual answer: no system call at all */
	sigset_t events, old;            /* the timers' signals come in while we sleep */
	sigemptyset(&events);
	sigaddset(&events, SIGALRM);
	sigaddset(&events, SIGIO);
	sigprocmask(SIG_UNBLOCK, &events, &old);
	while (!spin_for(TURN_MONITOR)) {
		if (host_events && !stop_sent) {
			kill(child, SIGUSR1);
			stop_sent = true;
		}
		/* A stop request the child's system-call gate took on its way back to user
		 * code is lost (gate_signal): asked again after 2 ms without an answer. */
		struct timespec t = { 0, (stop_sent ? 2 : 200) * 1000 * 1000 };
		if (sleep_on_turn(TURN_CHILD, &t) < 0 && errno == ETIMEDOUT) {
			int status;
			if (waitpid(child, &status, WNOHANG) == child)
				child_died(status);
			stop_sent = false;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

__attribute__((noreturn)) static void run(void)
{
	mcontext_t m;
	memset(&m, 0, sizeof m);
	regs_to_mcontext(&m, &next);
	memcpy(ho->gregs, m.gregs, sizeof ho->gregs);
	static const int order[6] = { LVM_CS, LVM_SS, LVM_DS, LVM_ES, LVM_FS, LVM_GS };
	for (int i = 0; i < 6; i++)
		ho->sel[i] = host_sel[order[i]];
	ho->live_flags = m.gregs[REG_EFL] & (0x200000u | 0x4000u);
	/* The agreed state (above) with this process.  If user code left it, the
	 * guest's state is still where fpu_guest_get() found it (nothing here writes
	 * the registers, the save area or a frame meanwhile): nothing to load. */
	static u8 img[512] __attribute__((aligned(16)));
	fpu_guest_get(img);
	ho->fpu_same = cur->fpu_known && fpu_equal(img, cur->fpu);
	if (!ho->fpu_same) {
		memcpy(ho->fpu, img, FXSAVE_BYTES);
		memcpy(cur->fpu, img, FXSAVE_BYTES);
		cur->fpu_known = true;
	}
	mmu_stats.user_runs++;
	give_turn(TURN_CHILD);
	wait_for_child();
	if (ho->view_lost) {             /* before the report's fault is looked at */
		ho->view_lost = false;
		mmu_stats.user_resets++;
		mmu_user_view_lost((int)(cur - slots));
	}
	if (!ho->ev_fpu_same) {
		memcpy(cur->fpu, ho->ev_fpu, FXSAVE_BYTES);
		fpu_guest_set(cur->fpu);
	}
	memcpy(live_sel, ho->ev_sel, sizeof live_sel);
	memcpy(m.gregs, ho->ev_gregs, sizeof m.gregs);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = ho->ev_sig;
	si.si_code = ho->ev_code;
	si.si_addr = (void *)(uintptr_t)ho->ev_addr;
	/* stopped for a host event: as for a host event in guest code */
	int sig = ho->ev_sig == SIGUSR1 ? SIGALRM : ho->ev_sig;
	guest_event(sig, &si, &m);
}

void userproc_resume(struct lvm_regs *r)
{
	next = *r;
	if (looping)
		longjmp(loop, 1);
	looping = true;
	setjmp(loop);
	run();
}

void userproc_left(void)
{
	looping = false;
}
