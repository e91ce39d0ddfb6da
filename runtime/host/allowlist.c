/* allowlist.c: the monitor's own seccomp filter: the host system calls it makes once the guest runs.
 *
 * Why: defense in depth.  Whatever goes wrong in the monitor while it runs a
 * guest (a bug a guest provokes; in-process, guest code that far-jumps to the
 * host's 64-bit selector and makes system calls itself), the host kernel refuses
 * every call but the few a running monitor needs: no execve, no open, no socket,
 * no fork.  The filter goes in just before the first guest instruction, once the
 * kernel, disks, terminal, debugger socket and lvm's other processes are set up,
 * after signals.c's (which gives the guest's 32-bit entries to the guest) and
 * after the isolated processes started (they have filters of their own).  The
 * list was collected with strace over every kind of run the tests make (both
 * modes; in-process, user process, isolated; Linux, NetBSD, gdb, disks, the
 * terminal) and is kept small on purpose: a call missing from it ends the run
 * with "the monitor made system call N", signals.c's report, which names it.
 * LVM_ALLOWLIST=off leaves the filter out (to find such a call with strace).
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "gdb.h"
#include "monitor.h"

/* What every run makes: signals and their return, the timer, memory maps (the
 * shadow MMU, the user process's and isolated processes' views; malloc's brk and
 * getrandom, stdio's first fstat of a stream), the LDT, the
 * terminal and COM1 (read, write, poll, ioctl, fcntl), disks (pread/pwrite,
 * fdatasync), HLT's wait, the user and isolated processes (ptrace, wait4, kill,
 * futex), exit. */
static const int always[] = {
	SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_rt_sigsuspend,
	SYS_rt_sigtimedwait, SYS_sigaltstack, SYS_restart_syscall,
	SYS_timer_settime, SYS_timer_gettime, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_modify_ldt,
	SYS_brk, SYS_getrandom, SYS_fstat, SYS_newfstatat,
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_lseek,
	SYS_fdatasync, SYS_fsync, SYS_poll, SYS_ppoll, SYS_ioctl, SYS_fcntl, SYS_close,
	SYS_ptrace, SYS_wait4, SYS_waitid, SYS_kill, SYS_tgkill, SYS_getpid, SYS_gettid,
	SYS_futex, SYS_sched_yield, SYS_sched_getaffinity, SYS_getcpu,
	SYS_exit, SYS_exit_group,
};
/* The debugger's (gdbconn.c, gdbhw.c): its connection, the hardware breakpoints'
 * perf events, the socket file removed at exit. */
static const int debugger[] = {
	SYS_accept, SYS_accept4, SYS_recvfrom, SYS_sendto, SYS_setsockopt, SYS_shutdown,
	SYS_perf_event_open, SYS_unlink,
};

int allowlist_install(void)
{
	const char *e = getenv("LVM_ALLOWLIST");
	if (e && (!strcmp(e, "off") || !strcmp(e, "0")))
		return 0;
	int allowed[sizeof always / sizeof always[0] + sizeof debugger / sizeof debugger[0]];
	unsigned N = 0;
	for (unsigned i = 0; i < sizeof always / sizeof always[0]; i++)
		allowed[N++] = always[i];
	for (unsigned i = 0; gdb_wanted() && i < sizeof debugger / sizeof debugger[0]; i++)
		allowed[N++] = debugger[i];
	struct sock_filter f[sizeof allowed / sizeof allowed[0] + 6];
	unsigned n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	/* Not x86-64: the guest's 32-bit entries, signals.c's filter's business. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < N; i++)        /* a match jumps to the ALLOW below the list */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i], N - i, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { n, f };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("lvm: seccomp (the monitor's allowlist)");
		return -1;
	}
	return 0;
}
