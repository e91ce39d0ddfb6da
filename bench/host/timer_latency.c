/* timer_latency.c: the host's own floor for bench/irq.py: a POSIX timer armed
 * one-shot for 100 us signals SIGALRM, while the process sleeps in sigsuspend
 * (halted) or spins (busy); the latency is the time from the expiry to the
 * handler.  Median of 201 samples, in ns. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 201
static volatile sig_atomic_t fired;
static struct timespec at;

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static void handler(int sig) { (void)sig; clock_gettime(CLOCK_MONOTONIC, &at); fired = 1; }
static int cmp(const void *a, const void *b) { return *(long long *)a > *(long long *)b ? 1 : -1; }

int main(void)
{
	timer_t t;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	signal(SIGALRM, handler);
	timer_create(CLOCK_MONOTONIC, &sev, &t);
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	for (int busy = 0; busy < 2; busy++) {
		static long long v[N];
		for (int i = 0; i < N; i++) {
			struct timespec start;
			clock_gettime(CLOCK_MONOTONIC, &start);
			long long due = ns(start) + 100000;
			struct itimerspec its = { .it_value = { due / 1000000000, due % 1000000000 } };
			fired = 0;
			sigprocmask(SIG_BLOCK, &alrm, &old);
			timer_settime(t, TIMER_ABSTIME, &its, NULL);
			if (busy) {
				sigprocmask(SIG_SETMASK, &old, NULL);
				while (!fired)
					;
			} else {
				while (!fired)
					sigsuspend(&old);
				sigprocmask(SIG_SETMASK, &old, NULL);
			}
			v[i] = ns(at) - due;
		}
		qsort(v, N, sizeof v[0], cmp);
		printf("%s %lld\n", busy ? "busy_ns" : "halted_ns", v[N / 2]);
	}
	return 0;
}
