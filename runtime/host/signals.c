/* signals.c: what the host kernel tells us about guest code running natively.
 *
 * Everything guest code does that a ring-3 process may not do arrives as a signal:
 * the trap-mode marker (`hlt`, #GP -> SIGSEGV), privileged instructions and faults
 * of guest user code (SIGSEGV, SIGILL, SIGFPE, SIGTRAP), and system calls, which a
 * seccomp filter turns into SIGSYS for any 32-bit system-call entry so that none
 * reaches the host kernel.  Each becomes what the guest's CPU would do: an
 * emulated instruction or an exception through the guest's IDT.  The handler runs
 * on its own stack; it resumes the guest by rewriting the signal's ucontext, so the
 * kernel's sigreturn restores every register, the FPU/SSE state included.  A signal
 * raised by the monitor's own 64-bit code is a host bug, reported as such.
 * Signals from outside (the timers, SIGIO for input, job control, termination)
 * come through the same entry, which puts back the monitor's thread pointer: they
 * are noted, the terminal is restored before the process stops or dies, and when
 * they interrupted guest code the guest resumes at an interrupt window.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "stats.h"
#include "console.h"
#include "emulate.h"
#include "irq.h"
#include "mmu.h"
#include "gdb.h"
#include "userproc.h"
#include "isolate.h"
#include "guestsig.h"

extern char entry_stub[], entry_stub_end[];
#define entry_stub_size ((u64)(entry_stub_end - entry_stub))
#ifndef TRAP_PERF
#define TRAP_PERF 6                       /* Linux 5.13's, for perf_event_open's sigtrap */
#endif
static u8 altstack[256 * 1024] __attribute__((aligned(16)));

#define EFLAGS_ID 0x200000u
/* EFLAGS.ID and NT for the code sigreturn returns to: rt_sigreturn takes both from
 * the flags it is called with, not from the frame (FIX_EFLAGS leaves them out), so
 * signal_entry sets them just before (Linux's CPUID probe toggles ID with popfl;
 * user code may set NT, which signal_entry clears for the monitor). */
u64 resume_live_flags;
extern char lvm_enter_window[], lvm_enter_window_end[];

/* A signal from outside the guest: note it (or stop, or die of it with the terminal
 * restored); true if whatever it interrupted goes on. */
static bool host_event(int sig)
{
	switch (sig) {
	case SIGALRM:
		irq_timer_signal();
		return true;
	case SIGIO:
		irq_input_signal();
		return true;
	case SIGTSTP:
		console_stop();
		return true;
	case SIGCONT:
		console_continued();
		return true;
	case SIGHUP: case SIGINT: case SIGQUIT: case SIGTERM: case SIGPIPE:
		console_fatal_signal(sig);
	}
	return false;
}

/* Returns non-zero when it resumes guest code (signal_entry then loads its FS/GS). */
int signal_handler(int sig, siginfo_t *si, void *ucv)
{
	if (userproc_is_child())
		return userproc_child_signal(sig, si, ucv);
	ucontext_t *uc = ucv;
	mcontext_t *m = &uc->uc_mcontext;
	u16 cs = m->gregs[REG_CSGSFS] & 0xffff;
	resume_live_flags = m->gregs[REG_EFL] & (EFLAGS_ID | 0x4000);   /* as interrupted */
	bool in_guest = (cs == GUEST_CS || cs == host_user_cs) && !resume_armed();
	if (host_event(sig) && !in_guest) {
		isolate_host_event();            /* stop the isolated process running, if one is */
		/* In the monitor: handled before it resumes the guest, also when it was on
		 * its way there (switch.S), by checking again from the start. */
		u64 rip = m->gregs[REG_RIP];
		if (rip >= (uintptr_t)lvm_enter_window && rip < (uintptr_t)lvm_enter_window_end) {
			m->gregs[REG_RIP] = (uintptr_t)lvm_enter_window;
			m->gregs[REG_EFL] = 0x202;   /* not the guest's, if popfq loaded them */
		}
		return 0;
	}
	if (sig == SIGTRAP && si->si_code == TRAP_PERF && !in_guest)
		return 0;                        /* a watchpoint on the monitor's own access */
	u64 at = m->gregs[REG_RIP];
	if (sig == SIGTRAP && cs == HOST_CS && !resume_armed() &&
	    ((VCPU->cpl == 0 && at >= TRAMPOLINE_ADDR && at < TRAMPOLINE_ADDR + entry_stub_size) ||
	     (at >= LVM_USER_GATE && at < LVM_USER_GATE + entry_stub_size))) {
		/* Guest kernel code single-stepping (TF) into the monitor entry: the stub
		 * steps until its popfq clears TF, after saving the guest's EFLAGS with it.
		 * The rewritten instruction is one instruction to the guest: one #DB after
		 * it (resume()).  The same for the user gate's copy of the stub, whose
		 * sysenter takes its #DB in the kernel (user_gate_called). */
		singlestep_after_emulation();
		return 0;
	}
	/* A 64-bit `syscall` the monitor's allowlist (allowlist.c) refused. */
	bool forbidden = sig == SIGSYS && si->si_arch == AUDIT_ARCH_X86_64;
	u64 rip = m->gregs[REG_RIP];
	if (!in_guest && cs == HOST_CS && rip < (1ull << 32) && !resume_armed()) {
		/* 64-bit code below 4 GiB is never the monitor's own, bar the entry stub,
		 * which cannot fault when entered at its start: guest code far-jumped to
		 * the host's 64-bit selector.  Its error, not ours. */
		struct lvm_regs r;
		regs_from_mcontext(m, &r);
		vcpu_page_entered();
		if (forbidden)
			kill_guest(&r, "guest code switched to the host's 64-bit code segment (selector %#x) "
				   "and made host system call %d at %#llx, which the monitor's seccomp "
				   "allowlist refused (in-process modes cannot stop the switch: README, "
				   "Security model)", HOST_CS, si->si_syscall, (unsigned long long)rip - 2);
		kill_guest(&r, "guest code switched to the host's 64-bit code segment (selector "
			   "%#x) and faulted there at %#llx (signal %d); lvm runs 32-bit code only, "
			   "and its in-process modes cannot stop such a jump (README: Security "
			   "model)", HOST_CS, (unsigned long long)rip, sig);
	}
	if (forbidden && !in_guest) {
		console_restore();
		fprintf(stderr, "lvm: internal error: the monitor made system call %d at %#llx, "
			"which its seccomp allowlist (runtime/host/allowlist.c) does not allow "
			"(LVM_ALLOWLIST=off runs without it)\n", si->si_syscall, (unsigned long long)rip - 2);
		_exit(EXIT_HOST_BUG);
	}
	if (!in_guest) {
		/* The monitor itself: our bug.  Say where, then die with the signal. */
		console_restore();
		extern char __executable_start[];
		fprintf(stderr, "lvm: internal error: signal %d (%s) at %#llx in the monitor "
			"(lvm-monitor+%#llx: addr2line -f -e out/bin/lvm-monitor), address %p\n",
			sig, strsignal(sig), (unsigned long long)m->gregs[REG_RIP],
			(unsigned long long)(m->gregs[REG_RIP] - (uintptr_t)__executable_start), si->si_addr);
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	jmp_buf jb;
	struct lvm_regs r;
	vcpu_page_entered();
	regs_from_mcontext(m, &r);
	if (setjmp(jb) == 0) {
		resume_arm(&jb);
		guest_frame_fpu = (u8 *)m->fpregs;
		guest_signal(sig, si, m, &r);
		host_bug("guest_signal returned");
	}
	const struct lvm_regs *next = resume_disarm();
	guest_frame_fpu = NULL;
	fpu_forget();                    /* sigreturn restores the guest's FPU from the frame */
	regs_to_mcontext(m, next);
	/* sigreturn takes EFLAGS.ID from the flags it is called with, not from the
	 * frame (the kernel's FIX_EFLAGS): signal_entry sets it to the guest's before
	 * it returns to the restorer (Linux's CPUID probe toggles ID with popfl). */
	resume_live_flags = m->gregs[REG_EFL] & (EFLAGS_ID | 0x4000);
	/* 64-bit code ignores DS and ES, and sigreturn restores neither: set the
	 * guest's here, for the guest code sigreturn goes back to. */
	asm volatile("movl %0, %%ds; movl %1, %%es" : : "r"((u32)host_sel[LVM_DS]),
		     "r"((u32)host_sel[LVM_ES]));
	return 1;
}

static int seccomp_init(void)
{
	/* Every system call made through a 32-bit entry (int 0x80, sysenter, syscall
	 * from compat mode) is the guest's: SIGSYS.  The monitor's are x86-64. */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("lvm: seccomp (guest system calls must not reach the host)");
		return -1;
	}
	return 0;
}

/* Route `sigs` to signal_entry on the alternate stack.  Host events wait while a
 * handler runs: its sigreturn delivers them in guest code, so none is noted after
 * the handler's last look and left (irq.c); `also_masked` (0: none) waits too. */
int signals_route(const int *sigs, unsigned n, int also_masked)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = signal_entry;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	sigaddset(&sa.sa_mask, SIGIO);
	if (also_masked)
		sigaddset(&sa.sa_mask, also_masked);
	for (unsigned i = 0; i < n; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			perror("lvm: sigaction");
			return -1;
		}
	return 0;
}

int signals_init(void)
{
	guestsig_init();
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	if (sigaltstack(&ss, NULL) < 0) {
		perror("lvm: sigaltstack");
		return -1;
	}
	static const int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS, SIGALRM, SIGIO,
				    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGTSTP, SIGCONT };
	if (signals_route(sigs, sizeof sigs / sizeof sigs[0], 0) < 0)
		return -1;
	return seccomp_init();
}
