/* tlb.c: the translations the monitor's own accesses to guest memory reuse.
 *
 * The monitor reads and writes guest memory through a walk of the guest's tables
 * (pagewalk.c) for every emulated instruction's bytes and operands, every monitor
 * entry's stack frame, every interrupt frame: a system call through Linux's vDSO
 * made five walks (the gate's far return and its site, the sysexit entry's frame,
 * the sysexit's bytes).  The CPU keeps translations in its TLB until an INVLPG, a
 * CR3 load or a change of paging mode; the monitor may keep them as long, and
 * forgets them on the same events that drop the shadow (which is guest code's TLB;
 * this is the monitor's).  It keeps only what a TLB hit would use: a present
 * translation that allows the access, and, for a write, whose D bit is set; any
 * other access walks again, as the CPU walks again before it reports a #PF (so an
 * entry the guest made present or wider meanwhile is seen).  Flushed whole at every
 * event: an INVLPG of a 4 MiB page must drop each of its 4 KiB pieces here, and
 * one generation count is cheaper than finding them.
 */
#include <string.h>
#include "mmu.h"

#define TLB_SIZE 64
static struct { u32 page, cr3, gpa, gen, flags; } tlb[TLB_SIZE];
static u32 gen = 1;

void tlb_flush(void)
{
	if (++gen == 0) {                        /* wrapped: no entry may look current */
		memset(tlb, 0, sizeof tlb);
		gen = 1;
	}
}

/* flags: the walk's W and U of both levels combined, and the leaf's D. */
void tlb_fill(u32 lin, u32 gpa, u32 flags)
{
	u32 page = lin >> 12;
	tlb[page % TLB_SIZE] = (typeof(tlb[0])){ page, VCPU->cr[3], gpa & ~0xfffu, gen, flags };
}

bool tlb_lookup(u32 lin, int access, bool user, u32 *gpa)
{
	u32 page = lin >> 12;
	typeof(tlb[0]) *e = &tlb[page % TLB_SIZE];
	if (e->gen != gen || e->page != page || e->cr3 != VCPU->cr[3])
		return false;
	if (user && !(e->flags & PTE_U))
		return false;
	if (access == MMU_WRITE) {
		bool w = (e->flags & PTE_W) || (!user && !(VCPU->cr[0] & CR0_WP));
		if (!w || !(e->flags & PTE_D))
			return false;
	}
	*gpa = e->gpa | (lin & 0xfff);
	return true;
}
