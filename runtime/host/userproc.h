/* userproc.h: guest user code in a host process of its own (userproc.c). */
#ifndef LVM_USERPROC_H
#define LVM_USERPROC_H
#include <signal.h>
#include "monitor.h"

extern bool userproc_wanted;             /* -lvm-userproc on|off, LVM_USERPROC */
extern uintptr_t userproc_min_addr;      /* vm.mmap_min_addr: the user view cannot map below */
int userproc_start(void);
void userproc_probe_min_addr(void);     /* sets userproc_min_addr */                /* before the guest runs; -1 with a message */
bool userproc_active(void);
bool userproc_is_child(void);
/* The monitor: run CPL 3 there until it reports an event; never returns. */
__attribute__((noreturn)) void userproc_resume(struct lvm_regs *r);
void userproc_left(void);                /* resume() enters guest code here instead */
/* The user view's mappings (mmu.c), applied by the process before it runs again. */
void userproc_map(int slot, u64 at, u64 len, int prot, u64 off);
void userproc_unmap(int slot, u64 at, u64 len);
bool userproc_anchor(int slot, u64 at);    /* a PROT_NONE page (mmu/anchor.c) */
/* One user process per recent address space (aspaces.c): how many, which runs. */
#define ASPACES_MAX 16
extern int aspaces_max;                  /* -lvm-aspaces N, LVM_ASPACES (default 8) */
int userproc_count(void);
void userproc_select(int slot);
int aspaces_count(void);                 /* user views in use (mmu.c) */
int aspaces_switch(u32 page_directory, bool *fresh);  /* its user process, now current;
                                          * fresh: newly given to this directory */
void userproc_ldt(const void *desc, u32 size);   /* a modify_ldt(0x11) write (hostseg.c) */
/* The event a far call to the user system-call gate is (guest_event's sig). */
#define USERPROC_GATE_EVENT 0x100
/* The child's signal handler (signals.c calls it first there). */
int userproc_child_signal(int sig, siginfo_t *si, void *ucv);
/* signals.c, mmu.c, memory.c, switch.S: what the two sides share. */
void signal_entry(int sig, siginfo_t *si, void *ucv);
int signals_route(const int *sigs, unsigned n, int also_masked);
extern u64 resume_live_flags;
#include <ucontext.h>
void regs_to_mcontext(mcontext_t *m, const struct lvm_regs *r);
__attribute__((noreturn)) void guest_event(int sig, siginfo_t *si, mcontext_t *m);
void mmu_user_view_lost(int slot);
void mmu_isolated_view_lost(bool user);   /* isoproc.c: that process unmapped its view */
int memfd_of_guest(void);
/* The live DS ES FS GS of user code at its last event, for sync_user_selectors(). */
const u16 *userproc_live_selectors(void);
#endif
