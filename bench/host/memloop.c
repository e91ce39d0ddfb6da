/* memloop.c: the user loop of bench/kernels/pfbench/user.S (sum 896 KiB, 4 bytes
 * at a time, with `loop`), run as an ordinary host process: cycles per pass. */
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

static unsigned sum(const unsigned *p, unsigned words)
{
	unsigned s;
	asm volatile("xorl %%edx, %%edx\n"
		     "1:\taddl (%%rdi), %%edx\n\t"
		     "addq $4, %%rdi\n\t"
		     "loop 1b"
		     : "=d"(s), "+D"(p), "+c"(words) : : "cc", "memory");
	return s;
}

int main(void)
{
	unsigned words = (0x100000 - 0x20000) / 4;
	unsigned *buf = calloc(words, 4);
	volatile unsigned sink = 0;
	for (int i = 0; i < 3; i++)
		sink += sum(buf, words);
	unsigned long long best = ~0ull;
	for (int round = 0; round < 5; round++) {
		unsigned long long t0 = __rdtsc();
		for (int i = 0; i < 10; i++)
			sink += sum(buf, words);
		unsigned long long t = (__rdtsc() - t0) / 10;
		if (t < best)
			best = t;
	}
	printf("user-loop-1MiB %llu\n", best);
	return 0;
}
