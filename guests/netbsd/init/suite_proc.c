/* suite_proc.c: the suite's cases on processes (fork, wait4, execve), pipes and signals. */
#include "suite.h"

int exit42(void) { return 42; }
static int kill_self(void) { sys(SYS_kill, sys(SYS_getpid), SIGKILL); return 1; }

int t_fork_wait(void)
{
	int s = in_child(exit42);
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 42, "status ", s);
	s = in_child(kill_self);
	CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL, "killed status ", s);
	int r = wait4(-1, &s, 0);
	CHECK(r == -ECHILD, "wait4 without children ", r);
	return 1;
}

const char *self_path;

int t_execve(void)
{
	int pid = sys_fork();
	if (pid == 0) {
		char *argv[] = { "init", "case", "exec", 0 };
		char *envp[] = { "SUITE=exec", 0 };
		long r = sys(SYS_execve, self_path, argv, envp);
		sys(SYS_exit, 100 - r);
	}
	int s = -1;
	wait4(pid, &s, 0);
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 7, "status ", s);
	char *argv[] = { "nonexistent", 0 }, *envp[] = { 0 };
	long r = sys(SYS_execve, "/nonexistent", argv, envp);
	CHECK(r == -ENOENT, "execve of a missing file ", r);
	return 1;
}

int t_pipe(void)
{
	int fd[2];
	char buf[16];
	long r = sys(SYS_pipe2, fd, 0);
	CHECK(r == 0, "pipe2 ", r);
	r = sys(SYS_write, fd[1], "through", 7);
	CHECK(r == 7, "write ", r);
	r = sys(SYS_read, fd[0], buf, sizeof buf);
	CHECK(r == 7 && memcmp(buf, "through", 7) == 0, "read ", r);
	sys(SYS_close, fd[1]);
	r = sys(SYS_read, fd[0], buf, sizeof buf);
	CHECK(r == 0, "read at EOF ", r);
	sys(SYS_close, fd[0]);
	return 1;
}

int t_pipe_processes(void)
{
	int fd[2];
	static char buf[4096];
	sys(SYS_pipe2, fd, 0);
	int pid = sys_fork();
	if (pid == 0) {
		sys(SYS_close, fd[0]);
		for (int i = 0; i < 64; i++) {	/* 256 KiB, more than a pipe holds */
			for (int j = 0; j < 4096; j++)
				buf[j] = i + j;
			if (sys(SYS_write, fd[1], buf, 4096) != 4096)
				sys(SYS_exit, 1);
		}
		sys(SYS_exit, 0);
	}
	sys(SYS_close, fd[1]);
	long total = 0, sum = 0, r;
	while ((r = sys(SYS_read, fd[0], buf, sizeof buf)) > 0) {
		for (long k = 0; k < r; k++)
			sum += (unsigned char)buf[k] * ((total + k) % 7 + 1);
		total += r;
	}
	sys(SYS_close, fd[0]);
	int s = -1;
	wait4(pid, &s, 0);
	CHECK(r == 0, "read ", r);
	CHECK(total == 64 * 4096, "bytes ", total);
	long want = 0;
	for (long k = 0; k < total; k++)
		want += (unsigned char)((k / 4096) + (k % 4096)) * (k % 7 + 1);
	CHECK(sum == want, "checksum ", sum);
	CHECK(s == 0, "writer's status ", s);
	return 1;
}

static volatile int caught;
volatile int caught_sig, segv_count;

static void on_signal(int sig, void *si, void *uc)
{
	(void)si; (void)uc;
	caught++;
	caught_sig = sig;
}

int t_signal(void)
{
	caught = 0;
	sigaction(SIGUSR1, on_signal, SA_SIGINFO);
	long r = sys(SYS_kill, sys(SYS_getpid), SIGUSR1);
	CHECK(r == 0, "kill ", r);
	CHECK(caught == 1 && caught_sig == SIGUSR1, "handler ran ", caught);
	/* blocked: pending until unblocked */
	sigmask(SIG_BLOCK, 1u << (SIGUSR1 - 1), 0);
	sys(SYS_kill, sys(SYS_getpid), SIGUSR1);
	CHECK(caught == 1, "delivered while blocked ", caught);
	sigmask(SIG_UNBLOCK, 1u << (SIGUSR1 - 1), 0);
	CHECK(caught == 2, "delivered on unblock ", caught);
	unsigned int old;
	sigmask(SIG_BLOCK, 0, &old);
	CHECK(old == 0, "mask after the handlers ", old);
	sigaction(SIGUSR1, 0, 0);
	return 1;
}

int t_sigchld(void)
{
	caught = 0;
	sigaction(SIGCHLD, on_signal, SA_SIGINFO);
	int s = in_child(exit42);
	sigaction(SIGCHLD, 0, 0);
	CHECK(WEXITSTATUS(s) == 42, "status ", s);
	CHECK(caught == 1 && caught_sig == SIGCHLD, "SIGCHLD count ", caught);
	return 1;
}

/* SIGSEGV: resume at probe_fault, which makes the probe return -1 */
static void on_segv(int sig, void *si, void *ucp)
{
	struct ucontext *uc = ucp;
	(void)si;
	segv_count++;
	caught_sig = sig;
	uc->gregs[REG_EIP] = (int)probe_fault;
}

void catch_segv(void)
{
	segv_count = 0;
	sigaction(SIGSEGV, on_segv, SA_SIGINFO);
}

int t_sigsegv(void)
{
	catch_segv();
	int r = probe_read((const int *)16);
	CHECK(r == -1 && segv_count == 1 && caught_sig == SIGSEGV, "faults caught ", segv_count);
	r = probe_write((int *)0xc0001000, 1);	/* the kernel's half */
	CHECK(r == -1 && segv_count == 2, "faults caught ", segv_count);
	static int fine = 5;
	CHECK(probe_read(&fine) == 5 && segv_count == 2, "a good read faulted ", segv_count);
	return 1;
}

static int exit_index;
static int exit_low(void) { return exit_index & 0xff; }

int t_many_processes(void)
{
	for (exit_index = 0; exit_index < 300; exit_index++) {
		int s = in_child(exit_low);
		CHECK(WIFEXITED(s) && WEXITSTATUS(s) == (exit_index & 0xff), "process ", exit_index);
	}
	return 1;
}
