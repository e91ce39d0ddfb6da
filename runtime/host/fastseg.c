/* fastseg.c: call mode's segment loads that finish in guest code, and what they left.
 *
 * Linux reloads DS, ES and FS at every kernel entry and exit (the user's selectors
 * back, the per-CPU segment in FS): four or more monitor entries per system call,
 * ~0.2 us each, for loads that nearly always repeat one of the last two of that
 * register.  So every load the monitor emulates at CPL 0 from the GDT is noted
 * here, per register (ES, DS, FS, GS) in LVM_FASTSEG_WAYS ways: the selector, the
 * descriptor's linear address and bytes as loaded (Accessed set), and the host
 * selector hostseg.c chose for it.  A copy goes on the vCPU page, where the guest
 * subroutine of `movl %reg, %sreg` (runtime/guest/segload.s.j2) finds it; when the
 * selector matches a way and the GDT still holds those bytes, the CPU would load
 * the same hidden descriptor and write nothing (A is set), so the subroutine loads
 * the host selector itself and names the way in `fastseg_used`.  At its next entry
 * the monitor brings its own state up to that load from its own copy of the way
 * (vcpupage.c calls fastseg_apply): the page is guest-writable and only says
 * which way.  A null selector needs no way.  Ways are forgotten when what they
 * rest on changes: the GDTR (lgdt), a host LDT slot rewritten for another
 * descriptor (hostseg.c), a reset.
 */
#include <string.h>
#include "traps.h"
#include "fastseg.h"
#include "stats.h"

static const int sregs[4] = { LVM_ES, LVM_DS, LVM_FS, LVM_GS };
static struct lvm_fastseg ways[4 * LVM_FASTSEG_WAYS];   /* the monitor's own copy */
static u8 next_way[4];

static int index_of(int sreg)
{
	for (int i = 0; i < 4; i++)
		if (sregs[i] == sreg)
			return i;
	return -1;
}

static void publish(void)
{
	memcpy(VCPU->fastseg, ways, sizeof ways);
}

void fastseg_note(int sreg, u16 sel, u32 where, u64 d)
{
	int i = index_of(sreg);
	if (i < 0 || VCPU->cpl != 0 || (sel & 4) || !(sel & ~3u))
		return;
	struct lvm_fastseg *w = &ways[i * LVM_FASTSEG_WAYS], *pick = NULL;
	for (int k = 0; k < LVM_FASTSEG_WAYS; k++)
		if (w[k].sel == sel)
			pick = &w[k];            /* one way per selector: the newest bytes */
	if (!pick)
		pick = &w[next_way[i]++ % LVM_FASTSEG_WAYS];
	*pick = (struct lvm_fastseg){ .sel = sel, .where = where, .desc_lo = (u32)d,
				      .desc_hi = (u32)(d >> 32), .host_sel = host_sel[sreg] };
	publish();
}

void fastseg_flush(void)
{
	memset(ways, 0, sizeof ways);
	publish();
}

void fastseg_forget_host(u16 host)
{
	bool any = false;
	for (unsigned k = 0; k < sizeof ways / sizeof ways[0]; k++)
		if (ways[k].sel && ways[k].host_sel == host)
			ways[k].sel = 0, any = true;
	if (any)
		publish();
}

/* What the guest subroutine loaded since the last entry, per register: 0 nothing,
 * way + 1, or LVM_FASTSEG_NULL with the null selector it wrote (`sel`). */
void fastseg_apply(const u32 used[4], const u32 sel[4])
{
	for (int i = 0; i < 4; i++) {
		int sreg = sregs[i];
		if (used[i] == LVM_FASTSEG_NULL && !(sel[i] & 0xfffc)) {
			cpu.seg[sreg] = (struct segment){ .sel = (u16)(sel[i] & 3) };
		} else if (used[i] >= 1 && used[i] <= LVM_FASTSEG_WAYS &&
			   ways[i * LVM_FASTSEG_WAYS + used[i] - 1].sel) {
			const struct lvm_fastseg *w = &ways[i * LVM_FASTSEG_WAYS + used[i] - 1];
			segment_from_descriptor(&cpu.seg[sreg], (u16)w->sel,
						(u64)w->desc_hi << 32 | w->desc_lo);
		} else {
			continue;                    /* nothing, or not a way of ours */
		}
		VCPU->sel[sreg] = cpu.seg[sreg].sel;
		hostseg_update(sreg);
		if (stats_on)
			stats_fastseg();
	}
}
