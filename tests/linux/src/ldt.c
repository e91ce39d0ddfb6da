/* ldt.c: modify_ldt(2) data segments from user code, as DOS emulators and Wine use
 * them: entries written and read back, loaded into %fs and %es, accessed at an
 * offset from their base, a limit that faults (SIGSEGV), an entry changed under a
 * loaded register, and the LDT across fork() and pthreads.  What lvm does not do
 * (16-bit and code segments in the LDT) is not tried here: README, "Guest selectors". */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char area[2][8192] __attribute__((aligned(4096)));
static sigjmp_buf jb;

static int set_entry(int n, void *base, unsigned limit, int pages)
{
	struct user_desc d = {
		.entry_number = n, .base_addr = (unsigned long)base, .limit = limit,
		.seg_32bit = 1, .contents = MODIFY_LDT_CONTENTS_DATA, .read_exec_only = 0,
		.limit_in_pages = pages, .seg_not_present = 0, .useable = 1,
	};
	return syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}

static unsigned fs_read(unsigned off)
{
	unsigned v;
	asm volatile("movl %%fs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
	return v;
}

static void on_segv(int sig)
{
	siglongjmp(jb, 1);
}

static void *thread(void *arg)
{
	unsigned short sel = 1 << 3 | 7;
	asm volatile("movw %0, %%fs" : : "r"(sel));
	unsigned v = fs_read(16);
	asm volatile("movw %0, %%fs" : : "r"((unsigned short)0));
	return (void *)(unsigned long)v;
}

int main(void)
{
	memset(area, 0, sizeof area);
	for (int i = 0; i < 2048; i++)
		((unsigned *)area[0])[i] = 0x1000 + i, ((unsigned *)area[1])[i] = 0x2000 + i;
	printf("T modify_ldt entry 1: %d, entry 3: %d\n", set_entry(1, area[0], 4095, 0),
	       set_entry(3, area[1] + 64, 1, 1));
	unsigned char buf[32];
	long n = syscall(SYS_modify_ldt, 0, buf, sizeof buf);
	struct user_desc *d = (struct user_desc *)buf;
	printf("T read back: %ld bytes, entry 1 limit %02x%02x base %02x%02x\n", n, buf[9], buf[8],
	       buf[13], buf[12]);
	(void)d;

	unsigned short sel1 = 1 << 3 | 7, sel3 = 3 << 3 | 7;
	asm volatile("movw %0, %%fs" : : "r"(sel1));
	printf("T fs=entry 1: [0]=%#x [4000]=%#x\n", fs_read(0), fs_read(4000));
	asm volatile("movw %0, %%fs" : : "r"(sel3));
	printf("T fs=entry 3 (base+64, 2 pages): [0]=%#x [8000]=%#x\n", fs_read(0), fs_read(8000));

	/* A write through %es (with DS's base): string instructions use it. */
	asm volatile("pushl %%es; movw %0, %%es; movl $0xabcd, %%es:8; popl %%es" : : "r"(sel1) : "memory");
	printf("T write through es: area[0][8..11]=%#x\n", ((unsigned *)area[0])[2]);

	/* Beyond the limit: the CPU's #GP, the kernel's SIGSEGV.  Not a `T` line: QEMU's
	 * TCG does not check data segment limits (the CPU and lvm do; test_linux.py
	 * checks lvm's answer against the CPU's). */
	signal(SIGSEGV, on_segv);
	asm volatile("movw %0, %%fs" : : "r"(sel1));
	if (!sigsetjmp(jb, 1))
		printf("L read at 4096 of a 4096-byte segment: %#x (no fault)\n", fs_read(4096));
	else
		printf("L read at 4096 of a 4096-byte segment: SIGSEGV\n");

	/* The entry changes under a loaded %fs: the next load sees the new base. */
	set_entry(1, area[1], 4095, 0);
	asm volatile("movw %0, %%fs" : : "r"(sel1));
	printf("T entry 1 moved, fs reloaded: [0]=%#x\n", fs_read(0));

	pthread_t t;
	void *rv;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, &rv);
	printf("T a thread sees the LDT: %#lx\n", (unsigned long)rv);

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		asm volatile("movw %0, %%fs" : : "r"(sel3));
		printf("T child: fs=entry 3 [4]=%#x\n", fs_read(4));
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	asm volatile("movw %0, %%fs" : : "r"((unsigned short)0));
	printf("T child exited %d\n", WEXITSTATUS(st));
	return 0;
}
