/* hostseg.c: which host selector runs guest code for each guest segment register.
 *
 * Guest code executes natively on the host's flat 32-bit user selectors (0x23 code,
 * 0x2b data).  That is exact for the flat segments protected-mode kernels use for
 * CS, DS, ES and SS.  A segment with a non-zero base or a short limit (FS and GS
 * for per-CPU data and TLS) needs a host descriptor with that base: the host LDT
 * (modify_ldt) provides them.  Not done yet: such a load is reported once and the
 * segment runs flat, which is wrong for accesses through it.
 */
#include "traps.h"

void hostseg_update(int sreg)
{
	struct segment *s = &cpu.seg[sreg];
	if ((s->sel & ~3u) == 0)
		return;
	if (s->base != 0)
		unimplemented_once("segments with a non-zero base (host LDT mirror)");
}
