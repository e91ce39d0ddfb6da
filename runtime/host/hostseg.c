/* hostseg.c: the host selectors that make guest segments work natively.
 *
 * Guest code executes on the host's 32-bit user selectors: 0x23 (flat code) and
 * 0x2b (flat data), exact for the flat segments protected-mode kernels use for CS,
 * SS, DS and ES.  A data segment with another base or limit (FS and GS for per-CPU
 * data and TLS, or any based DS/ES) gets a descriptor of its own in the host LDT
 * (modify_ldt), one slot per segment register, rewritten only when the guest
 * loads a different descriptor.  A null guest data segment is a null host one, so
 * that an access through it faults on the host as it does on the CPU.
 *
 * The host selectors are loaded on every entry to guest code: DS and ES (switch.S,
 * and signals.c because sigreturn restores neither), FS and GS likewise; the
 * monitor's own thread pointer (FS base) is put back with WRFSBASE on every entry
 * to the monitor (the entry stub and the signal wrapper).
 * Not done: a based or limited CS or SS (reported once; they run flat).
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "traps.h"

u16 host_sel[6] = { GUEST_DS, GUEST_CS, GUEST_DS, GUEST_DS, GUEST_DS, GUEST_DS };
u64 host_fsbase;                              /* the monitor's TLS, for switch.S */
static struct segment mirrored[6];            /* what each LDT slot holds now */

static int slot(int sreg) { return 1 + sreg; }

static void mirror(int sreg, const struct segment *s)
{
	u16 sel = (slot(sreg) << 3) | 7;          /* LDT, RPL 3 */
	if (mirrored[sreg].sel && mirrored[sreg].base == s->base &&
	    mirrored[sreg].limit == s->limit && mirrored[sreg].attr == s->attr) {
		host_sel[sreg] = sel;
		return;
	}
	bool code = s->attr & 0x8;
	bool pages = s->limit > 0xfffff;
	struct user_desc d = {
		.entry_number = slot(sreg),
		.base_addr = s->base,
		.limit = pages ? s->limit >> 12 : s->limit,
		.seg_32bit = 1,
		.contents = code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA,
		.read_exec_only = code ? !(s->attr & 2) : !(s->attr & 2),
		.limit_in_pages = pages,
		.seg_not_present = 0,
		.useable = 1,
	};
	if (code && (s->attr & 4))
		d.contents = MODIFY_LDT_CONTENTS_CODE;   /* conforming: no meaning in ring 3 */
	if (!code && (s->attr & 4))
		unimplemented_once("expand-down data segments");
	if (syscall(SYS_modify_ldt, 0x11, &d, sizeof d) < 0)
		host_bug("modify_ldt for a guest segment (base %#x limit %#x): %m", s->base, s->limit);
	mirrored[sreg] = *s;
	mirrored[sreg].sel = sel;
	host_sel[sreg] = sel;
}

void hostseg_update(int sreg)
{
	struct segment *s = &cpu.seg[sreg];
	bool flat = s->base == 0 && s->limit == 0xffffffff;
	if (sreg == LVM_CS || sreg == LVM_SS) {
		if (!flat && (s->sel & ~3u))
			unimplemented_once("a CS or SS with a non-zero base or a limit below 4 GiB");
		return;
	}
	if ((s->sel & ~3u) == 0)
		host_sel[sreg] = 0;
	else if (flat)
		host_sel[sreg] = (s->attr & 0x8) ? GUEST_CS : GUEST_DS;
	else
		mirror(sreg, s);
}

int hostseg_init(void)
{
	if (!(getauxval(AT_HWCAP2) & 2)) {            /* HWCAP2_FSGSBASE */
		fprintf(stderr, "lvm: this host does not allow RDFSBASE/WRFSBASE in user mode "
			"(Linux >= 5.9 on a CPU with FSGSBASE is needed)\n");
		return -1;
	}
	asm volatile("rdfsbase %0" : "=r"(host_fsbase));
	return 0;
}
