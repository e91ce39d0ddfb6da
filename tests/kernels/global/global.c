/* global.c: global pages (CR4.PGE, the G bit): a translation marked global may
 * outlive a CR3 load, so only what the architecture guarantees is printed: global
 * mappings work in every address space, INVLPG removes a global translation,
 * toggling CR4.PGE removes them all, and a loop of address-space switches that
 * touches global pages (lvm keeps their shadow across CR3 loads: tests/test_mmu.py
 * counts the refills).  Last, a region that held global pages only (lvm does not
 * compare those at a CR3 load) gets a non-global page, whose entry then changes:
 * the CR3 load after it must show the new one, as must an INVLPG of a global
 * page whose entry changed while the region went uncompared. */
#include "desc.h"
#include "paging.h"

#define VA 0x50000000u
#define NGLOBAL 8

static u32 pd[2][1024] __attribute__((aligned(4096)));
static u32 kpt[2][1024] __attribute__((aligned(4096)));
static u32 gpt[1024] __attribute__((aligned(4096)));

static u32 rd(u32 va) { return *(volatile u32 *)va; }

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	printf("unexpected vector %u err %x cr2 %x\n", f->vector, f->err, cr2);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	identity_tables(kpt, 2, P | W | G);            /* the kernel: global */
	for (int i = 0; i < NGLOBAL; i++) {
		gpt[i] = (0x600000 + i * 0x1000) | P | W | G;
		*(volatile u32 *)(0x600000 + i * 0x1000) = 0x600 + i;
	}
	*(volatile u32 *)0x700000 = 0x700;
	*(volatile u32 *)0x701000 = 0x701;
	for (int s = 0; s < 2; s++) {
		map_tables(pd[s], kpt, 2, P | W);
		pd[s][VA >> 22] = (u32)gpt | P | W;
	}
	set_cr4(get_cr4() | CR4_PGE);
	paging_on(pd[0], 0);
	printf("paging on, cr4 %x\n", get_cr4());
	printf("space 0: %x; ", rd(VA));
	set_cr3(pd[1]);
	printf("space 1: %x\n", rd(VA));

	gpt[0] = 0x700000 | P | W | G;
	invlpg(VA);
	printf("after INVLPG of a global page: %x\n", rd(VA));
	gpt[0] = 0x701000 | P | W | G;
	set_cr4(get_cr4() & ~CR4_PGE);
	set_cr4(get_cr4() | CR4_PGE);
	printf("after toggling CR4.PGE: %x\n", rd(VA));
	gpt[0] = 0x600000 | P | W | G;
	invlpg(VA);

	u32 sum = 0;
	for (int n = 0; n < 1000; n++) {
		set_cr3(pd[n & 1]);
		for (int i = 0; i < NGLOBAL; i++)
			sum += rd(VA + i * 0x1000);
	}
	printf("1000 switches over %u global pages: sum %x\n", NGLOBAL, sum);

	gpt[1] = 0x700000 | P | W | G;                 /* changed behind the kept copy */
	gpt[100] = 0x700000 | P | W;                    /* not global */
	set_cr3(pd[0]);
	printf("a non-global page among global ones: %x; ", rd(VA + 100 * 0x1000));
	gpt[100] = 0x701000 | P | W;
	set_cr3(pd[1]);
	printf("after its entry changed and a CR3 load: %x; ", rd(VA + 100 * 0x1000));
	gpt[100] = 0;
	set_cr3(pd[0]);
	invlpg(VA + 0x1000);
	printf("after INVLPG of the changed global one: %x\n", rd(VA + 0x1000));
	printf("done\n");
	exit(0);
}
