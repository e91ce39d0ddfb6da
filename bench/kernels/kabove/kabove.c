/* kabove.c (also built as kbelow): what user/supervisor protection costs a kernel,
 * in TSC cycles per round trip: a user page fault the kernel handles, and a null
 * system call, both with paging on.  Built twice from this directory: "kabove"
 * loads its user program at 256 KiB, below the kernel (1 MiB up), the layout of
 * Linux and xv6 (kernel in the top half); "kbelow" at 4 MiB, above the kernel, the
 * test kernels' layout.  lvm protects the first with segment limits, the second by
 * unmapping the kernel's pages on each return to user mode (bench/mmu.py). */
#include "desc.h"
#include "paging.h"

#define USER_SIZE 0x50000

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 low[2][1024] __attribute__((aligned(4096)));
static const char *layout = USER_BASE < 0x100000 ? "above" : "below";

static void hook(struct frame *f)
{
	if (f->vector == 14) {
		f->eip = f->edi;                      /* skip the access */
		return;
	}
	if (f->vector == 0x80) {
		if (f->eax == 1)
			printf("op user-pf-kernel-%s %u\n", layout, f->ebx);
		if (f->eax == 2) {
			printf("op user-syscall-kernel-%s %u\n", layout, f->ebx);
			exit(0);
		}
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	identity_tables(low, 2, P | W);
	for (u32 a = USER_BASE; a < USER_BASE + USER_SIZE; a += 0x1000)
		low[a >> 22][(a >> 12) & 0x3ff] |= U;
	map_tables(pd, low, 2, P | W | U);
	load_user();
	paging_on(pd, 0);
	enter_user(USER_BASE, USER_BASE + USER_SIZE);
}
