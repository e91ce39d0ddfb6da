/* khot.c: the kernel's touches of user memory after a switch, mapped again at once.
 *
 * A system call's arguments read with get_user, a futex word, copy_to_user: the
 * kernel's view is one for every address space, so a CR3 load drops the old
 * space's user pages from it, and the kernel's next touch of each would be a host
 * fault and a fill.  So, per user process, the user pages the kernel's view had to
 * fill while its space was current are remembered (the last KHOT), and the CR3
 * load that makes the space current again maps those of them that its comparison
 * drops and whose entries are present and accessed already (the mapping then sets
 * no bit the guest could see) over the stale mapping: one mmap where a host fault,
 * a munmap and an mmap were.  tests/kernels/khot is the differential case.
 */
#include <string.h>
#include "shadow.h"

#define KHOT 4
static u32 khot[ASPACES_MAX][KHOT];        /* pages; 0: none (page 0 never qualifies) */
static u8 khot_next[ASPACES_MAX];
static int khot_slot = -1;                 /* the space a CR3 load is making current */
static u32 khot_redo[KHOT], nredo;

void khot_note(u32 lin)
{
	u32 gpa, flags, page = lin >> 12, slot = (u32)(user_view - user_views);
	if (!page || !mmu_peek(lin, &gpa, &flags) || !(flags & PTE_U) || (flags & PTE_G))
		return;
	for (int i = 0; i < KHOT; i++)
		if (khot[slot][i] == page)
			return;
	khot[slot][khot_next[slot]++ % KHOT] = page;
}

static bool khot_keep(u32 page)
{
	if (khot_slot < 0 || nredo == KHOT || shadow[page] == SHADOW_NONE || (shadow[page] & SHADOW_GLOBAL))
		return false;
	for (int i = 0; i < KHOT; i++)
		if (khot[khot_slot][i] == page)
			return mmu_accessed_before(page << 12);
	return false;
}

/* The kernel's view's stale pages go, but the hot ones it can map again at once. */
static void drop_stale_kernel(u32 page, u32 n)
{
	u32 from = page, end = page + n;
	for (u32 p = page; khot_slot >= 0 && p < end; p++) {
		if (!khot_keep(p))
			continue;
		if (p > from)
			drop_stale_view(from, p - from);
		forget(p);                     /* its host mapping stays until khot_refill */
		mmu_stats.dropped++;
		khot_redo[nredo++] = p;
		from = p + 1;
	}
	if (end > from)
		drop_stale_view(from, end - from);
}

static void khot_refill(void)
{
	for (u32 i = 0; i < nredo; i++) {
		u32 p = khot_redo[i], err;
		if (shadow[p] != SHADOW_NONE)
			continue;                  /* mapped by the fault-around of another */
		if (shadow_fill(p << 12, MMU_READ, false, &err))
			mmu_stats.kernel_refills++;
		else
			view_munmap((void *)(uintptr_t)(p << 12), 0x1000);
	}
	nredo = 0;
	khot_slot = -1;
}

/* A CR3 load to the directory of user process `slot` (`fresh`: given to it now):
 * the kernel's view compared with the new tables, the hot pages of that space it
 * drops mapped again. */
void khot_cr3_load(int slot, bool fresh)
{
	if (userproc_active() && fresh)
		memset(khot[slot], 0, sizeof khot[slot]);
	khot_slot = userproc_active() && !fresh ? slot : -1;
	ptsnap_cr3_load(snap_of(sh), drop_stale_kernel);
	khot_refill();
}
