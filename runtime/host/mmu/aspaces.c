/* aspaces.c: which of lvm's user processes holds which guest address space.
 *
 * A guest context switch is a CR3 load.  With one user process, its shadow of the
 * old address space went and the new one's was refilled page by page, a host fault
 * and an mmap per run of pages, at every switch.  With several (userproc.c: forked
 * at start, -lvm-aspaces N of them), each recent page directory keeps its user
 * process and that process's mappings; switching back to it is a handoff to
 * another process plus a comparison of its page-table snapshot (ptsnap.c) with
 * the guest's tables as they are now.  The comparison is what makes it exact, so
 * the page directory's address is only a hint: a directory freed and reused for
 * another process, or a process evicted here and its user process given to
 * another directory, costs the pages that differ, never a stale one.
 *
 * Least recently used goes first.  With paging off there is one address space.
 */
#include "monitor.h"
#include "mmu.h"
#include "userproc.h"

int aspaces_max = 8;
static u32 key[ASPACES_MAX];
static u64 used[ASPACES_MAX], clock_now;
static int current;

int aspaces_count(void)
{
	return userproc_active() ? userproc_count() : 1;
}

int aspaces_switch(u32 page_directory, bool *fresh)
{
	*fresh = false;
	int n = userproc_count(), pick = -1;
	for (int i = 0; i < n && pick < 0; i++)
		if (used[i] && key[i] == page_directory)
			pick = i;
	if (pick < 0) {
		pick = 0;
		for (int i = 1; i < n; i++)
			if (used[i] < used[pick])
				pick = i;
		key[pick] = page_directory;
		*fresh = true;
		mmu_stats.aspace_misses++;
	}
	used[pick] = ++clock_now;
	if (pick != current) {
		mmu_stats.aspace_switches++;
		current = pick;
		userproc_select(pick);
	}
	return pick;
}
