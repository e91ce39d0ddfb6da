/* vcpupage.c: the shared vCPU page is guest input, never the monitor's own state.
 *
 * Rewritten kernel code reads its control, debug and segment registers from the
 * page and writes its virtual IF and IOPL/NT/AC there without entering the
 * monitor (lvm/vcpu.h).  But any guest code can write the page: the kernel, by
 * mistake or on purpose, and the kernel's user programs too, by reloading DS with
 * the host's flat data selector 0x2b, which no segment limit of ours can stop.
 * So the page is a mirror.  Every time the monitor resumes the guest it keeps a
 * copy of what it put there; every time it is entered again it puts its copy back
 * before anything reads the page.  From kernel code (CPL < 3) it accepts the two
 * fields the kernel changes on its own, normalised to their bits, and which of the
 * monitor's own segment ways a guest subroutine loaded (fastseg.c); from user code
 * nothing.  While user code runs, the page shows it only what the CPU lets a user
 * program see: no CR2-CR4, no debug registers, no registers saved at the last
 * monitor entry.  Cost: two copies of ~130 bytes per guest entry and exit.
 */
#include <string.h>
#include "monitor.h"
#include "fastseg.h"

#define MIRRORED offsetof(struct lvm_vcpu, saved)
static struct lvm_vcpu mine;            /* the first MIRRORED bytes: what we last set */
static bool valid;

/* The monitor is about to run guest code: remember the page as it leaves it, and
 * show user code only its own. */
void vcpu_page_leave(void)
{
	struct lvm_vcpu *v = VCPU;
	memcpy(&mine, v, MIRRORED);
	valid = true;
	memset(&v->saved, 0, sizeof v->saved);
	if (mine.cpl == 3) {
		memset(&v->cr[1], 0, sizeof v->cr - sizeof v->cr[0]);   /* CR0 is smsw's anyway */
		memset(v->dr, 0, sizeof v->dr);
		memset(v->fastseg, 0, sizeof v->fastseg);   /* the kernel's descriptors */
		v->pending = 0;           /* rewritten user code never enters the monitor for it */
	}
}

/* The monitor was entered from guest code (a signal, or the entry stub): put the
 * page back as the monitor left it, keeping what kernel code may change itself. */
void vcpu_page_entered(void)
{
	if (!valid)
		return;                   /* before the first entry into the guest */
	struct lvm_vcpu *v = VCPU;
	u32 vif = v->vif & LVM_EFLAGS_IF;
	u32 vflags = v->vflags & (LVM_EFLAGS_VIRTUAL & ~LVM_EFLAGS_IF);
	u32 used[4], sel[4] = { v->sel[LVM_ES], v->sel[LVM_DS], v->sel[LVM_FS], v->sel[LVM_GS] };
	memcpy(used, v->fastseg_used, sizeof used);
	memcpy(v, &mine, MIRRORED);
	if (mine.cpl != 3) {
		v->vif = vif;
		v->vflags = vflags;
		if (used[0] | used[1] | used[2] | used[3])
			fastseg_apply(used, sel);    /* the way named, from the monitor's copy */
	}
}

/* The entry stub's register save area, read once: wipe it so no later reader (user
 * code through 0x2b) sees it. */
struct lvm_regs vcpu_page_take_saved(void)
{
	struct lvm_regs r = VCPU->saved;
	memset(&VCPU->saved, 0, sizeof VCPU->saved);
	return r;
}
