/* anchor.c: keeping the host's page tables under a view alive.
 *
 * The host frees a page table (one per 2 MiB of address space) when the last
 * mapping in its range goes, and allocates one again at the next fault there.  On
 * this VM that costs ~7 us each time (the table is freed after an RCU grace period,
 * so the next comes cold from the allocator, and fresh host pages are slow to touch
 * under the hypervisor's free page reporting): an mmap over the only mapping of a
 * 2 MiB range, touched, took 29,000 TSC cycles against 14,000 with another mapping
 * in the range.  A view empties such ranges all the time: a CR3 load drops a
 * space's pages and maps another's at the same addresses (khot.c's stack page and
 * futex word, twice per context switch), a user process given to a new address
 * space drops the old one's and refills.  So every 2 MiB range a view maps into
 * keeps an *anchor*: one page of it the view does not use, mapped PROT_NONE
 * (anonymous, no memory), which the host's table stays for.  The page's state is
 * NONE: a guest access there faults as on any unmapped page, and a fill maps over
 * it (a new anchor goes elsewhere in the range first).  Unmappings go around
 * anchors; only a whole view's unmapping takes them with it.  At most one mapping
 * per range: 2048 of the host's 65,530 (vm.max_map_count).  Not for isolated
 * views (isolate.c maps those), nor with paging off (identity map).
 */
#include <string.h>
#include <sys/mman.h>
#include "shadow.h"

#define RANGE_PAGES 512u                          /* 4 KiB pages per host page table */

static bool applies(void)
{
	return paging_enabled() && !(sh->remote && isolate_active());
}

/* The lowest page an anchor may take: the host's vm.mmap_min_addr, page 1 at least. */
static u32 lowest_page(void)
{
	u32 p = (u32)((userproc_min_addr + 0xfff) >> 12);
	return p ? p : 1;
}

static void place(u32 range, u32 page)
{
	void *at = (void *)(uintptr_t)(page << 12);
	if (sh->remote) {
		if (!userproc_anchor((int)(sh - user_views), (uintptr_t)at))
			return;                       /* a full queue */
	} else if (mmap(at, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		      -1, 0) != at)
		return;                           /* the mapping bound: no anchor, only slower */
	sh->anchor[range] = page - range * RANGE_PAGES + 1;   /* 0: none */
	mmu_stats.anchors++;
}

/* Pages [page, page + n) are about to be mapped: the ranges they touch keep (or
 * get) an anchor outside them, placed on the side away from them. */
void anchor_before_map(u32 page, u32 n)
{
	if (!applies())
		return;
	u32 last = (SHADOW_END >> 12) - 1, low = lowest_page();
	for (u32 r = page / RANGE_PAGES; r <= (page + n - 1) / RANGE_PAGES; r++) {
		u32 base = r * RANGE_PAGES, a = sh->anchor[r];
		if (a && (base + a - 1 < page || base + a - 1 >= page + n))
			continue;
		u32 lo = base > low ? base : low, hi = base + RANGE_PAGES - 1 < last ? base + RANGE_PAGES - 1 : last;
		bool from_top = page - base < RANGE_PAGES / 2;
		sh->anchor[r] = 0;
		for (u32 i = 0; lo + i <= hi; i++) {
			u32 q = from_top ? hi - i : lo + i;
			if (shadow[q] == SHADOW_NONE && (q < page || q >= page + n)) {
				place(r, q);
				break;
			}
		}
	}
}

/* The host unmapping of [page, page + n) of the view, around its anchors; one
 * unmapping of more than 64 ranges (a flush, a whole view) takes those in it. */
void anchor_unmap(u32 page, u32 n, void (*unmap)(u32 page, u32 n))
{
	u32 from = page, end = page + n;
	for (u32 r = page / RANGE_PAGES; n && r <= (end - 1) / RANGE_PAGES; r++) {
		u32 a = sh->anchor[r], at = r * RANGE_PAGES + a - 1;
		if (!a || at < from || at >= end)
			continue;
		if (n > 64 * RANGE_PAGES) {
			sh->anchor[r] = 0;
			continue;
		}
		if (at > from)
			unmap(from, at - from);
		from = at + 1;
	}
	if (end > from)
		unmap(from, end - from);
}

/* The view was unmapped whole: its anchors went with it. */
void anchor_forget_all(void)
{
	memset(sh->anchor, 0, sizeof sh->anchor);
}
