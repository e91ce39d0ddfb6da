/* resume.c: the way back into guest code, from every entry of the monitor.
 *
 * Every emulated instruction, delivered exception and handled host event ends in
 * resume(): what is due before guest code runs again (interrupts, the debugger's
 * stops, the user limit, a user page fault's retry, the vCPU page), then guest
 * code by one of four ways: the isolated processes (isolate.c), the user process
 * (userproc.c), the frame of the signal handler being run for guest code (its
 * sigreturn resumes it: signals.c arms the resume point), or a jump from the
 * monitor's own context (switch.S).  Registers move between the guest's lvm_regs
 * and a host mcontext here too, with the flags user code keeps live (AC, NT).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <ucontext.h>
#include "monitor.h"
#include "traps.h"
#include "irq.h"
#include "mmu.h"
#include "gdb.h"
#include "userproc.h"
#include "isolate.h"
#include "pfretry.h"
#include "guestsig.h"

/* Set while a handler for guest code runs (signals.c): resume() goes back there with
 * the registers, and the handler's sigreturn resumes guest code. */
static jmp_buf *resume_point;
static struct lvm_regs resume_regs;

void resume_arm(jmp_buf *jb)
{
	resume_point = jb;
}

bool resume_armed(void)
{
	return resume_point != NULL;
}

const struct lvm_regs *resume_disarm(void)
{
	resume_point = NULL;
	return &resume_regs;
}

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

#define EFLAGS_TF 0x100u

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

void regs_from_mcontext(const mcontext_t *m, struct lvm_regs *r)
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
