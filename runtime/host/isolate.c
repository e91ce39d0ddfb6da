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
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include "console.h"
#include "irq.h"
#include "isolate.h"
#include "mmio.h"
#include "mmu.h"
#include "stats.h"
#include "traps.h"
#include "userproc.h"

bool isolate_wanted;

extern char iso_stub[], iso_stub_end[], iso_stub_ops[], iso_stub_call_end[], iso_stub_done[],
	iso_stub_fail[], iso_stub_frame[], iso_stub_flags[];
#define STUB(sym) ((u64)(uintptr_t)stub_page + (u64)((sym) - iso_stub))

struct iso_op { u64 nr, a[6]; };          /* 56 bytes, as isostub.S reads them */
#define OPS_MAX 4096
struct area {                             /* per process; read-only there once sealed */
	struct iso_op ops[OPS_MAX];
	u8 desc[OPS_MAX][16];             /* modify_ldt's argument, per operation */
	struct sock_filter filter[1];
	struct sock_fprog prog;
};
#define ALTSTACK_SIZE (64 * 1024)
#define MASTER(w) (0x200000000ull + ((w) ? 0x100000000ull : 0))   /* guest RAM, R-X / RWX */

struct proc {
	const char *name;
	pid_t pid;
	struct area *area;
	u8 *altstack;
	u32 nops;
	int pending;                      /* a wait status reported while the other ran */
};
static struct proc kproc = { .name = "kernel" }, uproc = { .name = "user" };
static void *stub_page;
static u64 ram_bytes;                     /* the memfd's size when the processes started */
static jmp_buf loop;
static bool looping;
static struct lvm_regs next;
static u16 live_sel[4];
static bool live_valid;
static volatile pid_t running;            /* the process running guest code, for host events */
static volatile sig_atomic_t stop_sent;

bool isolate_active(void) { return kproc.pid > 0; }
const u16 *isolate_live_selectors(void) { return live_valid ? live_sel : NULL; }

static long pt(int req, pid_t pid, void *addr, void *data)
{
	long v = ptrace(req, pid, addr, data);
	if (v < 0 && req != PTRACE_PEEKDATA)
		host_bug("ptrace(%d) of lvm's isolated process %d: %m", req, pid);
	return v;
}

static __attribute__((noreturn)) void died(struct proc *p, int status)
{
	fpu_protect();
	console_restore();
	if (WIFSIGNALED(status))
		fprintf(stderr, "lvm: lvm's isolated %s process (pid %d) was killed by signal %d (%s): "
			"the guest cannot go on\n", p->name, p->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "lvm: lvm's isolated %s process (pid %d) exited with status %d (an lvm "
			"bug)\n", p->name, p->pid, WEXITSTATUS(status));
	p->pid = 0;
	exit(EXIT_HOST_BUG);
}

/* The next stop of `p`, the one process running.  Waiting for either: the other,
 * stopped, can only die (killed from outside), and that must end the run now,
 * not when the guest next needs it.  (Isolated, these are the monitor's only
 * children: userproc is off.) */
static int wait_for(struct proc *p)
{
	struct proc *other = p == &kproc ? &uproc : &kproc;
	int st;
	if (p->pending) {
		st = p->pending;
		p->pending = 0;
		return st;
	}
	for (;;) {
		pid_t w = waitpid(-1, &st, __WALL);
		if (w == p->pid)
			break;
		if (w > 0 && w == other->pid) {
			if (!WIFSTOPPED(st))
				died(other, st);
			other->pending = st;     /* (a stop it owed: its next one) */
		}
		if (w < 0 && errno != EINTR)
			host_bug("waitpid for lvm's isolated process: %m");
	}
	if (!WIFSTOPPED(st))
		died(p, st);
	return st;
}

/* --- the queue of host calls each process makes for the monitor --- */

static struct iso_op *op(struct proc *p, u64 nr);

/* Run the queue: each call stops at the filter, and goes on (the stub runs: no
 * guest code can be running); int3 at the end. */
static void run_ops(struct proc *p)
{
	if (!p->nops)
		return;
	struct user_regs_struct u;
	pt(PTRACE_GETREGS, p->pid, NULL, &u);
	struct user_regs_struct s = u;
	s.rip = STUB(iso_stub_ops);
	s.rbx = (u64)(uintptr_t)p->area->ops;
	s.r12 = p->nops;
	s.cs = 0x33, s.ss = 0x2b;
	pt(PTRACE_SETREGS, p->pid, NULL, &s);
	u32 n = p->nops;
	p->nops = 0;
	int sig = 0;
	for (;;) {
		pt(PTRACE_CONT, p->pid, NULL, (void *)(uintptr_t)sig);
		sig = 0;
		int st = wait_for(p);
		pt(PTRACE_GETREGS, p->pid, NULL, &s);
		if (st >> 8 == (SIGTRAP | PTRACE_EVENT_SECCOMP << 8) && s.rip == STUB(iso_stub_call_end))
			continue;
		if (WSTOPSIG(st) == SIGTRAP && s.rip == STUB(iso_stub_done) + 1)
			break;
		if (WSTOPSIG(st) == SIGUSR1)
			continue;                    /* a stop asked for before: not now */
		if (WSTOPSIG(st) == SIGILL && s.rip == STUB(iso_stub_fail)) {
			u32 i = (s.rbx - (u64)(uintptr_t)p->area->ops) / sizeof(struct iso_op);
			host_bug("host call %u of %u (system call %llu) in lvm's isolated %s process "
				 "failed: %s", i, n, (unsigned long long)p->area->ops[i < n ? i : 0].nr,
				 p->name, strerror((int)-s.rax));
		}
		host_bug("lvm's isolated %s process stopped (status %#x) at %#llx running its "
			 "queue", p->name, st, (unsigned long long)s.rip);
	}
	pt(PTRACE_SETREGS, p->pid, NULL, &u);
}

static struct iso_op *op(struct proc *p, u64 nr)
{
	if (p->nops == OPS_MAX)
		run_ops(p);
	struct iso_op *o = &p->area->ops[p->nops++];
	memset(o, 0, sizeof *o);
	o->nr = nr;
	return o;
}

static void map_in(struct proc *p, u64 at, u64 len, int prot, u64 off)
{
	if (off + len > ram_bytes)
		host_bug("isolated mapping beyond guest memory (offset %#llx)", (unsigned long long)off);
	struct iso_op *o = op(p, SYS_mremap);
	o->a[0] = MASTER(prot & PROT_WRITE) + off;
	o->a[2] = len;
	o->a[3] = MREMAP_MAYMOVE | MREMAP_FIXED;
	o->a[4] = at;
	if ((prot | PROT_WRITE) != (PROT_READ | PROT_WRITE | PROT_EXEC)) {
		o = op(p, SYS_mprotect);
		o->a[0] = at, o->a[1] = len, o->a[2] = prot;
	}
}

void isolate_map(bool user, u64 at, u64 len, int prot, u64 off)
{
	mmu_stats.user_maps += user;
	map_in(user ? &uproc : &kproc, at, len, prot, off);
}

void isolate_unmap(bool user, u64 at, u64 len)
{
	mmu_stats.user_unmaps += user;
	struct iso_op *o = op(user ? &uproc : &kproc, SYS_munmap);
	o->a[0] = at, o->a[1] = len;
}

/* Paging off in the kernel's process: guest RAM at its physical addresses (but
 * page 0), the BIOS area read-only, as memory.c maps it in the monitor. */
void isolate_map_identity(void)
{
	u64 size = mem_size(), rom0 = BIOS_ROM_START, rom1 = BIOS_ROM_END;
	int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
	if (size <= rom0) {
		map_in(&kproc, 0x1000, size - 0x1000, rwx, 0x1000);
		return;
	}
	map_in(&kproc, 0x1000, rom0 - 0x1000, rwx, 0x1000);
	map_in(&kproc, rom0, (size < rom1 ? size : rom1) - rom0, PROT_READ | PROT_EXEC, rom0);
	if (size > rom1)
		map_in(&kproc, rom1, size - rom1, rwx, rom1);
}

void isolate_ldt(const void *desc, u32 size)
{
	if (!isolate_active())
		return;
	struct proc *ps[2] = { &kproc, &uproc };
	for (int i = 0; i < 2; i++) {
		struct iso_op *o = op(ps[i], SYS_modify_ldt);
		u8 *d = ps[i]->area->desc[o - ps[i]->area->ops];
		memcpy(d, desc, size < 16 ? size : 16);
		o->a[0] = 0x11, o->a[1] = (u64)(uintptr_t)d, o->a[2] = 16;
	}
}

/* --- starting a process --- */

static void child_main(struct proc *p, pid_t monitor)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != monitor)
		_exit(0);
	static const int quiet[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGTSTP, SIGCONT,
				     SIGALRM, SIGIO, SIGTTIN, SIGTTOU, SIGCHLD };
	for (unsigned i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
		signal(quiet[i], SIG_IGN);
	/* Faults whose frame the monitor reads: to the stub's int3, on the shared stack. */
	stack_t ss = { .ss_sp = p->altstack, .ss_size = ALTSTACK_SIZE };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))(uintptr_t)STUB(iso_stub_frame);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	if (sigaltstack(&ss, NULL) < 0 || sigaction(SIGSEGV, &sa, NULL) < 0 ||
	    sigaction(SIGBUS, &sa, NULL) < 0 || sigaction(SIGFPE, &sa, NULL) < 0)
		_exit(126);
	for (int w = 0; w < 2; w++)
		if (mmap((void *)MASTER(w), ram_bytes, PROT_READ | PROT_EXEC | (w ? PROT_WRITE : 0),
			 MAP_SHARED | MAP_FIXED_NOREPLACE, memfd_of_guest(), 0) != (void *)MASTER(w))
			_exit(125);
	/* glibc registered the thread for restartable sequences: the host kernel reads
	 * that area, in memory about to go, at every signal delivery (and makes a
	 * failure SIGSEGV). */
	if (__rseq_size) {
		void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
		if (syscall(SYS_rseq, area, 32, 1, 0x53053053) < 0 &&
		    syscall(SYS_rseq, area, __rseq_size, 1, 0x53053053) < 0)
			_exit(128);              /* RSEQ_FLAG_UNREGISTER, x86's RSEQ_SIG */
	}
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
		_exit(127);
	raise(SIGSTOP);
	_exit(124);                          /* never: the monitor moves it to the stub */
}

static bool kept(struct proc *p, u64 lo, u64 hi, const char *path)
{
	u64 keep[][2] = {
		{ (uintptr_t)stub_page, (uintptr_t)stub_page + 0x1000 },
		{ (uintptr_t)p->area, (uintptr_t)p->area + sizeof *p->area },
		{ (uintptr_t)p->altstack, (uintptr_t)p->altstack + ALTSTACK_SIZE },
		{ MASTER(0), MASTER(0) + ram_bytes }, { MASTER(1), MASTER(1) + ram_bytes },
		{ p == &kproc ? LVM_VCPU_ADDR : 0, p == &kproc ? LVM_VCPU_ADDR + 0x1000ull : 0 },
	};
	for (unsigned i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (lo >= keep[i][0] && hi <= ((keep[i][1] + 0xfff) & ~0xfffull))
			return true;
	/* The kernel's process keeps guest RAM at its physical addresses (paging off). */
	return p == &kproc && hi <= TRAMPOLINE_ADDR && strstr(path, "lvm-guest-ram");
}

/* Everything else of the monitor goes, file descriptors too; then the filter. */
static void seal(struct proc *p)
{
	char fn[64], line[512];
	snprintf(fn, sizeof fn, "/proc/%d/maps", p->pid);
	FILE *f = fopen(fn, "r");
	if (!f)
		host_bug("reading %s: %m", fn);
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi;
		char path[256] = "";
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %255s", &lo, &hi, path) < 2)
			continue;
		if (lo >= 0xffff800000000000ull || kept(p, lo, hi, path))
			continue;                    /* [vsyscall]: not the process's to unmap */
		struct iso_op *o = op(p, SYS_munmap);
		o->a[0] = lo, o->a[1] = hi - lo;
	}
	fclose(f);
	struct iso_op *o = op(p, SYS_close_range);
	o->a[1] = ~0u;
	o = op(p, SYS_mprotect);
	o->a[0] = (uintptr_t)p->area, o->a[1] = sizeof *p->area, o->a[2] = PROT_READ;
	p->area->filter[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	p->area->prog = (struct sock_fprog){ 1, p->area->filter };
	o = op(p, SYS_seccomp);
	o->a[0] = SECCOMP_SET_MODE_FILTER, o->a[2] = (uintptr_t)&p->area->prog;
	run_ops(p);
}

static int start(struct proc *p)
{
	p->area = mmap(NULL, sizeof *p->area, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p->altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->area == MAP_FAILED || p->altstack == MAP_FAILED) {
		perror("lvm: the isolated process's shared pages");
		return -1;
	}
	pid_t monitor = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("lvm: fork of an isolated process");
		return -1;
	}
	if (pid == 0)
		child_main(p, monitor);
	p->pid = pid;
	int st = wait_for(p);
	if (WSTOPSIG(st) != SIGSTOP) {
		fprintf(stderr, "lvm: the isolated process did not start (stop %#x)\n", st);
		return -1;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP)) < 0) {
		perror("lvm: ptrace of the isolated process (isolated mode needs ptrace)");
		return -1;
	}
	seal(p);
	return 0;
}

static void kill_both(void)
{
	if (kproc.pid > 0)
		kill(kproc.pid, SIGKILL);
	if (uproc.pid > 0)
		kill(uproc.pid, SIGKILL);
}

int isolate_start(void)
{
	if (!isolate_wanted)
		return 0;
	userproc_probe_min_addr();
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof one, &one);      /* inherited by both processes */
	struct stat st;
	if (fstat(memfd_of_guest(), &st) < 0)
		return -1;
	ram_bytes = st.st_size;
	stub_page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stub_page == MAP_FAILED)
		return -1;
	memcpy(stub_page, iso_stub, iso_stub_end - iso_stub);
	mprotect(stub_page, 0x1000, PROT_READ | PROT_EXEC);
	atexit(kill_both);
	if (start(&kproc) < 0 || start(&uproc) < 0)
		return -1;
	mmu_kernel_view_remote();
	return 0;
}

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
	pt(PTRACE_CONT, p->pid, NULL, (void *)(uintptr_t)sig);
	int st = wait_for(p);
	while (WSTOPSIG(st) == SIGUSR1) {     /* a host event's stop, asked for before: later */
		pt(PTRACE_CONT, p->pid, NULL, NULL);
		st = wait_for(p);
	}
	struct user_regs_struct u;
	pt(PTRACE_GETREGS, p->pid, NULL, &u);
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
	pt(PTRACE_GETREGS, p->pid, NULL, &s);
	s.rip = STUB(iso_stub_flags), s.rax = flags & ~0x100ull;
	s.rsp = (uintptr_t)p->altstack + ALTSTACK_SIZE - 64;
	s.cs = 0x33, s.ss = 0x2b;
	pt(PTRACE_SETREGS, p->pid, NULL, &s);
	pt(PTRACE_CONT, p->pid, NULL, NULL);
	int st = wait_for(p);
	while (WSTOPSIG(st) == SIGUSR1) {
		pt(PTRACE_CONT, p->pid, NULL, NULL);
		st = wait_for(p);
	}
	pt(PTRACE_GETREGS, p->pid, NULL, &s);
	if (WSTOPSIG(st) != SIGTRAP || s.rip != STUB(iso_stub_flags) + 3)
		host_bug("setting flags in lvm's isolated %s process: stop %#x at %#llx", p->name, st,
			 (unsigned long long)s.rip);
}

__attribute__((noreturn)) static void run(void)
{
	struct proc *p = VCPU->cpl == 3 ? &uproc : &kproc;
	run_ops(p);
	mcontext_t m;
	memset(&m, 0, sizeof m);
	regs_to_mcontext(&m, &next);
	struct user_regs_struct u;
	pt(PTRACE_GETREGS, p->pid, NULL, &u);
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
	pt(PTRACE_SETREGS, p->pid, NULL, &u);
	struct user_fpregs_struct fp __attribute__((aligned(16)));
	memset(&fp, 0, sizeof fp);
	fpu_guest_get((u8 *)&fp);
	pt(PTRACE_SETFPREGS, p->pid, NULL, &fp);
	mmu_stats.user_runs += p == &uproc;
	for (;;) {
		stop_sent = 0;
		running = p->pid;
		if (host_events)
			isolate_host_event();
		pt(PTRACE_CONT, p->pid, NULL, NULL);
		int st = wait_for(p);
		running = 0;
		int sig = WSTOPSIG(st);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		pt(PTRACE_GETREGS, p->pid, NULL, &u);
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
		pt(PTRACE_GETSIGINFO, p->pid, NULL, &si);
		bool marker = sig == SIGSEGV && !outside && (u.cs & 0xffff) != HOST_CS && si.si_code == SI_KERNEL &&
			 byte_at(cpu.seg[LVM_CS].base + (u32)u.rip) == LVM_TRAP_MARKER;
		if (getenv("LVM_ISOLATE_DEBUG"))
			fprintf(stderr, "iso %s: sig %d code %d addr %p cs %#llx rip %#llx rsp %#llx\n",
				p->name, sig, si.si_code, si.si_addr, (unsigned long long)u.cs,
				(unsigned long long)u.rip, (unsigned long long)u.rsp);
		if ((sig == SIGSEGV && !marker && !outside) || sig == SIGBUS || sig == SIGFPE) {
			frame_of(p, sig, &m, &si, &fp);
		} else {
			pt(PTRACE_GETFPREGS, p->pid, NULL, &fp);
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
