/* cpuid.c: a coherent CPUID model that advertises only what lvm emulates.
 *
 * Identity (vendor, family, model, brand) and the features of unprivileged code
 * (SSE..SSE4.2, POPCNT, CMOV...) are the host's: guest code runs on the host CPU.
 * Features that need the monitor are advertised only once they work: PSE, PGE (the
 * MMU), APIC (the local APIC model).  Not PAE, not the TSC-deadline timer.  The hypervisor bit is set: a guest
 * can know it is not on bare metal.  Guest *user* code executes CPUID natively and
 * sees the host's answer (CPUID faulting is not available to us on every CPU).
 */
#include <cpuid.h>
#include <string.h>
#include <x86intrin.h>
#include "cpumodel.h"

/* Leaf 1 EDX: FPU PSE TSC MSR CX8 APIC SEP PGE CMOV CLFSH MMX FXSR SSE SSE2. */
#define L1_EDX ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 9) | \
		(1u << 11) | (1u << 13) | (1u << 15) | \
		(1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
/* Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND. */
#define L1_ECX ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | \
		(1u << 22) | (1u << 23) | (1u << 25) | (1u << 30))
#define HYPERVISOR (1u << 31)

u64 host_tsc(void) { return __rdtsc(); }

struct cpuid_leaf cpuid_model(u32 leaf, u32 subleaf)
{
	struct cpuid_leaf l = { 0, 0, 0, 0 };
	struct cpuid_leaf h;
	__cpuid_count(leaf, subleaf, h.eax, h.ebx, h.ecx, h.edx);
	switch (leaf) {
	case 0:
		l = h;
		l.eax = 1;                          /* highest basic leaf we describe */
		break;
	case 1:
		l.eax = h.eax;                      /* family, model, stepping */
		l.ebx = h.ebx & 0x0000ffff;         /* brand index, clflush size; 1 CPU, APIC ID 0 */
		l.ecx = (h.ecx & L1_ECX) | HYPERVISOR;
		l.edx = h.edx & L1_EDX;
		break;
	case 0x80000000:
		l.eax = 0x80000004;
		break;
	case 0x80000001:
		l.eax = h.eax;
		l.ecx = h.ecx & (1u << 0 | 1u << 5 | 1u << 8);   /* LAHF, LZCNT, PREFETCHW */
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		l = h;                              /* brand string */
		break;
	default:
		/* Intel: an out-of-range basic leaf answers as the highest basic leaf. */
		if (leaf < 0x80000000)
			return cpuid_model(1, 0);
	}
	return l;
}
