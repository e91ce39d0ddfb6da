/* cpuid.h: the CPU lvm emulates, as CPUID describes it. */
#ifndef LVM_CPUID_H
#define LVM_CPUID_H
#include "monitor.h"
struct cpuid_leaf { u32 eax, ebx, ecx, edx; };
struct cpuid_leaf cpuid_model(u32 leaf, u32 subleaf);
u64 host_tsc(void);
void cpuid_fault_here(void);            /* a user process: its CPUID traps */
void cpuid_fault_probe(void);           /* the monitor: say once if it cannot */
#endif
