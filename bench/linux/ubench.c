/* ubench.c: Linux user-space measurements, one static i386 binary run the same way
 * in every guest (bench/os.py, bench/linux.py) and on the host.
 *
 *   ubench [BUDGET_MS [NAME...]]
 *                            the micro-benchmarks (all, or those NAMEd): each
 *                            line `op NAME NS`
 *   ubench --count N NAME...
 *                            exactly N iterations of each NAMEd benchmark, one
 *                            round: `op NAME NS` (bench/osprofile.py counts the
 *                            monitor's entries per operation by two such runs)
 *   ubench --time NAME [-C DIR] [-i FILE] CMD ARG...
 *                            one run of CMD (PATH search, stdin FILE, stdout
 *                            /dev/null, in DIR): `op NAME NS`, wall time from
 *                            before fork to after wait; status 1 if CMD fails
 *   ubench --clock           `clock NS`: CLOCK_MONOTONIC now (bench/linuxguest.py
 *                            compares the guest's clock with the host's by it)
 *   ubench --tsc-khz         the TSC's frequency against CLOCK_MONOTONIC (on the
 *                            host: the guests are told it, see linuxguest.py)
 *   ubench --cs-limit [BUDGET_MS]
 *                            `op compute-cs-limit NS`: the compute loop run with a
 *                            code segment that ends at 3 GiB (on the host only)
 *
 * NS is nanoseconds per operation by clock_gettime(CLOCK_MONOTONIC): the guest's own
 * clock.  Each operation is timed in rounds of n iterations, n found first by
 * growing it until one round takes BUDGET_MS (default 100), so that a line costs
 * about the same time (~0.6 s) on the host and under lvm trap mode, whatever the
 * operation costs there (fork+exec takes 0.4 ms natively and 20 ms under lvm trap).
 * The line is the least of 5 rounds (the calibration's last round and 4 more).
 *
 * Everything runs on one CPU (sched_setaffinity, inherited by every child): the
 * guests have one, so the host's figures are for one CPU too (a pipe round trip
 * between two CPUs measures the wake-up of an idle core instead). */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
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

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		die("sched_setaffinity");
}

/* glibc's syscall() enters the kernel by `call *%gs:0x10` (its TCB's sysinfo
 * word), which static glibc sets from AT_SYSINFO, the vDSO's __kernel_vsyscall,
 * and leaves at `int $0x80; ret` without one.  The vDSO row must go through the
 * vDSO: check that it does. */
static void check_vdso_entry(void)
{
	unsigned long sysinfo = getauxval(AT_SYSINFO), entry;
	asm volatile("movl %%gs:0x10, %0" : "=r"(entry));
	if (sysinfo == 0 || entry != sysinfo) {
		fprintf(stderr, "ubench: no vDSO system-call entry (AT_SYSINFO %#lx, %%gs:0x10 %#lx)\n",
			sysinfo, entry);
		exit(1);
	}
}

static int pipe_a[2], pipe_b[2];          /* to and from the echo process */
static volatile int *turn;                /* the context switch's shared word */

static void op_getppid_vdso(long n) { for (long i = 0; i < n; i++) syscall(SYS_getppid); }

static void op_getppid_int80(long n)
{
	for (long i = 0; i < n; i++) {
		long r = SYS_getppid;
		asm volatile("int $0x80" : "+a"(r) : : "memory");
	}
}

static void op_fork(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p < 0 || waitpid(p, NULL, 0) != p)
			die("fork");
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
		int status;
		if (p < 0 || waitpid(p, &status, 0) != p || status != 0)
			die("fork+exec");
	}
}

static void op_pipe(long n)
{
	char c = 0;
	for (long i = 0; i < n; i++) {
		if (write(pipe_a[1], &c, 1) != 1 || read(pipe_b[0], &c, 1) != 1)
			die("pipe");
	}
}

static long futex(volatile int *word, int op, int val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Two processes hand a turn to each other through a shared word: each handoff is
 * a FUTEX_WAKE of the other and a FUTEX_WAIT of its own, one context switch. */
static void handoff(int theirs)
{
	__atomic_store_n(turn, theirs, __ATOMIC_SEQ_CST);
	futex(turn, FUTEX_WAKE, 1);
	while (__atomic_load_n(turn, __ATOMIC_SEQ_CST) == theirs)
		futex(turn, FUTEX_WAIT, theirs);
}

static void op_switch(long n)                /* 2 switches each: there and back */
{
	for (long i = 0; i < n; i++)
		handoff(1);
}

static void switch_partner(void)
{
	for (;;) {
		while (__atomic_load_n(turn, __ATOMIC_SEQ_CST) == 0)
			futex(turn, FUTEX_WAIT, 0);
		if (__atomic_load_n(turn, __ATOMIC_SEQ_CST) == 2)
			_exit(0);
		handoff(0);
	}
}

/* Per page: the first write to fresh anonymous memory, mapped and unmapped in
 * chunks of 4 MiB (the mmap and munmap, spread over 1024 faults, are in). */
static void op_pagefault(long n)
{
	for (long done = 0; done < n; ) {
		long pages = n - done < 1024 ? n - done : 1024;
		char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		for (long i = 0; i < pages; i++)
			p[i * 4096] = 1;
		munmap(p, pages * 4096);
		done += pages;
	}
}

static void op_mmap(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || munmap(p, 4096))
			die("mmap+munmap");
	}
}

/* Plain user code, no system call: a 16x16 integer matrix multiply (4096
 * multiply-adds, loads from L1) per iteration, each depending on the one before.
 * Not a single dependency chain (an LCG, say), which an emulator can keep up with:
 * QEMU's TCG runs x = x * a + c as fast as the CPU, its overhead hidden in the
 * chain's latency. */
static unsigned ma[16][16], mb[16][16], mc[16][16];

static void op_compute(long n)
{
	for (long r = 0; r < n; r++) {
		for (int i = 0; i < 16; i++)
			for (int j = 0; j < 16; j++) {
				unsigned s = 0;
				for (int k = 0; k < 16; k++)
					s += ma[i][k] * mb[k][j];
				mc[i][j] = s;
			}
		ma[r & 15][(r >> 4) & 15] ^= mc[5][7];
	}
}

static void init_compute(void)
{
	unsigned x = 1;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			ma[i][j] = x = x * 1103515245u + 12345u;
			mb[i][j] = x = x * 1103515245u + 12345u;
		}
}

/* The compute loop with CS a code segment of this process's LDT that ends at
 * 3 GiB, as lvm runs a Linux guest's user code (its user segments end where the
 * kernel begins): what that limit costs the CPU itself, with no emulator. */
static void op_compute_cs_limit(long n)
{
	unsigned cs;
	asm volatile("movl %%cs, %0" : "=r"(cs));
	asm volatile("pushl $0x7\n\tpushl $1f\n\tlret\n"      /* LDT entry 0, RPL 3 */
		     "1:\tpushl %[n]\n\tcall *%[f]\n\taddl $4, %%esp\n\t"
		     "pushl %[cs]\n\tpushl $2f\n\tlret\n2:"
		     : : [n] "r"(n), [f] "r"(op_compute), [cs] "r"(cs) : "eax", "ecx", "edx", "memory", "cc");
}

static void limited_code_segment(void)
{
	struct user_desc d = { .entry_number = 0, .base_addr = 0, .limit = 0xbffff, .seg_32bit = 1,
			       .contents = MODIFY_LDT_CONTENTS_CODE, .limit_in_pages = 1, .useable = 1 };
	if (syscall(SYS_modify_ldt, 1, &d, sizeof d))
		die("modify_ldt");
}

static double run(void (*fn)(long), long n)
{
	double t = now();
	fn(n);
	return now() - t;
}

static char **only;                       /* NULL: every benchmark */
static long fixed_n;                      /* --count N: exactly N iterations, once */

/* `per`: operations in one iteration of fn */
static void measure(const char *name, void (*fn)(long), int per, double budget)
{
	int wanted = only == NULL;
	for (char **o = only; o && *o; o++)
		wanted |= strcmp(*o, name) == 0;
	if (!wanted)
		return;
	if (fixed_n) {
		printf("op %s %.3f\n", name, run(fn, fixed_n) / fixed_n / per);
		fflush(stdout);
		return;
	}
	long n = 1;
	double t;
	while ((t = run(fn, n)) < budget && n < (1L << 28)) {
		double grow = t > 0 ? 1.2 * budget / t : 10;
		n = (long)(n * (grow > 10 ? 10 : grow < 2 ? 2 : grow));
	}
	double best = t;
	for (int r = 0; r < 4; r++)
		if ((t = run(fn, n)) < best)
			best = t;
	printf("op %s %.3f\n", name, best / n / per);
	fflush(stdout);
}

static pid_t start(void (*body)(void))
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		body();
		_exit(0);
	}
	return p;
}

static void echo_partner(void)
{
	char c;
	close(pipe_a[1]);
	close(pipe_b[0]);
	while (read(pipe_a[0], &c, 1) == 1)
		if (write(pipe_b[1], &c, 1) != 1)
			break;
}

static int micro(double budget)
{
	check_vdso_entry();
	if (pipe(pipe_a) || pipe(pipe_b))
		die("pipe");
	turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (turn == MAP_FAILED)
		die("mmap");
	pid_t echo = start(echo_partner), other = start(switch_partner);
	close(pipe_a[0]);
	close(pipe_b[1]);
	measure("getppid-vdso", op_getppid_vdso, 1, budget);
	measure("getppid-int80", op_getppid_int80, 1, budget);
	measure("fork+exit+wait", op_fork, 1, budget);
	measure("fork+exec+wait", op_exec, 1, budget);
	measure("pipe-round-trip", op_pipe, 1, budget);
	measure("context-switch", op_switch, 2, budget);
	measure("page-fault", op_pagefault, 1, budget);
	measure("mmap+munmap", op_mmap, 1, budget);
	init_compute();
	measure("compute", op_compute, 1, budget);
	close(pipe_a[1]);
	__atomic_store_n(turn, 2, __ATOMIC_SEQ_CST);
	futex(turn, FUTEX_WAKE, 1);
	waitpid(echo, NULL, 0);
	waitpid(other, NULL, 0);
	return 0;
}

static void redirect(const char *path, int flags, int fd)
{
	int f = open(path, flags);
	if (f < 0 || dup2(f, fd) < 0)
		die(path);
	close(f);
}

static int timed(int argc, char **argv)
{
	const char *name = argv[2], *dir = NULL, *input = "/dev/null";
	int i = 3;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-C") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "-i") == 0)
			input = argv[i + 1];
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: ubench --time NAME [-C DIR] [-i FILE] CMD ARG...\n");
		return 2;
	}
	double t = now();
	pid_t p = fork();
	if (p == 0) {
		if (dir && chdir(dir))
			die(dir);
		redirect(input, O_RDONLY, 0);
		redirect("/dev/null", O_WRONLY, 1);
		execvp(argv[i], argv + i);
		die(argv[i]);
	}
	int status;
	if (p < 0 || waitpid(p, &status, 0) != p)
		die("fork");
	t = now() - t;
	if (status != 0) {
		fprintf(stderr, "ubench: %s: %s ended with status %#x\n", name, argv[i], status);
		return 1;
	}
	printf("op %s %.0f\n", name, t);
	return 0;
}

static unsigned long long rdtsc(void)
{
	unsigned long long t;
	asm volatile("rdtsc" : "=A"(t));
	return t;
}

static int tsc_khz(void)
{
	double t0 = now(), t;
	unsigned long long c0 = rdtsc(), c;
	while ((t = now()) - t0 < 2e8)
		;
	c = rdtsc();
	printf("%.0f\n", (c - c0) / (t - t0) * 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return 0;
	if (argc > 1 && strcmp(argv[1], "--clock") == 0) {
		printf("clock %.0f\n", now());
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--tsc-khz") == 0)
		return tsc_khz();
	if (argc > 1 && strcmp(argv[1], "--cs-limit") == 0) {
		limited_code_segment();
		init_compute();
		measure("compute-cs-limit", op_compute_cs_limit, 1, (argc > 2 ? atof(argv[2]) : 100) * 1e6);
		return 0;
	}
	pin_to_one_cpu();
	if (argc > 2 && strcmp(argv[1], "--time") == 0)
		return timed(argc, argv);
	if (argc > 3 && strcmp(argv[1], "--count") == 0) {
		/* bench/osprofile.py: a known number of operations, so that what the
		 * monitor counted, between two runs of different N, is per operation */
		fixed_n = atol(argv[2]);
		only = argv + 3;
		return micro(0);
	}
	if (argc > 2)
		only = argv + 2;
	return micro((argc > 1 ? atof(argv[1]) : 100) * 1e6);
}
