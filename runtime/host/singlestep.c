/* singlestep.c: TF single-steps of guest kernel code through lvm's rewritten instructions.
 *
 * With EFLAGS.TF set the CPU raises #DB after every instruction, and a kernel that
 * single-steps itself (kprobes, a debugger stub, Linux's SYSENTER entry, which a
 * user's TF reaches) counts on one #DB per instruction it wrote.  lvm rewrites some
 * instructions into several: a call to a guest subroutine (runtime/guest/), whose
 * body the CPU steps through natively, and a far call into the monitor.  The guest
 * must see one #DB, after the instruction it wrote:
 *  - a step that lands inside a guest subroutine (recognized by its bytes, which
 *    scripts/guest-code-header.py takes from the templates) is not delivered; if
 *    the subroutine's popfl has just cleared TF (the guest's popf did), TF is kept
 *    on until the subroutine returns, where the #DB is due, and cleared there;
 *  - a step into the monitor's entry stub (the stub clears TF for the monitor once
 *    it has saved the guest's EFLAGS) or a trap-mode marker leaves a #DB pending,
 *    delivered after the instruction has been emulated (resume.c).
 * A debugger's step (gdbstub.c) rides on the same logic: where a #DB would go to
 * the guest, gdb_step_done() takes it first, and the sti shadow does not merge sti
 * with the next instruction for it.
 * Not done: a step inside a subroutine that an interrupt preempts is delivered at
 * the subroutine's return with the interrupt's handler run before it.
 */
#include <stdlib.h>
#include <string.h>
#include "traps.h"
#include "guest-code.h"
#include "gdb.h"

#define EFLAGS_TF 0x100u

static bool tf_forced;       /* TF kept on by lvm: the guest's own is clear */
static bool pending;         /* a #DB after the instruction being emulated */
/* The guest subroutine being stepped through: whether the instruction it stands for
 * began with TF set (the call into it trapped: a #DB is due at its return) or not
 * (its popfl set TF), and whether it is sti's (no #DB right after an sti, as QEMU). */
static enum { NONE, DUE, NOT_DUE } visit;
static bool visit_sti;

/* The subroutine whose code holds `lin`, and the offset there; -1 if none. */
static int guest_code_at(u32 lin, unsigned *offset)
{
	u8 b[256];
	for (unsigned i = 0; i < sizeof guest_code / sizeof guest_code[0]; i++) {
		unsigned len = guest_code[i].len;
		if (len > sizeof b)
			abort();                   /* a subroutine grew: grow b */
		for (unsigned k = 0; k < len; k++)
			if (guest_read(lin - k, b, len) && !memcmp(b, guest_code[i].code, len)) {
				*offset = k;
				return i;
			}
	}
	return -1;
}

/* Is r inside one of lvm's guest subroutines (a debugger's stop must not be)? */
bool singlestep_in_guest_code(const struct lvm_regs *r)
{
	unsigned k;
	return VCPU->cpl == 0 && guest_code_at(cpu.seg[LVM_CS].base + r->eip, &k) >= 0;
}

/* A single-step #DB of guest kernel code at r: true if it is lvm's, not the guest's
 * (then resume without delivering it). */
bool singlestep_hidden(struct lvm_regs *r)
{
	if (VCPU->cpl != 0)
		return false;
	unsigned k;
	int i = guest_code_at(cpu.seg[LVM_CS].base + r->eip, &k);
	if (i >= 0) {
		if (k == 0)
			visit = DUE;
		else if (visit == NONE)
			visit = NOT_DUE;
		visit_sti = !strcmp(guest_code[i].name, "sti");
		if (!(r->eflags & EFLAGS_TF)) {
			r->eflags |= EFLAGS_TF;
			tf_forced = true;
		}
		return true;
	}
	bool due = visit != NOT_DUE && !(visit != NONE && visit_sti && !gdb_stepping());
	visit = NONE;
	singlestep_delivering(r);
	return !due;
}

/* The instruction being emulated began with TF set: a #DB after it. */
void singlestep_after_emulation(void)
{
	pending = VCPU->cpl == 0 || pending;
}

/* Called before resuming guest code: deliver the pending #DB, if any (none right
 * after an sti, whose shadow covers it under QEMU). */
void singlestep_resume(struct lvm_regs *r)
{
	if (!pending)
		return;
	pending = false;
	visit = NONE;
	singlestep_delivering(r);
	if (gdb_step_done(r))              /* the debugger's step: one instruction, sti too */
		return;
	if (cpu.sti_shadow)
		return;
	VCPU->dr[6] |= 0x4000;             /* BS */
	raise_fault(r, EXC_DB, NO_ERROR_CODE);
}

/* A #DB for the guest is being delivered (or dropped): the TF lvm kept on goes. */
void singlestep_delivering(struct lvm_regs *r)
{
	if (tf_forced) {
		r->eflags &= ~EFLAGS_TF;
		tf_forced = false;
	}
}
