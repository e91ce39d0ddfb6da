/* emulate.h: what the instruction emulators (emulate.c, io.c, system.c) share. */
#ifndef LVM_EMULATE_H
#define LVM_EMULATE_H
#include "insn.h"
#include "traps.h"

/* Guest memory through a segment, with the limit check; faults do not return. */
u32 mem_read(struct lvm_regs *r, int seg, u32 off, int size);
void mem_write(struct lvm_regs *r, int seg, u32 off, u32 v, int size);
void mem_check_write(struct lvm_regs *r, int seg, u32 off, int size);
void push(struct lvm_regs *r, u32 v, int size);
u32 pop(struct lvm_regs *r, int size);
u32 iopl(void);
void require_cpl0(struct lvm_regs *r);

/* r/m operand of a decoded instruction (register or memory). */
u32 rm_read(struct lvm_regs *r, const struct insn *in, int size);
void rm_write(struct lvm_regs *r, const struct insn *in, u32 v, int size);

/* io.c */
bool emulate_io(struct lvm_regs *r, const struct insn *in);
/* system.c: descriptor tables, control/debug registers, MSRs, cpuid */
bool emulate_system(struct lvm_regs *r, const struct insn *in);
/* flow.c: far transfers, iret, int n, sysenter/sysexit */
bool emulate_flow(struct lvm_regs *r, const struct insn *in);
#endif
