/* cpuid.c: what CPUID tells a user program about vector state the kernel saves.
 *
 * The guest kernel is told of no XSAVE (lvm's CPU model, runtime/host/cpuid.c;
 * QEMU's default model has none either), so it never enables or saves the AVX
 * state.  A user program must then see no OSXSAVE and no AVX: libc's AVX string
 * functions would otherwise run with upper vector halves nobody switches between
 * the guest's tasks.  User code's CPUID, native under lvm, is made to trap and
 * answered from lvm's model. */
#include <cpuid.h>
#include <stdio.h>

int main(void)
{
	unsigned a, b, c, d, max = __get_cpuid_max(0, 0);
	__cpuid(1, a, b, c, d);
	printf("T cpuid: xsave %u osxsave %u avx %u\n", c >> 26 & 1, c >> 27 & 1, c >> 28 & 1);
	unsigned avx2 = 0, avx512f = 0;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		avx2 = b >> 5 & 1, avx512f = b >> 16 & 1;
	}
	printf("T cpuid: avx2 %u avx512f %u\n", avx2, avx512f);
	__builtin_cpu_init();
	printf("T libgcc: avx %d avx2 %d\n", !!__builtin_cpu_supports("avx"), !!__builtin_cpu_supports("avx2"));
	return 0;
}
