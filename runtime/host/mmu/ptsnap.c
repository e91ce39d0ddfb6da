/* ptsnap.c: what each shadow mapping was made from, so a CR3 load keeps what did
 * not change.
 *
 * A CR3 load flushes the TLB's non-global entries: afterwards the CPU translates
 * from the tables as they are.  Throwing the whole shadow away does that, and costs
 * a refill: one host page fault per page (or run of pages) the guest touches next,
 * after every context switch and after every reload of the same directory (a
 * teaching kernel reloads CR3 twice per timer tick and after each sbrk; Linux
 * reloads it for a full TLB flush).  What the flush must really undo is only a
 * mapping whose translation is not what the tables say now.  So for every 4 MiB
 * region (a page-directory slot) with shadow pages in it, this file keeps the
 * directory entry the region was filled through and a copy of its page table as
 * the fills saw it (after the walk set A/D); a CR3 load compares the new
 * directory's entry and the page table behind it with the copy: a different
 * directory entry drops the region, a different page-table entry drops its page,
 * the rest stays mapped.  Exact, because a kept mapping is one the CPU would build
 * again from the current tables, with the same rights and A/D state (the shadow
 * maps writable only what has D set, so a guest that clears D or A changes the
 * entry and loses the mapping).  A comparison is 4 KiB per region in use, far below
 * one refill fault: a process of 48 MiB costs a dozen.
 *
 * Each view of the shadow has a snapshot of its own: the kernel's, and each user
 * process's (userproc.c: one per recent address space), which the guest's tables
 * may change under while it does not run; the comparison at the CR3 load that
 * makes it current again is what keeps it exact, whatever the guest wrote meanwhile.
 *
 * A slot whose every fill since its snapshot was of a global page (CR4.PGE, G:
 * a kernel's own mappings) is not compared at all: the TLB keeps global entries
 * across a CR3 load, and the shadow keeps its global pages whatever the
 * comparison says (shadow.c), so it would only have updated the copy.  Under
 * Linux that is two of the six slots compared per load.  The copy then falls
 * behind; a later non-global fill makes the slot compared again, and what the
 * stale part of the copy makes it drop is global or unmapped: nothing.
 *
 * shadow.c owns the shadow; this file only says which of its pages went stale.
 */
#include "traps.h"
#include "mmu.h"

#include <sys/mman.h>

#define SLOTS 1024                        /* page-directory entries: 4 MiB each */
/* One per shadow view (mmu.c: the kernel's, and each user process's). */
struct ptsnap {
	u32 pde[SLOTS];                   /* the entry each active slot was filled through */
	bool active[SLOTS];
	bool local[SLOTS];                /* a non-global page filled since the snapshot */
	u32 table[SLOTS][1024];           /* its page table as the fills saw it */
};
#define snap_pde (s->pde)
#define active (s->active)
#define snap (s->table)

/* 4 MiB of address space, of which the host backs only what slots in use touch. */
struct ptsnap *ptsnap_new(void)
{
	void *p = mmap(NULL, sizeof(struct ptsnap), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		host_bug("no memory for a page-table snapshot");
	return p;
}

static u32 *pd_entry(u32 slot)
{
	return gpa_ptr((VCPU->cr[3] & ~0xfffu) + slot * 4, 4);
}

static bool large(u32 pde)
{
	return (pde & PDE_PS) && (VCPU->cr[4] & CR4_PSE);
}

static const u32 *page_table(u32 pde)
{
	return (pde & PTE_P) && !large(pde) ? gpa_ptr(pde & ~0xfffu, 0x1000) : NULL;
}

void ptsnap_reset(struct ptsnap *s)
{
	for (u32 i = 0; i < SLOTS; i++)
		active[i] = false;
}

/* Pages [first, last] (one page table's) were just mapped from the current tables.
 * A slot filled through another directory entry than the one it was snapshot with
 * (the guest changed the entry without a CR3 load) is snapshot anew, and its older
 * pages, made from the old table, go: the copy could no longer vouch for them. */
void ptsnap_filled(struct ptsnap *s, u32 first, u32 last, bool global, void (*drop)(u32 page, u32 n))
{
	u32 slot = first >> 10, base = slot << 10;
	u32 *pde = pd_entry(slot);
	if (!pde) {
		active[slot] = false;
		return;
	}
	const u32 *pt = page_table(*pde);
	if (!active[slot] || snap_pde[slot] != *pde) {
		if (active[slot]) {
			drop(base, first - base);
			drop(last + 1, base + 1024 - (last + 1));
		}
		snap_pde[slot] = *pde;
		active[slot] = true;
		s->local[slot] = !global;
		if (pt)
			for (u32 i = 0; i < 1024; i++)
				snap[slot][i] = pt[i];
		return;
	}
	s->local[slot] |= !global;
	if (pt)
		for (u32 p = first; p <= last; p++)
			snap[slot][p & 1023] = pt[p & 1023];
}

/* Entries of the slot's table that differ from the copy: their pages dropped, the
 * copy brought up to date.  Compared 8 bytes at a time (the monitor is built
 * without SSE, and memcmp would need the guest's FPU state saved). */
static void compare_table(struct ptsnap *s, u32 slot, const u32 *pt, void (*drop)(u32 page, u32 n))
{
	const u64 *now = (const u64 *)pt;
	u64 *was = (u64 *)snap[slot];
	u32 run = 0, len = 0;                  /* consecutive changed entries: one drop */
	for (u32 i = 0; i < 512; i++) {
		if (now[i] == was[i])
			continue;
		const u32 *n32 = (const u32 *)&now[i];
		u32 *w32 = (u32 *)&was[i];
		for (u32 k = 0; k < 2; k++)
			if (n32[k] != w32[k]) {
				u32 e = 2 * i + k;
				if (len && run + len == e) {
					len++;
				} else {
					if (len)
						drop((slot << 10) + run, len);
					run = e, len = 1;
				}
				w32[k] = n32[k];
			}
	}
	if (len)
		drop((slot << 10) + run, len);
}

/* A CR3 load (paging on, same paging mode): drop what the new tables translate
 * differently.  Returns how many slots were compared, for the statistics. */
u32 ptsnap_cr3_load(struct ptsnap *s, void (*drop)(u32 page, u32 n))
{
	u32 compared = 0;
	for (u32 slot = 0; slot < SLOTS; slot++) {
		if (!active[slot])
			continue;
		compared++;
		u32 *pde = pd_entry(slot);
		if (!pde || *pde != snap_pde[slot]) {
			drop(slot << 10, 1024);
			active[slot] = false;
			continue;
		}
		const u32 *pt = page_table(*pde);
		if (pt && s->local[slot])
			compare_table(s, slot, pt, drop);
		else if (pt)
			;                              /* global pages only: kept, as the TLB does */
		else if (!large(*pde)) {
			drop(slot << 10, 1024);        /* a table outside RAM: nothing to vouch with */
			active[slot] = false;
		}
	}
	return compared;
}
