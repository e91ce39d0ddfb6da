/* emulate.c: the instruction behind a marker, executed on the guest's state.
 *
 * Both rewriting modes end here: call mode after the monitor unwound the far call
 * of __lvm_emulate, trap mode after the signal of the `hlt` marker.  r->eip points
 * at the original instruction; we decode its real bytes (decode.c), check what the
 * CPU checks at the current privilege level, act, and move eip past it.  This file
 * holds the dispatch and the flag and segment-register instructions; port I/O,
 * system registers and control flow have their own files.
 */
#include "stats.h"
#include "emulate.h"
#include "mmu.h"

u32 iopl(void) { return (VCPU->vflags >> 12) & 3; }

void require_cpl0(struct lvm_regs *r)
{
	if (VCPU->cpl != 0)
		raise_fault(r, EXC_GP, 0);
}

static u32 linear(struct lvm_regs *r, int seg, u32 off, int size)
{
	struct segment *s = &cpu.seg[seg];
	if ((s->sel & ~3u) == 0 && seg != LVM_CS && !(s->attr & 0x80))
		raise_fault(r, EXC_GP, 0);               /* null selector */
	if (off > s->limit || s->limit - off < (u32)size - 1)
		raise_fault(r, seg == LVM_SS ? EXC_SS : EXC_GP, 0);
	return s->base + off;
}

/* A fault of an access the instruction makes: #PF with CR2, or no RAM there. */
static void access_fault(struct lvm_regs *r, u32 at, u32 err, bool write)
{
	if (err == ERR_NO_RAM || !paging_enabled())
		kill_guest(r, "%s at %#x: no guest memory there", write ? "write" : "read", at);
	VCPU->cr[2] = at;
	raise_fault(r, EXC_PF, err);
}

u32 mem_read(struct lvm_regs *r, int seg, u32 off, int size)
{
	u32 v = 0, a = linear(r, seg, off, size), at, err;
	if (!mmu_access(a, &v, size, MMU_READ, VCPU->cpl == 3, &at, &err))
		access_fault(r, at, err, false);
	return v;
}

void mem_write(struct lvm_regs *r, int seg, u32 off, u32 v, int size)
{
	u32 a = linear(r, seg, off, size), at, err;
	/* Across a page boundary, check the second page before writing the first: a
	 * write that faults must not have happened in part.  Within one page,
	 * mmu_access() faults before it writes. */
	bool user = VCPU->cpl == 3;
	u32 gpa, last = a + size - 1;
	if ((last ^ a) & ~0xfffu && !mmu_translate(last, MMU_WRITE, user, &gpa, &err))
		access_fault(r, last, err, true);
	if (!mmu_access(a, &v, size, MMU_WRITE, user, &at, &err))
		access_fault(r, at, err, true);
}

/* Fault now if a write of `size` bytes at seg:off would: for INS, which must not
 * read the port before its destination is known to be writable. */
void mem_check_write(struct lvm_regs *r, int seg, u32 off, int size)
{
	u32 a = linear(r, seg, off, size), last = a + size - 1, gpa, err;
	bool user = VCPU->cpl == 3;
	if (!mmu_translate(a, MMU_WRITE, user, &gpa, &err))
		access_fault(r, a, err, true);
	if ((last ^ a) & ~0xfffu && !mmu_translate(last, MMU_WRITE, user, &gpa, &err))
		access_fault(r, last, err, true);
}

void push(struct lvm_regs *r, u32 v, int size)
{
	mem_write(r, LVM_SS, r->esp - size, v, size);
	r->esp -= size;
}

u32 pop(struct lvm_regs *r, int size)
{
	u32 v = mem_read(r, LVM_SS, r->esp, size);
	r->esp += size;
	return v;
}

u32 rm_read(struct lvm_regs *r, const struct insn *in, int size)
{
	if (in->mod == 3)
		return reg_get(r, in->rm, size);
	return mem_read(r, in->seg, in->ea, size);
}

void rm_write(struct lvm_regs *r, const struct insn *in, u32 v, int size)
{
	if (in->mod == 3)
		reg_set(r, in->rm, size, v);
	else
		mem_write(r, in->seg, in->ea, v, size);
}

/* CLI, STI, PUSHF, POPF: IF and IOPL are virtual; the rest of EFLAGS is real. */
static bool emulate_flags(struct lvm_regs *r, const struct insn *in)
{
	u32 cpl = VCPU->cpl, os = in->opsize16 ? 2 : 4;
	switch (in->twobyte ? -1 : in->op) {
	case 0xfa:
	case 0xfb:
		if (cpl > iopl())
			raise_fault(r, EXC_GP, 0);
		VCPU->vif = in->op == 0xfb ? LVM_EFLAGS_IF : 0;
		if (in->op == 0xfb)
			cpu.sti_shadow = true;
		return true;
	case 0x9c:
		push(r, guest_eflags(r) & ~0x30000u, os);     /* RF and VM read as 0 */
		return true;
	case 0x9d: {
		u32 v = pop(r, os);
		u32 writable = 0x3f7fd5 & ~0x30000u & ~LVM_EFLAGS_IF & ~0x3000u;   /* not VM RF VIF VIP */
		if (cpl == 0)
			writable |= LVM_EFLAGS_IF | 0x3000;
		else if (cpl <= iopl())
			writable |= LVM_EFLAGS_IF;
		if (os == 2)
			writable &= 0xffff;
		set_guest_eflags(r, v, writable);
		return true;
	}
	}
	return false;
}

/* Segment registers: MOV, PUSH, POP, LDS and friends. */
static bool emulate_sreg(struct lvm_regs *r, const struct insn *in)
{
	static const int push_op[] = { 0x06, 0x0e, 0x16, 0x1e }, pop_op[] = { 0x07, -1, 0x17, 0x1f };
	int os = in->opsize16 ? 2 : 4;
	if (!in->twobyte) {
		for (int s = 0; s < 4; s++) {
			if (in->op == push_op[s]) {
				push(r, VCPU->sel[s], os);
				return true;
			}
			if (in->op == pop_op[s]) {
				u32 v = mem_read(r, LVM_SS, r->esp, os);
				u32 esp = r->esp;
				load_segment(r, s, v);
				r->esp = esp + os;
				if (s == LVM_SS)
					cpu.sti_shadow = true;       /* pop ss: one-instruction shadow */
				return true;
			}
		}
		switch (in->op) {
		case 0x8c:                                   /* mov %sreg, r/m */
			if (in->reg > 5)
				raise_fault(r, EXC_UD, NO_ERROR_CODE);
			rm_write(r, in, VCPU->sel[in->reg], in->mod == 3 ? os : 2);
			return true;
		case 0x8e:                                   /* mov r/m, %sreg */
			if (in->reg > 5 || in->reg == LVM_CS)
				raise_fault(r, EXC_UD, NO_ERROR_CODE);
			load_segment(r, in->reg, rm_read(r, in, 2));
			if (in->reg == LVM_SS)
				cpu.sti_shadow = true;
			return true;
		case 0xc4:
		case 0xc5:
			break;
		default:
			return false;
		}
	} else {
		switch (in->op) {
		case 0xa0: push(r, VCPU->sel[LVM_FS], os); return true;
		case 0xa8: push(r, VCPU->sel[LVM_GS], os); return true;
		case 0xa1:
		case 0xa9: {
			int s = in->op == 0xa1 ? LVM_FS : LVM_GS;
			load_segment(r, s, mem_read(r, LVM_SS, r->esp, os));
			r->esp += os;
			return true;
		}
		case 0xb2: case 0xb4: case 0xb5:
			break;
		default:
			return false;
		}
	}
	/* LES LDS LSS LFS LGS: a far pointer in memory, offset first. */
	if (in->mod == 3)
		raise_fault(r, EXC_UD, NO_ERROR_CODE);
	int sreg = !in->twobyte ? (in->op == 0xc4 ? LVM_ES : LVM_DS)
		 : in->op == 0xb2 ? LVM_SS : in->op == 0xb4 ? LVM_FS : LVM_GS;
	u32 off = mem_read(r, in->seg, in->ea, os);
	u16 sel = mem_read(r, in->seg, in->ea + os, 2);
	load_segment(r, sreg, sel);
	reg_set(r, in->reg, os, off);
	return true;
}

/* decode() could not read the instruction: the fetch fault the CPU would give, a
 * #PF at the first byte the guest's tables refuse (user code unmapping or
 * protecting its own code under it); returns if every byte is there. */
static void fetch_fault(struct lvm_regs *r)
{
	u32 lin = cpu.seg[LVM_CS].base + r->eip, at, err;
	u8 b;
	for (u32 i = 0; i < 15 && paging_enabled(); i++)
		if (!mmu_access(lin + i, &b, 1, MMU_FETCH, VCPU->cpl == 3, &at, &err)) {
			if (err == ERR_NO_RAM)
				break;
			VCPU->cr[2] = at;
			raise_fault(r, EXC_PF, err);
		}
}

/* ...and if it can be fetched, lvm's decoder does not know it: the guest's error. */
void fetch_failed(struct lvm_regs *r)
{
	fetch_fault(r);
	kill_guest(r, "cannot decode the instruction at %#x", r->eip);
}

bool emulate(struct lvm_regs *r, u32 site)
{
	struct insn in;
	if (!decode(&in, r, false)) {
		/* Not one lvm emulates (user code executing what the CPU refused, as
		 * stress-ng's sigsegv stressor does): the caller's #GP or #UD. */
		fetch_fault(r);
		return false;
	}
	if (stats_on)
		stats_insn(&in);
	u32 start = r->eip;
	r->eip += in.len;                 /* faults below report the instruction's start */
	struct lvm_regs before = *r;
	before.eip = site;                /* the marker: labels and exception tables point there */
	cpu.fault_regs = &before;
	bool done = emulate_flags(r, &in) || emulate_sreg(r, &in) || emulate_io(r, &in) ||
		    emulate_system(r, &in) || emulate_flow(r, &in);
	cpu.fault_regs = NULL;
	if (!done) {
		u32 w0 = 0, w1 = 0;                 /* the first 8 bytes, for the report */
		for (int i = 0; i < 4; i++) {
			w0 = w0 << 8 | in.bytes[i];
			w1 = w1 << 8 | in.bytes[i + 4];
		}
		trace_event("not emulated at %08x: bytes %08x %08x", start, w0, w1);
		*r = before;
	}
	return done;
}
