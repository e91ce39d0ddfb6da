/* traps.c: exceptions and interrupts delivered through the guest's IDT.
 *
 * The host CPU never sees the guest's IDT: every event that would vector through
 * it (a fault of emulated code, a signal from natively running code, an `int n`,
 * a device interrupt) comes here, and we do what the CPU does (SDM vol. 3, 6.12):
 * read the gate, check it, switch to SS0:ESP0 from the TSS on a privilege change,
 * push the frame (and error code), clear IF for interrupt gates.  A fault while
 * delivering becomes #DF as the CPU's rules say, a fault while delivering #DF a
 * triple fault, which ends the guest with a report.
 */
#include <string.h>
#include "traps.h"
#include "mmu.h"
#include "gdb.h"

static int delivering = -1;        /* vector being delivered, for #DF / triple fault */
/* A guest in a loop: the same fault again and again, from the same state (the
 * registers, CS, the vector, error code and CR2 all as the last time), with nothing
 * in between: its handler fixed nothing.  Only the same: one store that sweeps
 * fresh pages faults at one EIP with a new CR2 each time (a memset of a large
 * buffer, Linux's page-fault benchmark), an instruction a kernel emulates in its
 * handler (rdtsc with CR4.TSD) with new registers each time; those make progress
 * (tests/kernels/pfsweep, whose sweep must stay longer than STORM_LIMIT). */
#define STORM_LIMIT 20000
static struct { struct lvm_regs regs; u32 cr2, cs; int vector, err; } storm;
static u32 storm_count;

u32 guest_eflags(const struct lvm_regs *r)
{
	/* Not the TF a debugger's step set: a frame or an emulated pushf would keep it. */
	return (r->eflags & ~LVM_EFLAGS_VIRTUAL & ~0x10000u & ~gdb_hidden_flags()) | VCPU->vif |
	       VCPU->vflags | 2;
}

/* writable: the bits this instruction at this CPL may change (IF, IOPL...). */
void set_guest_eflags(struct lvm_regs *r, u32 value, u32 writable)
{
	const u32 real = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x200000;
	u32 now = guest_eflags(r);
	u32 v = (now & ~writable) | (value & writable);
	r->eflags = (r->eflags & ~real) | (v & real);
	VCPU->vif = v & LVM_EFLAGS_IF;
	VCPU->vflags = v & LVM_EFLAGS_VIRTUAL & ~LVM_EFLAGS_IF;
}

static bool contributory(int v)
{
	return v == EXC_DE || (v >= EXC_TS && v <= EXC_GP);
}

static bool has_error_code(int v)
{
	return v == EXC_DF || (v >= EXC_TS && v <= EXC_PF) || v == EXC_AC;
}

void raise_fault(struct lvm_regs *r, int vector, int error_code)
{
	if (cpu.fault_regs) {            /* faulting in emulation: the state before the instruction */
		*r = *cpu.fault_regs;
		cpu.fault_regs = NULL;
	}
	if (delivering >= 0) {
		if (delivering == EXC_DF)
			kill_guest(r, "triple fault (#%d while delivering #DF)", vector);
		bool first_pf = delivering == EXC_PF;
		if ((contributory(delivering) || first_pf) && (contributory(vector) || (first_pf && vector == EXC_PF))) {
			trace_event("#%d while delivering #%d: double fault", vector, delivering);
			vector = EXC_DF;
			error_code = 0;
		}
	}
	u32 cr2 = vector == EXC_PF ? VCPU->cr[2] : 0, cs = VCPU->sel[LVM_CS];
	if (!memcmp(r, &storm.regs, sizeof *r) && cr2 == storm.cr2 && cs == storm.cs &&
	    vector == storm.vector && error_code == storm.err) {
		if (++storm_count >= STORM_LIMIT)
			kill_guest(r, "exception loop: #%d (error code %#x, cr2 %#x) raised %u times "
				   "at the same eip with the same registers", vector, error_code, cr2, storm_count);
	} else {
		storm.regs = *r, storm.cr2 = cr2, storm.cs = cs, storm.vector = vector, storm.err = error_code;
		storm_count = 0;
	}
	trace_event("exception #%d err=%#x at %04x:%08x", vector, error_code, VCPU->sel[LVM_CS], r->eip);
	int outer = delivering;
	delivering = vector;
	deliver(r, vector, has_error_code(vector) ? error_code : NO_ERROR_CODE, false);
	delivering = outer;
	resume(r);
}

/* The guest is about to run again: any delivery in progress has completed. */
void traps_resumed(void)
{
	delivering = -1;
}

/* A software interrupt (int n, int3, into) is not an exception being delivered:
 * a fault on the way (a gate's DPL, a not-present gate) is that fault alone, never
 * a double fault, whatever the vector's number. */
#define DELIVERING_SOFTWARE 256

void raise_interrupt(struct lvm_regs *r, int vector, bool software)
{
	int outer = delivering;
	delivering = software ? DELIVERING_SOFTWARE : vector;
	deliver(r, vector, NO_ERROR_CODE, software);
	delivering = outer;
	resume(r);
}

/* An implicit supervisor access of the delivery (IDT, TSS, the new frame): a page
 * fault there is the guest's #PF (and #DF by the rules above if it recurs). */
static void implicit(struct lvm_regs *r, u32 lin, void *buf, u32 len, int access)
{
	u32 at, err;
	if (mmu_access(lin, buf, len, access, false, &at, &err))
		return;
	if (err == ERR_NO_RAM || !paging_enabled())
		kill_guest(r, "interrupt delivery: %s at %#x, where there is no guest memory",
			   access == MMU_WRITE ? "write" : "read", at);
	VCPU->cr[2] = at;
	raise_fault(r, EXC_PF, err);
}

/* The stack frame is written before any register changes: a fault while pushing
 * leaves the guest as it was, as the CPU does. */
void deliver(struct lvm_regs *r, int vector, int error_code, bool software)
{
	u32 cpl = VCPU->cpl, gidx = vector * 8 + 2;
	u64 gate;
	if (!(VCPU->cr[0] & 1))
		kill_guest(r, "interrupt %d in real mode (real-mode IVT not emulated)", vector);
	if ((u32)vector * 8 + 7 > cpu.idtr.limit)
		raise_fault(r, EXC_GP, gidx);
	implicit(r, cpu.idtr.base + vector * 8, &gate, 8, MMU_READ);
	u32 type = (gate >> 40) & 0x1f, dpl = (gate >> 45) & 3;
	if (type == 0x05 || type == 0x06 || type == 0x07) {
		unimplemented_once(type == 5 ? "task gates" : "16-bit interrupt gates");
		kill_guest(r, "vector %d goes through a %s", vector, type == 5 ? "task gate" : "16-bit gate");
	}
	if (type != 0x0e && type != 0x0f)
		raise_fault(r, EXC_GP, gidx);
	if (software && dpl < cpl)
		raise_fault(r, EXC_GP, gidx);
	if (!((gate >> 47) & 1))
		raise_fault(r, EXC_NP, gidx);
	u16 sel = (gate >> 16) & 0xffff;
	u32 off = (u32)(gate & 0xffff) | (u32)(gate >> 48) << 16;
	u64 d;
	if ((sel & ~3u) == 0)
		raise_fault(r, EXC_GP, 0);
	if (!read_descriptor(sel, &d, NULL) || !((d >> 44) & 1) || !((d >> 43) & 1) ||
	    ((d >> 45) & 3) > cpl)
		raise_fault(r, EXC_GP, sel & 0xfffc);
	if (!((d >> 47) & 1))
		raise_fault(r, EXC_NP, sel & 0xfffc);
	bool conforming = (d >> 42) & 1;
	u32 new_cpl = conforming ? cpl : (u32)((d >> 45) & 3);

	u32 frame[7], n = 0;
	struct segment ss = cpu.seg[LVM_SS];
	u32 esp = r->esp;
	if (new_cpl < cpl) {
		/* Inner stack from the 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n. */
		u32 tss_esp, tss_ss = 0;
		u32 at = 4 + 8 * new_cpl;
		if (!(cpu.tr.attr & 0x8) || at + 8 > cpu.tr.limit + 1)
			raise_fault(r, EXC_TS, cpu.tr.sel & 0xfffc);
		implicit(r, cpu.tr.base + at, &tss_esp, 4, MMU_READ);
		implicit(r, cpu.tr.base + at + 4, &tss_ss, 2, MMU_READ);
		u64 sd;
		u16 nss = tss_ss;
		if ((nss & ~3u) == 0 || !read_descriptor(nss, &sd, NULL) || (nss & 3) != new_cpl ||
		    ((sd >> 45) & 3) != new_cpl || !((sd >> 44) & 1) || ((sd >> 43) & 1) || !((sd >> 41) & 1))
			raise_fault(r, EXC_TS, nss & 0xfffc);
		if (!((sd >> 47) & 1))
			raise_fault(r, EXC_SS, nss & 0xfffc);
		segment_from_descriptor(&ss, nss, sd);
		frame[n++] = VCPU->sel[LVM_SS];
		frame[n++] = r->esp;
		esp = tss_esp;
	}
	frame[n++] = guest_eflags(r);
	frame[n++] = VCPU->sel[LVM_CS];
	frame[n++] = r->eip;
	if (error_code != NO_ERROR_CODE)
		frame[n++] = error_code;
	/* frame[] is in push order; on the stack the last pushed is lowest. */
	u32 top = esp - 4 * n, words[7];
	for (u32 i = 0; i < n; i++)
		words[i] = frame[n - 1 - i];
	implicit(r, ss.base + top, words, 4 * n, MMU_WRITE);

	/* Commit. */
	if (new_cpl < cpl) {
		cpu.seg[LVM_SS] = ss;
		VCPU->sel[LVM_SS] = ss.sel;
		hostseg_update(LVM_SS);
	}
	set_cs(sel, d, new_cpl);
	r->esp = top;
	r->eip = off;
	r->eflags &= ~(0x100u | 0x10000u);            /* TF, RF */
	VCPU->vflags &= ~0x4000u;                     /* NT */
	if (type == 0x0e)
		VCPU->vif = 0;
}
