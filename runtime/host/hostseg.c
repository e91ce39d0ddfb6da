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
 *
 * While guest *user* code runs (CPL 3), the host selectors also carry the user
 * limit (mmu.c: the linear address from which nothing is user-accessible, e.g.
 * 0xc0000000 under Linux): flat CS, SS, DS and ES become LDT segments ending
 * there, and based FS/GS are cut there too (but for one that wraps past 4 GiB, as
 * glibc's TLS segment does).  A user access to the kernel's half
 * then faults on the host (#GP, #SS) without the kernel's pages being unmapped;
 * userlimit.c turns that fault into the guest's #PF.  CPL 0 runs flat.
 * A based SS at CPL 0 (Linux's espfix stack) gets an LDT slot too.  Not done: a
 * based or limited CS, or SS at CPL 3 (reported once; they run flat).
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "traps.h"
#include "userproc.h"
#include "isolate.h"
#include "fastseg.h"

u16 host_sel[6] = { GUEST_DS, GUEST_CS, GUEST_DS, GUEST_DS, GUEST_DS, GUEST_DS };
u64 host_fsbase;                              /* the monitor's TLS, for switch.S */
static struct segment mirrored[8192];         /* what each LDT slot holds now */
static u32 user_limit = 0xffffffffu;          /* last byte CPL 3 may reach */

/* LDT slots.  A based or limited data segment that guest *user* code runs on
 * takes the slot of the guest's own GDT index, so that user code reading the
 * register sees the guest's index (with TI set): glibc's pthread_create() passes
 * `%gs >> 3` to clone() as the TLS entry, and Linux refuses any other with EINVAL.
 * The fixed slots sit above the GDT indices kernels use (Linux 32, NetBSD and xv6
 * fewer), and within the LDT's first 4 KiB: the host allocates an LDT as large as
 * its highest entry and copies it whole at every write, so a write costs 1.3 us
 * here with entry 511 the highest and 19 us with entry 8191 (where these slots
 * were: two LDT writes per fork+exec, in the monitor and in every user process).
 * 496-501 a guest segment register's mirror at CPL 0, 504-509 at CPL 3 for a
 * selector of the guest's LDT (or a GDT index from 496 up), 510 and 511 the flat
 * code and data segments cut at the user limit.  (Two registers loaded from one
 * GDT index share its slot: if the guest changes the entry and reloads only one,
 * the other follows, where the CPU would keep the old descriptor cached.) */
enum { SLOT_KERNEL = 496, SLOT_USER = 504, SLOT_USER_CODE = 510, SLOT_USER_DATA = 511 };
static int slot(int sreg, bool user)
{
	u16 sel = cpu.seg[sreg].sel;
	if (!user)
		return SLOT_KERNEL + sreg;
	if (!(sel & 4) && (sel >> 3) && (sel >> 3) < SLOT_KERNEL)
		return sel >> 3;
	return SLOT_USER + sreg;
}
u16 host_user_cs = (SLOT_USER_CODE << 3) | 7;

static void mirror(int sreg, const struct segment *s, int slot)
{
	u16 sel = (slot << 3) | 7;                /* LDT, RPL 3 */
	if (mirrored[slot].sel && mirrored[slot].base == s->base &&
	    mirrored[slot].limit == s->limit && mirrored[slot].attr == s->attr) {
		if (sreg >= 0)
			host_sel[sreg] = sel;
		return;
	}
	bool code = s->attr & 0x8;
	bool nothing = !(s->attr & 0x80);         /* reaches no byte: expand-down, max limit */
	bool pages = s->limit > 0xfffff || nothing;
	struct user_desc d = {
		.entry_number = slot,
		.base_addr = s->base,
		.limit = nothing ? 0xfffff : pages ? s->limit >> 12 : s->limit,
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
	if (nothing)
		d.contents = MODIFY_LDT_CONTENTS_STACK;
	fastseg_forget_host(sel);                /* its ways stood for the old contents */
	if (syscall(SYS_modify_ldt, 0x11, &d, sizeof d) < 0)
		host_bug("modify_ldt for a guest segment (base %#x limit %#x): %m", s->base, s->limit);
	userproc_ldt(&d, sizeof d);              /* the user process has an LDT of its own */
	isolate_ldt(&d, sizeof d);               /* so have the isolated ones */
	mirrored[slot] = *s;
	mirrored[slot].sel = sel;
	if (sreg >= 0)
		host_sel[sreg] = sel;
}

static bool user_limited(void) { return VCPU->cpl == 3 && user_limit != 0xffffffffu; }

/* The guest selector each host LDT slot last stood for at CPL 3. */
static u16 guest_sel_of_slot[8192];

static void note_user_selector(int sreg)
{
	if (VCPU->cpl == 3 && (host_sel[sreg] & 4))
		guest_sel_of_slot[host_sel[sreg] >> 3] = cpu.seg[sreg].sel;
}

/* User code that reads a segment register sees the host selector its segment runs
 * on (an LDT slot); handed back to the guest kernel (in a signal frame it returns
 * through, by ptrace) it must mean what it meant: the guest selector that slot
 * stands for.  The guest's own LDT selectors are left alone. */
u16 hostseg_guest_selector(u16 sel)
{
	u32 idx = sel >> 3;
	if (!(sel & 4) || (sel & 3) != 3 || !guest_sel_of_slot[idx])
		return sel;
	if ((cpu.ldtr.attr & 0x80) && cpu.ldtr.sel && idx * 8 + 7 <= cpu.ldtr.limit)
		return sel;
	return guest_sel_of_slot[idx];
}

static void update(int sreg);

void hostseg_update(int sreg)
{
	update(sreg);
	note_user_selector(sreg);
}

static void update(int sreg)
{
	struct segment *s = &cpu.seg[sreg];
	bool flat = s->base == 0 && s->limit == 0xffffffff;
	bool cut = user_limited();
	if (sreg == LVM_SS && !flat && (s->sel & ~3u) && !cut && VCPU->cpl != 3 && !(s->attr & 4)) {
		/* A based stack at CPL 0: Linux's espfix stack, on which its exit path
		 * pops the registers and irets (to a user program with an LDT stack). */
		mirror(sreg, s, slot(sreg, false));
		return;
	}
	if (sreg == LVM_CS || sreg == LVM_SS) {
		if (!flat && (s->sel & ~3u))
			unimplemented_once("a CS (or a user SS) with a non-zero base or a limit below 4 GiB");
		host_sel[sreg] = !cut ? (sreg == LVM_CS ? GUEST_CS : GUEST_DS)
			       : (sreg == LVM_CS ? SLOT_USER_CODE : SLOT_USER_DATA) << 3 | 7;
		return;
	}
	if ((s->sel & ~3u) == 0) {
		host_sel[sreg] = 0;
	} else if (flat && !cut) {
		host_sel[sreg] = (s->attr & 0x8) ? GUEST_CS : GUEST_DS;
	} else if (flat && !(s->attr & 0x8)) {
		host_sel[sreg] = SLOT_USER_DATA << 3 | 7;
	} else if (!cut) {
		mirror(sreg, s, slot(sreg, false));
	} else if ((u64)s->base + s->limit > 0xffffffffu && !(s->attr & 0x8)) {
		/* A data segment that wraps past 4 GiB (glibc's i386 TLS: base B, limit
		 * 4 GiB, and its variables at negative offsets, B - n) is kept whole: a
		 * cut would refuse the wrapped part, which is user memory below its
		 * base.  Nothing of the kernel's becomes reachable through it: entering
		 * CPL 3 revokes every kernel-only page (mmu.c), and the top two pages
		 * are then as through 0x2b (the vCPU page shows user code only its own,
		 * the entry stub is read-only). */
		mirror(sreg, s, slot(sreg, true));
	} else {
		/* Cut at the user limit: a segment based beyond it reaches nothing. */
		struct segment c = *s;
		u64 last = (u64)c.base + c.limit;
		if (c.base > user_limit)
			c.limit = 0, c.attr &= ~0x80u;  /* mirrored as reaching nothing */
		else if (last > user_limit)
			c.limit = user_limit - c.base;
		mirror(sreg, &c, slot(sreg, true));
	}
}

/* The privilege level changed: every host selector may change with it. */
void hostseg_cpl_changed(void)
{
	for (int sreg = 0; sreg < 6; sreg++)
		hostseg_update(sreg);
}

/* mmu.c found a new user limit (the last byte CPL 3 may reach). */
void hostseg_set_user_limit(u32 last)
{
	if (last == user_limit)
		return;
	user_limit = last;
	if (last != 0xffffffffu) {
		/* In a user process nothing CPL 3 may not fetch is mapped, so its code
		 * segment need not end at the limit: a flat one (still an LDT slot, so
		 * the selector user code sees means the same) runs at full speed, where
		 * one with a limit costs this EPYC 1.45x on a compute loop (bench/README). */
		struct segment code = { .sel = 1, .base = 0, .attr = 0xcfb,
					.limit = userproc_active() || isolate_active() ? 0xffffffffu : last };
		struct segment data = { .sel = 1, .base = 0, .limit = last, .attr = 0xcf3 };
		mirrored[SLOT_USER_CODE].sel = mirrored[SLOT_USER_DATA].sel = 0;
		mirror(-1, &code, SLOT_USER_CODE);
		mirror(-1, &data, SLOT_USER_DATA);
	}
	hostseg_cpl_changed();
}

u32 hostseg_user_limit(void) { return user_limit; }

/* The base a host selector loads: its LDT slot's, or 0 (the host's GDT segments
 * lvm uses are flat).  For isolate.c, which sets FS and GS bases by ptrace. */
u32 hostseg_base(u16 sel)
{
	return (sel & 4) && mirrored[sel >> 3].sel ? mirrored[sel >> 3].base : 0;
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
