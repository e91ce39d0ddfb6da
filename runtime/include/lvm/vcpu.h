/* lvm/vcpu.h: the shared vCPU page, the one contract between guest and host.
 *
 * The page lives at LVM_VCPU_ADDR, the top page of the guest's 4 GiB space, so a
 * rewritten kernel reaches it with an absolute address whether paging is on or off
 * and whatever address the kernel is linked at.  The monitor keeps it mapped in
 * every shadow address space.
 *
 * Rewritten code touches it in two ways (see toolchain/lvm/templates/):
 *   - inline: `cli` becomes a store to `vif`, reads of control, debug and segment
 *     registers become loads from `cr`, `dr` and `sel`;
 *   - through the guest-side subroutines (runtime/guest/), which end in a far call
 *     to LVM_MONITOR_SEL:LVM_MONITOR_ENTRY when they cannot finish on this page.
 * The Python toolchain derives every offset from this file with pycparser
 * (toolchain/lvm/vcpu.py); nothing is copied by hand.  This header is parsed by
 * both C compilers and pycparser: keep it free of includes and of bit-fields.
 *
 * Everything here is guest-writable, so it is never the monitor's own state: the
 * monitor keeps its copy (vcpupage.c), takes from the page only what rewritten
 * kernel code legitimately changes (vif, vflags), and while guest user code runs
 * the page shows nothing that is not the user's to see.
 */
#ifndef LVM_VCPU_H
#define LVM_VCPU_H

typedef unsigned int lvm_u32;
typedef unsigned short lvm_u16;
typedef unsigned char lvm_u8;

enum lvm_abi {
	LVM_VCPU_ADDR = 0xfffff000,   /* guest-linear address of struct lvm_vcpu */
	LVM_VCPU_MAGIC = 0x4d564c21,  /* "!LVM" */
	LVM_ABI_VERSION = 4,
	LVM_EFLAGS_IF = 0x200,
	/* EFLAGS bits the guest owns virtually: IF, IOPL, NT, AC.  Everything else
	 * is the real EFLAGS of the CPU running guest code. */
	LVM_EFLAGS_VIRTUAL = 0x200 | 0x3000 | 0x4000 | 0x40000,
	LVM_TRAP_MARKER = 0xf4,       /* trap mode: `hlt` placed before the original */
	/* The monitor's entry: guest subroutines far-call it with an immediate far
	 * pointer (`lcall $SEL, $ENTRY`), never through guest-writable memory.  The
	 * selector is the host's 64-bit user code segment, the same on every x86-64
	 * Linux; the stub sits in the read-only page below this one. */
	LVM_MONITOR_SEL = 0x33,
	LVM_HOST_FLAT_DS = 0x2b,      /* the host's flat 32-bit data selector: SS at CPL 0 */
	LVM_MONITOR_ENTRY = 0xffffe000,
	/* User code's system-call gate, in the same page: `sysenter` in code a kernel
	 * maps into its processes (Linux's vDSO), built with lvm-as's user mode, is
	 * `lcall $LVM_MONITOR_SEL, $LVM_USER_GATE` (7 bytes), which the monitor takes
	 * as that sysenter (its far return popped, the site as the instruction's
	 * address) without the host signal a sysenter costs. */
	LVM_USER_GATE = 0xffffe800,
	/* Why a guest-side subroutine far-called the monitor.  The monitor finds, on
	 * the guest stack: far return (8 bytes), the reason (4), the near return of
	 * the rewritten site (4), then the guest's stack as it was before the site. */
	LVM_ENTRY_EMULATE = 0,        /* emulate the instruction at the near return */
	LVM_ENTRY_IRQ_WINDOW = 1,     /* IF became 1 with an interrupt pending (popf) */
	LVM_ENTRY_STI_WINDOW = 2      /* the same by sti: its shadow covers the next instruction */
};

/* Segment register numbers, in the CPU's encoding order (ModRM.reg of mov sreg). */
enum lvm_sreg { LVM_ES, LVM_CS, LVM_SS, LVM_DS, LVM_FS, LVM_GS, LVM_LDTR, LVM_TR, LVM_NSEL };

/* Call mode's fast segment loads (runtime/guest/segload.s.j2): per data segment
 * register (ES, DS, FS, GS, in that order), the LVM_FASTSEG_WAYS selectors it
 * was last loaded with at CPL 0 from the GDT, each with the descriptor's bytes as
 * loaded (A set), their linear address and the host selector that stands for it.
 * A `mov %reg, %sreg` whose selector is one of them, and whose descriptor in the
 * GDT still holds those bytes, loads the host selector itself and says so in
 * `fastseg_used` (way + 1, or LVM_FASTSEG_NULL for a null selector); the monitor
 * takes the rest from its own copy at its next entry (vcpupage.c). */
enum lvm_fastseg_abi { LVM_FASTSEG_WAYS = 2, LVM_FASTSEG_NULL = 3 };
struct lvm_fastseg {
	lvm_u32 sel;            /* 0: the way is empty */
	lvm_u32 where;          /* linear address of the descriptor */
	lvm_u32 desc_lo, desc_hi;
	lvm_u32 host_sel;
};

/* Register save area, pushal order reversed: the order the monitor's entry stub
 * stores them in. */
struct lvm_regs {
	lvm_u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
	lvm_u32 eip, eflags;
};

struct lvm_vcpu {
	lvm_u32 magic;          /* LVM_VCPU_MAGIC once the monitor set the page up */
	lvm_u32 abi_version;    /* LVM_ABI_VERSION */
	/* Read and written by rewritten code without entering the monitor. */
	lvm_u32 vif;            /* virtual EFLAGS.IF: 0 or LVM_EFLAGS_IF */
	lvm_u32 vflags;         /* the other LVM_EFLAGS_VIRTUAL bits (IOPL, NT, AC) */
	lvm_u32 pending;        /* non-zero: an interrupt waits for vif */
	lvm_u32 cpl;            /* current privilege level of the guest */
	lvm_u32 cr[5];          /* cr0 .. cr4 as the guest sees them (cr1 unused) */
	lvm_u32 dr[8];          /* dr0 .. dr7 */
	lvm_u32 sel[LVM_NSEL];  /* selectors as the guest sees them, zero-extended */
	lvm_u32 reserved0[8];
	struct lvm_fastseg fastseg[4 * LVM_FASTSEG_WAYS];  /* [ES DS FS GS][way], flat */
	lvm_u32 fastseg_used[4];
	/* Written by the monitor's entry stub on a far call; the monitor wipes it once
	 * read, so it never shows one context's registers to another. */
	struct lvm_regs saved;
	lvm_u32 reserved1[6];
};

#endif
