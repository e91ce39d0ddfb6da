/* entry.c: where guest subroutines land when they far-call the monitor.
 *
 * The frame (lvm/vcpu.h): far return (8 bytes), reason (4), the near return
 * of the rewritten site (4), then the guest's stack as it was before the site.
 * We unwind it, so the guest's registers are exactly those of the original
 * instruction, act on the reason, and resume the guest directly.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "stats.h"
#include "monitor.h"
#include "traps.h"
#include "guest-code.h"
#include "isolate.h"

extern char entry_stub[], entry_stub_end[], entry_stub_rsp[], entry_stub_handler[], entry_stub_fsbase[];


static u8 monitor_stack[256 * 1024] __attribute__((aligned(16)));

static void monitor_entry(void);

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
	size_t n = entry_stub_end - entry_stub;
	u8 *t = page;
	memcpy(t, entry_stub, n);
	u64 rsp = (u64)(uintptr_t)(monitor_stack + sizeof monitor_stack);
	u64 handler = (u64)(uintptr_t)monitor_entry;
	memcpy(t + (entry_stub_rsp - entry_stub), &rsp, 8);
	memcpy(t + (entry_stub_handler - entry_stub), &handler, 8);
	memcpy(t + (entry_stub_fsbase - entry_stub), &host_fsbase, 8);
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

