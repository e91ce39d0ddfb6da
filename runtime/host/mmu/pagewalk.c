/* pagewalk.c: the guest's 32-bit page tables read as the CPU reads them.
 *
 * One walk (4 KiB pages, 4 MiB pages with CR4.PSE, P/W/U at both levels, CR0.WP)
 * serves the shadow fills (mmu.c), the monitor's own accesses to guest memory
 * (mmu_access: emulated instructions, the IDT, GDT, TSS, interrupt frames; RAM,
 * the BIOS ROM and device pages behind them), and the user limit's scan.  It sets
 * the Accessed and Dirty bits as the CPU does; mmu_peek() reads without setting
 * anything, for pages no instruction touched yet.  A 4 MiB entry with any of bits
 * 13-21 set is a reserved-bit fault (RSVD in the error code): the CPUID model
 * advertises no PSE-36, so those bits are not physical address bits.  A page table outside guest
 * memory ends the run with a report (the CPU would read whatever the bus returns).
 */
#include <string.h>
#include "traps.h"
#include "mmu.h"
#include "mmio.h"

bool paging_enabled(void)
{
	return VCPU->cr[0] & CR0_PG;
}

/* The walk.  On success *gpa is the physical address and *writable says whether
 * the host may map the page writable now (a write was allowed and D is set);
 * mmu_global_leaf whether it ended at a global entry (CR4.PGE). */
bool mmu_global_leaf;
static u32 leaf_flags;                   /* W, U of both levels and the leaf's D (tlb.c) */

bool mmu_walk(u32 lin, int access, bool user, u32 *gpa, bool *writable, u32 *err)
{
	bool write = access == MMU_WRITE;
	*err = (write ? 2 : 0) | (user ? 4 : 0);
	u32 *pde = gpa_ptr((VCPU->cr[3] & ~0xfffu) + (lin >> 22) * 4, 4);
	if (!pde)
		kill_guest(NULL, "page directory entry for %#x lies outside guest memory (CR3 %#x)",
			   lin, VCPU->cr[3]);
	if (!(*pde & PTE_P))
		return false;
	u32 *pte = NULL, flags;
	if ((*pde & PDE_PS) && (VCPU->cr[4] & CR4_PSE)) {
		if (*pde & PDE_4M_RESERVED) {
			*err |= 1 | 8;               /* RSVD: a protection-class fault */
			return false;
		}
		flags = *pde;
		*gpa = (*pde & 0xffc00000u) | (lin & 0x3fffff);
	} else {
		pte = gpa_ptr((*pde & ~0xfffu) + ((lin >> 12) & 0x3ff) * 4, 4);
		if (!pte)
			kill_guest(NULL, "page table entry for %#x lies outside guest memory (PDE %#x)",
				   lin, *pde);
		if (!(*pte & PTE_P))
			return false;
		flags = *pde & *pte;             /* W and U must be set at both levels */
		*gpa = (*pte & ~0xfffu) | (lin & 0xfff);
	}
	*err |= 1;                               /* from here on: a protection fault */
	if (user && !(flags & PTE_U))
		return false;
	bool w_allowed = (flags & PTE_W) || (!user && !(VCPU->cr[0] & CR0_WP));
	if (write && !w_allowed)
		return false;
	/* Accessed on every level walked; Dirty on the final entry for a write. */
	*pde |= PTE_A;
	u32 *leaf = pte ? pte : pde;
	*leaf |= PTE_A;
	if (write)
		*leaf |= PTE_D;
	*writable = w_allowed && (*leaf & PTE_D);
	leaf_flags = (flags & (PTE_W | PTE_U)) | (*leaf & PTE_D);
	mmu_global_leaf = (*leaf & PTE_G) && (VCPU->cr[4] & CR4_PGE);
	return true;
}

/* Would a walk of `lin` set no Accessed bit (both levels present and accessed)? */
bool mmu_accessed_before(u32 lin)
{
	u32 *pde = gpa_ptr((VCPU->cr[3] & ~0xfffu) + (lin >> 22) * 4, 4);
	if (!pde || (*pde & (PTE_P | PTE_A)) != (PTE_P | PTE_A))
		return false;
	if ((*pde & PDE_PS) && (VCPU->cr[4] & CR4_PSE))
		return true;
	u32 *pte = gpa_ptr((*pde & ~0xfffu) + ((lin >> 12) & 0x3ff) * 4, 4);
	return pte && (*pte & (PTE_P | PTE_A)) == (PTE_P | PTE_A);
}

/* The walk without side effects, for fault-around: the leaf's physical address and
 * flags (W and U of both levels combined, A, D, G of the leaf); false if absent. */
bool mmu_peek(u32 lin, u32 *gpa, u32 *flags)
{
	u32 *pde = gpa_ptr((VCPU->cr[3] & ~0xfffu) + (lin >> 22) * 4, 4);
	if (!pde || !(*pde & PTE_P))
		return false;
	if ((*pde & PDE_PS) && (VCPU->cr[4] & CR4_PSE)) {
		if (*pde & PDE_4M_RESERVED)
			return false;
		*gpa = (*pde & 0xffc00000u) | (lin & 0x3ff000);
		*flags = *pde;
		return true;
	}
	u32 *pte = gpa_ptr((*pde & ~0xfffu) + ((lin >> 12) & 0x3ff) * 4, 4);
	if (!pte || !(*pte & PTE_P))
		return false;
	*gpa = *pte & ~0xfffu;
	*flags = (*pte & ~(PTE_W | PTE_U)) | (*pde & *pte & (PTE_W | PTE_U));
	return true;
}

/* The monitor's translation of an access: its own TLB's (tlb.c), else a walk. */
bool mmu_translate(u32 lin, int access, bool user, u32 *gpa, u32 *err)
{
	bool writable;
	if (!paging_enabled()) {
		*gpa = lin;
		*err = 0;
		return true;
	}
	if (tlb_lookup(lin, access, user, gpa))
		return true;
	if (!mmu_walk(lin, access, user, gpa, &writable, err))
		return false;
	tlb_fill(lin, *gpa, leaf_flags);
	return true;
}

/* Copy between guest linear memory and dst/src, page by page, for the monitor.
 * On a fault, *fault_lin and *err say where and why; nothing is half-written
 * for accesses within one page (the usual case). */
bool mmu_access(u32 lin, void *buf, u32 len, int access, bool user, u32 *fault_lin, u32 *err)
{
	u8 *b = buf;
	while (len) {
		u32 n = 0x1000 - (lin & 0xfff);
		if (n > len)
			n = len;
		u32 gpa, e;
		if (!mmu_translate(lin, access, user, &gpa, &e)) {
			if (fault_lin)
				*fault_lin = lin, *err = e;
			return false;
		}
		void *p = gpa_ptr(gpa, n);
		if (p && access == MMU_WRITE && mmio_is_rom(gpa))
			;                                /* ROM: the store goes nowhere */
		else if (p && access == MMU_WRITE)
			memcpy(p, b, n);
		else if (p)
			memcpy(b, p, n);
		else if (mmio_present(gpa) && access != MMU_FETCH)
			mmio_copy(gpa, b, n, access == MMU_WRITE);
		else {
			if (fault_lin)
				*fault_lin = lin, *err = ERR_NO_RAM;
			return false;
		}
		b += n, lin += n, len -= n;
	}
	return true;
}

/* Does a page table (1024 entries) map anything user-accessible?  The highest
 * such index, or -1.  Two entries per 64-bit word: P is bit 0, U bit 2. */
static int highest_user_pte(const u32 *pt)
{
	const u64 *w = (const u64 *)pt;
	for (int i = 511; i >= 0; i--) {
		u64 both = w[i] & (w[i] >> 2) & 0x0000000100000001ull;
		if (both)
			return 2 * i + (both >> 32 ? 1 : 0);
	}
	return -1;
}

/* The lowest page from which nothing is user-accessible, scanning from the top. */
u32 mmu_scan_user_top(void)
{
	const u32 *pd = gpa_ptr(VCPU->cr[3] & ~0xfffu, 0x1000);
	if (!pd)
		return 1u << 20;
	for (int i = 1023; i >= 0; i--) {
		u32 pde = pd[i];
		if ((pde & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
			continue;
		if ((pde & PDE_PS) && (VCPU->cr[4] & CR4_PSE))
			return (u32)(i + 1) << 10;
		const u32 *pt = gpa_ptr(pde & ~0xfffu, 0x1000);
		if (!pt)
			return (u32)(i + 1) << 10;       /* unknowable: protect nothing above */
		int j = highest_user_pte(pt);
		if (j >= 0)
			return ((u32)i << 10) + (u32)(j + 1);   /* j = 1023: the next table's first page */
	}
	return 0;
}

