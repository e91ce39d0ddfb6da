/* signals.c: what the host kernel tells us about guest code running natively.
 *
 * Everything guest code does that a ring-3 process may not do arrives as a signal:
 * the trap-mode marker (`hlt`, #GP -> SIGSEGV), privileged instructions and faults
 * of guest user code (SIGSEGV, SIGILL, SIGFPE, SIGTRAP), and system calls, which a
 * seccomp filter turns into SIGSYS for any 32-bit system-call entry so that none
 * reaches the host kernel.  Each becomes what the guest's CPU would do: an
 * emulated instruction or an exception through the guest's IDT.  The handler runs
 * on its own stack; it resumes the guest by rewriting the signal's ucontext, so the
 * kernel's sigreturn restores every register, the FPU/SSE state included.  A signal
 * raised by the monitor's own 64-bit code is a host bug, reported as such.
 * Signals from outside (the timers, SIGIO for input, job control, termination)
 * come through the same entry, which puts back the monitor's thread pointer: they
 * are noted, the terminal is restored before the process stops or dies, and when
 * they interrupted guest code the guest resumes at an interrupt window.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "stats.h"
#include "console.h"
#include "emulate.h"
#include "irq.h"
#include "mmu.h"
#include "gdb.h"
#include "userproc.h"
#include "isolate.h"
#include "pfretry.h"

static jmp_buf *resume_point;       /* set while a handler for guest code runs */
static struct lvm_regs resume_regs;
static u8 altstack[256 * 1024] __attribute__((aligned(16)));

enum { TRAP_DE = 0, TRAP_DB = 1, TRAP_BP = 3, TRAP_OF = 4, TRAP_BR = 5, TRAP_UD = 6, TRAP_NP = 11,
       TRAP_SS = 12, TRAP_GP = 13, TRAP_PF = 14, TRAP_MF = 16, TRAP_AC = 17, TRAP_XM = 19 };

/* EFLAGS.AC and NT are virtual in guest kernel code (stac/clac, popf) but real in
 * user code, which sets them with popf (and takes AC's alignment checks natively):
 * the real flags are the live ones while CPL 3 runs, the vCPU page's copy at every
 * other time.  (IOPL stays virtual: user popf cannot change it.) */
#define USER_LIVE (0x40000u | 0x4000u)
void user_flags_saved(const struct lvm_regs *r)
{
	if (VCPU->cpl == 3) {
		VCPU->vflags = (VCPU->vflags & ~USER_LIVE) | (r->eflags & USER_LIVE);
		sync_user_selectors();
	}
}

static u32 user_live_flags(void)
{
	return VCPU->cpl == 3 ? VCPU->vflags & USER_LIVE : 0;
}

extern char entry_stub[], entry_stub_end[];
#define entry_stub_size ((u64)(entry_stub_end - entry_stub))
#define EFLAGS_TF 0x100u
#define DR6_BS 0x4000u
#ifndef TRAP_PERF
#define TRAP_PERF 6                       /* Linux 5.13's, for perf_event_open's sigtrap */
#endif

void resume(struct lvm_regs *r)
{
	singlestep_resume(r);
	for (;;) {                       /* again if a host event came after the check */
		cpu.fault_regs = NULL;
		traps_resumed();
		check_interrupts(r);
		gdb_check(r);                /* a debugger's stop: here, before the guest runs */
		/* User code resumed beyond the user limit (a kernel's iret to an address in
		 * its own half): the fetch there is the fault, not the host's iretq. */
		if (VCPU->cpl == 3 && cpu.seg[LVM_CS].base + (u64)r->eip >= (u64)mmu_user_top() << 12)
			mmu_user_fault_limit(r);
		r->eflags = (r->eflags & ~USER_LIVE) | user_live_flags();
		if (VCPU->cpl == 3)
			pfretry_resume(r);
		vcpu_page_leave();
		if (isolate_active())
			isolate_resume(r);   /* all guest code runs in processes of its own */
		if (VCPU->cpl == 3 && userproc_active())
			userproc_resume(r);  /* user code runs in its own process */
		userproc_left();
		if (resume_point) {
			resume_regs = *r;
			longjmp(*resume_point, 1);
		}
		u32 ds_es = host_sel[LVM_DS] | (u32)host_sel[LVM_ES] << 16;
		/* The fast way writes below the guest's esp at its linear address: only
		 * where that is surely mapped, with paging off. */
		/* (Not with TF: popfq would set it before lretq, which then traps.) */
		if (!paging_enabled() && !(r->eflags & EFLAGS_TF) && cpu.seg[LVM_SS].base == 0 && r->esp >= 24 &&
		    gpa_ptr(r->esp - 24, 24))
			lvm_enter_guest_fast(r, ds_es);
		else
			lvm_enter_guest(r, ds_es);
		vcpu_page_entered();     /* no guest code ran: the page as we left it */
	}
}

static void regs_from(const mcontext_t *m, struct lvm_regs *r)
{
	r->eax = m->gregs[REG_RAX], r->ecx = m->gregs[REG_RCX];
	r->edx = m->gregs[REG_RDX], r->ebx = m->gregs[REG_RBX];
	r->esp = m->gregs[REG_RSP], r->ebp = m->gregs[REG_RBP];
	r->esi = m->gregs[REG_RSI], r->edi = m->gregs[REG_RDI];
	r->eip = m->gregs[REG_RIP], r->eflags = m->gregs[REG_EFL];
	user_flags_saved(r);
}

void regs_to_mcontext(mcontext_t *m, const struct lvm_regs *r)
{
	m->gregs[REG_RAX] = r->eax, m->gregs[REG_RCX] = r->ecx;
	m->gregs[REG_RDX] = r->edx, m->gregs[REG_RBX] = r->ebx;
	m->gregs[REG_RSP] = r->esp, m->gregs[REG_RBP] = r->ebp;
	m->gregs[REG_RSI] = r->esi, m->gregs[REG_RDI] = r->edi;
	m->gregs[REG_RIP] = r->eip;
	m->gregs[REG_EFL] = (r->eflags & ~LVM_EFLAGS_VIRTUAL) | user_live_flags() | 0x202;
	/* CS and SS (the kernel restores SS with UC_STRICT_RESTORE_SS semantics). */
	u64 csgsfs = m->gregs[REG_CSGSFS];
	csgsfs = (csgsfs & ~0xffffull) | host_sel[LVM_CS];
	csgsfs = (csgsfs & ~(0xffffull << 48)) | (u64)host_sel[LVM_SS] << 48;
	m->gregs[REG_CSGSFS] = csgsfs;
}

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

static void read_mmap_min_addr(void)
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

static void guest_signal(int sig, siginfo_t *si, mcontext_t *m, struct lvm_regs *r)
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
	regs_from(m, &r);
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
#define EFLAGS_ID 0x200000u
/* EFLAGS.ID and NT for the code sigreturn returns to: rt_sigreturn takes both from
 * the flags it is called with, not from the frame (FIX_EFLAGS leaves them out), so
 * signal_entry sets them just before (Linux's CPUID probe toggles ID with popfl;
 * user code may set NT, which signal_entry clears for the monitor). */
u64 resume_live_flags;
extern char lvm_enter_window[], lvm_enter_window_end[];

/* A signal from outside the guest: note it (or stop, or die of it with the terminal
 * restored); true if whatever it interrupted goes on. */
static bool host_event(int sig)
{
	switch (sig) {
	case SIGALRM:
		irq_timer_signal();
		return true;
	case SIGIO:
		irq_input_signal();
		return true;
	case SIGTSTP:
		console_stop();
		return true;
	case SIGCONT:
		console_continued();
		return true;
	case SIGHUP: case SIGINT: case SIGQUIT: case SIGTERM: case SIGPIPE:
		console_fatal_signal(sig);
	}
	return false;
}

/* Returns non-zero when it resumes guest code (signal_entry then loads its FS/GS). */
int signal_handler(int sig, siginfo_t *si, void *ucv)
{
	if (userproc_is_child())
		return userproc_child_signal(sig, si, ucv);
	ucontext_t *uc = ucv;
	mcontext_t *m = &uc->uc_mcontext;
	u16 cs = m->gregs[REG_CSGSFS] & 0xffff;
	resume_live_flags = m->gregs[REG_EFL] & (EFLAGS_ID | 0x4000);   /* as interrupted */
	bool in_guest = (cs == GUEST_CS || cs == host_user_cs) && !resume_point;
	if (host_event(sig) && !in_guest) {
		isolate_host_event();            /* stop the isolated process running, if one is */
		/* In the monitor: handled before it resumes the guest, also when it was on
		 * its way there (switch.S), by checking again from the start. */
		u64 rip = m->gregs[REG_RIP];
		if (rip >= (uintptr_t)lvm_enter_window && rip < (uintptr_t)lvm_enter_window_end) {
			m->gregs[REG_RIP] = (uintptr_t)lvm_enter_window;
			m->gregs[REG_EFL] = 0x202;   /* not the guest's, if popfq loaded them */
		}
		return 0;
	}
	if (sig == SIGTRAP && si->si_code == TRAP_PERF && !in_guest)
		return 0;                        /* a watchpoint on the monitor's own access */
	u64 at = m->gregs[REG_RIP];
	if (sig == SIGTRAP && cs == HOST_CS && !resume_point &&
	    ((VCPU->cpl == 0 && at >= TRAMPOLINE_ADDR && at < TRAMPOLINE_ADDR + entry_stub_size) ||
	     (at >= LVM_USER_GATE && at < LVM_USER_GATE + entry_stub_size))) {
		/* Guest kernel code single-stepping (TF) into the monitor entry: the stub
		 * steps until its popfq clears TF, after saving the guest's EFLAGS with it.
		 * The rewritten instruction is one instruction to the guest: one #DB after
		 * it (resume()).  The same for the user gate's copy of the stub, whose
		 * sysenter takes its #DB in the kernel (user_gate_called). */
		singlestep_after_emulation();
		return 0;
	}
	/* A 64-bit `syscall` the monitor's allowlist (allowlist.c) refused. */
	bool forbidden = sig == SIGSYS && si->si_arch == AUDIT_ARCH_X86_64;
	u64 rip = m->gregs[REG_RIP];
	if (!in_guest && cs == HOST_CS && rip < (1ull << 32) && !resume_point) {
		/* 64-bit code below 4 GiB is never the monitor's own, bar the entry stub,
		 * which cannot fault when entered at its start: guest code far-jumped to
		 * the host's 64-bit selector.  Its error, not ours. */
		struct lvm_regs r;
		regs_from(m, &r);
		vcpu_page_entered();
		if (forbidden)
			kill_guest(&r, "guest code switched to the host's 64-bit code segment (selector %#x) "
				   "and made host system call %d at %#llx, which the monitor's seccomp "
				   "allowlist refused (in-process modes cannot stop the switch: README, "
				   "Security model)", HOST_CS, si->si_syscall, (unsigned long long)rip - 2);
		kill_guest(&r, "guest code switched to the host's 64-bit code segment (selector "
			   "%#x) and faulted there at %#llx (signal %d); lvm runs 32-bit code only, "
			   "and its in-process modes cannot stop such a jump (README: Security "
			   "model)", HOST_CS, (unsigned long long)rip, sig);
	}
	if (forbidden && !in_guest) {
		console_restore();
		fprintf(stderr, "lvm: internal error: the monitor made system call %d at %#llx, "
			"which its seccomp allowlist (runtime/host/allowlist.c) does not allow "
			"(LVM_ALLOWLIST=off runs without it)\n", si->si_syscall, (unsigned long long)rip - 2);
		_exit(EXIT_HOST_BUG);
	}
	if (!in_guest) {
		/* The monitor itself: our bug.  Say where, then die with the signal. */
		console_restore();
		extern char __executable_start[];
		fprintf(stderr, "lvm: internal error: signal %d (%s) at %#llx in the monitor "
			"(lvm-monitor+%#llx: addr2line -f -e out/bin/lvm-monitor), address %p\n",
			sig, strsignal(sig), (unsigned long long)m->gregs[REG_RIP],
			(unsigned long long)(m->gregs[REG_RIP] - (uintptr_t)__executable_start), si->si_addr);
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	jmp_buf jb;
	struct lvm_regs r;
	vcpu_page_entered();
	regs_from(m, &r);
	if (setjmp(jb) == 0) {
		resume_point = &jb;
		guest_frame_fpu = (u8 *)m->fpregs;
		guest_signal(sig, si, m, &r);
		host_bug("guest_signal returned");
	}
	resume_point = NULL;
	guest_frame_fpu = NULL;
	fpu_forget();                    /* sigreturn restores the guest's FPU from the frame */
	regs_to_mcontext(m, &resume_regs);
	/* sigreturn takes EFLAGS.ID from the flags it is called with, not from the
	 * frame (the kernel's FIX_EFLAGS): signal_entry sets it to the guest's before
	 * it returns to the restorer (Linux's CPUID probe toggles ID with popfl). */
	resume_live_flags = m->gregs[REG_EFL] & (EFLAGS_ID | 0x4000);
	/* 64-bit code ignores DS and ES, and sigreturn restores neither: set the
	 * guest's here, for the guest code sigreturn goes back to. */
	asm volatile("movl %0, %%ds; movl %1, %%es" : : "r"((u32)host_sel[LVM_DS]),
		     "r"((u32)host_sel[LVM_ES]));
	return 1;
}

static int seccomp_init(void)
{
	/* Every system call made through a 32-bit entry (int 0x80, sysenter, syscall
	 * from compat mode) is the guest's: SIGSYS.  The monitor's are x86-64. */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("lvm: seccomp (guest system calls must not reach the host)");
		return -1;
	}
	return 0;
}

/* Route `sigs` to signal_entry on the alternate stack.  Host events wait while a
 * handler runs: its sigreturn delivers them in guest code, so none is noted after
 * the handler's last look and left (irq.c); `also_masked` (0: none) waits too. */
int signals_route(const int *sigs, unsigned n, int also_masked)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = signal_entry;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	sigaddset(&sa.sa_mask, SIGIO);
	if (also_masked)
		sigaddset(&sa.sa_mask, also_masked);
	for (unsigned i = 0; i < n; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			perror("lvm: sigaction");
			return -1;
		}
	return 0;
}

int signals_init(void)
{
	read_mmap_min_addr();
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	if (sigaltstack(&ss, NULL) < 0) {
		perror("lvm: sigaltstack");
		return -1;
	}
	static const int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS, SIGSYS, SIGALRM, SIGIO,
				    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGTSTP, SIGCONT };
	if (signals_route(sigs, sizeof sigs / sizeof sigs[0], 0) < 0)
		return -1;
	return seccomp_init();
}
