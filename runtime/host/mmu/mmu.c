/* mmu.c: 32-bit paging (CR0.PG) as the CPU does it, shadowed into the host.
 *
 * Guest code runs at its own linear addresses, so every guest page it may touch
 * must be mapped there in the host: with paging off, guest RAM is mapped 1:1
 * (memory.c); with paging on, the mapping is a shadow of the guest's page tables,
 * filled lazily: a host page fault in guest code walks the guest's tables (4 KiB
 * pages, 4 MiB pages with CR4.PSE, P/W/U at both levels, CR0.WP), sets the
 * Accessed and Dirty bits as the CPU does, and maps the memfd page there, writable
 * only once the guest's D bit is set so that the first write is seen.  A walk
 * that fails is the guest's #PF, with CR2 and the error code the CPU would give.
 * CR0/CR4 paging changes and INVLPG tear the shadow down; a CR3 load drops only
 * what the new tables translate differently (ptsnap.c).
 *
 * The walk itself, and the monitor's own accesses to guest memory, are pagewalk.c.
 * The shadow's pages and their fills are shadow.c; the kernel's hot user pages at
 * a CR3 load khot.c; user/supervisor protection (revocation, the user limit)
 * revoke.c.  This file is what invalidates them as the TLB would: CR3 loads,
 * INVLPG, flushes.
 */
#include "traps.h"
#include "isolate.h"
#include "mmio.h"
#include "shadow.h"

/* A user process dropped its whole view (userproc.c's queue overflowed). */
static void view_lost(struct view *v)
{
	struct view *was = sh;
	sh = v;
	view_forget_all();
	sh = was;
}

void mmu_user_view_lost(int slot) { view_lost(&user_views[slot]); }

/* Isolated mode: a process of isolate.c unmapped its view whole (the host's
 * mapping bound; userchild.c says why). */
void mmu_isolated_view_lost(bool user)
{
	view_lost(user ? &user_views[0] : &kernel_view);
	if (!user)
		revoke_forget();
	mmu_stats.user_resets += user;
	mmu_stats.kernel_resets += !user;
}

/* User code's faults come from its own process when there is one: its view. */
bool mmu_fill(u32 lin, int access, bool user, u32 *err)
{
	if (user && views_split())
		sh = user_view;
	bool ok = shadow_fill(lin, access, user, err);
	if (ok && !user && userproc_active() && paging_enabled())
		khot_note(lin);
	sh = &kernel_view;
	return ok;
}

/* Unmap the listed pages `drop` says go, in runs; keep the rest listed. */
static void unmap_where(bool (*drop)(u8 state))
{
	u32 out = 0, run_start = 0, run_len = 0;
	for (u32 i = 0; i < nmapped; i++) {
		u32 p = mapped[i];
		if (shadow[p] == SHADOW_NONE)
			continue;                  /* invalidated since: already unmapped */
		if (!drop(shadow[p])) {
			mapped[out++] = p;
			continue;
		}
		if (run_len && p == run_start + run_len) {
			run_len++;
		} else {
			if (run_len)
				view_munmap((void *)(uintptr_t)(run_start << 12), run_len << 12);
			run_start = p, run_len = 1;
		}
		forget(p);
	}
	if (run_len)
		view_munmap((void *)(uintptr_t)(run_start << 12), run_len << 12);
	nmapped = out;
}

static bool not_global(u8 state) { return !(state & SHADOW_GLOBAL); }

/* Forget the shadow (CR3 load, paging or WP or PSE/PGE changes); a CR3 load with
 * CR4.PGE keeps global pages, as the TLB does. */
static void flush_view(void *keep_global)
{
	if (*(bool *)keep_global && (VCPU->cr[4] & CR4_PGE) && paging_enabled()) {
		unmap_where(not_global);
		return;
	}
	view_forget_all();
	view_munmap((void *)0, SHADOW_END);    /* page 0 too, where lvm may map it */
	if (!sh->remote) {
		revoke_forget();
		if (!paging_enabled())
			mem_map_identity();      /* the user's view fills its pages on demand */
	} else if (sh == &kernel_view && !paging_enabled()) {
		isolate_map_identity();
	}
}

void mmu_flush(bool keep_global)
{
	tlb_flush();
	mmu_stats.flushes++;
	user_top_stale();
	if (!(keep_global && (VCPU->cr[4] & CR4_PGE) && paging_enabled())) {
		ptsnap_reset(snap_of(&kernel_view));
		for (int i = 0; i < ASPACES_MAX; i++)
			if (user_views[i].snap)
				ptsnap_reset(user_views[i].snap);
	}
	all_views(flush_view, &keep_global);
}

/* `mapped` without the pages forgotten since and without repeats, once it holds
 * twice what is live: CR3 loads no longer rebuild it. */
#define LISTED 0x80                       /* a mark while compacting */
static void compact(void *unused)
{
	if (nmapped < 2 * nlive + 1024)
		return;
	u32 out = 0;
	for (u32 i = 0; i < nmapped; i++) {
		u32 p = mapped[i];
		if (shadow[p] == SHADOW_NONE || (shadow[p] & LISTED))
			continue;
		shadow[p] |= LISTED;
		mapped[out++] = p;
	}
	for (u32 i = 0; i < out; i++)
		shadow[mapped[i]] &= ~LISTED;
	nmapped = out;
}

/* A CR3 load: the TLB forgets what is not global, and the CPU translates from the
 * new tables; with paging on the shadow drops only what they translate otherwise
 * (ptsnap.c). */
bool mmu_cr3_refill;

void mmu_cr3_load(void)
{
	tlb_flush();
	if (!paging_enabled() || mmu_cr3_refill) {
		mmu_flush(true);
		return;
	}
	mmu_stats.cr3_loads++;
	user_top_stale();
	/* The user process of this address space, if a recent one: its view is
	 * compared with the tables as they are now, whatever changed while it did
	 * not run; else the least recently used one's, compared the same way. */
	bool fresh = true;
	int slot = userproc_active() ? aspaces_switch(VCPU->cr[3] & ~0xfffu, &fresh) : 0;
	sh = &kernel_view;
	khot_cr3_load(slot, fresh);
	if (views_split()) {
		sh = user_view = &user_views[slot];
		ptsnap_cr3_load(snap_of(sh), drop_stale);
	}
	sh = &kernel_view;
	each_view((void (*)(void *))compact, NULL);
}

struct range { u32 page, n; };

static void invlpg_view(void *a)
{
	struct range *r = a;
	bool any = false, current = sh == &kernel_view || sh == user_view;
	for (u32 p = r->page; p < r->page + r->n; p++) {
		if (!current && !(shadow[p] & SHADOW_GLOBAL))
			continue;                    /* the CR3 load that makes it current checks it */
		any |= shadow[p] != SHADOW_NONE;
		forget(p);
	}
	/* Only what the view has: with paging on, a page of a view is mapped in the
	 * host exactly when its state says so (flushes unmap the whole range).  A
	 * kernel's INVLPG is mostly of a page it never touched (Linux's munmap of an
	 * untouched page, its fixmap slots: the MP table scan maps and unmaps 16
	 * pages per 16 bytes it reads), and a munmap of nothing still costs a host
	 * system call: mmap+munmap of a page 5.6 -> 3.9 us (bench/osab.py). */
	if (any)
		view_munmap((void *)(uintptr_t)(r->page << 12), r->n << 12);
}

void mmu_invlpg(u32 lin)
{
	tlb_flush();
	if (!paging_enabled())
		return;
	mmu_stats.invlpgs++;
	user_top_stale();
	u32 *pde = gpa_ptr((VCPU->cr[3] & ~0xfffu) + (lin >> 22) * 4, 4);
	bool large = pde && (*pde & PTE_P) && (*pde & PDE_PS) && (VCPU->cr[4] & CR4_PSE);
	u32 start = large ? lin & 0xffc00000u : lin & ~0xfffu;
	u32 len = large ? 0x400000 : 0x1000;
	if (start + len > SHADOW_END || start + len < start)
		len = SHADOW_END - start;
	struct range r = { start >> 12, len >> 12 };
	/* Inactive user views lose the global pages only: the TLB keeps those across
	 * CR3 loads, so no comparison would. */
	all_views(invlpg_view, &r);
}

/* A device's loads from its mirror page run natively, or trap from now on: then
 * the mirror's mappings go (mapped again, if native, at the next load's fault). */
void mmu_mirror_reads(u32 gpa, bool native)
{
	mmio_mirror_loads(gpa, native);
	if (!native && !shadow_drop_mirrors())
		mmu_flush(false);
}
