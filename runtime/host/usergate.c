/* usergate.c: lvm's user system-call gate in a user process, the C half of
 * usergate.S.
 *
 * A `sysenter` in code lvm-as built in user mode (Linux's vDSO) is a far call to
 * LVM_USER_GATE; in a user process (userproc.c) it lands on usergate.S, which
 * saved the registers and calls userproc_gate() here: the x87/SSE image taken
 * first, the call reported to the monitor on
 * the handoff page as a signal would be (USERPROC_GATE_EVENT, RIP the gate), the
 * wait for the turn, the queued mappings applied, and the return by iretq with
 * what the monitor chose, as the signal path's sigreturn would, without the host
 * kernel's signal delivery.  The monitor takes the report as the sysenter
 * (entry.c, user_gate_called).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "traps.h"
#include "userproc.h"
#include "handoff.h"


struct usergate_regs { u32 eax, ecx, edx, ebx, esp, ebp, esi, edi, eflags; u16 ds, es, fs, gs, ss; };
struct usergate_return { u32 eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags; u16 ds, es, fs, gs, cs, ss; };
struct usergate_regs usergate_regs;             /* usergate_entry's */
volatile bool usergate_busy;                    /* from its entry to its iretq */
u64 usergate_stack_top;
extern char usergate_stub[], usergate_stub_target[], usergate_stub_end[];
extern char usergate_entry[], usergate_entry_end[], usergate_return_end[];
__attribute__((noreturn)) void usergate_return(const struct usergate_return *r);
static u8 gate_stack[64 * 1024] __attribute__((aligned(16)));
/* User code's x87/SSE image (FXSAVE): the gate's C uses no vector registers
 * (-mgeneral-regs-only, fpu.c's memcpy), so the rest of the extended state stays
 * as user code left it, and this image is reloaded only when the monitor's answer
 * changed it (userproc.c: the agreed state). */
static u8 gate_fpu[512] __attribute__((aligned(16)));
static bool gate_tf;
#define EFLAGS_TF 0x100u
#define EFLAGS_NT 0x4000u
#define EFLAGS_VM 0x20000u
#define EFLAGS_ID 0x200000u

/* The gate's page at LVM_MONITOR_ENTRY: int3 but for the jump to usergate_entry at
 * LVM_USER_GATE (the monitor's own entry is not there: a far call to it is the
 * guest's error, as before). */
void map_gate(void)
{
	u8 *page = mmap((void *)(uintptr_t)LVM_MONITOR_ENTRY, 0x1000, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (page == MAP_FAILED)
		_exit(125);
	memset(page, 0xcc, 0x1000);
	u8 *stub = page + (LVM_USER_GATE - LVM_MONITOR_ENTRY);
	u64 target = (u64)(uintptr_t)usergate_entry;
	memcpy(stub, usergate_stub, usergate_stub_end - usergate_stub);
	memcpy(stub + (usergate_stub_target - usergate_stub), &target, 8);
	if (mprotect(page, 0x1000, PROT_READ | PROT_EXEC) < 0)
		_exit(125);
	usergate_stack_top = (u64)(uintptr_t)(gate_stack + sizeof gate_stack);
}

bool in_gate(const mcontext_t *m)
{
	u64 rip = m->gregs[REG_RIP];
	return usergate_busy || (rip >= LVM_USER_GATE && rip < LVM_USER_GATE + 0x100) ||
	       (rip >= (uintptr_t)usergate_entry && rip < (uintptr_t)usergate_return_end);
}

/* A signal in the gate's own code: a stop request (SIGUSR1) is moot on the way to
 * the monitor (the gate reports anyway) and lost on the way back (the monitor asks
 * again: wait_for_child); a single step (user code's TF on the far call) is the
 * sysenter's, noted for its report.  Anything else is lvm's bug. */
int gate_signal(int sig, mcontext_t *m)
{
	u64 rip = m->gregs[REG_RIP];
	if (sig == SIGTRAP && (m->gregs[REG_EFL] & EFLAGS_TF) &&
	    rip < (uintptr_t)usergate_entry_end) {
		gate_tf = true;
		m->gregs[REG_EFL] &= ~(u64)EFLAGS_TF;
	} else if (sig != SIGUSR1) {
		static const char msg[] = "lvm: internal error: a fault in the user process's system-call gate\n";
		if (write(2, msg, sizeof msg - 1) < 0)
			_exit(124);
		_exit(124);
	}
	/* rt_sigreturn takes ID and NT from the live flags, not the frame: the ones
	 * interrupted (user code's, before usergate_entry's popfq: its pushfq reports
	 * them; none after it, as its iretq needs). */
	resume_live_flags = m->gregs[REG_EFL] & (EFLAGS_ID | EFLAGS_NT);
	return 0;
}

void userproc_gate(void)
{
	asm volatile("fxsave64 %0" : "=m"(gate_fpu));
	const struct usergate_regs *g = &usergate_regs;
	u64 *gr = ho->ev_gregs;
	memset(gr, 0, sizeof ho->ev_gregs);
	gr[REG_RAX] = g->eax, gr[REG_RCX] = g->ecx, gr[REG_RDX] = g->edx, gr[REG_RBX] = g->ebx;
	gr[REG_RSP] = g->esp, gr[REG_RBP] = g->ebp, gr[REG_RSI] = g->esi, gr[REG_RDI] = g->edi;
	gr[REG_RIP] = LVM_USER_GATE;
	gr[REG_EFL] = g->eflags | (gate_tf ? EFLAGS_TF : 0);
	gr[REG_CSGSFS] = HOST_CS | (u64)g->ss << 48;
	gate_tf = false;
	ho->ev_sel[0] = g->ds, ho->ev_sel[1] = g->es, ho->ev_sel[2] = g->fs, ho->ev_sel[3] = g->gs;
	ho->ev_sig = USERPROC_GATE_EVENT;
	ho->ev_code = 0;
	ho->ev_addr = 0;
	fpu_report(gate_fpu);
	give_turn(TURN_MONITOR);
	child_wait();
	apply_ops();
	const u64 *n = ho->gregs;
	struct usergate_return r = {
		.eax = n[REG_RAX], .ecx = n[REG_RCX], .edx = n[REG_RDX], .ebx = n[REG_RBX],
		.esp = n[REG_RSP], .ebp = n[REG_RBP], .esi = n[REG_RSI], .edi = n[REG_RDI],
		.eip = n[REG_RIP],
		.eflags = (n[REG_EFL] & ~(u64)(EFLAGS_ID | EFLAGS_NT | EFLAGS_VM)) |
			  (ho->live_flags & (EFLAGS_ID | EFLAGS_NT)),
		.cs = ho->sel[0], .ss = ho->sel[1], .ds = ho->sel[2], .es = ho->sel[3],
		.fs = ho->sel[4], .gs = ho->sel[5] };
	host_sel[LVM_FS] = ho->sel[4];
	host_sel[LVM_GS] = ho->sel[5];
	resume_live_flags = ho->live_flags;
	const u8 *img = fpu_answer();
	if (img)
		asm volatile("fxrstor64 %0" : : "m"(*(const u8 (*)[512])img));
	usergate_return(&r);
}
