/* gdbhw.c: the debugger's hardware breakpoints and watchpoints (Z1, Z2, Z4), on
 * the host CPU's debug registers.
 *
 * Guest code runs natively in this process at its own linear addresses (flat host
 * selectors, the shadow maps each guest page at its linear address), so a debug
 * register of this thread set to a guest linear address sees the guest's fetches
 * and accesses there.  Linux gives a process its debug registers through
 * perf_event_open(PERF_TYPE_BREAKPOINT) with `sigtrap` (Linux 5.13): a hit is a
 * synchronous SIGTRAP with si_code TRAP_PERF, whose data names the slot.  An
 * execution breakpoint is a fault (eip at the instruction, which has not run); on
 * a rewritten instruction it fires on the first byte of what was written for it
 * (a call or a trap marker), like a software breakpoint, but checks the address
 * at every fetch, so it works on code not yet there (a kernel that decompresses
 * or copies itself) and in pages not mapped yet.  A watchpoint is a trap after
 * the access.  Four slots, as the CPU has.  Not seen: the accesses the monitor
 * makes for the guest (emulated instructions, interrupt frames, device DMA-like
 * copies), which go through its own view of guest RAM; hits in the monitor's own
 * code are dropped (signals.c).  Read-only watchpoints (Z3): x86 has none, as
 * for gdb's native x86 targets: unsupported.
 */
#define _GNU_SOURCE
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "gdb.h"

#define NHW 4

static struct hw { int fd; u32 addr, len; int kind; } hw[NHW] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };

/* kind: gdb's Z type (1 execution, 2 write, 4 access); "" when unsupported. */
const char *gdb_hw_insert(int kind, u32 addr, u32 len)
{
	if (kind != 1 && kind != 2 && kind != 4)
		return "";
	if (kind != 1 && ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))))
		return "E22";                    /* gdb falls back to a software watchpoint */
	int i;
	for (i = 0; i < NHW && hw[i].fd >= 0; i++)
		if (hw[i].kind == kind && hw[i].addr == addr && hw[i].len == len)
			return "OK";
	for (i = 0; i < NHW && hw[i].fd >= 0; i++)
		;
	if (i == NHW)
		return "E28";                    /* ENOSPC: four debug registers */
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof a;
	a.bp_type = kind == 1 ? HW_BREAKPOINT_X : kind == 2 ? HW_BREAKPOINT_W : HW_BREAKPOINT_RW;
	a.bp_addr = addr;
	a.bp_len = kind == 1 ? sizeof(long) : len;
	a.sample_period = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.sigtrap = 1;
	a.remove_on_exec = 1;
	a.sig_data = 0x6c766d00 + i;             /* "lvm" and the slot */
	int fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		fpu_protect();
		static bool said;
		if (!said)
			perror("lvm: gdb: perf_event_open (hardware breakpoints, watchpoints)"), said = true;
		return "E01";
	}
	hw[i] = (struct hw){ fd, addr, len, kind };
	return "OK";
}

const char *gdb_hw_remove(int kind, u32 addr, u32 len)
{
	if (kind != 1 && kind != 2 && kind != 4)
		return "";
	for (int i = 0; i < NHW; i++)
		if (hw[i].fd >= 0 && hw[i].kind == kind && hw[i].addr == addr && (kind == 1 || hw[i].len == len)) {
			close(hw[i].fd);
			hw[i].fd = -1;
		}
	return "OK";
}

void gdb_hw_remove_all(void)
{
	for (int i = 0; i < NHW; i++)
		if (hw[i].fd >= 0)
			close(hw[i].fd), hw[i].fd = -1;
}

/* A TRAP_PERF SIGTRAP: the slot it names, if it is one of ours and set; -1 if not.
 * (glibc 2.36 has no si_perf_data: the kernel's _perf._data follows _addr.) */
int gdb_hw_slot(const void *siginfo)
{
	const siginfo_t *si = siginfo;
	u64 data;
	memcpy(&data, (const char *)&si->si_addr + sizeof(void *), sizeof data);
	int i = (int)(data - 0x6c766d00);
	return data >= 0x6c766d00 && i < NHW && hw[i].fd >= 0 ? i : -1;
}

/* The stop reply's reason for slot i ("watch:ADDR;"), empty for a breakpoint. */
void gdb_hw_reason(int i, char *out, int max)
{
	out[0] = 0;
	if (hw[i].kind != 1)
		snprintf(out, max, "%s:%x;", hw[i].kind == 2 ? "watch" : "awatch", hw[i].addr);
}
