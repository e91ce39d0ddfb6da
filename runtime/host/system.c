/* system.c: the system instructions: descriptor-table registers, control and debug
 * registers, MSRs, CPUID, HLT and the descriptor queries (LAR LSL VERR VERW ARPL).
 *
 * Control registers live on the vCPU page (rewritten reads load them from there);
 * writes come here so that what a bit change implies happens: CR0.PG and CR0.PE
 * changes, CR3 and INVLPG (the MMU's TLB, next issue), CR4 feature bits we do not
 * advertise.  CPUID describes the CPU we emulate, not the host's: only the features
 * that work under lvm are advertised.
 */
#include <stdio.h>
#include "emulate.h"
#include "cpumodel.h"
#include "mmu.h"
#include "irq.h"
#include "fastseg.h"

#define CR0_PE 0x1
#define CR0_MP 0x2
#define CR0_TS 0x8
#define CR0_ET 0x10
#define CR0_PG 0x80000000u
#define CR0_WP 0x10000u
#define CR4_KNOWN (0x10u | 0x80u | 0x100u | 0x200u | 0x400u)   /* PSE PGE PCE OSFXSR OSXMMEXCPT */

enum { MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
       MSR_SYSENTER_EIP = 0x176, MSR_MISC_ENABLE = 0x1a0 };

static void write_cr(struct lvm_regs *r, int n, u32 v)
{
	u32 old;
	switch (n) {
	case 0:
		if ((v & CR0_PG) && !(v & CR0_PE))
			raise_fault(r, EXC_GP, 0);
		if (!(v & CR0_PE))
			kill_guest(r, "CR0.PE cleared: real mode is not emulated");
		old = VCPU->cr[0];
		VCPU->cr[0] = v | CR0_ET;
		if ((old ^ v) & (CR0_PG | CR0_WP))
			mmu_flush(false);            /* paging on/off, or WP changes what is writable */
		return;
	case 2:
		VCPU->cr[2] = v;
		return;
	case 3:
		VCPU->cr[3] = v;
		mmu_cr3_load();                      /* a TLB flush; global pages stay */
		return;
	case 4:
		if (v & ~CR4_KNOWN)
			raise_fault(r, EXC_GP, 0);          /* bits for features we do not advertise */
		old = VCPU->cr[4];
		VCPU->cr[4] = v;
		if ((old ^ v) & (0x10 | 0x80))
			mmu_flush(false);            /* PSE, PGE */
		return;
	}
	raise_fault(r, EXC_UD, NO_ERROR_CODE);
}

static bool msr_read(u32 msr, u64 *v)
{
	switch (msr) {
	case MSR_TSC: *v = host_tsc() + cpu.tsc_offset; return true;
	case MSR_SYSENTER_CS: *v = cpu.sysenter_cs; return true;
	case MSR_SYSENTER_ESP: *v = cpu.sysenter_esp; return true;
	case MSR_SYSENTER_EIP: *v = cpu.sysenter_eip; return true;
	case MSR_MISC_ENABLE: *v = 1; return true;          /* fast strings */
	case MSR_APIC_BASE: *v = lapic_base_msr(); return true;
	}
	return false;
}

static bool msr_write(u32 msr, u64 v)
{
	switch (msr) {
	case MSR_TSC: cpu.tsc_offset = v - host_tsc(); return true;
	case MSR_SYSENTER_CS: cpu.sysenter_cs = (u32)v; return true;
	case MSR_SYSENTER_ESP: cpu.sysenter_esp = (u32)v; return true;
	case MSR_SYSENTER_EIP: cpu.sysenter_eip = (u32)v; return true;
	case MSR_MISC_ENABLE: return true;
	case MSR_APIC_BASE:
		if (v >> 32 || (v & 0x6ff))
			return false;                        /* reserved bits: #GP */
		lapic_set_base_msr(v);
		return true;
	}
	return false;
}

static void halt(struct lvm_regs *r)
{
	require_cpl0(r);
	if (!VCPU->vif)
		kill_guest(r, "hlt with interrupts disabled: the guest can never wake up");
	wait_for_interrupt(r);
}

/* 0f 00 and 0f 01 groups, with ModRM.reg selecting the instruction. */
static bool group(struct lvm_regs *r, const struct insn *in)
{
	struct table_reg *t;
	if (in->op == 0x00) {
		switch (in->reg) {
		case 0: rm_write(r, in, cpu.ldtr.sel, in->mod == 3 && !in->opsize16 ? 4 : 2); return true;
		case 1: rm_write(r, in, cpu.tr.sel, in->mod == 3 && !in->opsize16 ? 4 : 2); return true;
		case 2: require_cpl0(r); load_system_segment(r, LVM_LDTR, rm_read(r, in, 2)); return true;
		case 3: require_cpl0(r); load_system_segment(r, LVM_TR, rm_read(r, in, 2)); return true;
		case 4: case 5: {
			u64 d;
			bool ok = descriptor_visible(rm_read(r, in, 2), &d, in->reg == 4 ? 'r' : 'w');
			r->eflags = (r->eflags & ~0x40u) | (ok ? 0x40 : 0);
			return true;
		}
		}
		return false;
	}
	if (in->mod == 3) {
		u8 b = 0xc0 | in->reg << 3 | in->rm;
		switch (b) {
		case 0xca: case 0xcb:                        /* clac stac: SMAP is not advertised */
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		case 0xc8: case 0xc9:                        /* monitor mwait: not advertised */
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		case 0xd1:                                   /* xsetbv: XSAVE is not advertised */
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		}
	}
	switch (in->reg) {
	case 0: case 1:                                          /* sgdt sidt */
		if (in->mod == 3)
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		t = in->reg ? &cpu.idtr : &cpu.gdtr;
		mem_write(r, in->seg, in->ea, t->limit, 2);
		mem_write(r, in->seg, in->ea + 2, in->opsize16 ? t->base & 0xffffff : t->base, 4);
		return true;
	case 2: case 3: {                                        /* lgdt lidt */
		if (in->mod == 3)
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		require_cpl0(r);
		t = in->reg == 3 ? &cpu.idtr : &cpu.gdtr;
		u16 limit = mem_read(r, in->seg, in->ea, 2);
		u32 base = mem_read(r, in->seg, in->ea + 2, 4);
		t->limit = limit;
		t->base = in->opsize16 ? base & 0xffffff : base;
		if (in->reg == 2) {
			check_host_visible_selectors();
			fastseg_flush();
		}
		return true;
	}
	case 4:                                                  /* smsw */
		rm_write(r, in, VCPU->cr[0], in->mod == 3 && !in->opsize16 ? 4 : 2);
		return true;
	case 6: {                                                /* lmsw: PE can be set, not cleared */
		require_cpl0(r);
		u32 v = rm_read(r, in, 2) & 0xf;
		write_cr(r, 0, (VCPU->cr[0] & ~0xeu) | v | (VCPU->cr[0] & CR0_PE));
		return true;
	}
	case 7:                                                  /* invlpg */
		if (in->mod == 3)
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		require_cpl0(r);
		mmu_invlpg(cpu.seg[in->seg].base + in->ea);
		return true;
	}
	return false;
}

static void do_cpuid(struct lvm_regs *r)
{
	struct cpuid_leaf l = cpuid_model(r->eax, r->ecx);
	r->eax = l.eax, r->ebx = l.ebx, r->ecx = l.ecx, r->edx = l.edx;
}

bool emulate_system(struct lvm_regs *r, const struct insn *in)
{
	u64 v;
	if (!in->twobyte) {
		switch (in->op) {
		case 0xf4: halt(r); return true;
		case 0x63: {                                          /* arpl */
			u16 dst = rm_read(r, in, 2), src = reg_get(r, in->reg, 2);
			bool adjust = (dst & 3) < (src & 3);
			if (adjust)
				rm_write(r, in, (dst & ~3) | (src & 3), 2);
			r->eflags = (r->eflags & ~0x40u) | (adjust ? 0x40 : 0);
			return true;
		}
		}
		return false;
	}
	switch (in->op) {
	case 0x00: case 0x01:
		return group(r, in);
	case 0x02: case 0x03: {                                       /* lar lsl */
		u64 d;
		int os = in->opsize16 ? 2 : 4;
		bool ok = descriptor_visible(rm_read(r, in, 2), &d, in->op == 2 ? 'a' : 's');
		if (ok) {
			struct segment s;
			segment_from_descriptor(&s, 0, d);
			reg_set(r, in->reg, os, in->op == 2 ? (u32)(d >> 32) & 0x00f0ff00 : s.limit);
		}
		r->eflags = (r->eflags & ~0x40u) | (ok ? 0x40 : 0);
		return true;
	}
	case 0x06: require_cpl0(r); VCPU->cr[0] &= ~CR0_TS; return true;      /* clts */
	case 0x08: case 0x09: require_cpl0(r); return true;                   /* invd wbinvd */
	case 0x20: case 0x22:                                                 /* mov cr */
		require_cpl0(r);
		if (in->reg == 1 || in->reg > 4)
			raise_fault(r, EXC_UD, NO_ERROR_CODE);
		if (in->op == 0x20)
			*reg32(r, in->rm) = VCPU->cr[in->reg];
		else
			write_cr(r, in->reg, *reg32(r, in->rm));
		return true;
	case 0x21: case 0x23:                                                 /* mov dr */
		require_cpl0(r);
		if (in->reg == 4 || in->reg == 5)
			raise_fault(r, EXC_UD, NO_ERROR_CODE);         /* CR4.DE is not supported */
		if (in->op == 0x21)
			*reg32(r, in->rm) = VCPU->dr[in->reg];
		else {
			VCPU->dr[in->reg] = *reg32(r, in->rm);
			if (in->reg == 7 && (VCPU->dr[7] & 0xff))
				unimplemented_once("hardware breakpoints (DR7 enables)");
		}
		return true;
	case 0x30:                                                            /* wrmsr */
		require_cpl0(r);
		if (!msr_write(r->ecx, (u64)r->edx << 32 | r->eax)) {
			trace_event("wrmsr %#x: unknown MSR, #GP", r->ecx);
			raise_fault(r, EXC_GP, 0);
		}
		return true;
	case 0x32:                                                            /* rdmsr */
		require_cpl0(r);
		if (!msr_read(r->ecx, &v)) {
			trace_event("rdmsr %#x: unknown MSR, #GP", r->ecx);
			raise_fault(r, EXC_GP, 0);
		}
		r->eax = (u32)v, r->edx = v >> 32;
		return true;
	case 0x33:                                  /* rdpmc: no performance counters */
		raise_fault(r, EXC_GP, 0);
	case 0xa2:
		do_cpuid(r);
		return true;
	}
	return false;
}
