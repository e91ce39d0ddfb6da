/* revoke.c: user/supervisor protection by revocation, and the user limit.
 *
 * Each shadow page remembers whether its host rights exceed what CPL 3 may do (a
 * supervisor page, or one mapped writable for the kernel only); entering CPL 3
 * takes those away, and CPL 3 code that
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
#include <errno.h>
#include <sys/mman.h>
#include "traps.h"
#include "shadow.h"

static u32 revocable;                      /* how many KERNEL_ONLY entries not REVOKED */
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

void revoke_account(u32 page, int delta)
{
	revocable += delta;
	if (page < user_top)
		revocable_low += delta;
}


/* The kernel's view was unmapped whole: nothing is left to revoke. */
void revoke_forget(void)
{
	revocable = revocable_low = 0;
}

/* The monitor's own view at the host's bound on a process's mappings
 * (vm.max_map_count, 65,530 by default; userchild.c says how a user process meets
 * it): an mmap fails with ENOMEM there, and so do an mprotect and a munmap that
 * would split a mapping (revocation's, a stale page's).  The view goes whole
 * (unmapping everything splits nothing) and refills on demand; a caller in the
 * middle of a walk over its pages finds them forgotten already.  Here, the lowest
 * of mmu/'s files, because revocation meets the bound too. */
void view_forget_all(void)
{
	for (u32 i = 0; i < nmapped; i++)
		shadow[mapped[i]] = SHADOW_NONE;
	nmapped = nlive = 0;
	anchor_forget_all();
}

void local_view_drop(void)
{
	view_forget_all();
	munmap((void *)0, SHADOW_END);
	revoke_forget();
	if (!paging_enabled())
		mem_map_identity();
	mmu_stats.kernel_resets++;
}

void user_top_stale(void)
{
	user_top_valid = false;
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

/* False: the host's mapping bound was met and the view is gone (local_view_drop). */
static bool protect(u32 page, u32 len, int prot)
{
	if (mprotect((void *)(uintptr_t)(page << 12), len << 12, prot) == 0)
		return true;
	if (errno != ENOMEM)
		host_bug("mprotect of the shadow at %#x: %m", page << 12);
	local_view_drop();
	return false;
}

static bool revoke_run(u32 page, u32 len)
{
	if (!protect(page, len, PROT_NONE))
		return false;
	for (u32 p = page; p < page + len; p++)
		shadow[p] |= SHADOW_REVOKED;
	return true;
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
		if (!protect(page, n, PROT_READ | PROT_EXEC | (st & SHADOW_WRITABLE ? PROT_WRITE : 0)))
			return;                        /* nothing is mapped any more */
		for (u32 p = page; p < page + n; p++) {
			shadow[p] &= ~SHADOW_REVOKED;
			revoke_account(p, 1);
		}
		page += n;
	}
}

/* A kernel access to a revoked page: give back its run (true), or not revoked. */
bool revoke_give_back(u32 page)
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
		if (len && !revoke_run(start, len))
			return;                        /* the view went whole: nothing to revoke */
		start = p, len = 1;
	}
	if (len && !revoke_run(start, len))
		return;
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
