/* isolate.h: isolated mode, guest code in processes that can make no host system call (isolate.c). */
#ifndef LVM_ISOLATE_H
#define LVM_ISOLATE_H
#include "monitor.h"

extern bool isolate_wanted;              /* -lvm-isolate, LVM_ISOLATE=1 (lvm run --isolate) */
int isolate_start(void);                 /* before the guest runs; -1 with a message */
bool isolate_active(void);
/* Run guest code (either CPL) in its process until it reports an event; never returns. */
__attribute__((noreturn)) void isolate_resume(struct lvm_regs *r);
/* The shadow views' host mappings (mmu.c), applied in the process before it runs. */
void isolate_map(bool user, u64 at, u64 len, int prot, u64 off);
void isolate_unmap(bool user, u64 at, u64 len);
void isolate_map_identity(void);         /* the kernel's view with paging off (memory.c's) */
void isolate_ldt(const void *desc, u32 size);   /* a modify_ldt(0x11) write (hostseg.c) */
/* DS ES FS GS as user code left them at its last event (segments.c); else NULL. */
const u16 *isolate_live_selectors(void);
void isolate_host_event(void);           /* a signal handler noted a host event */
/* entry.c: the monitor entry a call-mode subroutine's far call made, seen from outside. */
__attribute__((noreturn)) void entry_from_outside(struct lvm_regs *r);
#endif
