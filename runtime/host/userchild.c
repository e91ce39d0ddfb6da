/* userchild.c: a user process's side of running guest user code (userproc.c).
 *
 * The process lives in its signal handler: every signal user code raises (faults,
 * SIGSYS for system calls, SIGUSR1 when the monitor wants it to stop for an
 * interrupt) is reported on the shared page, the handler waits for its turn,
 * applies the mappings and LDT writes the monitor queued, writes the registers it
 * is given into the frame and returns into user code; the user system-call gate
 * (usergate.c) does the same without a signal.  It dies with the monitor
 * (PR_SET_PDEATHSIG) and ignores the terminal's signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>
#include "traps.h"
#include "cpumodel.h"
#include "mmu.h"
#include "userproc.h"
#include "handoff.h"

static bool is_child;

bool userproc_is_child(void) { return is_child; }

/* The x87/SSE state crosses the shared page only when it changed: each side keeps
 * the image it last sent or received (the agreed state; the monitor one per
 * process) and sends a flag instead of an image equal to it, which spares a
 * cross-core copy of 464 bytes each way on most system calls and faults.  The
 * monitor and the gate (usergate.c) use no vector registers (-mgeneral-regs-only,
 * fpu.c's memcpy), so what user code left stays live meanwhile. */
static u8 agreed_fpu[512] __attribute__((aligned(16)));
static bool agreed_known;

void fpu_report(const u8 *img)
{
	ho->ev_fpu_same = agreed_known && fpu_equal(img, agreed_fpu);
	if (!ho->ev_fpu_same) {
		memcpy(ho->ev_fpu, img, FXSAVE_BYTES);
		memcpy(agreed_fpu, img, FXSAVE_BYTES);
		agreed_known = true;
	}
}

const u8 *fpu_answer(void)
{
	if (ho->fpu_same)
		return NULL;
	memcpy(agreed_fpu, ho->fpu, FXSAVE_BYTES);
	agreed_known = true;
	return agreed_fpu;
}

/* The host bounds a process's mappings (vm.max_map_count, 65,530 by default), and
 * scattered guest pages are one each: user code that touches every other page of
 * 700 MiB has 90,000.  At the bound an mmap fails with ENOMEM, and so does a
 * munmap that would split a mapping in two, which would leave a stale page mapped.
 * Either way the view goes whole (unmapping everything splits nothing), the rest of
 * the queue's mappings with it, and the monitor is told before it reads the next
 * report (view_lost): user code refills what it touches again. */
/* Which pages of the view are mapped readable here, as the queue left them: where
 * user code's bytes may be read with a plain load (user_bytes). */
static u64 readable[(1ull << 32) >> 12 >> 6];

static void note_readable(u64 at, u64 len, bool on)
{
	for (u64 p = at >> 12; p < (at + len + 0xfff) >> 12 && p < 1u << 20; p++)
		if (on)
			readable[p >> 6] |= 1ull << (p & 63);
		else
			readable[p >> 6] &= ~(1ull << (p & 63));
}

static bool view_lost_here(void)
{
	munmap((void *)0, TRAMPOLINE_ADDR);
	memset(readable, 0, sizeof readable);
	ho->view_lost = true;
	return true;
}

void apply_ops(void)
{
	bool lost = false;
	if (ho->unmap_all) {
		munmap((void *)0, TRAMPOLINE_ADDR);
		memset(readable, 0, sizeof readable);
		ho->unmap_all = false;
	}
	for (u32 i = 0; i < ho->nops; i++) {
		struct op *o = &ho->ops[i];
		if (o->kind == OP_MAP) {
			if (!lost && mmap((void *)o->at, o->len, o->prot, MAP_SHARED | MAP_FIXED,
					  memfd_of_guest(), o->off) != (void *)o->at) {
				if (errno != ENOMEM)
					_exit(120);                  /* the monitor sees the exit */
				lost = view_lost_here();
			} else if (!lost) {
				note_readable(o->at, o->len, o->prot & PROT_READ);
			}
		} else if (o->kind == OP_ANCHOR) {
			/* optional (mmu/anchor.c): at the mapping bound it is left out */
			if (!lost) {
				note_readable(o->at, o->len, false);
				mmap((void *)o->at, o->len, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
			}
		} else if (o->kind == OP_UNMAP) {
			if (!lost)
				note_readable(o->at, o->len, false);
			if (!lost && munmap((void *)o->at, o->len) < 0 && errno == ENOMEM)
				lost = view_lost_here();
		} else if (syscall(SYS_modify_ldt, 0x11, o->desc, sizeof o->desc) < 0) {
			_exit(121);
		}
	}
	ho->nops = 0;
}

/* The frame's x87/SSE image: the FXSAVE area but its last 48 bytes (the kernel's
 * own words); with XSAVE frames, x87 and SSE marked present so sigreturn loads
 * them rather than their initial state. */
static void fpu_into_frame(ucontext_t *uc, const u8 *img)
{
	u8 *f = (u8 *)uc->uc_mcontext.fpregs;
	memcpy(f, img, FXSAVE_BYTES);
	if (*(u32 *)(f + 464) == 0x46505853u)        /* FP_XSTATE_MAGIC1 */
		*(u64 *)(f + 512) |= 3;                   /* XSTATE_BV: x87, SSE */
}

/* User code's CPUID, which faults here (cpuid.c): answered from the model, as the
 * monitor would, without a handoff (a static glibc program asks 16 times at its
 * start; a round trip through the monitor made fork+exec ~15% slower).  Only for
 * plain `cpuid` in flat code without TF (a #DB after it is the monitor's to give);
 * everything else goes to the monitor, which emulates CPUID the same way. */
static bool flat_code(u16 cs) { return cs == GUEST_CS || cs == host_user_cs; }  /* base 0 */

/* The bytes at user code's address, or false: a #GP's address need not be mapped
 * (the host's return to user code with a state it refuses faults at the target:
 * Linux's syscall_arg_fault selftest), so a plain load only where this process
 * mapped the pages readable (`readable`), else process_vm_readv, which fails
 * instead of faulting (but costs 1.6 us here, a sixth of the CPUID's answer). */
static bool is_readable(u32 p) { return readable[p >> 6] >> (p & 63) & 1; }

static bool user_bytes(u32 addr, u8 *b, u32 n)
{
	if (is_readable(addr >> 12) && is_readable((u32)(addr + n - 1) >> 12)) {
		memcpy(b, (const void *)(uintptr_t)addr, n);
		return true;
	}
	struct iovec to = { b, n }, from = { (void *)(uintptr_t)addr, n };
	return syscall(SYS_process_vm_readv, getpid(), &to, 1, &from, 1, 0) == (long)n;
}

static bool cpuid_here(mcontext_t *m)
{
	greg_t *g = m->gregs;
	u8 at[2];
	if (g[REG_TRAPNO] != 13 || g[REG_ERR] || (g[REG_EFL] & 0x100) ||
	    !flat_code((u16)g[REG_CSGSFS]) || !user_bytes((u32)g[REG_RIP], at, 2) ||
	    at[0] != 0x0f || at[1] != 0xa2)
		return false;
	struct cpuid_leaf l = cpuid_model((u32)g[REG_RAX], (u32)g[REG_RCX]);
	g[REG_RAX] = l.eax, g[REG_RBX] = l.ebx, g[REG_RCX] = l.ecx, g[REG_RDX] = l.edx;
	g[REG_RIP] = (u32)(g[REG_RIP] + 2);
	u16 fs, gs;                           /* as user code has them: signal_entry reloads */
	asm volatile("movw %%fs, %0; movw %%gs, %1" : "=m"(fs), "=m"(gs));
	host_sel[LVM_FS] = fs;
	host_sel[LVM_GS] = gs;
	resume_live_flags = g[REG_EFL] & (0x200000u | 0x4000u);
	return true;
}

int userproc_child_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	mcontext_t *m = &uc->uc_mcontext;
	static bool started;
	if ((m->gregs[REG_CSGSFS] & 0xffff) == HOST_CS && in_gate(m))
		return gate_signal(sig, m);
	if (started && sig == SIGSEGV && cpuid_here(m))
		return 1;
	if (started) {
		ho->ev_sig = sig;
		ho->ev_code = si->si_code;
		ho->ev_addr = (uintptr_t)si->si_addr;
		memcpy(ho->ev_gregs, m->gregs, sizeof ho->ev_gregs);
		asm volatile("movw %%ds, %0; movw %%es, %1; movw %%fs, %2; movw %%gs, %3"
			     : "=m"(ho->ev_sel[0]), "=m"(ho->ev_sel[1]), "=m"(ho->ev_sel[2]),
			       "=m"(ho->ev_sel[3]));
		fpu_report((const u8 *)m->fpregs);
		give_turn(TURN_MONITOR);
	}
	started = true;
	child_wait();
	apply_ops();
	memcpy(m->gregs, ho->gregs, sizeof ho->gregs);
	const u8 *img = fpu_answer();
	if (img)
		fpu_into_frame(uc, img);
	host_sel[LVM_FS] = ho->sel[4];
	host_sel[LVM_GS] = ho->sel[5];
	resume_live_flags = ho->live_flags;
	asm volatile("movl %0, %%ds; movl %1, %%es" : : "r"((u32)ho->sel[2]), "r"((u32)ho->sel[3]));
	return 1;                                    /* signal_entry loads FS and GS */
}

void userchild_main(pid_t monitor)
{
	is_child = true;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != monitor)
		_exit(0);
	static const int quiet[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGTSTP, SIGCONT,
				     SIGALRM, SIGIO, SIGTTIN, SIGTTOU };
	for (unsigned i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
		signal(quiet[i], SIG_IGN);
	/* Nothing of the monitor's view below 4 GiB: the user view starts empty, with
	 * the user system-call gate's page. */
	munmap((void *)0, 1ull << 32);
	map_gate();
	cpuid_fault_here();              /* user code's CPUID: the model's answer (cpuid.c) */
	/* Lives in the handler from here: SIGUSR1 was blocked since before the fork, so
	 * a stop request the monitor sent early waits for the handler too. */
	raise(SIGUSR1);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	_exit(122);
}

/* Every handler masks SIGUSR1 too: a stop request that comes while the child
 * waits is for the next run of user code. */
int userchild_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS, SIGUSR1 };
	return signals_route(sigs, sizeof sigs / sizeof sigs[0], SIGUSR1);
}
