/* tls.c: glibc's i386 TLS, threads and signals in the Linux guest (tests/test_linux.py,
 * built static with gcc -m32 -pthread).  Every line starts with "T " and is the same
 * under lvm and QEMU. */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int counter = 100;
static __thread char name[16];
static volatile sig_atomic_t got;

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	snprintf(name, sizeof name, "thread%d", id);
	for (int i = 0; i < 1000 * id; i++)
		counter++;
	errno = id;                            /* errno is per thread (TLS) */
	sched_yield();
	return (void *)(long)(counter * 10 + (errno == id) + (strcmp(name, "thread") > 0));
}

static void handler(int sig, siginfo_t *si, void *uc)
{
	counter += 1;                          /* TLS from a signal handler */
	got = sig;
}

int main(void)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++) {
		int rc = pthread_create(&t[i], NULL, worker, (void *)(i + 1));
		if (rc)
			printf("T pthread_create %ld: %s\n", i + 1, strerror(rc));
	}
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		printf("T thread %d: %ld\n", i + 1, (long)r);
	}
	printf("T main counter %d errno-ok %d\n", counter, errno == 0);

	struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("T signal %d, counter %d after sigreturn\n", (int)got, counter);

	/* set_thread_area(): a free entry (the TLS entries lvm's Linux patch moved to 9-11) */
	struct user_desc d = { .entry_number = -1, .base_addr = (unsigned long)&counter, .limit = 0xfffff,
			       .seg_32bit = 1, .limit_in_pages = 1, .useable = 1 };
	long rc = syscall(SYS_set_thread_area, &d);
	printf("T set_thread_area %ld entry %u\n", rc, d.entry_number);
	unsigned sel = d.entry_number * 8 + 3, v = 0, old;
	asm volatile("movl %%fs, %0\n\tmovl %2, %%fs\n\tmovl %%fs:0, %1\n\tmovl %0, %%fs"
		     : "=&r"(old), "=&r"(v) : "r"(sel) : "memory");
	printf("T read through it: %u\n", v);
	return 0;
}
