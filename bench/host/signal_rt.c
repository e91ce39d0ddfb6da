/* signal_rt.c: the host facts bench/ops.py needs: TSC ticks per ns, the cost of
 * one signal round trip (a faulting `hlt` -> SIGSEGV handler that skips it ->
 * sigreturn), and the cost of the host's floor for a guest `int $0x80`: 32-bit
 * code executing it, stopped by a seccomp filter as SIGSYS, and resumed.  Build
 * with -no-pie (the 32-bit code returns to a 32-bit address). */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

static void skip(int sig, siginfo_t *si, void *ucv)
{
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] += 1;
}

static void nothing(int sig, siginfo_t *si, void *ucv) { }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* N times `xor %eax,%eax; int $0x80` in compat mode, then a far return. */
static double int80_sigsys(int n)
{
	static const unsigned char loop[] = {
		0xbd, 0, 0, 0, 0,      /* mov $n, %ebp */
		0x31, 0xc0,            /* xor %eax, %eax */
		0xcd, 0x80,            /* int $0x80 */
		0x4d,                  /* dec %ebp */
		0x75, 0xf9,            /* jnz back to xor */
		0xcb,                  /* lret */
	};
	unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	unsigned char *stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	memcpy(code, loop, sizeof loop);
	memcpy(code + 1, &n, 4);
	struct sigaction sa = { .sa_sigaction = nothing, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigaction(SIGSYS, &sa, NULL);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { 4, f };
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -1;
	double t0 = now();
	asm volatile("movq %%rsp, %%r12\n\t"
		     "movq %0, %%rsp\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "movl %%eax, (%%rsp)\n\t"
		     "movl $0x33, 4(%%rsp)\n\t"
		     "pushq $0x23\n\t"
		     "pushq %1\n\t"
		     "lretq\n"
		     "1:\tmovq %%r12, %%rsp"
		     : : "r"(stack + 65536 - 64), "r"((unsigned long)code)
		     : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r12", "memory");
	return (now() - t0) * 1e9 / n;
}

int main(void)
{
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	sigaltstack(&ss, NULL);
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
	printf("int80_sigsys_roundtrip_ns %.1f\n", int80_sigsys(n));
	return 0;
}
