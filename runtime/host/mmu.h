/* mmu.h: guest linear memory as the guest's page tables (or no paging) define it. */
#ifndef LVM_MMU_H
#define LVM_MMU_H
#include "monitor.h"
#include "insn.h"

enum { MMU_READ, MMU_WRITE, MMU_FETCH };
/* Page-table entry bits and the control-register bits paging depends on (SDM 4.3). */
#define PTE_P 0x1u
#define PTE_W 0x2u
#define PTE_U 0x4u
#define PTE_A 0x20u
#define PTE_D 0x40u
#define PDE_PS 0x80u
#define PDE_4M_RESERVED 0x3fe000u  /* bits 13-21 of a 4 MiB entry, without PSE-36 */
#define CR0_WP 0x10000u
#define CR0_AM 0x40000u
#define CR0_PG 0x80000000u
#define PTE_G 0x100u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

/* pagewalk.c */
extern bool mmu_global_leaf;        /* the last successful walk ended at a G entry */
bool mmu_walk(u32 lin, int access, bool user, u32 *gpa, bool *writable, u32 *err);
bool mmu_peek(u32 lin, u32 *gpa, u32 *flags);
bool mmu_accessed_before(u32 lin);    /* a walk would set no A bit */
u32 mmu_scan_user_top(void);          /* the lowest page CPL 3 can reach nothing from */

#define ERR_NO_RAM 0xffffffffu      /* a mapping to a physical address with no RAM */
#define ERR_DEVICE 0xfffffffeu      /* allowed, but a device (or ROM) page: emulate */
#define ERR_LOW_PAGE 0xfffffffdu    /* code below vm.mmap_min_addr: cannot run it */
#define ERR_MONITOR_PAGE 0xfffffffcu /* allowed, but one of lvm's top two pages */

bool paging_enabled(void);
bool mmu_translate(u32 lin, int access, bool user, u32 *gpa, u32 *err);
bool mmu_access(u32 lin, void *buf, u32 len, int access, bool user, u32 *fault_lin, u32 *err);
bool mmu_fill(u32 lin, int access, bool user, u32 *err);
void mmu_kernel_view_remote(void); /* isolated mode: the kernel's view is a process's */
void mmu_flush(bool keep_global);  /* keep_global: a CR3 load with CR4.PGE */
void mmu_invlpg(u32 lin);
void mmu_cr3_load(void);            /* keeps what the new tables translate the same */
extern bool mmu_cr3_refill;         /* LVM_SHADOW=refill: it keeps only global pages */
/* ptsnap.c: what the shadow pages were made from (mmu.c's only) */
/* tlb.c: the monitor's own TLB for its walks (pagewalk.c); flushed by mmu.c. */
void tlb_flush(void);
void tlb_fill(u32 lin, u32 gpa, u32 flags);
bool tlb_lookup(u32 lin, int access, bool user, u32 *gpa);
struct ptsnap;
struct ptsnap *ptsnap_new(void);
void ptsnap_reset(struct ptsnap *s);
void ptsnap_filled(struct ptsnap *s, u32 first, u32 last, bool global, void (*drop)(u32 page, u32 n));
u32 ptsnap_cr3_load(struct ptsnap *s, void (*drop)(u32 page, u32 n));
/* A device's loads from its mirror page (mmio.c) run natively, or trap from now on
 * (the mirror's mappings go). */
void mmu_mirror_reads(u32 gpa, bool native);
void mmu_enter_user(void);          /* CPL 3 is about to run */
extern bool mmu_trust_user;         /* -trusted-user: no revocation above the user limit */
void mmu_leave_user(void);          /* CPL 3 has stopped running: the kernel is entered */
u32 mmu_user_top(void);             /* user limit, in pages (1 << 20: none) */
void mmu_user_top_stale(void);
bool mmu_user_fault_limit(struct lvm_regs *r);   /* userlimit.c */
void mem_map_identity(void);         /* memory.c */
bool emulate_data(struct lvm_regs *r, const struct insn *in);   /* datainsn.c */
struct mmu_stats { u64 fills, around, mirror_fills, flushes, invlpgs, revoked, unrevoked, device_insns,
		  cr3_loads, dropped, user_runs, user_maps, user_unmaps, user_ldts, user_resets,
		  aspace_switches, aspace_misses, retry_fills, kernel_refills, kernel_resets, anchors; };
extern struct mmu_stats mmu_stats;
#endif
