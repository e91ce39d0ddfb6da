/* shadow.c: the shadow's pages, filled when guest code faults and unmapped in runs.
 *
 * A host page fault in guest code walks the guest's tables (pagewalk.c) and maps
 * the memfd page at the faulting linear address, in the view of the code that
 * faulted (the kernel's here, a user process's by its queue), with the rights the
 * walk gives, writable only once the guest's D bit is set, together with the
 * neighbours the guest has used already (fault-around).  A device page maps its
 * mirror for loads, or is emulated.  What each view holds is its state array and
 * `mapped` list (shadow.h); what invalidates them is mmu.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "traps.h"
#include "mmio.h"
#include "isolate.h"
#include "shadow.h"

static u32 *realloc_array(u32 *p, u32 n)
{
	fpu_protect();                       /* libc code below */
	p = realloc(p, n * sizeof *p);
	if (!p)
		host_bug("out of memory for the shadow page list");
	return p;
}

struct view kernel_view, user_views[ASPACES_MAX];   /* 1 MiB each, in .bss */
struct view *user_view = &user_views[0];
struct view *sh = &kernel_view;

__attribute__((constructor)) static void views_init(void)
{
	for (int i = 0; i < ASPACES_MAX; i++)
		user_views[i].remote = true;
}

struct ptsnap *snap_of(struct view *v)
{
	if (!v->snap)
		v->snap = ptsnap_new();
	return v->snap;
}
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


static void host_unmap(u32 page, u32 n)
{
	void *at = (void *)(uintptr_t)(page << 12);
	u64 len = (u64)n << 12;
	if (sh->remote && isolate_active())
		isolate_unmap(sh != &kernel_view, (uintptr_t)at, len);
	else if (sh->remote)
		userproc_unmap((int)(sh - user_views), (uintptr_t)at, len);
	else if (munmap(at, len) < 0 && errno == ENOMEM)
		local_view_drop();
}

void view_munmap(void *at, u64 len)
{
	anchor_unmap((u32)((uintptr_t)at >> 12), (u32)(len >> 12), host_unmap);
}

/* Isolated mode: the kernel's view is a process's too (isolate.c). */
void mmu_kernel_view_remote(void) { kernel_view.remote = true; }

/* Run fn on the kernel's view and the current user view (the user's only while it
 * exists); all_views: on every user view too. */
void each_view(void (*fn)(void *), void *arg)
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


void all_views(void (*fn)(void *), void *arg)
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
		revoke_account(page, -1);
	if (to_revoke(state))
		revoke_account(page, 1);
	shadow[page] = state;
}


/* The page is unmapped already: forget it (it stays in `mapped`, which skips NONE). */
void forget(u32 page)
{
	if (shadow[page] == SHADOW_NONE)
		return;
	if (to_revoke(shadow[page]))
		revoke_account(page, -1);
	shadow[page] = SHADOW_NONE;
	nlive--;
}

/* ptsnap.c found pages [page, page + n) stale: unmap them, but global ones (the
 * TLB keeps those across a CR3 load) and lvm's own top pages.  One unmapping per
 * stretch between kept pages, holes included (nothing of this view is mapped
 * there): a dropped 4 MiB region was a host call per run of pages, and in a user
 * process each is a queued operation on the way back to user code. */
void drop_stale_view(u32 page, u32 n)
{
	u32 end = page + n < SHADOW_END >> 12 ? page + n : SHADOW_END >> 12;
	u32 from = 0, to = 0;                    /* the stretch to unmap, if to > from */
	for (u32 p = page; p < end; p++) {
		if (shadow[p] == SHADOW_NONE)
			continue;
		if (shadow[p] & SHADOW_GLOBAL) {
			if (to > from)
				view_munmap((void *)(uintptr_t)(from << 12), (to - from) << 12);
			from = to = 0;
			continue;
		}
		forget(p);
		mmu_stats.dropped++;
		if (to <= from)
			from = p;
		to = p + 1;
	}
	if (to > from)
		view_munmap((void *)(uintptr_t)(from << 12), (to - from) << 12);
}


/* ptsnap's answer, for the view it compared (sh). */
void drop_stale(u32 page, u32 n)
{
	drop_stale_view(page, n);
}

/* Map a shadow page; false for a page below vm.mmap_min_addr, which the host does
 * not let an unprivileged process map: the caller emulates what touches it. */
static bool map_run(u32 lin, u32 file_off, u32 pages, int prot)
{
	void *at = (void *)(uintptr_t)(lin & ~0xfffu);
	anchor_before_map(lin >> 12, pages);
	if (view_mmap(at, pages << 12, prot, file_off) == at)
		return true;
	if (errno == ENOMEM && !sh->remote) {
		local_view_drop();
		if (view_mmap(at, pages << 12, prot, file_off) == at)
			return true;
	}
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
bool shadow_fill(u32 lin, int access, bool user, u32 *err)
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
	if (!user && revoke_give_back(lin >> 12))
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
		ptsnap_filled(snap_of(sh), first, last, global, drop_stale);
	mmu_stats.fills++;
	mmu_stats.around += last - first;
	return true;
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

/* The mirrors mapped since loads last went native, unmapped in every view; false
 * if there were more than it remembers (the caller then flushes everything). */
bool shadow_drop_mirrors(void)
{
	bool known = nmirror <= MIRROR_PAGES;
	if (known)
		all_views(mirrors_view, NULL);
	nmirror = 0;
	return known;
}
