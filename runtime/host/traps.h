/* traps.h: exceptions, interrupts and the segment helpers they need. */
#ifndef LVM_TRAPS_H
#define LVM_TRAPS_H
#include "monitor.h"

enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
	EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
	EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
	NO_ERROR_CODE = -1,
};

/* traps.c: deliver through the guest's IDT and resume it; never return. */
void raise_fault(struct lvm_regs *r, int vector, int error_code) __attribute__((noreturn));
void raise_interrupt(struct lvm_regs *r, int vector, bool software) __attribute__((noreturn));
/* Deliver without resuming: r becomes the state at the handler's first instruction. */
void traps_resumed(void);
void deliver(struct lvm_regs *r, int vector, int error_code, bool software);
u32 guest_eflags(const struct lvm_regs *r);
void set_guest_eflags(struct lvm_regs *r, u32 value, u32 writable);

/* entry.c: __lvm_emulate's entry on a based stack (a hlt) */
bool emulate_entry_by_trap(struct lvm_regs *r);
/* A far call to the user system-call gate (entry.c), r as it left it: its sysenter. */
__attribute__((noreturn)) void user_gate_called(struct lvm_regs *r);
/* r from user code (CPL 3): its live EFLAGS bits and selectors are the guest's. */
void user_flags_saved(const struct lvm_regs *r);

/* singlestep.c: TF through rewritten instructions (one #DB per guest instruction) */
bool singlestep_hidden(struct lvm_regs *r);
void singlestep_after_emulation(void);
void singlestep_resume(struct lvm_regs *r);
void singlestep_delivering(struct lvm_regs *r);
bool singlestep_in_guest_code(const struct lvm_regs *r);

/* segments.c */
bool read_descriptor(u16 sel, u64 *d, u32 *where);
void segment_from_descriptor(struct segment *s, u16 sel, u64 d);
void load_segment(struct lvm_regs *r, int sreg, u16 sel);
void set_cs(u16 sel, u64 d, u32 cpl);
void far_transfer(struct lvm_regs *r, u16 sel, u32 off);
u64 return_descriptor(struct lvm_regs *r, u16 sel);
void null_inaccessible_segments(void);
void load_system_segment(struct lvm_regs *r, int which, u16 sel);
bool descriptor_visible(u16 sel, u64 *d, int what);
void check_host_visible_selectors(void);
bool repair_host_selectors(struct lvm_regs *r);   /* user code loaded 0x7b itself */
void sync_user_selectors(void);                   /* ...or a selector it read earlier */

/* hostseg.c: the host selectors that make guest segments work natively */
void hostseg_update(int sreg);
u16 hostseg_guest_selector(u16 sel);   /* a host slot's selector, as user code saw it */
void hostseg_cpl_changed(void);
void hostseg_set_user_limit(u32 last);           /* 0xffffffff: none */
u32 hostseg_user_limit(void);
u32 hostseg_base(u16 sel);               /* the base a host selector loads */
extern u16 host_sel[6], host_user_cs;
extern u64 host_fsbase;
int hostseg_init(void);
#endif
