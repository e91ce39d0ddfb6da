/* flow.c: control transfers that change CS: far JMP/CALL/RET, IRET, INT n, INT3,
 * INTO, SYSENTER and SYSEXIT.
 *
 * The checks are the SDM's pseudo-code for each instruction (vol. 2), reduced to
 * the cases a protected-mode, non-task-switching guest uses; what we do not model
 * (call gates, task switches, virtual-8086 mode, 16-bit IRET) is reported, not
 * approximated.  Nothing is committed until every read and check has succeeded.
 */
#include "emulate.h"

#define FLAT_CODE(dpl) (0x00cf9a000000ffffull | (u64)(dpl) << 45)
#define FLAT_DATA(dpl) (0x00cf92000000ffffull | (u64)(dpl) << 45)

static void set_flat_ss(u16 sel, u32 dpl)
{
	segment_from_descriptor(&cpu.seg[LVM_SS], sel, FLAT_DATA(dpl) | 1ull << 40);
	VCPU->sel[LVM_SS] = sel;
	hostseg_update(LVM_SS);
}

/* Load SS for a return to an outer level; the checks of IRET/RET (SDM). */
static void outer_ss(struct lvm_regs *r, u16 sel, u32 rpl)
{
	u64 d;
	if ((sel & ~3u) == 0)
		raise_fault(r, EXC_GP, 0);
	if ((sel & 3) != rpl || !read_descriptor(sel, &d, NULL) || ((d >> 45) & 3) != rpl ||
	    !((d >> 44) & 1) || ((d >> 43) & 1) || !((d >> 41) & 1))
		raise_fault(r, EXC_GP, sel & 0xfffc);
	if (!((d >> 47) & 1))
		raise_fault(r, EXC_SS, sel & 0xfffc);
	segment_from_descriptor(&cpu.seg[LVM_SS], sel, d);
	VCPU->sel[LVM_SS] = sel;
	hostseg_update(LVM_SS);
}

static void iret(struct lvm_regs *r, const struct insn *in)
{
	if (in->opsize16)
		kill_guest(r, "16-bit iret is not emulated");
	if (VCPU->vflags & 0x4000)
		kill_guest(r, "iret with NT set (task return) is not emulated");
	u32 esp = r->esp;
	u32 eip = mem_read(r, LVM_SS, esp, 4);
	u16 cs = hostseg_guest_selector(mem_read(r, LVM_SS, esp + 4, 4));
	u32 fl = mem_read(r, LVM_SS, esp + 8, 4);
	u32 cpl = VCPU->cpl, rpl = cs & 3;
	if ((fl & 0x20000) && cpl == 0)
		kill_guest(r, "iret to virtual-8086 mode is not emulated");
	u64 d = return_descriptor(r, cs);
	u32 writable = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 | 0x40000 | 0x200000;
	if (cpl == 0)
		writable |= LVM_EFLAGS_IF | 0x3000;
	else if (cpl <= iopl())
		writable |= LVM_EFLAGS_IF;
	if (rpl == cpl) {
		set_cs(cs, d, cpl);
		r->esp = esp + 12;
	} else {
		u32 new_esp = mem_read(r, LVM_SS, esp + 12, 4);
		u16 ss = hostseg_guest_selector(mem_read(r, LVM_SS, esp + 16, 4));
		outer_ss(r, ss, rpl);
		set_cs(cs, d, rpl);
		r->esp = new_esp;
		null_inaccessible_segments();
	}
	r->eip = eip;
	set_guest_eflags(r, fl, writable);
}

static void far_call(struct lvm_regs *r, u16 sel, u32 off, int os)
{
	/* The pushes are checked first (writing below ESP is harmless), the target
	 * next; only then does anything change. */
	mem_write(r, LVM_SS, r->esp - os, VCPU->sel[LVM_CS], os);
	mem_write(r, LVM_SS, r->esp - 2 * os, r->eip, os);
	far_transfer(r, sel, off);
	r->esp -= 2 * os;
}

static void far_ret(struct lvm_regs *r, int os, u32 release)
{
	u32 esp = r->esp;
	u32 eip = mem_read(r, LVM_SS, esp, os);
	u16 cs = hostseg_guest_selector(mem_read(r, LVM_SS, esp + os, 2));
	u32 cpl = VCPU->cpl, rpl = cs & 3;
	u64 d = return_descriptor(r, cs);
	if (rpl == cpl) {
		set_cs(cs, d, cpl);
		r->esp = esp + 2 * os + release;
	} else {
		u32 new_esp = mem_read(r, LVM_SS, esp + 2 * os + release, os);
		u16 ss = hostseg_guest_selector(mem_read(r, LVM_SS, esp + 3 * os + release, 2));
		outer_ss(r, ss, rpl);
		set_cs(cs, d, rpl);
		r->esp = new_esp + release;
		null_inaccessible_segments();
	}
	r->eip = os == 2 ? eip & 0xffff : eip;
}

static void sysenter(struct lvm_regs *r)
{
	u16 cs = cpu.sysenter_cs & 0xfffc;
	if (!cs)
		raise_fault(r, EXC_GP, 0);
	set_cs(cs, FLAT_CODE(0), 0);
	set_flat_ss(cs + 8, 0);
	r->esp = cpu.sysenter_esp;
	r->eip = cpu.sysenter_eip;
	r->eflags &= ~0x10000u;                 /* RF */
	VCPU->vif = 0;
}

static void sysexit(struct lvm_regs *r)
{
	u16 cs = cpu.sysenter_cs & 0xfffc;
	if (!cs || VCPU->cpl != 0)
		raise_fault(r, EXC_GP, 0);
	set_cs((cs + 16) | 3, FLAT_CODE(3), 3);
	set_flat_ss((cs + 24) | 3, 3);
	r->esp = r->ecx;
	r->eip = r->edx;
}

bool emulate_flow(struct lvm_regs *r, const struct insn *in)
{
	int os = in->opsize16 ? 2 : 4;
	if (in->twobyte) {
		if (in->op == 0x34) { sysenter(r); return true; }
		if (in->op == 0x35) { sysexit(r); return true; }
		return false;
	}
	switch (in->op) {
	case 0xea:                                                /* ljmp $sel, $off */
		far_transfer(r, in->imm_sel, in->imm);
		return true;
	case 0x9a:                                                /* lcall $sel, $off */
		far_call(r, in->imm_sel, in->imm, os);
		return true;
	case 0xff:
		if ((in->reg != 3 && in->reg != 5))
			return false;
		if (in->mod == 3)
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		{
			u32 off = mem_read(r, in->seg, in->ea, os);
			u16 sel = mem_read(r, in->seg, in->ea + os, 2);
			if (in->reg == 5)
				far_transfer(r, sel, off);
			else
				far_call(r, sel, off, os);
		}
		return true;
	case 0xcb: far_ret(r, os, 0); return true;
	case 0xca: far_ret(r, os, in->imm & 0xffff); return true;
	case 0xcf: iret(r, in); return true;
	case 0xcd: raise_interrupt(r, in->imm & 0xff, true);
	case 0xcc: raise_interrupt(r, EXC_BP, true);
	case 0xce:
		if (r->eflags & 0x800)
			raise_interrupt(r, EXC_OF, true);
		return true;
	}
	return false;
}
