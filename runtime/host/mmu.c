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
 *
 * User/supervisor protection by revocation: each shadow page remembers whether
 * its host rights exceed what CPL 3 may do (a supervisor page, or one mapped
 * writable for the kernel only); entering CPL 3 unmaps those, and CPL 3 code that
 * touches one faults and gets the guest's #PF.  All of them, wherever they are:
 * CPL 3 also runs with segments cut at the user limit (the lowest address from
 * which the guest's tables give it nothing: userlimit.c, hostseg.c), but user code
 * can reload a segment register with the host's flat selectors 0x23/0x2b, which no
 * limit of ours bounds, so a kernel page left mapped would be the user's to read
 * and write.  Correct, and costly: the kernel faults its pages back in after
 * every return to user mode (protection keys would be the fast way; this
 * machine's CPU has none; a host process per address space and privilege level
 * is the other).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "traps.h"
#include "mmu.h"
#include "mmio.h"
#include "userproc.h"
#include "isolate.h"

#define SHADOW_END TRAMPOLINE_ADDR        /* the top two pages are the monitor's */

int memfd_of_guest(void);

static u32 *realloc_array(u32 *p, u32 n)
{
	fpu_protect();                       /* libc code below */
	p = realloc(p, n * sizeof *p);
	if (!p)
		host_bug("out of memory for the shadow page list");
	return p;
}

/* What the shadow holds: per 4 KiB page, nothing, rights CPL 3 also has, or rights
 * beyond them (revoked when CPL 3 is entered); SHADOW_GLOBAL marks a global page
 * (CR4.PGE), which a CR3 load keeps.  `mapped` lists the non-empty ones. */
enum { SHADOW_NONE, SHADOW_USER_OK, SHADOW_KERNEL_ONLY, SHADOW_KIND = 3, SHADOW_GLOBAL = 4,
       SHADOW_WRITABLE = 8,         /* mapped writable (else read-only) */
       SHADOW_REVOKED = 16 };       /* KERNEL_ONLY, made PROT_NONE while CPL 3 runs */
/* Two views, when user code runs in a process of its own (userproc.c): the kernel's,
 * mapped here, and the user's, mapped in that process by the operations this file
 * queues for it (`remote`).  Every invalidation applies to both; a fill goes to the
 * view of the code that faulted.  `sh` is the view being changed; the names below
 * are its fields.  There is a user process, and a user view, per recent guest
 * address space (aspaces.c): `user_view` is the current one's; the others keep
 * their mappings, and their page-table snapshots (ptsnap.c) vouch for them when a
 * CR3 load makes one current again. */
struct view {
	u8 st[1u << 20];
	u32 *mapped, nmapped, capmapped;
	u32 nlive;                         /* entries of st[] not NONE (mapped may repeat) */
	bool remote;
	struct ptsnap *snap;               /* what its pages were made from */
};
static struct view kernel_view, user_views[ASPACES_MAX];   /* 1 MiB each, in .bss */
static struct view *user_view = &user_views[0];
static struct view *sh = &kernel_view;

__attribute__((constructor)) static void views_init(void)
{
	for (int i = 0; i < ASPACES_MAX; i++)
		user_views[i].remote = true;
}

static struct ptsnap *snap_of(struct view *v)
{
	if (!v->snap)
		v->snap = ptsnap_new();
	return v->snap;
}
#define shadow (sh->st)
#define mapped (sh->mapped)
#define nmapped (sh->nmapped)
#define capmapped (sh->capmapped)
#define nlive (sh->nlive)
struct mmu_stats mmu_stats;

/* Host mapping calls on the view being changed. */
static void *view_mmap(void *at, u64 len, int prot, u64 off)
{
	if (!sh->remote)
		return mmap(at, len, prot, MAP_SHARED | MAP_FIXED, memfd_of_guest(), off);
	if ((uintptr_t)at < userproc_min_addr) {
		errno = EPERM;
		return MAP_FAILED;
	}
	if (isolate_active())
		isolate_map(sh != &kernel_view, (uintptr_t)at, len, prot, off);
	else
		userproc_map((int)(sh - user_views), (uintptr_t)at, len, prot, off);
	return at;
}

static void view_munmap(void *at, u64 len)
{
	if (sh->remote && isolate_active())
		isolate_unmap(sh != &kernel_view, (uintptr_t)at, len);
	else if (sh->remote)
		userproc_unmap((int)(sh - user_views), (uintptr_t)at, len);
	else
		munmap(at, len);
}

/* User code runs in a process of its own, with a view of its own. */
static bool views_split(void) { return userproc_active() || isolate_active(); }

/* Isolated mode: the kernel's view is a process's too (isolate.c). */
void mmu_kernel_view_remote(void) { kernel_view.remote = true; }

/* Run fn on the kernel's view and the current user view (the user's only while it
 * exists); all_views: on every user view too. */
static void each_view(void (*fn)(void *), void *arg)
{
	struct view *was = sh;
	sh = &kernel_view;
	fn(arg);
	if (views_split()) {
		sh = user_view;
		fn(arg);
	}
	sh = was;
}

static void all_views(void (*fn)(void *), void *arg)
{
	struct view *was = sh;
	sh = &kernel_view;
	fn(arg);
	for (int i = 0; views_split() && i < aspaces_count(); i++) {
		sh = &user_views[i];
		fn(arg);
	}
	sh = was;
}
static u32 revocable;                      /* how many KERNEL_ONLY entries not REVOKED */
static bool to_revoke(u8 st) { return (st & (SHADOW_KIND | SHADOW_REVOKED)) == SHADOW_KERNEL_ONLY; }
static bool unrevoke(u32 page);            /* revocation: below the shadow's fill and flush */
/* The user limit, in pages: nothing at or above it is user-accessible in the
 * guest's tables (as of the last flush); CPL 3 runs with segments ending there
 * (userlimit.c: exact #PF for what user code reaches beyond it without a fault of
 * the host).  With paging on at most the entry stub's page (USER_TOP_MAX).
 * 1 << 20 (4 GiB, flat) with paging off. */
static u32 user_top = 1u << 20;
static bool user_top_valid;

/* Trusted user code (-trusted-user): with the kernel above the user limit, its
 * pages stay mapped while CPL 3 runs and only the segment limits guard them
 * (hostseg.c), which a user program that loads the host's flat selector 0x2b
 * escapes.  Kernel-only pages below the limit are still revoked. */
bool mmu_trust_user;
static u32 revocable_low;                   /* the revocable ones below user_top */

static void account(u32 page, int delta)
{
	revocable += delta;
	if (page < user_top)
		revocable_low += delta;
}

static void remember(u32 page, u8 state)
{
	if (shadow[page] == SHADOW_NONE) {
		nlive++;
		if (nmapped == capmapped) {
			capmapped = capmapped ? 2 * capmapped : 4096;
			mapped = realloc_array(mapped, capmapped);
		}
		mapped[nmapped++] = page;
	}
	if (to_revoke(shadow[page]))
		account(page, -1);
	if (to_revoke(state))
		account(page, 1);
	shadow[page] = state;
}

/* The page is unmapped already: forget it (it stays in `mapped`, which skips NONE). */
static void forget(u32 page)
{
	if (shadow[page] == SHADOW_NONE)
		return;
	if (to_revoke(shadow[page]))
		account(page, -1);
	shadow[page] = SHADOW_NONE;
	nlive--;
}

/* ptsnap.c found pages [page, page + n) stale: unmap them, in runs, but global
 * ones (the TLB keeps those across a CR3 load) and lvm's own top pages. */
static void drop_stale_view(u32 page, u32 n)
{
	u32 end = page + n < SHADOW_END >> 12 ? page + n : SHADOW_END >> 12;
	while (page < end) {
		if (shadow[page] == SHADOW_NONE || (shadow[page] & SHADOW_GLOBAL)) {
			page++;
			continue;
		}
		u32 run = page;
		while (run < end && shadow[run] != SHADOW_NONE && !(shadow[run] & SHADOW_GLOBAL))
			forget(run++);
		view_munmap((void *)(uintptr_t)(page << 12), (run - page) << 12);
		mmu_stats.dropped += run - page;
		page = run;
	}
}

struct range { u32 page, n; };
/* ptsnap's answer, for the view it compared (sh). */
static void drop_stale(u32 page, u32 n)
{
	drop_stale_view(page, n);
}

/* Map a shadow page; false for a page below vm.mmap_min_addr, which the host does
 * not let an unprivileged process map: the caller emulates what touches it. */
static bool map_run(u32 lin, u32 file_off, u32 pages, int prot)
{
	void *at = (void *)(uintptr_t)(lin & ~0xfffu);
	if (view_mmap(at, pages << 12, prot, file_off) == at)
		return true;
	if (errno == EPERM && lin < 0x10000)
		return false;
	host_bug("shadow mapping of %#x: %m", lin);
}

/* Fault-around: the neighbours of a page being filled, in the same page table, that
 * the guest has already used (A set: we set no Accessed bit the CPU would not),
 * that map the next physical pages with the same rights, go into the same mmap.
 * Host mappings of a run cost little more than one page's (one VMA; the host
 * maps its pages together on the first touch), so a kernel's direct map or a
 * process whose frames are contiguous refills a flushed shadow in a few faults. */
#define AROUND 15

static bool neighbour_ok(u32 page, u32 gpa, bool writable, bool user_ok, bool global)
{
	u32 ngpa, f;
	if (shadow[page] != SHADOW_NONE || page << 12 >= SHADOW_END || page < 0x10 ||
	    !mmu_peek(page << 12, &ngpa, &f) || ngpa != gpa || !(f & PTE_A) ||
	    !gpa_ptr(gpa, 0x1000) || mmio_is_rom(gpa))
		return false;
	bool n_user_ok = (f & PTE_U) && (!writable || (f & PTE_W));
	bool n_global = (f & PTE_G) && (VCPU->cr[4] & CR4_PGE);
	if (n_user_ok != user_ok || n_global != global)
		return false;
	if (!writable)
		return true;
	bool w = user_ok ? (f & PTE_W) : ((f & PTE_W) || !(VCPU->cr[0] & CR0_WP));
	return w && (f & PTE_D);
}

static void fault_around(u32 lin, u32 gpa, bool writable, bool user_ok, bool global,
			 u32 *first, u32 *last)
{
	u32 page = lin >> 12, base = gpa & ~0xfffu, pt = page >> 10;
	while (*last < page + AROUND && (*last + 1) >> 10 == pt &&
	       neighbour_ok(*last + 1, base + (*last + 1 - page) * 0x1000, writable, user_ok, global))
		(*last)++;
	while (*first > page - AROUND && *first > 1 && (*first - 1) >> 10 == pt &&
	       base >= (page - *first + 1) * 0x1000 &&
	       neighbour_ok(*first - 1, base - (page - *first + 1) * 0x1000, writable, user_ok, global))
		(*first)--;
}

/* Where mirrors were mapped since loads last went native (linear pages): a kernel
 * maps its APIC page at one or two addresses; a page flushed since costs nothing to
 * unmap again, and more than MIRROR_PAGES of them make a full flush. */
#define MIRROR_PAGES 8
static u32 mirror_pages[MIRROR_PAGES], nmirror;

/* A host page fault at `lin` in guest code: map the page if the guest's tables
 * allow the access, else it is the guest's #PF (returns false, *err set).  A device
 * page (or a store to ROM) returns false with ERR_DEVICE: the caller emulates the
 * instruction.  Loads from a device page with a mirror map the mirror. */
static bool fill(u32 lin, int access, bool user, u32 *err)
{
	if (lin >= SHADOW_END) {
		/* lvm's pages (the stub's: a store; or the vCPU page with paging off):
		 * the guest's #PF if its tables say so, else nothing we can map. */
		u32 gpa;
		bool w;
		if (!paging_enabled() || mmu_walk(lin, access, user, &gpa, &w, err))
			*err = ERR_MONITOR_PAGE;
		return false;
	}
	if (!user && unrevoke(lin >> 12))
		return true;
	u32 gpa = lin;
	bool writable = true, write = access == MMU_WRITE;
	mmu_global_leaf = false;
	if (paging_enabled() &&
	    !mmu_walk(lin, access, user, &gpa, &writable, err))
		return false;
	u32 file_off = gpa & ~0xfffu;
	if (!gpa_ptr(file_off, 0x1000)) {
		file_off = access == MMU_READ ? mmio_mirror(gpa) : 0;
		if (!file_off) {
			*err = mmio_present(gpa) ? ERR_DEVICE : ERR_NO_RAM;
			return false;
		}
		writable = false;
		mmu_stats.mirror_fills++;
		mirror_pages[nmirror++ % MIRROR_PAGES] = lin >> 12;
	} else if (mmio_is_rom(gpa)) {
		if (write) {
			*err = ERR_DEVICE;
			return false;
		}
		writable = false;
	}
	int prot = PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0);
	/* Would CPL 3 have these rights?  Walk again as user, without side effects on
	 * A/D (they are set already). */
	u32 ugpa, uerr;
	bool uwritable = false, user_ok = user || !paging_enabled(), global = mmu_global_leaf;
	if (!user_ok)
		user_ok = mmu_walk(lin, writable ? MMU_WRITE : MMU_READ, true, &ugpa, &uwritable, &uerr);
	u32 first = lin >> 12, last = first;
	if (paging_enabled() && file_off == (gpa & ~0xfffu) && !mmio_is_rom(gpa))
		fault_around(lin, gpa, writable, user_ok, global, &first, &last);
	u32 start = (lin & ~0xfffu) - ((lin >> 12) - first) * 0x1000;
	if (!map_run(start, file_off - ((lin >> 12) - first) * 0x1000, last - first + 1, prot)) {
		*err = access == MMU_FETCH ? ERR_LOW_PAGE : ERR_DEVICE;
		return false;                    /* data: emulated like a device access */
	}
	for (u32 page = first; page <= last; page++)
		remember(page, (user_ok ? SHADOW_USER_OK : SHADOW_KERNEL_ONLY) |
			 (global ? SHADOW_GLOBAL : 0) | (writable ? SHADOW_WRITABLE : 0));
	if (paging_enabled())
		ptsnap_filled(snap_of(sh), first, last, drop_stale);
	mmu_stats.fills++;
	mmu_stats.around += last - first;
	return true;
}

/* The kernel's touches of user memory after a switch (a system call's arguments
 * read with get_user, a futex word, copy_to_user): the kernel's view is one for
 * every address space, so a CR3 load drops the old space's user pages from it, and
 * the kernel's next touch of each would be a host fault and a fill.  So, per user
 * process, the user pages the kernel's view had to fill while its space was
 * current are remembered (the last KHOT), and the CR3 load that makes the space
 * current again maps those of them that its comparison drops and whose entries are
 * present and accessed already (the mapping then sets no bit the guest could see)
 * over the stale mapping: one mmap where a host fault, a munmap and an mmap were. */
#define KHOT 4
static u32 khot[ASPACES_MAX][KHOT];        /* pages; 0: none (page 0 never qualifies) */
static u8 khot_next[ASPACES_MAX];
static int khot_slot = -1;                 /* the space a CR3 load is making current */
static u32 khot_redo[KHOT], nredo;

static void khot_note(u32 lin)
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
		if (fill(p << 12, MMU_READ, false, &err))
			mmu_stats.kernel_refills++;
		else
			view_munmap((void *)(uintptr_t)(p << 12), 0x1000);
	}
	nredo = 0;
	khot_slot = -1;
}

/* A user process dropped its whole view (userproc.c's queue overflowed). */
void mmu_user_view_lost(int slot)
{
	struct view *was = sh;
	sh = &user_views[slot];
	for (u32 i = 0; i < nmapped; i++)
		shadow[mapped[i]] = SHADOW_NONE;
	nmapped = nlive = 0;
	sh = was;
}

/* User code's faults come from its own process when there is one: its view. */
bool mmu_fill(u32 lin, int access, bool user, u32 *err)
{
	if (user && views_split())
		sh = user_view;
	bool ok = fill(lin, access, user, err);
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
	for (u32 i = 0; i < nmapped; i++)
		shadow[mapped[i]] = SHADOW_NONE;
	nmapped = nlive = 0;
	view_munmap((void *)0, SHADOW_END);    /* page 0 too, where lvm may map it */
	if (!sh->remote) {
		revocable = revocable_low = 0;
		if (!paging_enabled())
			mem_map_identity();      /* the user's view fills its pages on demand */
	} else if (sh == &kernel_view && !paging_enabled()) {
		isolate_map_identity();
	}
}

void mmu_flush(bool keep_global)
{
	mmu_stats.flushes++;
	user_top_valid = false;
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
	if (!paging_enabled() || mmu_cr3_refill) {
		mmu_flush(true);
		return;
	}
	mmu_stats.cr3_loads++;
	user_top_valid = false;
	/* The user process of this address space, if a recent one: its view is
	 * compared with the tables as they are now, whatever changed while it did
	 * not run; else the least recently used one's, compared the same way. */
	bool fresh = true;
	int slot = userproc_active() ? aspaces_switch(VCPU->cr[3] & ~0xfffu, &fresh) : 0;
	sh = &kernel_view;
	if (userproc_active() && fresh)
		memset(khot[slot], 0, sizeof khot[slot]);
	khot_slot = userproc_active() && !fresh ? slot : -1;
	ptsnap_cr3_load(snap_of(sh), drop_stale_kernel);
	khot_refill();
	if (views_split()) {
		sh = user_view = &user_views[slot];
		ptsnap_cr3_load(snap_of(sh), drop_stale);
	}
	sh = &kernel_view;
	each_view((void (*)(void *))compact, NULL);
}

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
	if (any || (!sh->remote && current)) /* the user's: only what it has */
		view_munmap((void *)(uintptr_t)(r->page << 12), r->n << 12);
}

void mmu_invlpg(u32 lin)
{
	if (!paging_enabled())
		return;
	mmu_stats.invlpgs++;
	user_top_valid = false;
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

static void mirrors_view(void *unused)
{
	for (u32 i = 0; i < nmirror; i++) {
		u32 p = mirror_pages[i];
		if (shadow[p] == SHADOW_NONE)
			continue;
		view_munmap((void *)(uintptr_t)(p << 12), 0x1000);
		forget(p);
	}
}

void mmu_mirror_reads(u32 gpa, bool native)
{
	mmio_mirror_loads(gpa, native);
	if (native)
		return;                          /* mapped again at the next load's fault */
	if (nmirror > MIRROR_PAGES) {            /* more than it remembers: all of them */
		mmu_flush(false);
		nmirror = 0;
		return;
	}
	all_views(mirrors_view, NULL);
	nmirror = 0;
}

/* With paging on, the user limit never reaches the top two pages, the vCPU page and
 * the monitor's entry stub: CPL 3 must not touch them whatever the guest's tables
 * say.  With paging off there is no limit (user code there can overwrite its whole
 * kernel anyway), so user code sees the host's flat selectors, as the guest set them. */
#define USER_TOP_MAX (TRAMPOLINE_ADDR >> 12)

static u32 compute_user_top(void)
{
	if (!paging_enabled())
		return 1u << 20;
	u32 top = mmu_scan_user_top();
	return top < USER_TOP_MAX ? top : USER_TOP_MAX;
}


/* Without -trusted-user the limit guards nothing (every kernel-only page is revoked
 * at CPL 3, and a user access to one is the fault a walk as user gives): it may
 * stand above the tables' last user page, and does, at the next 4 MiB, so that a
 * growing process does not change the host's LDT (~5 us) at every page. */
#define COARSE_TOP 1024u

static void set_user_top(u32 top)
{
	if (!mmu_trust_user && top < USER_TOP_MAX) {
		top = (top + COARSE_TOP - 1) / COARSE_TOP * COARSE_TOP;
		if (top > USER_TOP_MAX)
			top = USER_TOP_MAX;
	}
	if (top == 0)
		top = 1;                                 /* a segment reaches at least a byte */
	if (mmu_trust_user && top != user_top) {
		revocable_low = 0;
		for (u32 i = 0; i < nmapped; i++)
			revocable_low += mapped[i] < top && to_revoke(shadow[mapped[i]]);
	}
	user_top = top;
	user_top_valid = true;
	hostseg_set_user_limit(top == 1u << 20 ? 0xffffffffu : (top << 12) - 1);
}

u32 mmu_user_top(void) { return user_top; }

/* The user limit is stale: a CPL 3 access the limit stopped is allowed after all. */
void mmu_user_top_stale(void)
{
	set_user_top(compute_user_top());
}

/* Revocation.  Entering CPL 3 makes every kernel-only page PROT_NONE, one mprotect
 * per run of them, rather than unmapping it: giving it back is then an mprotect
 * too, with no walk and no mmap.  A kernel access to a revoked page gives back its
 * aligned block of HOT_BLOCK pages and notes the block as hot; the hot blocks are
 * given back as soon as the kernel is entered again (it will most likely touch
 * them again, and each fault would cost a host signal).  The hot set is what the
 * kernel faulted on, not what it was given: it is forgotten every HOT_EPOCH
 * kernel entries and rebuilt from faults, so it follows the kernel's working set
 * instead of growing to everything it ever touched (a Linux system call went from
 * ~400 us to ~155 us when the set stopped growing: bench/linux.py). */
#define HOT_MAX 48
#define HOT_BLOCK 8
#define HOT_EPOCH 512
static u32 hot[HOT_MAX];                 /* first page of each hot block */
static u32 nhot, entries;

static void protect(u32 page, u32 len, int prot)
{
	if (mprotect((void *)(uintptr_t)(page << 12), len << 12, prot) < 0)
		host_bug("mprotect of the shadow at %#x: %m", page << 12);
}

static void revoke_run(u32 page, u32 len)
{
	protect(page, len, PROT_NONE);
	for (u32 p = page; p < page + len; p++)
		shadow[p] |= SHADOW_REVOKED;
}

/* Give back the revoked pages in [page, page + len), in runs of equal rights. */
static void restore(u32 page, u32 len)
{
	for (u32 end = page + len; page < end; ) {
		u8 st = shadow[page] & (SHADOW_REVOKED | SHADOW_WRITABLE), n = 1;
		if (!(st & SHADOW_REVOKED)) {
			page++;
			continue;
		}
		while (page + n < end && n < 255 &&
		       (shadow[page + n] & (SHADOW_REVOKED | SHADOW_WRITABLE)) == st)
			n++;
		protect(page, n, PROT_READ | PROT_EXEC | (st & SHADOW_WRITABLE ? PROT_WRITE : 0));
		for (u32 p = page; p < page + n; p++) {
			shadow[p] &= ~SHADOW_REVOKED;
			account(p, 1);
		}
		page += n;
	}
}

/* A kernel access to a revoked page: give back its run (true), or not revoked. */
static bool unrevoke(u32 page)
{
	if (!(shadow[page] & SHADOW_REVOKED))
		return false;
	u32 first = page & ~(HOT_BLOCK - 1u);
	u32 len = first + HOT_BLOCK <= SHADOW_END >> 12 ? HOT_BLOCK : (SHADOW_END >> 12) - first;
	restore(first, len);
	if (nhot < HOT_MAX)
		hot[nhot++] = first;
	mmu_stats.unrevoked++;
	return true;
}

/* CPL 3 is about to run: take away what only the kernel may touch. */
void mmu_enter_user(void)
{
	if (views_split()) {                 /* user code runs elsewhere: nothing to revoke */
		if (!user_top_valid)
			set_user_top(compute_user_top());
		return;
	}
	if (!paging_enabled()) {
		if (user_top != 1u << 20)
			set_user_top(1u << 20);
		return;
	}
	if (!user_top_valid)
		set_user_top(compute_user_top());
	bool low_only = mmu_trust_user && user_top != 1u << 20;
	if (!(low_only ? revocable_low : revocable))
		return;
	mmu_stats.revoked += low_only ? revocable_low : revocable;
	u32 start = 0, len = 0;
	for (u32 i = 0; i < nmapped; i++) {
		u32 p = mapped[i];
		if (!to_revoke(shadow[p]) || (low_only && p >= user_top))
			continue;                      /* user pages, revoked, or a duplicate */
		if (len && p == start + len) {
			len++;
			continue;
		}
		if (len)
			revoke_run(start, len);
		start = p, len = 1;
	}
	if (len)
		revoke_run(start, len);
	if (low_only)
		revocable -= revocable_low;
	else
		revocable = 0;
	revocable_low = 0;
}

/* The kernel is entered from CPL 3: give back what it used last time. */
void mmu_leave_user(void)
{
	if (views_split())
		return;
	if (++entries % HOT_EPOCH == 0) {
		nhot = 0;                      /* rebuilt from the faults that follow */
		return;
	}
	for (u32 i = 0; i < nhot; i++)
		restore(hot[i], HOT_BLOCK <= (SHADOW_END >> 12) - hot[i] ? HOT_BLOCK : (SHADOW_END >> 12) - hot[i]);
}
