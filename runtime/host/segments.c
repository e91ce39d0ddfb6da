/* segments.c: the GDT, the LDT and segment-register loads, as the CPU checks them.
 *
 * The guest's selectors and descriptors are the guest's own: we read them from its
 * tables in guest memory and apply the protected-mode checks of the SDM (vol. 3,
 * 5.5-5.10; vol. 2, MOV/POP/LDS/JMP) so that a wrong selector raises the same #GP,
 * #SS or #NP with the same error code as on the hardware.  The host CPU meanwhile
 * keeps running guest code on its own flat 32-bit selectors; segments with a
 * non-zero base are mirrored into the host LDT by hostseg.c.
 */
#include <stdio.h>
#include <string.h>
#include "monitor.h"
#include "traps.h"
#include "mmu.h"
#include "userproc.h"
#include "isolate.h"
#include "fastseg.h"

#define DESC_BASE(d)  ((u32)(((d) >> 16) & 0xffffff) | (u32)(((d) >> 56) & 0xff) << 24)
#define DESC_LIMIT(d) ((u32)((d) & 0xffff) | (u32)(((d) >> 48) & 0xf) << 16)
#define DESC_TYPE(d)  ((u32)((d) >> 40) & 0xf)
#define DESC_S(d)     (((d) >> 44) & 1)
#define DESC_DPL(d)   ((u32)((d) >> 45) & 3)
#define DESC_P(d)     (((d) >> 47) & 1)
#define DESC_G(d)     (((d) >> 55) & 1)
#define DESC_DB(d)    (((d) >> 54) & 1)
#define TYPE_CODE 0x8
#define TYPE_CONFORMING 0x4   /* code */
#define TYPE_READABLE 0x2     /* code */
#define TYPE_WRITABLE 0x2     /* data */
#define TYPE_ACCESSED 0x1

struct cpu cpu;

void segments_reset(void)
{
	/* Multiboot state: flat 4 GiB code and data segments, CPL 0.  The selectors
	 * are undefined by the specification; GRUB leaves 0x08 (code) and 0x10
	 * (data), and kernels that load a GDT with that layout without reloading CS
	 * (xv6) depend on it, so we do the same (QEMU's loader uses 0x10/0x18). */
	for (int s = 0; s < 6; s++) {
		cpu.seg[s] = (struct segment){ .sel = s == LVM_CS ? 0x08 : 0x10, .base = 0,
					      .limit = 0xffffffff,
					      .attr = s == LVM_CS ? 0xc09b : 0xc093 };
		VCPU->sel[s] = cpu.seg[s].sel;
	}
	cpu.ldtr = (struct segment){ .attr = 0x82 };
	cpu.tr = (struct segment){ .attr = 0x8b };
	VCPU->cpl = 0;
	fastseg_flush();
}

/* The 8-byte descriptor a selector names; false if outside its table. */
bool read_descriptor(u16 sel, u64 *d, u32 *where)
{
	u32 base, limit;
	if (sel & 4) {
		if (!(cpu.ldtr.attr & 0x80) || !cpu.ldtr.sel)
			return false;
		base = cpu.ldtr.base;
		limit = cpu.ldtr.limit;
	} else {
		base = cpu.gdtr.base;
		limit = cpu.gdtr.limit;
	}
	u32 off = sel & ~7u;
	if (off + 7 > limit)
		return false;
	if (where)
		*where = base + off;
	return guest_read(base + off, d, 8);
}

static void set_accessed(u64 d, u32 where)
{
	if (!(DESC_TYPE(d) & TYPE_ACCESSED)) {
		d |= 1ull << 40;
		guest_write(where, &d, 8);
	}
}

void segment_from_descriptor(struct segment *s, u16 sel, u64 d)
{
	s->sel = sel;
	s->base = DESC_BASE(d);
	s->limit = DESC_LIMIT(d);
	if (DESC_G(d))
		s->limit = s->limit << 12 | 0xfff;
	s->attr = (u16)(((d >> 40) & 0xff) | ((d >> 44) & 0xf00));
}

static void set_segment(int sreg, u16 sel, u64 d)
{
	segment_from_descriptor(&cpu.seg[sreg], sel, d);
	VCPU->sel[sreg] = sel;
	hostseg_update(sreg);
}

/* MOV/POP/LDS-family load of a data segment register or SS, with the SDM's checks.
 * Raises the guest fault and does not return if a check fails. */
void load_segment(struct lvm_regs *r, int sreg, u16 sel)
{
	sel = hostseg_guest_selector(sel);
	u32 cpl = VCPU->cpl, rpl = sel & 3, idx = sel & 0xfffc, where;
	u64 d;
	if (sreg == LVM_CS)
		host_bug("load_segment(CS)");
	if ((sel & ~3u) == 0) {
		if (sreg == LVM_SS)
			raise_fault(r, EXC_GP, 0);
		cpu.seg[sreg] = (struct segment){ .sel = sel };     /* null: any use faults */
		VCPU->sel[sreg] = sel;
		hostseg_update(sreg);
		return;
	}
	if (!read_descriptor(sel, &d, &where))
		raise_fault(r, EXC_GP, idx);
	u32 type = DESC_TYPE(d), dpl = DESC_DPL(d);
	if (sreg == LVM_SS) {
		if (rpl != cpl || dpl != cpl || !DESC_S(d) || (type & TYPE_CODE) || !(type & TYPE_WRITABLE))
			raise_fault(r, EXC_GP, idx);
		if (!DESC_P(d))
			raise_fault(r, EXC_SS, idx);
	} else {
		if (!DESC_S(d) || ((type & TYPE_CODE) && !(type & TYPE_READABLE)))
			raise_fault(r, EXC_GP, idx);
		bool conforming = (type & TYPE_CODE) && (type & TYPE_CONFORMING);
		if (!conforming && (dpl < cpl || dpl < rpl))
			raise_fault(r, EXC_GP, idx);
		if (!DESC_P(d))
			raise_fault(r, EXC_NP, idx);
	}
	set_accessed(d, where);
	set_segment(sreg, sel, d | 1ull << 40);
	fastseg_note(sreg, sel, where, d | 1ull << 40);
}

/* The code descriptor a far transfer lands on; checks common to jmp, call, int, iret. */
static u64 code_descriptor(struct lvm_regs *r, u16 sel, u32 *where)
{
	u64 d;
	if ((sel & ~3u) == 0)
		raise_fault(r, EXC_GP, 0);
	if (!read_descriptor(sel, &d, where))
		raise_fault(r, EXC_GP, sel & 0xfffc);
	if (!DESC_S(d) || !(DESC_TYPE(d) & TYPE_CODE)) {
		if (!DESC_S(d))
			unimplemented_once("far transfer through a call gate, task gate or TSS");
		raise_fault(r, EXC_GP, sel & 0xfffc);
	}
	if (!DESC_DB(d))
		unimplemented_once("16-bit code segment");
	return d;
}

/* CS := sel with the privilege level `cpl`; checks done by the caller. */
void set_cs(u16 sel, u64 d, u32 cpl)
{
	if (cpl == 3 && VCPU->cpl != 3)
		mmu_enter_user();
	else if (cpl != 3 && VCPU->cpl == 3)
		mmu_leave_user();
	segment_from_descriptor(&cpu.seg[LVM_CS], (sel & ~3u) | cpl, d | 1ull << 40);
	VCPU->sel[LVM_CS] = cpu.seg[LVM_CS].sel;
	bool changed = VCPU->cpl != cpl;
	VCPU->cpl = cpl;
	if (changed)
		hostseg_cpl_changed();
	else
		hostseg_update(LVM_CS);
}

/* Intra-privilege far JMP or CALL (and the target check of LRET to the same level). */
void far_transfer(struct lvm_regs *r, u16 sel, u32 off)
{
	u32 cpl = VCPU->cpl, where;
	u64 d = code_descriptor(r, sel, &where);
	u32 dpl = DESC_DPL(d);
	if (DESC_TYPE(d) & TYPE_CONFORMING) {
		if (dpl > cpl)
			raise_fault(r, EXC_GP, sel & 0xfffc);
	} else if ((sel & 3) > cpl || dpl != cpl) {
		raise_fault(r, EXC_GP, sel & 0xfffc);
	}
	if (!DESC_P(d))
		raise_fault(r, EXC_NP, sel & 0xfffc);
	struct segment s;
	segment_from_descriptor(&s, sel, d);
	if (off > s.limit)
		raise_fault(r, EXC_GP, 0);
	set_accessed(d, where);
	set_cs(sel, d, cpl);
	r->eip = off;
}

/* Code descriptor for a privilege-changing or -keeping return (LRET, IRET). */
u64 return_descriptor(struct lvm_regs *r, u16 sel)
{
	u32 where;
	u64 d = code_descriptor(r, sel, &where);
	u32 rpl = sel & 3, dpl = DESC_DPL(d);
	if (rpl < VCPU->cpl)
		raise_fault(r, EXC_GP, sel & 0xfffc);
	if ((DESC_TYPE(d) & TYPE_CONFORMING) ? dpl > rpl : dpl != rpl)
		raise_fault(r, EXC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		raise_fault(r, EXC_NP, sel & 0xfffc);
	set_accessed(d, where);
	return d;
}

/* After a return to an outer level: data segments the new CPL may not use become null. */
void null_inaccessible_segments(void)
{
	static const int regs[] = { LVM_ES, LVM_DS, LVM_FS, LVM_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct segment *s = &cpu.seg[regs[i]];
		u32 dpl = (s->attr >> 5) & 3;
		bool conforming_code = (s->attr & 0x1c) == 0x1c;
		if ((s->sel & ~3u) && !conforming_code && dpl < VCPU->cpl) {
			*s = (struct segment){ .sel = 0 };
			VCPU->sel[regs[i]] = 0;
			hostseg_update(regs[i]);
		}
	}
}

/* LLDT and LTR: system descriptors, CPL 0 only (checked by the caller). */
void load_system_segment(struct lvm_regs *r, int which, u16 sel)
{
	u64 d;
	u32 where;
	if (which == LVM_LDTR && (sel & ~3u) == 0) {
		cpu.ldtr = (struct segment){ .sel = sel, .attr = 0x82 };
		VCPU->sel[LVM_LDTR] = sel;
		return;
	}
	if ((sel & 4) || !read_descriptor(sel, &d, &where))
		raise_fault(r, EXC_GP, sel & 0xfffc);
	u32 type = DESC_TYPE(d);
	bool ok = which == LVM_LDTR ? type == 2 : (type == 9 || type == 1);
	if (DESC_S(d) || !ok)
		raise_fault(r, EXC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		raise_fault(r, EXC_NP, sel & 0xfffc);
	struct segment *s = which == LVM_LDTR ? &cpu.ldtr : &cpu.tr;
	if (which == LVM_TR) {
		d |= 2ull << 40;                               /* busy */
		guest_write(where, &d, 8);
	}
	segment_from_descriptor(s, sel, d);
	VCPU->sel[which] = sel;
}

/* LAR/LSL/VERR/VERW: descriptor visibility from the current CPL (ZF says yes). */
bool descriptor_visible(u16 sel, u64 *d, int what)
{
	if ((sel & ~3u) == 0 || !read_descriptor(sel, d, NULL))
		return false;
	u32 type = DESC_TYPE(*d), dpl = DESC_DPL(*d);
	bool conforming = DESC_S(*d) && (type & 0xc) == 0xc;
	if (!conforming && (dpl < VCPU->cpl || dpl < (sel & 3u)))
		return false;
	if (DESC_S(*d)) {
		if (what == 'r')
			return !(type & TYPE_CODE) || (type & TYPE_READABLE);
		if (what == 'w')
			return !(type & TYPE_CODE) && (type & TYPE_WRITABLE);
		return true;
	}
	if (what == 'r' || what == 'w')
		return false;
	/* System types LAR accepts; LSL only those with a limit (no gates). */
	static const u8 lar_types[16] = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0 };
	if (what == 's' && (type == 4 || type == 5 || type == 0xc))
		return false;
	return lar_types[type];
}

/* Selectors user code can load natively without a fault, so without the monitor
 * seeing it: the host's GDT entries 4 (0x23, flat code), 5 (0x2b, flat data),
 * 6 (0x33, 64-bit code) and 15 (0x7b, the per-CPU segment, a tiny limit).  When the
 * guest's GDT gives one of them a different DPL 3 meaning, say so once: a user
 * program's own `mov $sel, %ds` would get the host's descriptor. */
void check_host_visible_selectors(void)
{
	static const struct { int index; u64 host; const char *what; } host[] = {
		{ 4, 0x00cffa000000ffffull, "flat 32-bit code" },
		{ 5, 0x00cff2000000ffffull, "flat data" },
		{ 6, 0, "the host's 64-bit code segment" },
		{ 15, 0, "the host's per-CPU segment (limit = CPU number)" },
	};
	static bool warned[16];
	for (unsigned i = 0; i < sizeof host / sizeof host[0]; i++) {
		u64 d;
		int idx = host[i].index;
		if (warned[idx] || !read_descriptor(idx << 3, &d, NULL))
			continue;
		if (!DESC_P(d) || DESC_DPL(d) != 3 || !DESC_S(d))
			continue;                    /* user code cannot use it: the host faults too */
		u64 mask = ~(1ull << 40);            /* the accessed bit does not matter */
		if (host[i].host && (d & mask) == (host[i].host & mask))
			continue;
		warned[idx] = true;
		fprintf(stderr, "lvm: warning: the guest's GDT entry %d (selector %#x) is a DPL 3 segment "
			"different from the host's (%s): user code that loads it itself gets the "
			"host's descriptor (README, 'Guest selectors')\n", idx, idx << 3 | 3, host[i].what);
	}
}

/* User code loaded the host's per-CPU selector 0x7b itself (Linux's __USER_DS is
 * 0x7b too: `mov %ss, %ax; mov %ax, %ds`, or a selector saved and restored): the
 * host's descriptor has base 0, is read-only and ends at the CPU number, so the
 * first access beyond that, or any write, is a #GP.  If the guest's entry 15 is
 * a DPL 3 data segment, that #GP is the load lvm did not see: do it now with the
 * guest's descriptor and rules (true: retry the instruction).  Accesses that went
 * through before touched the same linear addresses a base-0 segment reaches. */
/* DS ES FS GS as user code left them: live here, or as its process reported. */
static void live_selectors(u16 live[4])
{
	const u16 *reported = userproc_live_selectors();
	if (!reported)
		reported = isolate_live_selectors();
	if (reported)
		memcpy(live, reported, 4 * sizeof *live);
	else
		asm volatile("movw %%ds, %0; movw %%es, %1; movw %%fs, %2; movw %%gs, %3"
			     : "=m"(live[0]), "=m"(live[1]), "=m"(live[2]), "=m"(live[3]));
}

bool repair_host_selectors(struct lvm_regs *r)
{
	u16 live[4];
	live_selectors(live);
	static const int sreg[4] = { LVM_DS, LVM_ES, LVM_FS, LVM_GS };
	bool repaired = false;
	for (int i = 0; i < 4; i++) {
		u64 d;
		if (live[i] != (15 << 3 | 3) || host_sel[sreg[i]] == live[i])
			continue;
		if (!read_descriptor(live[i], &d, NULL) || !DESC_P(d) || !DESC_S(d) ||
		    DESC_DPL(d) != 3 || (DESC_TYPE(d) & TYPE_CODE))
			continue;
		load_segment(r, sreg[i], live[i]);
		repaired = true;
	}
	return repaired;
}

/* User code loads data segment registers natively with any selector the host
 * accepts, without lvm seeing it: null, or one it read earlier (a host LDT slot
 * its segment ran on, hostseg.c).  At each entry from CPL 3 the guest's view
 * follows what is live, so that the kernel saves and restores what the program
 * loaded (Linux's ldt_gdt selftest restores glibc's %gs that way after the kernel
 * nulled it).  The host's own GDT selectors (0x23, 0x2b, 0x7b) are left to
 * repair_host_selectors(): their meaning is the host's. */
void sync_user_selectors(void)
{
	u16 live[4];
	live_selectors(live);
	static const int sreg[4] = { LVM_DS, LVM_ES, LVM_FS, LVM_GS };
	for (int i = 0; i < 4; i++) {
		u16 sel = live[i], g;
		u64 d;
		if (sel == host_sel[sreg[i]])
			continue;
		if ((sel & ~3u) == 0) {
			cpu.seg[sreg[i]] = (struct segment){ .sel = sel };
		} else if ((g = hostseg_guest_selector(sel)) != sel && read_descriptor(g, &d, NULL) &&
			   DESC_P(d) && DESC_S(d) && DESC_DPL(d) == 3) {
			segment_from_descriptor(&cpu.seg[sreg[i]], g, d);
		} else {
			continue;
		}
		VCPU->sel[sreg[i]] = cpu.seg[sreg[i]].sel;
		hostseg_update(sreg[i]);
	}
}
