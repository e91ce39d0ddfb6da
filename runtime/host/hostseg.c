/* hostseg.c: which host selector runs guest code for each guest segment register.
 *
 * Guest code executes natively on the host's 32-bit user selectors (0x23 code,
 * 0x2b data), which are flat: exact for the flat segments protected-mode kernels
 * use.  A null guest data segment is a null host one, so that an access through
 * it faults on the host as it would on the CPU (#GP, delivered to the guest).
 * DS and ES are (re)loaded on every entry to guest code (switch.S, signals.c):
 * the host kernel restores neither on sigreturn.
 *
 * Not done yet: a segment with a non-zero base or a short limit (FS and GS for
 * per-CPU data and TLS) needs a host descriptor with that base, which the host LDT
 * (modify_ldt) can provide.  Such a load is reported once and runs flat.
 */
#include "traps.h"

u16 host_sel[6] = { GUEST_DS, GUEST_CS, GUEST_DS, GUEST_DS, 0, 0 };

void hostseg_update(int sreg)
{
	struct segment *s = &cpu.seg[sreg];
	if (sreg == LVM_CS || sreg == LVM_SS)
		return;                                  /* always the host's flat 0x23 / 0x2b */
	if ((s->sel & ~3u) == 0) {
		host_sel[sreg] = 0;
		return;
	}
	if (s->base != 0 || s->limit != 0xffffffff)
		unimplemented_once("segments with a non-zero base or a limit below 4 GiB (host LDT mirror)");
	if (sreg == LVM_DS || sreg == LVM_ES)
		host_sel[sreg] = (s->attr & 0x8) ? GUEST_CS : GUEST_DS;
}
