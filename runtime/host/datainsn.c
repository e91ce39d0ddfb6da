/* datainsn.c: ordinary data instructions, emulated when their operand is a device.
 *
 * Guest code touches device registers (the local APIC, the I/O APIC) with the same
 * compiled instructions it uses for RAM: nothing marks them for lvm-as.  Device
 * pages are never mapped writable in the host, so such an instruction faults and
 * lands here: decode it (decode.c), do what it does through mem_read/mem_write
 * (which reach the device through mmu_access), set the arithmetic flags as the CPU
 * does, and step over it.  The set is what kernels use on device memory: every MOV
 * form, MOVZX/MOVSX, the ALU group with memory operands (ADD OR ADC SBB AND SUB XOR
 * CMP, TEST, NOT, NEG, INC, DEC), XCHG, BT/BTS/BTR/BTC, and MOVS/STOS/LODS with REP
 * (memcpy_toio).  Anything else touching a device is reported as not emulated.
 */
#include "emulate.h"

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ARITH (CF | PF | AF | ZF | SF | OF)

enum { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP };

static u32 mask_of(int size) { return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }
static u32 msb_of(int size) { return 1u << (8 * size - 1); }

static u32 szp(u32 res, int size)
{
	u32 f = 0;
	if (!(res & mask_of(size)))
		f |= ZF;
	if (res & msb_of(size))
		f |= SF;
	if (!__builtin_parity(res & 0xff))
		f |= PF;
	return f;
}

/* a OP b with carry-in c, at `size` bytes; the flags it sets go to *f. */
static u32 alu(int op, u32 a, u32 b, u32 c, int size, u32 *f)
{
	u32 m = mask_of(size), s = msb_of(size), res;
	a &= m, b &= m;
	switch (op) {
	case ADD: case ADC:
		c = op == ADC ? c : 0;
		res = (a + b + c) & m;
		*f = szp(res, size) | ((a ^ b ^ res) & AF);
		if (((a & b) | ((a | b) & ~res)) & s)
			*f |= CF;
		if ((a ^ res) & (b ^ res) & s)
			*f |= OF;
		return res;
	case SUB: case SBB: case CMP:
		c = op == SBB ? c : 0;
		res = (a - b - c) & m;
		*f = szp(res, size) | ((a ^ b ^ res) & AF);
		if (((~a & b) | (~(a ^ b) & res)) & s)
			*f |= CF;
		if ((a ^ b) & (a ^ res) & s)
			*f |= OF;
		return res;
	case OR:  res = a | b; break;
	case AND: res = a & b; break;
	default:  res = a ^ b; break;
	}
	*f = szp(res, size);
	return res;
}

static void set_flags(struct lvm_regs *r, u32 f, u32 which)
{
	r->eflags = (r->eflags & ~which) | (f & which);
}

/* Bit tests: a register bit offset reaches any dword (signed); an immediate one is
 * taken modulo the operand size. */
static bool bit_op(struct lvm_regs *r, const struct insn *in, int os)
{
	int kind;                                       /* 0 bt, 1 bts, 2 btr, 3 btc */
	u32 bit;
	struct insn at = *in;
	if (in->op == 0xba) {
		if (in->reg < 4)
			return false;
		kind = in->reg - 4;
		bit = in->imm & (8 * os - 1);
	} else {
		kind = in->op == 0xa3 ? 0 : in->op == 0xab ? 1 : in->op == 0xb3 ? 2 : 3;
		bit = reg_get(r, in->reg, os);
		if (in->mod != 3) {
			int32_t sbit = os == 2 ? (int16_t)bit : (int32_t)bit;
			at.ea += (u32)((sbit >> (os == 2 ? 4 : 5)) * os);
			bit = (u32)sbit & (8 * os - 1);
		} else {
			bit &= 8 * os - 1;
		}
	}
	u32 v = rm_read(r, &at, os);
	set_flags(r, (v >> bit) & 1 ? CF : 0, CF);
	if (kind)
		rm_write(r, &at, kind == 1 ? v | 1u << bit : kind == 2 ? v & ~(1u << bit)
			 : v ^ 1u << bit, os);
	return true;
}

/* MOVS STOS LODS, one element at a time so a fault leaves ECX/ESI/EDI resumable. */
static bool string_op(struct lvm_regs *r, const struct insn *in, int os)
{
	u8 op = in->op;
	int size = op & 1 ? os : 1;
	u32 amask = in->addr16 ? 0xffff : 0xffffffff;
	int step = (r->eflags & 0x400) ? -size : size;
	for (;;) {
		if (in->rep && (r->ecx & amask) == 0)
			break;
		u32 si = r->esi & amask, di = r->edi & amask;
		if (op <= 0xa5) {
			mem_write(r, LVM_ES, di, mem_read(r, in->seg, si, size), size);
		} else if (op <= 0xab) {
			mem_write(r, LVM_ES, di, reg_get(r, 0, size), size);
		} else {
			reg_set(r, 0, size, mem_read(r, in->seg, si, size));
		}
		if (op <= 0xa5 || op >= 0xac)
			r->esi = (r->esi & ~amask) | ((si + step) & amask);
		if (op <= 0xab)
			r->edi = (r->edi & ~amask) | ((di + step) & amask);
		if (!in->rep)
			break;
		r->ecx = (r->ecx & ~amask) | ((r->ecx - 1) & amask);
		if (cpu.fault_regs) {
			struct lvm_regs *f = cpu.fault_regs;
			f->ecx = r->ecx, f->esi = r->esi, f->edi = r->edi, f->eax = r->eax;
		}
	}
	return true;
}

static bool one_byte(struct lvm_regs *r, const struct insn *in, int os)
{
	u8 op = in->op;
	int size = op & 1 ? os : 1;
	u32 f, v;
	if (op < 0x40 && (op & 7) < 4) {                  /* ALU r/m,r and r,r/m */
		int kind = op >> 3;
		bool to_reg = op & 2;
		u32 a = to_reg ? reg_get(r, in->reg, size) : rm_read(r, in, size);
		u32 b = to_reg ? rm_read(r, in, size) : reg_get(r, in->reg, size);
		v = alu(kind, a, b, r->eflags & CF, size, &f);
		if (kind != CMP) {
			if (to_reg)
				reg_set(r, in->reg, size, v);
			else
				rm_write(r, in, v, size);
		}
		set_flags(r, f, ARITH);
		return true;
	}
	switch (op) {
	case 0x80: case 0x81: case 0x83:
		size = op == 0x80 ? 1 : os;
		v = alu(in->reg, rm_read(r, in, size), in->imm, r->eflags & CF, size, &f);
		if (in->reg != CMP)
			rm_write(r, in, v, size);
		set_flags(r, f, ARITH);
		return true;
	case 0x84: case 0x85:
		alu(AND, rm_read(r, in, size), reg_get(r, in->reg, size), 0, size, &f);
		set_flags(r, f, ARITH);
		return true;
	case 0x86: case 0x87:
		v = rm_read(r, in, size);
		rm_write(r, in, reg_get(r, in->reg, size), size);
		reg_set(r, in->reg, size, v);
		return true;
	case 0x88: case 0x89:
		rm_write(r, in, reg_get(r, in->reg, size), size);
		return true;
	case 0x8a: case 0x8b:
		reg_set(r, in->reg, size, rm_read(r, in, size));
		return true;
	case 0xc6: case 0xc7:
		if (in->reg)
			return false;
		rm_write(r, in, in->imm, size);
		return true;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
		struct insn at = *in;
		at.mod = 0, at.ea = in->imm;
		if (op & 2)
			rm_write(r, &at, reg_get(r, 0, size), size);
		else
			reg_set(r, 0, size, rm_read(r, &at, size));
		return true;
	}
	case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac: case 0xad:
		return string_op(r, in, os);
	case 0xf6: case 0xf7:
		v = rm_read(r, in, size);
		switch (in->reg) {
		case 0: case 1:
			alu(AND, v, in->imm, 0, size, &f);
			set_flags(r, f, ARITH);
			return true;
		case 2:
			rm_write(r, in, ~v, size);
			return true;
		case 3:
			v = alu(SUB, 0, v, 0, size, &f);
			rm_write(r, in, v, size);
			set_flags(r, f, ARITH);
			return true;
		}
		return false;
	case 0xfe: case 0xff:
		if (in->reg > 1)
			return false;
		v = alu(in->reg ? SUB : ADD, rm_read(r, in, size), 1, 0, size, &f);
		rm_write(r, in, v, size);
		set_flags(r, f, ARITH & ~CF);            /* INC and DEC leave CF alone */
		return true;
	}
	return false;
}

bool emulate_data(struct lvm_regs *r, const struct insn *in)
{
	int os = in->opsize16 ? 2 : 4;
	if (!in->twobyte)
		return one_byte(r, in, os);
	switch (in->op) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
		int src = in->op & 1 ? 2 : 1;
		u32 v = rm_read(r, in, src);
		if (in->op >= 0xbe)
			v = src == 1 ? (u32)(int8_t)v : (u32)(int16_t)v;
		reg_set(r, in->reg, os, v);
		return true;
	}
	case 0xa3: case 0xab: case 0xb3: case 0xbb: case 0xba:
		return bit_op(r, in, os);
	}
	return false;
}
