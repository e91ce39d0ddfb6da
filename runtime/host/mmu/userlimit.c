/* userlimit.c: user/supervisor protection by segment limits, and its faults.
 *
 * Without protection keys, the pages only the guest kernel may touch must be made
 * unreachable while guest user code runs.  Unmapping them on every return to user
 * mode (revocation, mmu.c) costs a system call per run of pages and a refault per
 * page the kernel touches again: tens of microseconds per system call.  Kernels
 * that keep themselves in the top of the address space (Linux at 0xc0000000, xv6
 * at 0x80000000) get a cheaper guard: CPL 3 runs with segments that end where the
 * user-accessible part ends (mmu.c computes that limit, hostseg.c builds the
 * segments), so the kernel's pages stay mapped and a user access to them faults on
 * the host as #GP (or #SS), at no cost to anything else.
 *
 * This file turns such a fault into what the CPU would have done: find the linear
 * address the instruction used beyond the limit (its ModRM operand, the stack, the
 * string registers, or the target of a jump, call or return), walk the guest's
 * tables as CPL 3, and deliver #PF with that CR2 and error code; for a control
 * transfer, #PF at the target after the transfer's own stack effects, as the CPU
 * reports a fetch fault.  If the walk allows the access, the limit was stale (the
 * guest gave user rights above it and flushed): recompute it and retry.
 * The W bit of the error code is exact for the integer instructions; a store by an
 * SSE/AVX instruction beyond the limit is reported as a read.
 */
#include "emulate.h"
#include "mmu.h"

struct access { u32 lin, len; bool write, fetch; u32 target; };

static bool cc_true(u32 cc, u32 f)
{
	bool cf = f & 1, pf = f & 4, zf = f & 0x40, sf = f & 0x80, of = f & 0x800, r;
	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
}

static struct access acc(u32 lin, u32 len, bool write)
{
	return (struct access){ .lin = lin, .len = len, .write = write };
}

static u32 le32(const u8 *b) { return b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24; }

/* Does a one-byte opcode with a ModRM memory operand write it? */
static bool modrm_writes(const struct insn *in)
{
	u8 op = in->op;
	if (in->twobyte)
		return (op >= 0x90 && op <= 0x9f) || op == 0xab || op == 0xb3 || op == 0xbb ||
		       (op == 0xba && in->reg >= 5) || op == 0xb0 || op == 0xb1 || op == 0xc0 ||
		       op == 0xc1 || op == 0xc7 || op == 0xa4 || op == 0xa5 || op == 0xac ||
		       op == 0xad || op == 0x11 || op == 0x13 || op == 0x17 || op == 0x29 ||
		       op == 0x2b || op == 0x7e || op == 0x7f || op == 0xd6 || op == 0xe7;
	if (op < 0x40)
		return !(op & 2) && (op >> 3) != 7;          /* r/m destination, not cmp */
	switch (op) {
	case 0x80: case 0x81: case 0x83: return in->reg != 7;
	case 0x86: case 0x87: case 0x88: case 0x89: case 0x8c: case 0x8f:
	case 0xc0: case 0xc1: case 0xc6: case 0xc7: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		return true;
	case 0xf6: case 0xf7: return in->reg == 2 || in->reg == 3;
	case 0xfe: case 0xff: return in->reg < 2;
	case 0xd9: case 0xdd: case 0xdb: case 0xdf: return in->reg >= 2 && in->reg != 4 && in->reg != 5;
	}
	return false;
}

/* decode() leaves the relative displacement of jumps and calls out of the length. */
static u32 rel_size(const struct insn *in)
{
	u8 op = in->op;
	if (in->twobyte)
		return op >= 0x80 && op <= 0x8f ? 4 : 0;
	return op == 0xe8 || op == 0xe9 ? 4 : op == 0xeb || (op >= 0x70 && op <= 0x7f) ? 1 : 0;
}

/* The accesses of the instruction at r->eip that may lie beyond the limit. */
static int accesses(struct lvm_regs *r, const struct insn *in, struct access *a)
{
	int n = 0, os = in->opsize16 ? 2 : 4;
	u32 esp = cpu.seg[LVM_SS].base + r->esp;
	const u8 *after = in->bytes + in->len;           /* a rel8/rel32 follows the opcode */
	u32 next = r->eip + in->len + rel_size(in);
	u8 op = in->op;
	bool mem = in->has_modrm && in->mod != 3;
	u32 ea = in->ea;
	if (mem && in->twobyte && !in->map3 && (op == 0xa3 || op == 0xab || op == 0xb3 || op == 0xbb)) {
		/* BT* with a register bit offset reaches any dword from the operand. */
		int32_t bit = os == 2 ? (int16_t)reg_get(r, in->reg, 2) : (int32_t)reg_get(r, in->reg, 4);
		ea += (u32)((bit >> (os == 2 ? 4 : 5)) * os);
	}
	if (mem && !(op == 0x8d && !in->twobyte) && !(in->twobyte && op >= 0x18 && op <= 0x1f))
		a[n++] = acc(cpu.seg[in->seg].base + ea, os, modrm_writes(in));
	if (in->twobyte) {
		if (op >= 0x80 && op <= 0x8f && cc_true(op & 15, r->eflags))
			a[n++] = (struct access){ .fetch = true, .target = next + le32(after) };
		if (op == 0xa0 || op == 0xa8)
			a[n++] = acc(esp - os, os, true);
		if (op == 0xa1 || op == 0xa9)
			a[n++] = acc(esp, os, false);
		return n;
	}
	u32 si = cpu.seg[in->seg].base + r->esi, di = cpu.seg[LVM_ES].base + r->edi;
	if ((op >= 0x50 && op <= 0x57) || op == 0x68 || op == 0x6a || op == 0x06 || op == 0x0e ||
	    op == 0x16 || op == 0x1e || op == 0x9c || (op == 0xff && in->reg == 6))
		a[n++] = acc(esp - os, os, true);
	if (op == 0x60)
		a[n++] = acc(esp - 8 * os, 8 * os, true);
	if ((op >= 0x58 && op <= 0x5f) || op == 0x8f || op == 0x07 || op == 0x17 || op == 0x1f ||
	    op == 0x9d || op == 0xcf || op == 0xcb || op == 0xca)
		a[n++] = acc(esp, os, false);
	if (op == 0x61)
		a[n++] = acc(esp, 8 * os, false);
	if (op == 0xc9)
		a[n++] = acc(cpu.seg[LVM_SS].base + r->ebp, os, false);
	if (op == 0xc8) {                       /* ENTER: push ebp, then the nested frames */
		a[n++] = acc(esp - os, os, true);
		if ((in->bytes[in->len + 2] & 31) > 1)    /* imm16, imm8: decode leaves them */
			a[n++] = acc(cpu.seg[LVM_SS].base + r->ebp - os, os, false);
	}
	if (op >= 0xa4 && op <= 0xaf) {
		int size = op & 1 ? os : 1;
		if (op <= 0xa7 || op >= 0xac)
			a[n++] = acc(op >= 0xae ? di : si, size, false);
		if (op <= 0xa7 || (op >= 0xaa && op <= 0xab) || op >= 0xae)
			a[n++] = acc(di, size, op <= 0xa5 || op == 0xaa || op == 0xab);
	}
	if (op >= 0x6c && op <= 0x6f)
		a[n++] = op <= 0x6d ? acc(di, op & 1 ? os : 1, true)
				    : acc(si, op & 1 ? os : 1, false);
	if (op >= 0xa0 && op <= 0xa3)
		a[n++] = acc(cpu.seg[in->seg].base + in->imm, op & 1 ? os : 1, op >= 0xa2);
	if (op == 0xd7)
		a[n++] = acc(cpu.seg[in->seg].base + r->ebx + (r->eax & 0xff), 1, false);
	/* Control transfers: their pushes, pops, and the fetch at the target. */
	if (op == 0xe8 || ((op == 0xff) && in->reg == 2))
		a[n++] = acc(esp - os, os, true);
	if (op == 0xc3 || op == 0xc2)
		a[n++] = acc(esp, os, false);
	if (op == 0xe8 || op == 0xe9)
		a[n++] = (struct access){ .fetch = true, .target = next + le32(after) };
	if (op == 0xeb || (op >= 0x70 && op <= 0x7f && cc_true(op & 15, r->eflags)))
		a[n++] = (struct access){ .fetch = true, .target = next + (u32)(int8_t)after[0] };
	return n;
}

/* Instructions whose #GP at CPL 3 comes before any memory access: I/O (the host
 * never lets user code do it; io.c emulates it as the guest allows) and the
 * privileged ones.  Their fault is never the limit's. */
static bool checked_before_access(const struct insn *in)
{
	u8 op = in->op;
	if (in->map3)
		return false;
	if (!in->twobyte)
		return (op >= 0x6c && op <= 0x6f) || (op >= 0xe4 && op <= 0xe7) ||
		       (op >= 0xec && op <= 0xef) || op == 0xf4 || op == 0xfa || op == 0xfb;
	return op == 0x00 || op == 0x01 || (op >= 0x20 && op <= 0x23) || op == 0x06 ||
	       op == 0x08 || op == 0x09 || op == 0x30 || op == 0x32;
}

/* Legacy SSE instructions with a 128-bit memory operand that must be 16-byte
 * aligned: a misaligned one is #GP(0) before any paging, whatever the limit. */
static bool needs_16_alignment(const struct insn *in)
{
	u8 op = in->op;
	if (!in->twobyte || in->map3 || in->rep || in->repne || !in->has_modrm || in->mod == 3)
		return false;
	if (op == 0x28 || op == 0x29 || op == 0x2b || op == 0x14 || op == 0x15 ||
	    (op >= 0x51 && op <= 0x5f && (op != 0x5a || in->opsize16)) || op == 0xc2 || op == 0xc6)
		return true;                     /* packed single and double */
	return in->opsize16 && ((op >= 0x60 && op <= 0x6d) || op == 0x6f || op == 0x7f ||
				(op >= 0x70 && op <= 0x76) || op == 0xe7 ||
				(op >= 0xd1 && op <= 0xfe && op != 0xd6 && op != 0xf7));
}

/* Called for a #GP(0) or #SS(0) from CPL 3: true if it was the user limit (the
 * fault is then delivered or the access retried: this does not return). */
bool mmu_user_fault_limit(struct lvm_regs *r)
{
	u32 top_page = mmu_user_top();
	if (VCPU->cpl != 3 || top_page == 1u << 20)
		return false;
	u32 top = top_page << 12;
	struct insn in;
	struct access a[4];
	int n = 0;
	if (cpu.seg[LVM_CS].base + r->eip >= top) {
		a[n++] = (struct access){ .fetch = true, .target = r->eip };
	} else {
		if (!decode_any(&in, r) || checked_before_access(&in))
			return false;
		if (needs_16_alignment(&in) && ((cpu.seg[in.seg].base + in.ea) & 15))
			return false;                    /* the alignment's #GP, not the limit's */
		n = accesses(r, &in, a);
		if (!in.twobyte && (in.op == 0xc3 || in.op == 0xc2 || in.op == 0xff) &&
		    (in.op != 0xff || in.reg == 2 || in.reg == 4)) {
			/* ret, call/jmp r/m: the target comes from memory or a register. */
			u32 t = in.op == 0xff ? rm_read(r, &in, 4) : mem_read(r, LVM_SS, r->esp, 4);
			a[n++] = (struct access){ .fetch = true, .target = t };
		}
	}
	for (int i = 0; i < n; i++) {
		u32 at;
		if (a[i].fetch) {
			if (a[i].target < top)
				continue;
			at = a[i].target;
		} else {
			u64 end = (u64)a[i].lin + (a[i].len ? a[i].len : 1);
			if (end <= top)
				continue;
			at = a[i].lin >= top ? a[i].lin : top;
		}
		u32 gpa, err;
		if (mmu_translate(at, a[i].write ? MMU_WRITE : MMU_READ, true, &gpa, &err)) {
			if (at >= TRAMPOLINE_ADDR)
				kill_guest(r, "user code accessed %#x, which the guest's tables allow; "
					   "the top 8 KiB of the address space are lvm's (the vCPU page "
					   "and the monitor's entry): guests must not map user pages there",
					   at);
			u32 before = mmu_user_top();
			mmu_user_top_stale();            /* allowed after all: a stale limit */
			if (mmu_user_top() == before)
				host_bug("user limit %#x stops an access at %#x the tables allow",
					 before << 12, at);   /* retrying would loop for ever */
			resume(r);
		}
		if (a[i].fetch && at != r->eip) {
			/* The transfer happens; the fetch at its target faults. */
			struct lvm_regs before = *r;
			cpu.fault_regs = &before;
			u32 next = r->eip + in.len + rel_size(&in);
			if (!in.twobyte && (in.op == 0xe8 || (in.op == 0xff && in.reg == 2)))
				push(r, next, 4);
			if (!in.twobyte && (in.op == 0xc3 || in.op == 0xc2))
				r->esp += 4 + (in.op == 0xc2 ? (in.imm & 0xffff) : 0);
			cpu.fault_regs = NULL;
			r->eip = at;
		}
		VCPU->cr[2] = at;
		raise_fault(r, EXC_PF, err);
	}
	return false;
}
