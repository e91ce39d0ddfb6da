/* cpuid.c: a coherent CPUID model that advertises only what lvm emulates.
 *
 * Identity (vendor, family, model, brand) and the features of unprivileged code
 * (SSE..SSE4.2, POPCNT, CMOV...) are the host's: guest code runs on the host CPU.
 * Features that need the monitor are advertised only once they work: PSE, PGE (the
 * MMU), APIC (the local APIC model).  Not PAE, not the TSC-deadline timer.  The hypervisor bit is set: a guest
 * can know it is not on bare metal.
 *
 * Guest *user* code executes CPUID natively, and would see the host's answer: XSAVE,
 * OSXSAVE and AVX (AVX-512 on this EPYC), which the guest kernel was never told of
 * and so never saves.  Its libc then runs AVX string functions whose upper vector
 * state no one switches between the guest's tasks: two threads of a process share
 * lvm's user process and its registers, and so do processes once there are more
 * address spaces than user processes.  So lvm's user processes run with the host's
 * CPUID faulting on (arch_prctl ARCH_SET_CPUID, where the CPU has it): a CPUID
 * there is a #GP answered from this model (userchild.c; guestsig.c and system.c
 * for an isolated process), as the kernel's.  With user code in the monitor's
 * process (-lvm-userproc off, a debugger) the monitor faults CPUID itself: after
 * cpuid_fault_probe() it asks the host nothing.  Where the CPU has no faulting,
 * lvm says so once.
 */
#include <asm/prctl.h>
#include <cpuid.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>
#include "cpumodel.h"

/* In a user process (or the monitor, when user code runs in it: its own CPUIDs
 * are the cached ones above, asked before): CPUID traps from now on (the setting
 * lasts until execve). */
void cpuid_fault_here(void)
{
	syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}

/* The monitor, before it forks user processes: the host leaves the model reads
 * asked (the processes answer from that cache), and can they fault CPUID?  Probed
 * on itself and turned off again at once (nothing runs CPUID in between). */
void cpuid_fault_probe(void)
{
	static const u32 leaves[] = { 0, 1, 0x80000001, 0x80000002, 0x80000003, 0x80000004 };
	for (unsigned i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
		cpuid_model(leaves[i], 0);          /* cached for the user processes (above) */
	if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0)
		syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
	else
		unimplemented_once("CPUID faulting on this CPU: guest user code sees the host's "
				   "CPUID, AVX included, whose state lvm does not switch between "
				   "the guest's tasks");
}

/* Leaf 1 EDX: FPU PSE TSC MSR CX8 APIC SEP PGE CMOV CLFSH MMX FXSR SSE SSE2. */
#define L1_EDX ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 9) | \
		(1u << 11) | (1u << 13) | (1u << 15) | \
		(1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
/* Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND. */
#define L1_ECX ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | \
		(1u << 22) | (1u << 23) | (1u << 25) | (1u << 30))
#define HYPERVISOR (1u << 31)

u64 host_tsc(void) { return __rdtsc(); }

/* The host's answer, asked once per leaf: a CPUID exits to the hypervisor under
 * a VM (3.6 us each here), and guest code asks the same few leaves again and again
 * (a static glibc program 16 times at its start). */
static struct cpuid_leaf host_cpuid(u32 leaf, u32 subleaf)
{
	static struct { u32 leaf, subleaf; bool known; struct cpuid_leaf v; } seen[32];
	static unsigned next;
	for (unsigned i = 0; i < 32 && seen[i].known; i++)
		if (seen[i].leaf == leaf && seen[i].subleaf == subleaf)
			return seen[i].v;
	struct cpuid_leaf h;
	__cpuid_count(leaf, subleaf, h.eax, h.ebx, h.ecx, h.edx);
	unsigned i = next++ % 32;
	seen[i].leaf = leaf, seen[i].subleaf = subleaf, seen[i].v = h, seen[i].known = true;
	return h;
}

/* Only leaves 0, 1 and 0x80000001-4 of the host are read (subleaf 0), so a user
 * process that had them asked before its fork answers every leaf from the cache
 * (userchild.c: there a CPUID of its own would fault). */
struct cpuid_leaf cpuid_model(u32 leaf, u32 subleaf)
{
	struct cpuid_leaf l = { 0, 0, 0, 0 };
	struct cpuid_leaf h;
	switch (leaf) {
	case 0:
		l = host_cpuid(0, 0);
		l.eax = 1;                          /* highest basic leaf we describe */
		break;
	case 1:
		h = host_cpuid(1, 0);
		l.eax = h.eax;                      /* family, model, stepping */
		l.ebx = h.ebx & 0x0000ffff;         /* brand index, clflush size; 1 CPU, APIC ID 0 */
		l.ecx = (h.ecx & L1_ECX) | HYPERVISOR;
		l.edx = h.edx & L1_EDX;
		break;
	case 0x80000000:
		l.eax = 0x80000004;
		break;
	case 0x80000001:
		h = host_cpuid(leaf, 0);
		l.eax = h.eax;
		l.ecx = h.ecx & (1u << 0 | 1u << 5 | 1u << 8);   /* LAHF, LZCNT, PREFETCHW */
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		l = host_cpuid(leaf, 0);            /* brand string */
		break;
	default:
		/* Intel: an out-of-range basic leaf answers as the highest basic leaf. */
		if (leaf < 0x80000000)
			return cpuid_model(1, 0);
	}
	return l;
}
