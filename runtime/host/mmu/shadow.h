/* shadow.h: the shadow of the guest's page tables in the host, as mmu/ shares it.
 *
 * Per 4 KiB guest page a state (what is mapped in the host there, with which
 * rights), per view: the kernel's, mapped in the monitor's process, and one per
 * user process (aspaces.c); `sh` is the view being changed.  mmu.c invalidates as
 * the TLB would; khot.c maps the kernel's hot user pages again at a CR3 load;
 * shadow.c fills and unmaps; revoke.c takes kernel-only pages away from CPL 3.
 * Each calls only those after it in that list (revoke.c only this file's state).
 * Nothing outside mmu/ sees this: the rest of the monitor uses mmu.h.
 */
#ifndef LVM_MMU_SHADOW_H
#define LVM_MMU_SHADOW_H
#include "mmu.h"
#include "userproc.h"
#include "isolate.h"

#define SHADOW_END TRAMPOLINE_ADDR        /* the top two pages are the monitor's */

/* What the shadow holds: per 4 KiB page, nothing, rights CPL 3 also has, or rights
 * beyond them (revoked when CPL 3 is entered); SHADOW_GLOBAL marks a global page
 * (CR4.PGE), which a CR3 load keeps.  `mapped` lists the non-empty ones. */
enum { SHADOW_NONE, SHADOW_USER_OK, SHADOW_KERNEL_ONLY, SHADOW_KIND = 3, SHADOW_GLOBAL = 4,
       SHADOW_WRITABLE = 8,         /* mapped writable (else read-only) */
       SHADOW_REVOKED = 16 };       /* KERNEL_ONLY, made PROT_NONE while CPL 3 runs */
/* Two views, when user code runs in a process of its own (userproc.c): the kernel's,
 * mapped here, and the user's, mapped in that process by the operations shadow.c
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
	u16 anchor[(SHADOW_END >> 21) + 1]; /* per 2 MiB: its anchor page + 1, 0: none (anchor.c) */
};
extern struct view kernel_view, user_views[ASPACES_MAX];
extern struct view *user_view;            /* the current address space's */
extern struct view *sh;                   /* the view being changed */
struct ptsnap *snap_of(struct view *v);
#define shadow (sh->st)
#define mapped (sh->mapped)
#define nmapped (sh->nmapped)
#define capmapped (sh->capmapped)
#define nlive (sh->nlive)

/* User code runs in a process of its own, with a view of its own. */
static inline bool views_split(void) { return userproc_active() || isolate_active(); }

/* shadow.c */
void each_view(void (*fn)(void *), void *arg);   /* the kernel's and the current user's */
void all_views(void (*fn)(void *), void *arg);   /* ... and every other user view */
void view_munmap(void *at, u64 len);
void forget(u32 page);                    /* unmapped already: the state goes */
void drop_stale_view(u32 page, u32 n);    /* unmapped, in runs, but global pages */
void drop_stale(u32 page, u32 n);         /* ptsnap's answer for sh */
bool shadow_fill(u32 lin, int access, bool user, u32 *err);
bool shadow_drop_mirrors(void);          /* false: more than it knew; flush */

/* anchor.c: a PROT_NONE page per 2 MiB a view maps into, so that the host keeps
 * its page table there */
void anchor_before_map(u32 page, u32 n);
void anchor_unmap(u32 page, u32 n, void (*unmap)(u32 page, u32 n));
void anchor_forget_all(void);             /* sh was unmapped whole */

/* khot.c: the kernel's touches of user memory, mapped again at a CR3 load */
void khot_note(u32 lin);
void khot_cr3_load(int slot, bool fresh); /* the kernel's view compared, hot pages mapped */

/* revoke.c: user/supervisor protection by revocation, and the user limit */
static inline bool to_revoke(u8 st) { return (st & (SHADOW_KIND | SHADOW_REVOKED)) == SHADOW_KERNEL_ONLY; }
void revoke_account(u32 page, int delta); /* a to_revoke() entry more or less */
bool revoke_give_back(u32 page);          /* a kernel access to a revoked page */
void revoke_forget(void);                 /* the kernel's view was unmapped whole */
void view_forget_all(void);               /* sh's state: nothing mapped (the caller unmapped it) */
void local_view_drop(void);               /* the host's mapping bound: unmap it whole */
void user_top_stale(void);                /* the tables changed: recompute at CPL 3 entry */
#endif
