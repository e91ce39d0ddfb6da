/* isolate.c: isolated mode: guest code runs in processes that can make no host system call.
 *
 * Why: in-process, guest code shares the monitor's address space, and any guest
 * program can far-jump to the host's 64-bit selector 0x33 and run 64-bit code:
 * the monitor's, or its own, making host system calls.  Here all guest code (the
 * kernel's and its programs') runs in two companion processes, one per privilege
 * level (each holds one of mmu.c's shadow views), that the monitor drives from
 * outside with ptrace, as the 2003 system did.  Each process has, of lvm's, only
 * what this file leaves it: the guest RAM memfd mapped twice above 4 GiB (sources
 * for its shadow mappings, by mremap, since it keeps no file descriptor), the vCPU
 * page (the kernel's process), a read-only page of code (isostub.S), a read-only
 * queue of host calls, and an alternate signal stack.  A seccomp filter traces
 * every system call it makes: the monitor lets one run only while the stub runs
 * its queue, whose code and contents the guest cannot touch; any other is the
 * guest's attempt, reported and fatal to the guest.  32-bit entries (int $0x80,
 * sysenter) still raise SIGSYS, the monitor's filter's, as in-process.
 *
 * An event (a fault, a trap marker, the far call of a call-mode subroutine, a
 * stop the monitor asked for) is a ptrace stop: the monitor reads the registers
 * and, where the fault's hardware details matter (page faults and other SIGSEGV,
 * SIGBUS, SIGFPE: trap number and error code), lets the host kernel deliver the
 * signal to the stub's int3 and reads its frame from the alternate stack; then
 * it handles the event as it handles a signal of its own (guest_event()) and
 * resumes by setting registers (SETREGS, SETFPREGS) and PTRACE_CONT.  Host events
 * (timers, input) arrive at the monitor, which then stops the running process
 * with SIGUSR1.  Ptrace stops cost ~40 us when the two processes run on
 * different cores of this host and ~7 us on one: all three are pinned to the core
 * the monitor starts on.
 *
 * Lifetime: PTRACE_O_EXITKILL and PR_SET_PDEATHSIG kill them with the monitor;
 * one that dies otherwise is reported, and the monitor exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include "console.h"
#include "irq.h"
#include "isolate.h"
#include "isoproc.h"
#include "mmu.h"
#include "stats.h"
#include "userproc.h"
#include "traps.h"

static jmp_buf loop;
static bool looping;
static struct lvm_regs next;
static u16 live_sel[4];
static bool live_valid;
static volatile pid_t running;            /* the process running guest code, for host events */
static volatile sig_atomic_t stop_sent;

const u16 *isolate_live_selectors(void) { return live_valid ? live_sel : NULL; }

/* --- running guest code --- */

void isolate_host_event(void)
{
	pid_t p = running;
	if (p > 0 && !stop_sent) {
		stop_sent = 1;
		kill(p, SIGUSR1);
	}
}

static void mcontext_from(mcontext_t *m, const struct user_regs_struct *u)
{
	memset(m, 0, sizeof *m);
	greg_t *g = m->gregs;
	g[REG_RAX] = u->rax, g[REG_RCX] = u->rcx, g[REG_RDX] = u->rdx, g[REG_RBX] = u->rbx;
	g[REG_RSP] = u->rsp, g[REG_RBP] = u->rbp, g[REG_RSI] = u->rsi, g[REG_RDI] = u->rdi;
	g[REG_RIP] = u->rip, g[REG_EFL] = u->eflags;
	g[REG_CSGSFS] = (u->cs & 0xffff) | (u->gs & 0xffff) << 16 | (u->fs & 0xffff) << 32 |
			(u->ss & 0xffff) << 48;
}

static u8 byte_at(u32 lin)
{
	u8 b = 0;
	guest_read(lin, &b, 1);
	return b;
}

/* The host kernel delivers `sig` to the stub's int3: its frame, trap number and
 * error code included, from the alternate stack. */
static void frame_of(struct proc *p, int sig, mcontext_t *m, siginfo_t *si, struct user_fpregs_struct *fp)
{
	iso_pt(PTRACE_CONT, p->pid, NULL, (void *)(uintptr_t)sig);
	int st = iso_wait_for(p);
	while (WSTOPSIG(st) == SIGUSR1) {     /* a host event's stop, asked for before: later */
		iso_pt(PTRACE_CONT, p->pid, NULL, NULL);
		st = iso_wait_for(p);
	}
	struct user_regs_struct u;
	iso_pt(PTRACE_GETREGS, p->pid, NULL, &u);
	u64 lo = (uintptr_t)p->altstack, hi = lo + ALTSTACK_SIZE;
	if (WSTOPSIG(st) != SIGTRAP || u.rip != STUB(iso_stub_frame) + 1 || u.rdx < lo ||
	    u.rdx + sizeof(ucontext_t) > hi || u.rsi < lo || u.rsi + sizeof *si > hi)
	{
		siginfo_t x;
		memset(&x, 0, sizeof x);
		ptrace(PTRACE_GETSIGINFO, p->pid, NULL, &x);
		host_bug("signal %d to lvm's isolated %s process: no frame (stop %#x at %#llx, "
			 "code %d, address %p, cs %#llx ss %#llx rsp %#llx)", sig, p->name, st,
			 (unsigned long long)u.rip, x.si_code, x.si_addr, (unsigned long long)u.cs,
			 (unsigned long long)u.ss, (unsigned long long)u.rsp);
	}
	ucontext_t *uc = (ucontext_t *)(uintptr_t)u.rdx;
	memcpy(m, &uc->uc_mcontext, sizeof *m);
	memcpy(si, (void *)(uintptr_t)u.rsi, sizeof *si);
	u64 fpa = (uintptr_t)uc->uc_mcontext.fpregs;
	if (fpa < lo || fpa + sizeof *fp > hi)
		host_bug("isolated process: signal frame without its FPU state");
	memcpy(fp, (void *)(uintptr_t)fpa, sizeof *fp);
	m->gregs[REG_CSGSFS] = (m->gregs[REG_CSGSFS] & 0xffff00000000ffffull) |
			       (u.gs & 0xffff) << 16 | (u.fs & 0xffff) << 32;
	m->fpregs = NULL;
}

/* EFLAGS.ID (Linux's CPUID probe toggles it) and NT: ptrace keeps the process's. */
static void set_flags(struct proc *p, u64 flags)
{
	struct user_regs_struct s;
	iso_pt(PTRACE_GETREGS, p->pid, NULL, &s);
	s.rip = STUB(iso_stub_flags), s.rax = flags & ~0x100ull;
	s.rsp = (uintptr_t)p->altstack + ALTSTACK_SIZE - 64;
	s.cs = 0x33, s.ss = 0x2b;
	iso_pt(PTRACE_SETREGS, p->pid, NULL, &s);
	iso_pt(PTRACE_CONT, p->pid, NULL, NULL);
	int st = iso_wait_for(p);
	while (WSTOPSIG(st) == SIGUSR1) {
		iso_pt(PTRACE_CONT, p->pid, NULL, NULL);
		st = iso_wait_for(p);
	}
	iso_pt(PTRACE_GETREGS, p->pid, NULL, &s);
	if (WSTOPSIG(st) != SIGTRAP || s.rip != STUB(iso_stub_flags) + 3)
		host_bug("setting flags in lvm's isolated %s process: stop %#x at %#llx", p->name, st,
			 (unsigned long long)s.rip);
}

__attribute__((noreturn)) static void run(void)
{
	struct proc *p = VCPU->cpl == 3 ? &uproc : &kproc;
	iso_run_ops(p);
	mcontext_t m;
	memset(&m, 0, sizeof m);
	regs_to_mcontext(&m, &next);
	struct user_regs_struct u;
	iso_pt(PTRACE_GETREGS, p->pid, NULL, &u);
	greg_t *g = m.gregs;
	u64 actual = u.eflags;
	u.rax = (u32)g[REG_RAX], u.rcx = (u32)g[REG_RCX], u.rdx = (u32)g[REG_RDX], u.rbx = (u32)g[REG_RBX];
	u.rsp = (u32)g[REG_RSP], u.rbp = (u32)g[REG_RBP], u.rsi = (u32)g[REG_RSI], u.rdi = (u32)g[REG_RDI];
	u.rip = (u32)g[REG_RIP], u.eflags = (u32)g[REG_EFL];
	u.r8 = u.r9 = u.r10 = u.r11 = u.r12 = u.r13 = u.r14 = u.r15 = 0;
	u.cs = host_sel[LVM_CS], u.ss = host_sel[LVM_SS];
	u.ds = host_sel[LVM_DS], u.es = host_sel[LVM_ES];
	u.fs = host_sel[LVM_FS], u.gs = host_sel[LVM_GS];
	u.fs_base = hostseg_base(u.fs), u.gs_base = hostseg_base(u.gs);
	if ((actual ^ g[REG_EFL]) & (0x200000 | 0x4000))
		set_flags(p, g[REG_EFL]);
	iso_pt(PTRACE_SETREGS, p->pid, NULL, &u);
	struct user_fpregs_struct fp __attribute__((aligned(16)));
	memset(&fp, 0, sizeof fp);
	fpu_guest_get((u8 *)&fp);
	iso_pt(PTRACE_SETFPREGS, p->pid, NULL, &fp);
	mmu_stats.user_runs += p == &uproc;
	for (;;) {
		stop_sent = 0;
		running = p->pid;
		if (host_events)
			isolate_host_event();
		iso_pt(PTRACE_CONT, p->pid, NULL, NULL);
		int st = iso_wait_for(p);
		running = 0;
		int sig = WSTOPSIG(st);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		iso_pt(PTRACE_GETREGS, p->pid, NULL, &u);
		struct lvm_regs r = { .eax = u.rax, .ecx = u.rcx, .edx = u.rdx, .ebx = u.rbx, .esp = u.rsp,
				      .ebp = u.rbp, .esi = u.rsi, .edi = u.rdi, .eip = u.rip, .eflags = u.eflags };
		if (st >> 8 == (SIGTRAP | PTRACE_EVENT_SECCOMP << 8)) {
			vcpu_page_entered();
			kill_guest(&r, "guest code made a host system call (number %llu, 64-bit `syscall` "
				   "at %#llx): lvm's isolated mode runs none for guest code",
				   (unsigned long long)u.orig_rax, (unsigned long long)u.rip - 2);
		}
		if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL && sig != SIGTRAP &&
		    sig != SIGSYS && sig != SIGUSR1)
			continue;                    /* a stop from outside (SIGSTOP...): go on */
		if (sig == SIGTRAP && u.rip == STUB(iso_stub_frame) + 1) {
			vcpu_page_entered();
			kill_guest(&r, "guest code jumped into lvm's isolated-process stub (%#llx)",
				   (unsigned long long)u.rip);
		}
		if (p == &uproc) {
			live_sel[0] = u.ds, live_sel[1] = u.es, live_sel[2] = u.fs, live_sel[3] = u.gs;
			live_valid = true;
		} else
			live_valid = false;
		bool outside = (u.cs & 0xffff) == HOST_CS && u.rip == TRAMPOLINE_ADDR;
		/* The user system-call gate's far call (entry.c), faulted at its address (or
		 * stopped there: TF, or a host event's SIGUSR1, which the entry handles). */
		bool gate = (u.cs & 0xffff) == HOST_CS && u.rip == LVM_USER_GATE;
		iso_pt(PTRACE_GETSIGINFO, p->pid, NULL, &si);
		bool marker = sig == SIGSEGV && !outside && (u.cs & 0xffff) != HOST_CS && si.si_code == SI_KERNEL &&
			 byte_at(cpu.seg[LVM_CS].base + (u32)u.rip) == LVM_TRAP_MARKER;
		if (getenv("LVM_ISOLATE_DEBUG"))
			fprintf(stderr, "iso %s: sig %d code %d addr %p cs %#llx rip %#llx rsp %#llx\n",
				p->name, sig, si.si_code, si.si_addr, (unsigned long long)u.cs,
				(unsigned long long)u.rip, (unsigned long long)u.rsp);
		if ((sig == SIGSEGV && !marker && !outside && !gate) || sig == SIGBUS || sig == SIGFPE) {
			frame_of(p, sig, &m, &si, &fp);
		} else {
			iso_pt(PTRACE_GETFPREGS, p->pid, NULL, &fp);
			mcontext_from(&m, &u);
			if (marker)
				m.gregs[REG_TRAPNO] = 13;
			if (sig == SIGTRAP)
				m.gregs[REG_TRAPNO] = si.si_code == SI_KERNEL ? 3 : 1;
		}
		fpu_guest_set((const u8 *)&fp);
		if (outside && p == &kproc) {
			if (sig == SIGTRAP)          /* TF set on the far call: one #DB after the site */
				singlestep_after_emulation();
			entry_from_outside(&r);
		}
		if (gate)
			guest_event(USERPROC_GATE_EVENT, &si, &m);
		guest_event(sig == SIGUSR1 ? SIGALRM : sig, &si, &m);
	}
}

void isolate_resume(struct lvm_regs *r)
{
	next = *r;
	if (looping)
		longjmp(loop, 1);
	looping = true;
	setjmp(loop);
	run();
}
