/* decode.c: the IA-32 instruction decoder the emulator needs (Intel SDM vol. 2, ch. 2).
 *
 * Only the instructions lvm-as leaves behind a marker reach it, but those come in
 * every form the assembler can encode: any prefixes in any order, 16- and 32-bit
 * operand and address sizes, every ModRM/SIB addressing mode.  The decoder fills a
 * struct insn; it computes the effective address from the registers as they were
 * before the instruction (the monitor has already undone the marker's call).
 */
#include <string.h>
#include "insn.h"

u32 *reg32(struct lvm_regs *r, int n)
{
	static const u8 off[8] = {
		offsetof(struct lvm_regs, eax), offsetof(struct lvm_regs, ecx),
		offsetof(struct lvm_regs, edx), offsetof(struct lvm_regs, ebx),
		offsetof(struct lvm_regs, esp), offsetof(struct lvm_regs, ebp),
		offsetof(struct lvm_regs, esi), offsetof(struct lvm_regs, edi),
	};
	return (u32 *)((u8 *)r + off[n & 7]);
}

/* size 1: al cl dl bl ah ch dh bh, as ModRM encodes byte registers. */
u32 reg_get(struct lvm_regs *r, int n, int size)
{
	if (size == 1)
		return (*reg32(r, n & 3) >> (n & 4 ? 8 : 0)) & 0xff;
	return size == 2 ? *reg32(r, n) & 0xffff : *reg32(r, n);
}

void reg_set(struct lvm_regs *r, int n, int size, u32 v)
{
	u32 *p;
	if (size == 1) {
		p = reg32(r, n & 3);
		int sh = n & 4 ? 8 : 0;
		*p = (*p & ~(0xffu << sh)) | (v & 0xff) << sh;
	} else if (size == 2) {
		p = reg32(r, n);
		*p = (*p & 0xffff0000) | (v & 0xffff);
	} else {
		*reg32(r, n) = v;
	}
}

struct cursor { const u8 *p; unsigned n, len; bool ok; };

static u32 take(struct cursor *c, int size)
{
	u32 v = 0;
	if (c->n + size > c->len) {
		c->ok = false;
		return 0;
	}
	for (int i = 0; i < size; i++)
		v |= (u32)c->p[c->n + i] << (8 * i);
	c->n += size;
	return v;
}

static u32 sext(u32 v, int size)
{
	return size == 1 ? (u32)(int8_t)v : size == 2 ? (u32)(int16_t)v : v;
}

static void modrm16(struct insn *in, struct cursor *c, const struct lvm_regs *r)
{
	static const int base_reg[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };   /* bx bx bp bp si di bp bx */
	static const int index_reg[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };
	struct lvm_regs *w = (struct lvm_regs *)r;
	u32 ea = 0;
	if (in->mod == 0 && in->rm == 6) {
		ea = take(c, 2);
	} else {
		ea = *reg32(w, base_reg[in->rm]);
		if (index_reg[in->rm] >= 0)
			ea += *reg32(w, index_reg[in->rm]);
		if (in->mod == 1)
			ea += sext(take(c, 1), 1);
		else if (in->mod == 2)
			ea += take(c, 2);
		if (in->rm == 2 || in->rm == 3 || in->rm == 6)
			if (in->seg < 0)
				in->seg = LVM_SS;
	}
	in->ea = ea & 0xffff;
}

static void modrm32(struct insn *in, struct cursor *c, const struct lvm_regs *r)
{
	struct lvm_regs *w = (struct lvm_regs *)r;
	u32 ea = 0;
	int base = in->rm;
	if (in->rm == 4) {
		u8 sib = take(c, 1);
		int scale = sib >> 6, index = (sib >> 3) & 7;
		base = sib & 7;
		if (index != 4)
			ea = *reg32(w, index) << scale;
		if (base == 5 && in->mod == 0) {
			ea += take(c, 4);
			base = -1;
		}
	} else if (in->rm == 5 && in->mod == 0) {
		ea = take(c, 4);
		base = -1;
	}
	if (base >= 0) {
		ea += *reg32(w, base);
		if ((base == 4 || base == 5) && in->seg < 0)
			in->seg = LVM_SS;
	}
	if (in->mod == 1)
		ea += sext(take(c, 1), 1);
	else if (in->mod == 2)
		ea += take(c, 4);
	in->ea = ea;
}

/* Opcodes (one-byte map) that carry a ModRM byte, among those we emulate. */
static bool one_byte_modrm(u8 op)
{
	return op == 0x63 || op == 0x8c || op == 0x8e || op == 0xc4 || op == 0xc5 ||
	       op == 0xff || op == 0x8f || (op >= 0x88 && op <= 0x8b) || op == 0xc6 || op == 0xc7 ||
	       (op & 0xc4) == 0x00 || op == 0xf6 || op == 0xf7 || op == 0xfe ||
	       (op >= 0x80 && op <= 0x87) || op == 0x69 || op == 0x6b || op == 0xd0 ||
	       op == 0xd1 || op == 0xd2 || op == 0xd3 || op == 0xc0 || op == 0xc1;
}

static bool two_byte_modrm(u8 op)
{
	return op <= 0x03 || (op >= 0x20 && op <= 0x23) || op == 0xb2 || op == 0xb4 ||
	       op == 0xb5 || op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf ||
	       (op >= 0x40 && op <= 0x4f) || op == 0xa3 || op == 0xab || op == 0xb3 ||
	       op == 0xbb || op == 0xba || op == 0xb0 || op == 0xb1 || op == 0xc0 || op == 0xc1 ||
	       op == 0xc7;
}

/* Immediate size of the opcodes we emulate (operand size os). */
static int imm_size(const struct insn *in, int os)
{
	u8 op = in->op;
	if (in->twobyte)
		return op == 0xba ? 1 : 0;
	switch (op) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xcd: case 0x6a: case 0x6b:
	case 0x80: case 0x82: case 0x83: case 0xc0: case 0xc1: case 0xc6:
		return 1;
	case 0xca: case 0xc2:
		return 2;
	case 0xea: case 0x9a: case 0x68: case 0x69: case 0x81: case 0xc7:
		return os;
	case 0xf6: return in->reg < 2 ? 1 : 0;
	case 0xf7: return in->reg < 2 ? os : 0;
	}
	if (op >= 0xb0 && op <= 0xb7) return 1;
	if (op >= 0xb8 && op <= 0xbf) return os;
	if ((op & 0xc7) == 0x04) return 1;
	if ((op & 0xc7) == 0x05) return os;
	if (op >= 0xa0 && op <= 0xa3) return in->addr16 ? 2 : 4;   /* moffs */
	return 0;
}

/* Any instruction, for where a user instruction's operand is (userlimit.c): the
 * full ModRM maps, VEX, and the three-byte maps; immediates are not needed. */
static bool any_insn;

static bool any_one_byte_modrm(u8 op)
{
	return (op < 0x40 && (op & 7) < 4) || op == 0x62 || op == 0x63 || op == 0x69 ||
	       op == 0x6b || (op >= 0x80 && op <= 0x8f) || op == 0xc0 || op == 0xc1 ||
	       (op >= 0xc4 && op <= 0xc7) || (op >= 0xd0 && op <= 0xd3) ||
	       (op >= 0xd8 && op <= 0xdf) || op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff;
}

static bool any_two_byte_modrm(u8 op)
{
	return !((op >= 0x05 && op <= 0x09) || op == 0x0b || op == 0x0e ||
		 (op >= 0x30 && op <= 0x37) || op == 0x77 || (op >= 0x80 && op <= 0x8f) ||
		 (op >= 0xa0 && op <= 0xa2) || (op >= 0xa8 && op <= 0xaa) || (op >= 0xc8 && op <= 0xcf));
}

bool decode_any(struct insn *in, const struct lvm_regs *r)
{
	any_insn = true;
	bool ok = decode(in, r, false);
	any_insn = false;
	return ok;
}

bool decode(struct insn *in, const struct lvm_regs *r, bool code16)
{
	memset(in, 0, sizeof *in);
	in->eip = r->eip;
	in->seg = -1;
	/* Fetch up to 15 bytes; a shorter fetch is fine if the instruction fits. */
	unsigned got = 15;
	u32 lin = cpu.seg[LVM_CS].base + r->eip;
	if (!guest_read(lin, in->bytes, 15)) {           /* near the end of memory: bytewise */
		got = 0;
		while (got < 15 && guest_read(lin + got, &in->bytes[got], 1))
			got++;
	}
	struct cursor c = { in->bytes, 0, got, true };
	bool osz = false, asz = false;
	for (;;) {
		u8 b = take(&c, 1);
		if (!c.ok)
			return false;
		switch (b) {
		case 0x66: osz = true; continue;
		case 0x67: asz = true; continue;
		case 0xf0: in->lock = true; continue;
		case 0xf2: in->repne = true; continue;
		case 0xf3: in->rep = true; continue;
		case 0x26: in->seg = LVM_ES; continue;
		case 0x2e: in->seg = LVM_CS; continue;
		case 0x36: in->seg = LVM_SS; continue;
		case 0x3e: in->seg = LVM_DS; continue;
		case 0x64: in->seg = LVM_FS; continue;
		case 0x65: in->seg = LVM_GS; continue;
		}
		if (b == 0x0f) {
			in->twobyte = true;
			b = take(&c, 1);
			if (any_insn && (b == 0x38 || b == 0x3a)) {
				in->map3 = true;             /* 0f 38 xx, 0f 3a xx: all ModRM */
				b = take(&c, 1);
			}
		} else if (any_insn && (b == 0xc4 || b == 0xc5 || b == 0x62) && c.n < c.len &&
			   (c.p[c.n] & 0xc0) == 0xc0) {
			/* VEX (c5: 1 byte, c4: 2) or EVEX (62: 3): the opcode and ModRM follow. */
			u8 map = b == 0xc5 ? 1 : c.p[c.n] & 0x1f;
			take(&c, b == 0xc5 ? 1 : b == 0xc4 ? 2 : 3);
			in->twobyte = true;
			in->map3 = map != 1;
			b = take(&c, 1);
		}
		in->op = b;
		break;
	}
	in->opsize16 = code16 ^ osz;
	in->addr16 = code16 ^ asz;
	if (any_insn)
		in->has_modrm = in->map3 || (in->twobyte ? any_two_byte_modrm(in->op)
						     : any_one_byte_modrm(in->op));
	else
		in->has_modrm = in->twobyte ? two_byte_modrm(in->op) : one_byte_modrm(in->op);
	if (in->has_modrm) {
		u8 m = take(&c, 1);
		in->mod = m >> 6;
		in->reg = (m >> 3) & 7;
		in->rm = m & 7;
		if (in->mod != 3) {
			if (in->addr16)
				modrm16(in, &c, r);
			else
				modrm32(in, &c, r);
		}
	}
	int os = in->opsize16 ? 2 : 4;
	int is = imm_size(in, os);
	in->imm = take(&c, is);
	if (!in->twobyte && (in->op == 0xea || in->op == 0x9a))
		in->imm_sel = take(&c, 2);
	if (!in->twobyte && (in->op == 0x6a || in->op == 0x6b || in->op == 0x83))
		in->imm = sext(in->imm, 1);
	if (in->seg < 0)
		in->seg = LVM_DS;
	in->len = c.n;
	return c.ok;
}
