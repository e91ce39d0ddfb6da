/* guestsig.c: what a host signal raised by guest code means to the guest's CPU.
 *
 * Guest code runs natively, so whatever it does that a ring-3 host process may not
 * reaches the monitor as a signal: SIGSEGV with the host's trap number (#GP of a
 * privileged instruction, of `int n` through a host gate with DPL 0 or of a
 * trap-mode marker; #NP, #SS, #PF), SIGSYS (our seccomp filter: a 32-bit system
 * call), SIGILL, SIGFPE, SIGTRAP, SIGBUS.  Each becomes what the guest's CPU would
 * do: an emulated instruction, a shadow fill, an emulated access to a device page,
 * or an exception through the guest's IDT; what lvm cannot give the guest kills
 * it with the reason.  The monitor's own signals (signals.c) and those user code
 * raised in its process (userproc.c, guest_event) both end here.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <ucontext.h>
#include "stats.h"
#include "emulate.h"
#include "irq.h"
#include "mmu.h"
#include "gdb.h"
#include "userproc.h"
#include "isolate.h"
#include "pfretry.h"
#include "guestsig.h"

enum { TRAP_DE = 0, TRAP_DB = 1, TRAP_BP = 3, TRAP_OF = 4, TRAP_BR = 5, TRAP_UD = 6, TRAP_NP = 11,
       TRAP_SS = 12, TRAP_GP = 13, TRAP_PF = 14, TRAP_MF = 16, TRAP_AC = 17, TRAP_XM = 19 };

#define EFLAGS_TF 0x100u
#define DR6_BS 0x4000u
#ifndef TRAP_PERF
#define TRAP_PERF 6                       /* Linux 5.13's, for perf_event_open's sigtrap */
#endif

static u8 byte_at(u32 addr)
{
	u8 b = 0;
	guest_read(addr, &b, 1);
	return b;
}

/* A trap-mode marker: emulate the instruction after it; a real `hlt` of user code
 * (nothing we emulate follows) is the #GP the CPU raises. */
static __attribute__((noreturn)) void marker(struct lvm_regs *r)
{
	u32 site = r->eip;
	bool stepping = r->eflags & EFLAGS_TF;
	emulate_entry_by_trap(r);           /* returns only if it was not that */
	r->eip = site + 1;
	if (!emulate(r, site)) {
		r->eip = site;
		raise_fault(r, EXC_GP, 0);
	}
	if (stepping)
		singlestep_after_emulation();
	resume(r);
}

/* #GP from the host: a privileged instruction, `int n` through a host gate with
 * DPL 0 (error code n*8+2), a segment load the host's GDT refuses, or a trap-mode
 * marker.  Whatever we emulate is emulated with the guest's rules (I/O bitmap,
 * the guest's descriptors); the rest is the guest's #GP. */
static void general_protection(struct lvm_regs *r, u32 err)
{
	u32 lin = cpu.seg[LVM_CS].base + r->eip;
	u8 b = byte_at(lin);
	if (b == LVM_TRAP_MARKER)
		marker(r);
	if (b == 0xcd && (err & 7) == 2) {
		struct lvm_regs at = *r;
		r->eip += 2;
		cpu.fault_regs = &at;
		raise_interrupt(r, byte_at(lin + 1), true);
	}
	if (emulate(r, r->eip))
		resume(r);
	if (VCPU->cpl == 3 && err == 0 && repair_host_selectors(r))
		resume(r);                        /* the host's 0x7b: loaded now as the guest's */
	if (err & 2)                          /* an IDT error code: the host's IDT, not a guest fact */
		err = 0;
	raise_fault(r, EXC_GP, err);
}

/* SIGSYS from our seccomp filter: a 32-bit system call entry in guest code. */
static __attribute__((noreturn)) void system_call(struct lvm_regs *r)
{
	u32 lin = cpu.seg[LVM_CS].base + r->eip;
	u8 b0 = byte_at(lin - 2), b1 = byte_at(lin - 1);
	struct lvm_regs at = *r;
	at.eip -= 2;
	if (b0 == 0xcd) {                         /* int $n (0x80, or any vector the host routes) */
		cpu.fault_regs = &at;
		raise_interrupt(r, b1, true);
	}
	if (b0 == 0x0f && b1 == 0x34) {           /* sysenter */
		struct insn in = { .twobyte = true, .op = 0x34 };
		cpu.fault_regs = &at;
		emulate_flow(r, &in);
		resume(r);
	}
	/* syscall (0f 05) and anything else: we advertise no SYSCALL, so #UD. */
	raise_fault(&at, EXC_UD, NO_ERROR_CODE);
}

/* Read once, at start: the report that needs it comes after allowlist.c's filter,
 * which allows no open. */
static unsigned min_addr;

static unsigned mmap_min_addr(void)
{
	return min_addr;
}

void guestsig_init(void)
{
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
	if (f) {
		if (fscanf(f, "%u", &min_addr) != 1)
			min_addr = 0;
		fclose(f);
	}
}

/* An instruction whose operand is on a device page (or a store to ROM): emulated
 * here, since the host never maps those pages writable. */
static __attribute__((noreturn)) void device_access(struct lvm_regs *r, u32 addr)
{
	struct insn in;
	if (!decode(&in, r, false))
		fetch_failed(r);
	struct lvm_regs before = *r;
	cpu.fault_regs = &before;
	r->eip += in.len;
	bool done = emulate_data(r, &in);
	cpu.fault_regs = NULL;
	if (!done)
		kill_guest(&before, "the instruction at %#x (bytes %02x %02x %02x %02x) accesses %#x, "
			   "a page lvm emulates accesses to (device, ROM, or below "
			   "vm.mmap_min_addr), and it is not one lvm emulates", before.eip,
			   in.bytes[0], in.bytes[1], in.bytes[2], in.bytes[3], addr);
	mmu_stats.device_insns++;
	resume(r);
}

/* A host page fault in guest code: fill the shadow if the guest's page tables allow
 * the access, else deliver the guest's #PF. */
static __attribute__((noreturn)) void page_fault(struct lvm_regs *r, u32 addr, u32 host_err)
{
	u32 err;
	bool write = host_err & 2, user = VCPU->cpl == 3;
	int access = host_err & 0x10 ? MMU_FETCH : write ? MMU_WRITE : MMU_READ;
	if (mmu_fill(addr, access, user, &err))
		resume(r);
	if (err == ERR_DEVICE && access != MMU_FETCH)
		device_access(r, addr);
	if (err == ERR_MONITOR_PAGE)
		kill_guest(r, "%s %#x: the top 8 KiB of the address space are lvm's (the vCPU page "
			   "and the monitor's entry stub), so a mapping of the guest's there cannot "
			   "be used (a Linux guest: boot it with reservetop=4M)", access == MMU_FETCH ?
			   "instruction fetch from" : write ? "write to" : "read of", addr);
	if (err == ERR_LOW_PAGE)
		kill_guest(r, "the guest executes code at %#x, below this host's vm.mmap_min_addr "
			   "(%u): lvm cannot map that page without privilege (data accesses there "
			   "are emulated, instructions cannot be). Run `sysctl -w vm.mmap_min_addr=0` "
			   "as root, or give lvm-monitor CAP_SYS_RAWIO", addr, mmap_min_addr());
	if (err == ERR_NO_RAM || err == ERR_DEVICE || !paging_enabled()) {
		u32 gpa = addr, e;
		mmu_translate(addr, MMU_READ, user, &gpa, &e);
		kill_guest(r, "%s %#x: physical %#x is outside guest memory (no RAM or device)",
			   access == MMU_FETCH ? "instruction fetch from" : write ? "write to" :
			   "read of", addr, gpa);
	}
	VCPU->cr[2] = addr;
	if (user)
		pfretry_arm(r, addr, access);
	raise_fault(r, EXC_PF, err);
}

void guest_signal(int sig, siginfo_t *si, mcontext_t *m, struct lvm_regs *r)
{
	u32 trapno = m->gregs[REG_TRAPNO], err = m->gregs[REG_ERR];
	if (stats_on)
		stats_signal(sig, trapno);
	switch (sig) {
	case SIGALRM: case SIGIO: case SIGTSTP: case SIGCONT:
		resume(r);
	case SIGSYS:
		if (m->gregs[REG_RIP] >> 32)
			kill_guest(r, "guest code executed SYSCALL in 32-bit mode; this host reported no "
				   "usable return address (%#llx), so #UD cannot be delivered (the host "
				   "kernel did not run the call)", (unsigned long long)m->gregs[REG_RIP]);
		system_call(r);
	case SIGSEGV:
		if ((trapno == TRAP_GP || trapno == TRAP_SS) && err == 0)
			mmu_user_fault_limit(r);     /* the user limit: returns only if not */
		if (trapno == TRAP_GP)
			general_protection(r, err);
		if (trapno == TRAP_NP || trapno == TRAP_SS) {
			if (emulate(r, r->eip))      /* a segment load the guest's GDT may allow */
				resume(r);
			raise_fault(r, trapno, err);
		}
		if (trapno == TRAP_OF)               /* into: a trap, eip is past it */
			raise_interrupt(r, EXC_OF, true);
		if (trapno == TRAP_BR)
			raise_fault(r, EXC_BR, NO_ERROR_CODE);
		if (trapno == TRAP_PF)
			page_fault(r, (u32)(uintptr_t)si->si_addr, err);
		break;
	case SIGBUS:                             /* #SS: the stack beyond a segment limit */
		if (trapno == TRAP_SS && err == 0)
			mmu_user_fault_limit(r);
		if (trapno == TRAP_SS)
			raise_fault(r, EXC_SS, err);
		if (trapno == TRAP_AC) {             /* user code set AC; the host checks alignment */
			if (VCPU->cr[0] & CR0_AM)
				raise_fault(r, EXC_AC, 0);
			kill_guest(r, "not emulated: a misaligned access with EFLAGS.AC set while "
				   "the guest's CR0.AM is clear (the host checks alignment)");
		}
		break;
	case SIGILL:
		if (byte_at(cpu.seg[LVM_CS].base + r->eip) == 0x0f &&
		    byte_at(cpu.seg[LVM_CS].base + r->eip + 1) == 0x34) {
			r->eip += 2;
			system_call(r);
		}
		raise_fault(r, EXC_UD, NO_ERROR_CODE);
	case SIGFPE:
		raise_fault(r, trapno == TRAP_MF ? EXC_MF : trapno == TRAP_XM ? EXC_XM : EXC_DE,
			    NO_ERROR_CODE);
	case SIGTRAP:
		if (si->si_code == TRAP_PERF) {      /* a debug register of the debugger's */
			gdb_hw_hit(r, si);
			resume(r);
		}
		if (trapno == TRAP_BP) {
			if (gdb_breakpoint_hit(r))   /* the debugger's int3, not the guest's */
				resume(r);
			struct lvm_regs at = *r;
			at.eip -= 1;
			cpu.fault_regs = &at;
			raise_interrupt(r, EXC_BP, true);
		}
		if (trapno == TRAP_OF)
			raise_interrupt(r, EXC_OF, true);
		if (si->si_code == TRAP_TRACE) {
			if (singlestep_hidden(r) || gdb_step_done(r))
				resume(r);
			VCPU->dr[6] |= DR6_BS;       /* DR6 is sticky: the guest clears it */
		}
		raise_fault(r, EXC_DB, NO_ERROR_CODE);
	}
	kill_guest(r, "unexpected signal %d (trap %u, error %#x) from guest code", sig, trapno, err);
}

/* A signal user code raised in its own process (userproc.c), handled as if it had
 * been raised here. */
void guest_event(int sig, siginfo_t *si, mcontext_t *m)
{
	u16 cs = m->gregs[REG_CSGSFS] & 0xffff;
	struct lvm_regs r;
	vcpu_page_entered();                 /* resume() masked it for user code */
	regs_from_mcontext(m, &r);
	if (sig == USERPROC_GATE_EVENT)
		user_gate_called(&r);
	if (cs == HOST_CS)
		kill_guest(&r, "guest code switched to the host's 64-bit code segment (selector "
			   "%#x) and faulted there at %#llx (signal %d), in lvm's %s process",
			   HOST_CS, (unsigned long long)m->gregs[REG_RIP], sig,
			   !isolate_active() ? "user" : VCPU->cpl == 3 ? "isolated user" : "isolated kernel");
	guest_signal(sig, si, m, &r);
	host_bug("guest_signal returned");
}
