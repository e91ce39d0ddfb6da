/* pfretry.c: the page a user-mode #PF was about, mapped before user code retries it.
 *
 * A guest kernel answers a user page fault by mapping the page and returning to
 * the faulting instruction, which the CPU then executes again: under lvm that
 * retry would fault a second time, in the host (the shadow has no mapping yet), and
 * cost a second host signal and a second handoff to fill it.  So the delivery of a
 * user #PF is remembered, and when user code is about to run again at the same
 * instruction, in the same address space, the page is filled first as that access
 * would fill it (the guest's tables walked as CPL 3: if the kernel did not make the
 * access legal, nothing happens and the retry faults as before).  The retry follows
 * at once, so the Accessed and Dirty bits set here are the ones it would set.
 */
#include "mmu.h"
#include "pfretry.h"

static struct {
	bool armed;
	int access;
	u32 addr, eip, cr3;
	u16 cs;
} hint;

void pfretry_arm(const struct lvm_regs *r, u32 addr, int access)
{
	hint.armed = true;
	hint.access = access;
	hint.addr = addr, hint.eip = r->eip, hint.cr3 = VCPU->cr[3], hint.cs = VCPU->sel[LVM_CS];
}

void pfretry_resume(const struct lvm_regs *r)
{
	if (!hint.armed)
		return;
	hint.armed = false;
	if (r->eip != hint.eip || VCPU->cr[3] != hint.cr3 || VCPU->sel[LVM_CS] != hint.cs ||
	    !paging_enabled())
		return;
	u32 err;
	if (mmu_fill(hint.addr, hint.access, true, &err))
		mmu_stats.retry_fills++;
}
