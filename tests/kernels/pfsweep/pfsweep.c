/* pfsweep.c: one store instruction that faults 25,000 times, each time on a fresh
 * page, and makes progress: the shape of a memset over a large buffer, or of Linux's
 * page-fault benchmark (a new anonymous page per iteration).  The #PF handler maps
 * the faulting page and unmaps the one before (INVLPG), so the sweep through a 4 MiB
 * window faults on every page, every time round.  lvm once took this for a guest
 * in a loop (100,000 faults at one EIP) and killed it; a loop is now the same fault
 * from the same registers (runtime/host/traps.c: SWEEP must stay above its
 * STORM_LIMIT, 20,000).  With `-append loop` the handler fixes nothing: that is a
 * loop, which lvm ends with a report (test_mmu); QEMU runs it to LOOP_LIMIT. */
#include "desc.h"
#include "paging.h"

#define WINDOW 0x40000000u                      /* 1 GiB: PDE 256, one page table */
#define FRAME 0x800000u
#define SWEEP 25000
#define LOOP_LIMIT 200000

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 kpt[3][1024] __attribute__((aligned(4096)));     /* 0-12 MiB, supervisor */
static u32 wpt[1024] __attribute__((aligned(4096)));
static int prev = -1, fixing = 1;
static u32 faults, other_eip;
static u32 store_eip;

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector != 14 || cr2 - WINDOW >= 0x400000u) {
		printf("trap %u err %x at %x cr2 %x\n", f->vector, f->err, f->eip, cr2);
		exit(0x7e);
	}
	if (!store_eip)
		store_eip = f->eip;
	other_eip += f->eip != store_eip;
	if (++faults == LOOP_LIMIT) {
		printf("%u faults, not fixed, at one eip: the kernel's limit\n", faults);
		exit(3);
	}
	if (!fixing)
		return;
	int i = (cr2 - WINDOW) >> 12;
	wpt[i] = FRAME | P | W;
	if (prev >= 0) {
		wpt[prev] = 0;
		invlpg(WINDOW + prev * 0x1000u);
	}
	prev = i;
}

void kmain(u32 magic, const u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	fixing = !streq(cmdline_last_word(magic, mbi), "loop");
	identity_tables(kpt, 3, P | W);
	map_tables(pd, kpt, 3, P | W);
	pd[WINDOW >> 22] = (u32)wpt | P | W;
	paging_on(pd, 0);
	printf("paging on; %s\n", fixing ? "sweeping" : "a handler that fixes nothing");
	for (u32 n = 0; n < SWEEP; n++) {
		volatile u32 *p = (volatile u32 *)(WINDOW + (n % 1024) * 0x1000u);
		*p = n;
	}
	printf("%u stores, %u faults, %u of them elsewhere; last page holds %u\n", SWEEP, faults,
	       other_eip, *(volatile u32 *)FRAME);
	printf("done\n");
	exit(0);
}
