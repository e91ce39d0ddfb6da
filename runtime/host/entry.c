/* entry.c: where guest subroutines land when they far-call the monitor, and user
 * code when it far-calls lvm's user system-call gate.
 *
 * The frame (lvm/vcpu.h): far return (8 bytes), reason (4), the near return
 * of the rewritten site (4), then the guest's stack as it was before the site.
 * We unwind it, so the guest's registers are exactly those of the original
 * instruction, act on the reason, and resume the guest directly.
 *
 * The user gate (LVM_USER_GATE) is the `sysenter` of code lvm-as built in user mode
 * (Linux's vDSO): a sysenter is #UD on AMD hosts, a host signal (SIGILL) per guest
 * system call, where the far call is not.  Its frame is the far return alone.  The
 * same stub, copied at the gate's offset, brings in-process user code here; lvm's
 * user process has a gate of its own (usergate.S) and reports it as an event;
 * the isolated one faults at the gate's address (isolate.c).  All end in
 * user_gate_called().
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "stats.h"
#include "monitor.h"
#include "traps.h"
#include "guest-code.h"
#include "isolate.h"
#include "emulate.h"
#include "insn.h"

extern char entry_stub[], entry_stub_end[], entry_stub_rsp[], entry_stub_handler[], entry_stub_fsbase[];


static u8 monitor_stack[256 * 1024] __attribute__((aligned(16)));

static void monitor_entry(void);
static void user_gate_entry(void);

/* The entry stub at `at` in the page `t`, calling `handler` on the monitor's stack. */
static void put_stub(u8 *t, u32 at, void (*handler)(void))
{
	u64 rsp = (u64)(uintptr_t)(monitor_stack + sizeof monitor_stack);
	u64 h = (u64)(uintptr_t)handler;
	memcpy(t + at, entry_stub, entry_stub_end - entry_stub);
	memcpy(t + at + (entry_stub_rsp - entry_stub), &rsp, 8);
	memcpy(t + at + (entry_stub_handler - entry_stub), &h, 8);
	memcpy(t + at + (entry_stub_fsbase - entry_stub), &host_fsbase, 8);
}

int entry_init(void)
{
	void *page = mmap((void *)(uintptr_t)TRAMPOLINE_ADDR, 0x2000, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (page != (void *)(uintptr_t)TRAMPOLINE_ADDR) {
		perror("lvm: mapping the vCPU page");
		return -1;
	}
	/* The vCPU page is shared: the kernel's isolated process (isolate.c) has it too. */
	if (mmap((void *)(uintptr_t)LVM_VCPU_ADDR, 0x1000, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != (void *)(uintptr_t)LVM_VCPU_ADDR) {
		perror("lvm: mapping the vCPU page");
		return -1;
	}
	memset(page, 0xcc, 0x1000);          /* int3 between the two entries */
	put_stub(page, 0, monitor_entry);
	put_stub(page, LVM_USER_GATE - LVM_MONITOR_ENTRY, user_gate_entry);
	/* The guest starts with the FPU state of FNINIT, MXCSR all masked. */
	asm volatile("fninit");
	if (mprotect(page, 0x1000, PROT_READ | PROT_EXEC) < 0) {
		perror("lvm: trampoline");
		return -1;
	}
	struct lvm_vcpu *v = VCPU;
	memset(v, 0, sizeof *v);
	v->magic = LVM_VCPU_MAGIC;
	v->abi_version = LVM_ABI_VERSION;
	v->dr[6] = 0xffff0ff0;              /* reset values (SDM 17.2) */
	v->dr[7] = 0x400;
	return 0;
}

/* What a guest subroutine entered the monitor for, with r as at the rewritten site:
 * its stack is as before the site and `site_end` is where it returns. */
static __attribute__((noreturn)) void entered(struct lvm_regs *r, u32 reason, u32 site_end)
{
	r->eip = site_end;
	switch (reason) {
	case LVM_ENTRY_EMULATE:
		if (!emulate(r, site_end - 5))
			kill_guest(r, "instruction not emulated at %#x (see the bytes above)", site_end);
		break;
	case LVM_ENTRY_STI_WINDOW:
		cpu.sti_shadow = true;
		break;                /* resume() delivers what is pending */
	case LVM_ENTRY_IRQ_WINDOW:
		break;
	default:
		kill_guest(r, "monitor entered with unknown reason %u", reason);
	}
	resume(r);
}

static __attribute__((noreturn)) void far_called(struct lvm_regs r)
{
	u32 frame[4];
	if (!guest_read(cpu.seg[LVM_SS].base + r.esp, frame, sizeof frame))
		kill_guest(&r, "monitor entry with an unreadable stack at %#x", r.esp);
	r.esp += 16;
	entered(&r, frame[2], frame[3]);
}

static void monitor_entry(void)
{
	vcpu_page_entered();
	if (stats_on)
		stats_call();
	far_called(vcpu_page_take_saved());
}

/* The user gate's far call, with r as the call left it (%esp at its far return):
 * the sysenter it stands for, with the registers of that sysenter. */
void user_gate_called(struct lvm_regs *r)
{
	static const u8 site_bytes[7] = { 0x9a, LVM_USER_GATE & 0xff, (LVM_USER_GATE >> 8) & 0xff,
					   (LVM_USER_GATE >> 16) & 0xff, (u32)LVM_USER_GATE >> 24,
					   LVM_MONITOR_SEL, 0 };
	u32 ret[2];
	u8 b[7];
	if (stats_on)
		stats_gate();
	if (!guest_read(cpu.seg[LVM_SS].base + r->esp, ret, sizeof ret))
		kill_guest(r, "lvm's user system-call gate entered with an unreadable stack at %#x",
			   r->esp);
	u32 site = ret[0] - sizeof site_bytes;
	if (!guest_read(cpu.seg[LVM_CS].base + site, b, sizeof b) || memcmp(b, site_bytes, sizeof b))
		kill_guest(r, "guest code entered lvm's user system-call gate (%#x) other than by the "
			   "`lcall $%#x, $%#x` of lvm-as's user mode (far return to %#x)",
			   LVM_USER_GATE, LVM_MONITOR_SEL, LVM_USER_GATE, ret[0]);
	r->esp += 8;
	r->eip = site;
	struct lvm_regs at = *r;                 /* a fault in the sysenter: at the site */
	r->eip = ret[0];
	cpu.fault_regs = &at;
	struct insn in = { .twobyte = true, .op = 0x34 };
	emulate_flow(r, &in);
	cpu.fault_regs = NULL;
	if (r->eflags & 0x100)                   /* TF: a #DB after the sysenter, in the kernel */
		singlestep_after_emulation();
	resume(r);
}

static void user_gate_entry(void)
{
	vcpu_page_entered();
	struct lvm_regs r = vcpu_page_take_saved();
	user_flags_saved(&r);
	user_gate_called(&r);
}

/* Isolated mode: the far call faulted at the entry stub's address in the guest's
 * process (isolate.c), with the registers the stub would have saved. */
void entry_from_outside(struct lvm_regs *r)
{
	vcpu_page_entered();
	if (stats_on)
		stats_call();
	far_called(*r);
}

/* __lvm_emulate on a stack segment with a base (Linux's espfix stack) enters by a
 * `hlt` instead of its far call (runtime/guest/emulate.s.j2): at that hlt, with the
 * reason and the near return on the stack, this is the same entry (it does not
 * return then); it returns false if r is not there. */
bool emulate_entry_by_trap(struct lvm_regs *r)
{
	static int at = -1;              /* the hlt's offset in the subroutine */
	if (at < 0)
		at = (const u8 *)memchr(guest_code_emulate, 0xf4, sizeof guest_code_emulate) - guest_code_emulate;
	u8 b[sizeof guest_code_emulate];
	u32 frame[2];
	if (VCPU->cpl != 0 || !guest_read(cpu.seg[LVM_CS].base + r->eip - at, b, sizeof b) ||
	    memcmp(b, guest_code_emulate, sizeof b) ||
	    !guest_read(cpu.seg[LVM_SS].base + r->esp, frame, sizeof frame))
		return false;
	r->esp += 8;
	entered(r, frame[0], frame[1]);
}

