/* insn.h: one decoded IA-32 instruction, as decode.c leaves it for emulate.c. */
#ifndef LVM_INSN_H
#define LVM_INSN_H
#include "monitor.h"

struct insn {
	u32 eip;            /* offset of the first byte (CS-relative) */
	u8 len;
	u8 bytes[15];
	bool opsize16;      /* operand size is 16 (0x66 in 32-bit code) */
	bool addr16;        /* address size is 16 */
	bool lock, rep, repne;
	int seg;            /* segment of the memory operand: override or default */
	bool twobyte;       /* 0x0f escape */
	bool map3;          /* 0f 38 / 0f 3a (or a VEX/EVEX map beyond 0f): decode_any only */
	u8 op;              /* opcode byte (after 0x0f if twobyte) */
	bool has_modrm;
	u8 mod, reg, rm;
	u32 ea;             /* effective address (offset in seg) when mod != 3 */
	u32 imm;            /* immediate, sign- or zero-extended as the opcode says */
	u16 imm_sel;        /* selector of a far pointer immediate (ljmp/lcall ptr16:32) */
};

/* decode.c: false if the bytes cannot be fetched (the caller raises the fault). */
bool decode(struct insn *in, const struct lvm_regs *r, bool code16);
bool decode_any(struct insn *in, const struct lvm_regs *r);   /* operands only */
u32 *reg32(struct lvm_regs *r, int n);        /* eax ecx edx ebx esp ebp esi edi */
u32 reg_get(struct lvm_regs *r, int n, int size);
void reg_set(struct lvm_regs *r, int n, int size, u32 v);
#endif
