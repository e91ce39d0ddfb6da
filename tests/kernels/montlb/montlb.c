/* montlb.c: what the CPU's own accesses to memory see after a mapping changes.
 * An interrupt frame is written by the CPU (under lvm: by the monitor, which keeps
 * its translations as a TLB does, runtime/host/mmu/tlb.c): with the stack on a
 * page whose entry the kernel moves to another frame, the next frame must land in
 * the new one after an INVLPG of that page, after a CR3 load (of the same
 * directory), and, for a 4 MiB page, after an INVLPG of another address inside it;
 * and a page table entry made present needs no flush at all. */
#include "desc.h"
#include "paging.h"

#define VA 0x50000000u                  /* 4 KiB pages, each on one of two frames */
#define VL 0x60000000u                  /* a 4 MiB page, at 8 or 12 MiB */
#define FA 0x600000u                    /* frames of the 4 KiB pages: FA + 4 KiB * n */
#define FC 0x700000u
#define NPAGES 4
#define TOP 0xff0u                      /* the stack's start in its page */

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 kpt[2][1024] __attribute__((aligned(4096)));
static u32 vpt[1024] __attribute__((aligned(4096)));
static u32 hits;

static void hook(struct frame *f)
{
	if (f->vector == 0x31) {
		hits++;
		return;
	}
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	printf("unexpected vector %u err %x cr2 %x\n", f->vector, f->err, cr2);
	exit(0x7f);
}

/* int $0x31 with %esp at `esp`: the CPU pushes EFLAGS, CS, EIP below it. */

/* int $0x31 with %esp at `esp`: the CPU pushes EFLAGS, CS, EIP below it. */
static void int_on(u32 esp)
{
	asm volatile("movl %%esp, %%ebx; movl %0, %%esp; int $0x31; movl %%ebx, %%esp"
		     : : "r"(esp) : "ebx", "memory");
}

/* Page i's two frames. */
static u32 frame(int i, int which) { return FA + (2 * i + which) * 0x1000; }

static void clear(u32 pa) { ((volatile u32 *)pa)[(TOP - 8) / 4] = 0; }

/* An interrupt on each page's stack, then which frame each push went to: 0 or 1
 * (or - for neither). */
static const char *pushes(const u32 at[NPAGES])
{
	static char out[NPAGES + 1];
	for (int i = 0; i < NPAGES; i++)
		clear(frame(i, 0)), clear(frame(i, 1));
	for (int i = 0; i < NPAGES; i++)
		int_on(VA + at[i] + TOP);
	for (int i = 0; i < NPAGES; i++) {
		const u32 *a = (u32 *)frame(i, 0), *b = (u32 *)frame(i, 1);
		out[i] = a[(TOP - 8) / 4] == KCODE ? '0' : b[(TOP - 8) / 4] == KCODE ? '1' : '-';
	}
	return out;
}

/* Which frame (physical) holds the pushed CS: the one the CPU wrote through. */
static const char *where(const u32 *frames[], const char *names[], int n)
{
	for (int i = 0; i < n; i++)
		if (frames[i][(TOP - 8) / 4] == KCODE)
			return names[i];
	return "none";
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	identity_tables(kpt, 2, P | W);
	map_tables(pd, kpt, 2, P | W);
	identity_4m(pd, 2, 2, P | W);                   /* 8-16 MiB */
	pd[VA >> 22] = (u32)vpt | P | W;
	pd[VL >> 22] = 0x800000 | P | W | PS;
	set_cr4(get_cr4() | CR4_PSE);
	paging_on(pd, 0);

	/* NPAGES pages at scattered addresses, so that a cache of translations the
	 * kernel's own accesses share keeps some of them from one interrupt to the next. */
	static const u32 at[NPAGES] = { 0x3b000, 0x2d000, 0x17000, 0x09000 };
	for (int i = 0; i < NPAGES; i++)
		vpt[at[i] >> 12] = frame(i, 0) | P | W;
	printf("4 KiB pages: %s; ", pushes(at));
	for (int i = 0; i < NPAGES; i++) {
		vpt[at[i] >> 12] = frame(i, 1) | P | W;
		invlpg(VA + at[i]);
	}
	printf("moved, INVLPG: %s; ", pushes(at));
	for (int i = 0; i < NPAGES; i++)
		vpt[at[i] >> 12] = frame(i, 0) | P | W;
	set_cr3(pd);
	printf("moved back, CR3 load: %s\n", pushes(at));

	const u32 *lg[] = { (u32 *)(0x801000), (u32 *)(0xc01000) };
	const char *lgn[] = { "8 MiB", "12 MiB" };
	clear(0x801000), clear(0xc01000);
	int_on(VL + 0x1000 + TOP);
	printf("4 MiB page: at %s; ", where(lg, lgn, 2));
	pd[VL >> 22] = 0xc00000 | P | W | PS;
	invlpg(VL + 0x200000);                          /* another address in it */
	clear(0x801000), clear(0xc01000);
	int_on(VL + 0x1000 + TOP);
	printf("moved, INVLPG elsewhere in it: %s\n", where(lg, lgn, 2));

	const u32 *c[] = { (u32 *)FC };
	const char *cn[] = { "C" };
	vpt[0x50] = FC | P | W;                          /* not present before: no flush */
	clear(FC);
	int_on(VA + 0x50000 + TOP);
	printf("a page made present: frame %s; %u interrupts\n", where(c, cn, 1), hits);
	printf("done\n");
	exit(0);
}
