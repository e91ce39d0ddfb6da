/* ubench.c: Linux user-space micro-measurements, one static i386 binary run the
 * same way in every guest (bench/linux.py) and on the host: each line is
 * `op NAME NS` (nanoseconds per operation, the least of 5 rounds, by
 * clock_gettime(CLOCK_MONOTONIC): the guest's own clock). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int pipe_a[2], pipe_b[2];

static void op_getppid(long n) { for (long i = 0; i < n; i++) syscall(SYS_getppid); }

static void op_fork(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
	}
}

static void op_exec(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			execl("/proc/self/exe", "ubench", "--exit", (char *)NULL);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	}
}

static void op_pipe(long n)
{
	char c = 0;
	for (long i = 0; i < n; i++) {
		if (write(pipe_a[1], &c, 1) != 1 || read(pipe_b[0], &c, 1) != 1)
			exit(1);
	}
}

static void op_pagefault(long n)
{
	long pages = n;
	char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		exit(1);
	for (long i = 0; i < pages; i++)
		p[i * 4096] = 1;
	munmap(p, pages * 4096);
}

static volatile unsigned sink;

static void op_compute(long n)
{
	unsigned x = 1;
	for (long i = 0; i < n; i++)
		x = x * 1103515245u + 12345u;
	sink = x;
}

static void measure(const char *name, void (*fn)(long), long n)
{
	double best = 1e30;
	for (int r = 0; r < 5; r++) {
		double t = now();
		fn(n);
		t = now() - t;
		if (t < best)
			best = t;
	}
	printf("op %s %.1f\n", name, best / n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return 0;
	if (pipe(pipe_a) || pipe(pipe_b))
		return 1;
	pid_t echo = fork();
	if (echo == 0) {                          /* the pipe's other end */
		char c;
		close(pipe_a[1]);
		close(pipe_b[0]);
		while (read(pipe_a[0], &c, 1) == 1)
			if (write(pipe_b[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(pipe_a[0]);
	close(pipe_b[1]);
	measure("getppid", op_getppid, 20000);
	measure("fork+exit+wait", op_fork, 200);
	measure("fork+exec+wait", op_exec, 100);
	measure("pipe-round-trip", op_pipe, 5000);
	measure("page-fault", op_pagefault, 2000);
	measure("compute-loop-iteration", op_compute, 10000000);
	close(pipe_a[1]);
	waitpid(echo, NULL, 0);
	return 0;
}
