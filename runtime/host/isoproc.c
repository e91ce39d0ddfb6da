/* isoproc.c: the isolated processes: started, sealed, and the host calls they make for the monitor.
 *
 * Why a file of its own: isolate.c runs guest code in these processes; this is
 * what makes them fit to: a fork of the monitor stripped of all of it but a page
 * of code (isostub.S), a read-only queue, a signal stack, guest RAM and the vCPU
 * page, with a filter that traces every system call; and the queue through which
 * the monitor changes their mappings and LDT (mremap from guest RAM's masters,
 * munmap, mprotect, modify_ldt), each call approved at the filter while the stub,
 * not guest code, runs.  isolate.c's opening comment has the whole design.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
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
#include <unistd.h>
#include "console.h"
#include "cpumodel.h"
#include "irq.h"
#include "isolate.h"
#include "isoproc.h"
#include "mmio.h"
#include "mmu.h"
#include "stats.h"
#include "userproc.h"

bool isolate_wanted;


struct iso_op { u64 nr, a[6]; };          /* 56 bytes, as isostub.S reads them */
#define OPS_MAX 4096
struct area {                             /* per process; read-only there once sealed */
	struct iso_op ops[OPS_MAX];
	u8 desc[OPS_MAX][16];             /* modify_ldt's argument, per operation */
	struct sock_filter filter[1];
	struct sock_fprog prog;
};
#define MASTER(w) (0x200000000ull + ((w) ? 0x100000000ull : 0))   /* guest RAM, R-X / RWX */

struct proc kproc = { .name = "kernel" }, uproc = { .name = "user" };
void *iso_stub_page;
static u64 ram_bytes;                     /* the memfd's size when the processes started */

bool isolate_active(void) { return kproc.pid > 0; }

static __attribute__((noreturn)) void died(struct proc *p, int status);

/* A process killed from outside while stopped (SIGKILL) is gone for ptrace
 * (ESRCH) before waitpid has its status: wait for that (briefly: a tracee that is
 * merely running when the monitor expected it stopped is lvm's bug) and report the
 * death as iso_wait_for would. */
static void gone(pid_t pid)
{
	struct proc *p = pid == kproc.pid ? &kproc : pid == uproc.pid ? &uproc : NULL;
	int st;
	for (int i = 0; p && i < 1000; i++) {
		pid_t w = waitpid(pid, &st, __WALL | WNOHANG);
		if (w == pid && !WIFSTOPPED(st))
			died(p, st);
		if (w == pid) {
			p->pending = st;             /* a stop after all: not a death */
			return;
		}
		usleep(1000);
	}
}

long iso_pt(int req, pid_t pid, void *addr, void *data)
{
	long v = ptrace(req, pid, addr, data);
	if (v < 0 && req != PTRACE_PEEKDATA) {
		int err = errno;
		if (err == ESRCH)
			gone(pid);
		errno = err;
		host_bug("ptrace(%d) of lvm's isolated process %d: %m", req, pid);
	}
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
int iso_wait_for(struct proc *p)
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

static bool mapping_call(u64 nr) { return nr == SYS_mremap || nr == SYS_mprotect || nr == SYS_munmap; }

/* Call i of the n queued failed with ENOMEM: the host's bound on a process's
 * mappings (vm.max_map_count; userchild.c says why), met by a mapping, or by an
 * mprotect or munmap that would split one.  The process's view goes whole (an
 * unmapping of everything below lvm's top pages splits nothing; guest RAM's
 * masters are above 4 GiB), the queue's other mapping calls with it, the rest
 * run; the MMU forgets the view and refills it on demand.  With paging off the
 * kernel's process holds the identity map instead, never near the bound. */
static bool map_bound_met(struct proc *p, u32 i, u32 n, struct user_regs_struct *s)
{
	struct iso_op *ops = p->area->ops;
	if (!mapping_call(ops[i].nr) || (p == &kproc && !paging_enabled()))
		return false;
	u32 out = 0;
	ops[out++] = (struct iso_op){ .nr = SYS_munmap, .a = { 0, TRAMPOLINE_ADDR } };
	for (u32 k = i + 1; k < n; k++)
		if (!mapping_call(ops[k].nr))
			ops[out++] = ops[k];
	mmu_isolated_view_lost(p == &uproc);
	s->rip = STUB(iso_stub_ops);
	s->rbx = (u64)(uintptr_t)ops;
	s->r12 = out;
	return true;
}

/* Run the queue: each call stops at the filter, and goes on (the stub runs: no
 * guest code can be running); int3 at the end. */
void iso_run_ops(struct proc *p)
{
	if (!p->nops)
		return;
	struct user_regs_struct u;
	iso_pt(PTRACE_GETREGS, p->pid, NULL, &u);
	struct user_regs_struct s = u;
	s.rip = STUB(iso_stub_ops);
	s.rbx = (u64)(uintptr_t)p->area->ops;
	s.r12 = p->nops;
	s.cs = 0x33, s.ss = 0x2b;
	iso_pt(PTRACE_SETREGS, p->pid, NULL, &s);
	u32 n = p->nops;
	p->nops = 0;
	int sig = 0;
	for (;;) {
		iso_pt(PTRACE_CONT, p->pid, NULL, (void *)(uintptr_t)sig);
		sig = 0;
		int st = iso_wait_for(p);
		iso_pt(PTRACE_GETREGS, p->pid, NULL, &s);
		if (st >> 8 == (SIGTRAP | PTRACE_EVENT_SECCOMP << 8) && s.rip == STUB(iso_stub_call_end))
			continue;
		if (WSTOPSIG(st) == SIGTRAP && s.rip == STUB(iso_stub_done) + 1)
			break;
		if (WSTOPSIG(st) == SIGUSR1)
			continue;                    /* a stop asked for before: not now */
		if (WSTOPSIG(st) == SIGILL && s.rip == STUB(iso_stub_fail)) {
			u32 i = (s.rbx - (u64)(uintptr_t)p->area->ops) / sizeof(struct iso_op);
			if (i < n && -s.rax == ENOMEM && map_bound_met(p, i, n, &s)) {
				iso_pt(PTRACE_SETREGS, p->pid, NULL, &s);
				continue;
			}
			host_bug("host call %u of %u (system call %llu) in lvm's isolated %s process "
				 "failed: %s", i, n, (unsigned long long)p->area->ops[i < n ? i : 0].nr,
				 p->name, strerror((int)-s.rax));
		}
		host_bug("lvm's isolated %s process stopped (status %#x) at %#llx running its "
			 "queue", p->name, st, (unsigned long long)s.rip);
	}
	iso_pt(PTRACE_SETREGS, p->pid, NULL, &u);
}

static struct iso_op *op(struct proc *p, u64 nr)
{
	if (p->nops == OPS_MAX)
		iso_run_ops(p);
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
	if (p == &uproc)
		cpuid_fault_here();          /* user code's CPUID: the model's answer (cpuid.c) */
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
		_exit(127);
	raise(SIGSTOP);
	_exit(124);                          /* never: the monitor moves it to the stub */
}

static bool kept(struct proc *p, u64 lo, u64 hi, const char *path)
{
	u64 keep[][2] = {
		{ (uintptr_t)iso_stub_page, (uintptr_t)iso_stub_page + 0x1000 },
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
	iso_run_ops(p);
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
	int st = iso_wait_for(p);
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
	iso_stub_page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (iso_stub_page == MAP_FAILED)
		return -1;
	memcpy(iso_stub_page, iso_stub, iso_stub_end - iso_stub);
	mprotect(iso_stub_page, 0x1000, PROT_READ | PROT_EXEC);
	atexit(kill_both);
	if (start(&kproc) < 0 || start(&uproc) < 0)
		return -1;
	mmu_kernel_view_remote();
	return 0;
}

