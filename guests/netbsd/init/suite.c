/*
 * The system-call suite the guest's /sbin/init runs at boot: one line per case, "ok N -
 * name" or "not ok N - name (detail)", with nothing that differs between machines (no
 * pids, addresses or times), so that lvm's call and trap kernels and the native kernel
 * under QEMU print the same lines (tests/test_netbsd.py compares them).  A case that
 * needs a fresh program image re-executes /sbin/init as "init case NAME" (suite_child).
 */
#include "suite.h"

static int number, passed;
static char detail[96];

void set_detail(const char *what, long v)
{
	char buf[16];
	size_t n = strlen(what);
	memcpy(detail, what, n);
	fmt_num(buf, v);
	memcpy(detail + n, buf, strlen(buf) + 1);
}

static void report(const char *name, int ok)
{
	say_num(ok ? "ok " : "not ok ", ++number, " - ");
	say(name);
	if (!ok) {
		say(" (");
		say(detail);
		say(")");
	} else
		passed++;
	say("\n");
}

/* fork, run body in the child (its result is the exit status), wait; the status */
int in_child(int (*body)(void))
{
	int status = -1, pid = sys_fork();
	if (pid == 0)
		sys(SYS_exit, body());
	if (pid < 0)
		return pid;
	if (wait4(pid, &status, 0) != pid)
		return -1000;
	return status;
}

static const struct { const char *name; int (*run)(void); } cases[] = {
	{ "fork, exit and wait4 statuses", t_fork_wait },
	{ "execve of init with arguments and environment", t_execve },
	{ "pipe: data through, EOF", t_pipe },
	{ "pipe between two processes (256 KiB)", t_pipe_processes },
	{ "signals: kill(self), handler, mask, sigreturn", t_signal },
	{ "SIGCHLD", t_sigchld },
	{ "SIGSEGV from bad accesses, resumed by the handler", t_sigsegv },
	{ "mmap anonymous, munmap", t_mmap_anon },
	{ "mprotect: a write to PROT_READ is SIGSEGV", t_mprotect },
	{ "mmap of an FFS file", t_mmap_ffs },
	{ "FFS: create, write, lseek, read, rename, getdents, unlink, rmdir", t_ffs },
	{ "tmpfs: mount, the same file I/O, mmap, unmount", t_tmpfs },
	{ "AF_LOCAL socketpair, across fork", t_socketpair },
	{ "INET on lo0: UDP and TCP", t_inet },
	{ "300 processes in a row", t_many_processes },
};

int suite(const char *self)
{
	int n = sizeof cases / sizeof cases[0];
	self_path = self;
	say_num("1..", n, "\n");
	for (int i = 0; i < n; i++) {
		detail[0] = 0;
		report(cases[i].name, cases[i].run());
	}
	say_num("suite: ", passed, " of ");
	say_num("", n, " passed\n");
	return passed == n;
}

/* "init case NAME": what a re-executed init does (exit status checked by its parent) */
int suite_child(const char *name)
{
	if (strcmp(name, "exec") == 0)
		return 7;
	return 99;
}
