/* signal_rt.c: the host facts bench/ops.py needs: TSC ticks per ns, and the cost
 * of one signal round trip (a faulting `hlt` in user mode -> SIGSEGV handler that
 * skips it -> sigreturn), the unit lvm's trap mode and user system calls pay. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <ucontext.h>
#include <x86intrin.h>

static void skip(int sig, siginfo_t *si, void *ucv)
{
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] += 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
	double t0 = now();
	unsigned long long c0 = __rdtsc();
	while (now() - t0 < 0.2)
		;
	double ghz = (__rdtsc() - c0) / ((now() - t0) * 1e9);
	struct sigaction sa = { .sa_sigaction = skip, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	int n = 100000;
	t0 = now();
	for (int i = 0; i < n; i++)
		asm volatile("hlt" ::: "memory");
	printf("tsc_ghz %.4f\nsignal_roundtrip_ns %.1f\n", ghz, (now() - t0) * 1e9 / n);
	return 0;
}
