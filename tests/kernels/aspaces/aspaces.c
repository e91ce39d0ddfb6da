/* aspaces.c: what a CR3 load must make visible, whichever address space the guest
 * changed while another was current: lvm keeps shadow mappings across CR3 loads
 * when the tables still translate them the same (runtime/host/mmu/ptsnap.c), so this
 * kernel changes an inactive space's page table, directory entry, A/D and W bits,
 * reuses a page-table page as data, switches among more spaces than any cache of
 * them would hold, and reloads the same directory after changing it, and prints
 * what every access then gives.  Only what the architecture guarantees after a CR3
 * load is printed (a translation may be stale before it).  At the end, 1000
 * reloads of an unchanged directory over 16 pages: tests/test_mmu.py counts that
 * they cost no refills. */
#include "desc.h"
#include "paging.h"

#define NSPACE 40
#define VA 0x40000000u                       /* slot 0x100: each space's own table */
#define VA4M 0x40400000u                     /* slot 0x101: a 4 MiB page */
#define FRAME(k) (0x800000u + (k) * 0x1000u) /* data frames, each holding its k */

static u32 pd[NSPACE][1024] __attribute__((aligned(4096)));
static u32 upt[NSPACE][1024] __attribute__((aligned(4096)));
static u32 alt[1024] __attribute__((aligned(4096)));
static u32 low[4][1024] __attribute__((aligned(4096)));     /* 0-16 MiB, shared */
static volatile u32 fault_cr2, fault_err, faulted;

/* A load or store that may fault: the hook notes the #PF and resumes at the label
 * whose address is in %edi; a faulted load gives 0xdead. */
static u32 probe_read(u32 va)
{
	u32 v;
	asm volatile("movl $1f, %%edi\n\tmovl $0xdead, %0\n\tmovl (%1), %0\n1:"
		     : "=&r"(v) : "r"(va) : "edi", "memory");
	return v;
}

static void probe_write(u32 va, u32 v)
{
	asm volatile("movl $1f, %%edi\n\tmovl %0, (%1)\n1:" : : "r"(v), "r"(va) : "edi", "memory");
}

static void hook(struct frame *f)
{
	if (f->vector != 14) {
		printf("unexpected vector %u\n", f->vector);
		exit(0x7f);
	}
	asm volatile("movl %%cr2, %0" : "=r"(fault_cr2));
	fault_err = f->err;
	faulted++;
	f->eip = f->edi;
}

static void show_fault(const char *what)
{
	if (faulted)
		printf("%s: #PF cr2 %x err %x\n", what, fault_cr2, fault_err);
	else
		printf("%s: no fault\n", what);
	faulted = 0;
}

static u32 rd(u32 va) { return probe_read(va); }

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	identity_tables(low, 4, P | W);
	for (int k = 0; k < 64; k++)
		*(volatile u32 *)FRAME(k) = k;
	*(volatile u32 *)0x1000000 = 0x16;               /* the two 4 MiB frames */
	*(volatile u32 *)0x1400000 = 0x20;
	for (int s = 0; s < NSPACE; s++) {
		map_tables(pd[s], low, 4, P | W);
		identity_4m(pd[s], 4, 2, P | W);             /* 16-24 MiB */
		pd[s][VA >> 22] = (u32)upt[s] | P | W;
		upt[s][0] = FRAME(s) | P | W;
	}
	set_cr4(get_cr4() | CR4_PSE);
	paging_on(pd[0], CR0_WP);
	printf("paging on, %d spaces\n", NSPACE);

	printf("space 0: %x; ", rd(VA));
	set_cr3(pd[1]);
	printf("space 1: %x\n", rd(VA));

	upt[0][0] = FRAME(50) | P | W;                   /* space 0's table, space 1 current */
	set_cr3(pd[0]);
	printf("space 0 after its table changed while inactive: %x\n", rd(VA));
	upt[0][0] = FRAME(51) | P | W;                   /* no INVLPG: a reload flushes */
	set_cr3(pd[0]);
	printf("space 0 after a change and a reload of the same directory: %x\n", rd(VA));

	set_cr3(pd[1]);
	alt[0] = FRAME(52) | P | W;
	pd[0][VA >> 22] = (u32)alt | P | W;              /* another table for the slot */
	for (int i = 0; i < 1024; i++)
		upt[0][i] = FRAME(53) | P | W;               /* the old table reused as data */
	set_cr3(pd[0]);
	printf("space 0 through its new table: %x, next page %x\n", rd(VA), rd(VA + 0x1000));
	show_fault("  the next page, absent in the new table");
	set_cr3(pd[1]);
	pd[0][VA >> 22] = 0;                             /* the slot goes */
	set_cr3(pd[0]);
	printf("space 0 without the slot: %x\n", rd(VA));
	show_fault("  its read");
	pd[0][VA >> 22] = (u32)upt[0] | P | W;
	for (int i = 0; i < 1024; i++)
		upt[0][i] = 0;
	upt[0][0] = FRAME(54) | P | W;
	set_cr3(pd[0]);

	probe_write(VA, 0x54);                           /* D set */
	printf("A/D after a write: %x\n", upt[0][0] & (A | D));
	set_cr3(pd[1]);
	upt[0][0] &= ~(A | D);                           /* cleared while inactive */
	set_cr3(pd[0]);
	printf("after the kernel cleared them: %x; ", upt[0][0] & (A | D));
	(void)rd(VA);
	printf("read: %x; ", upt[0][0] & (A | D));
	probe_write(VA, 0x54);
	printf("write: %x\n", upt[0][0] & (A | D));
	show_fault("  those accesses");
	set_cr3(pd[1]);
	upt[0][0] &= ~W;                                 /* read-only, CR0.WP on */
	set_cr3(pd[0]);
	probe_write(VA, 0x55);
	show_fault("write to a page made read-only while its space was inactive");
	printf("  it still reads %x\n", rd(VA));

	printf("4 MiB page: %x; ", rd(VA4M));
	pd[0][VA4M >> 22] = 0x1000000 | P | W | PS;
	set_cr3(pd[0]);
	printf("%x; ", rd(VA4M));
	set_cr3(pd[1]);
	pd[0][VA4M >> 22] = 0x1400000 | P | W | PS;      /* changed while inactive */
	set_cr3(pd[0]);
	printf("changed while inactive: %x\n", rd(VA4M));
	show_fault("  the first read, slot absent");

	u32 wrong = 0, reads = 0;
	for (int round = 0; round < 3; round++) {
		for (int s = 0; s < NSPACE; s++)
			upt[s][0] = FRAME((s + round) % NSPACE) | P | W;
		for (int pass = 0; pass < 2; pass++)
			for (int s = 0; s < NSPACE; s++) {
				set_cr3(pd[s]);
				reads++;
				if (rd(VA) != (u32)(s + round) % NSPACE && !wrong++)
					printf("space %d round %d: %x\n", s, round, rd(VA));
			}
	}
	printf("%u reads over %d spaces, round robin: %u wrong\n", reads, NSPACE, wrong);
	show_fault("  those reads");

	for (int i = 0; i < 16; i++)
		upt[2][i] = FRAME(i) | P | W;
	set_cr3(pd[2]);
	u32 sum = 0;
	for (int n = 0; n < 1000; n++) {
		set_cr3(pd[2]);
		for (int i = 0; i < 16; i++)
			sum += rd(VA + i * 0x1000);
	}
	printf("1000 reloads of one directory over 16 pages: sum %x\n", sum);
	show_fault("  those reads");
	printf("done\n");
	exit(0);
}
