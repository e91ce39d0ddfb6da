/* paging.h: 32-bit paging for the test kernels: entry bits, control registers, and
 * the identity maps most of them start from (paging.c). */
#ifndef PAGING_H
#define PAGING_H
#include "k.h"

#define P 0x1u              /* page directory and table entries */
#define W 0x2u
#define U 0x4u
#define A 0x20u
#define D 0x40u
#define PS 0x80u            /* a PDE mapping a 4 MiB page (CR4.PSE) */
#define G 0x100u            /* global (CR4.PGE) */

#define CR0_WP 0x10000u     /* supervisor writes obey W too */
#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

static inline u32 get_cr0(void) { u32 v; asm volatile("movl %%cr0, %0" : "=r"(v)); return v; }
static inline void set_cr0(u32 v) { asm volatile("movl %0, %%cr0" : : "r"(v) : "memory"); }
static inline u32 get_cr4(void) { u32 v; asm volatile("movl %%cr4, %0" : "=r"(v)); return v; }
static inline void set_cr4(u32 v) { asm volatile("movl %0, %%cr4" : : "r"(v) : "memory"); }
static inline void set_cr3(const void *pd) { asm volatile("movl %0, %%cr3" : : "r"(pd) : "memory"); }
static inline void invlpg(u32 va) { asm volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* pt[0..n-1]: page tables mapping the first n * 4 MiB to themselves, each entry `flags`. */
void identity_tables(u32 pt[][1024], int n, u32 flags);
/* pd[0..n-1] pointing at pt[0..n-1], each entry `flags`. */
void map_tables(u32 *pd, u32 pt[][1024], int n, u32 flags);
/* pd[first..first+n-1]: 4 MiB pages (PS) mapping themselves, each entry `flags`. */
void identity_4m(u32 *pd, int first, int n, u32 flags);
/* CR3 = pd, then CR0.PG with `cr0` (CR0_WP, or 0) in the same write. */
void paging_on(const void *pd, u32 cr0);
#endif
