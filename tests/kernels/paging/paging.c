/* paging.c: 32-bit paging at CPL 0: turning it on in identity-mapped code, 4 KiB
 * and 4 MiB pages, #PF with CR2 and error codes (not present, write to read-only
 * with CR0.WP), demand paging (map on #PF and retry), Accessed and Dirty bits,
 * INVLPG, and CR3 switches between two address spaces (page 0 included: programs
 * linked at 0 use it, and an emulator may treat it apart). */
#include "desc.h"
#include "paging.h"

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pd2[1024] __attribute__((aligned(4096)));
static u32 low[2][1024] __attribute__((aligned(4096)));     /* 0-8 MiB, 4 KiB pages */
static u32 low2[1024] __attribute__((aligned(4096)));       /* 0-4 MiB in pd2 */
static u32 extra[1024] __attribute__((aligned(4096)));      /* 0x50000000.. */
static u32 extra2[1024] __attribute__((aligned(4096)));     /* 0x50000000.. in pd2 */
static volatile int demand;                                   /* map on #PF */
static volatile int show_string_regs;

static u32 cr(int n)
{
	u32 v = 0;
	switch (n) {
	case 0: asm volatile("movl %%cr0, %0" : "=r"(v)); break;
	case 2: asm volatile("movl %%cr2, %0" : "=r"(v)); break;
	case 3: asm volatile("movl %%cr3, %0" : "=r"(v)); break;
	}
	return v;
}

static void hook(struct frame *f)
{
	if (f->vector != 14) {
		printf("unexpected vector %u\n", f->vector);
		exit(0x7f);
	}
	u32 va = cr(2);
	printf("  #PF at %x err %x", va, f->err);
	if (show_string_regs)
		printf(" (ecx %x esi %x edi %x)", f->ecx, f->esi, f->edi);
	if (demand && (va >> 22) == 0x140) {
		u32 i = (va >> 12) & 0x3ff;
		if (!(extra[i] & P))
			extra[i] = (0x600000 + i * 0x1000) | P | W;    /* demand paging */
		else
			extra[i] |= W;                               /* make it writable */
		printf(": fixed, retry\n");
		return;
	}
	printf(": not expected\n");
	exit(0x7e);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	identity_tables(low, 2, P | W);
	map_tables(pd, low, 2, P | W);
	pd[0x100] = 0x400000 | P | W | PS;          /* 0x40000000: a 4 MiB page at 4 MiB */
	pd[0x140] = (u32)extra | P | W;
	for (int i = 0; i < 1024; i++)
		pd2[i] = pd[i], low2[i] = low[0][i];
	pd2[0] = (u32)low2 | P | W;
	low2[0] = 0x703000 | P | W;                 /* page 0 differs in pd2 */
	pd2[0x140] = (u32)extra2 | P | W;
	extra2[0] = 0x700000 | P | W;
	*(volatile u32 *)0x600000 = 0x600600;
	*(volatile u32 *)0x700000 = 0x700700;

	set_cr4(get_cr4() | CR4_PSE);
	paging_on(pd, 0);
	printf("paging on: cr0 %x\n", cr(0));

	volatile u32 *big = (u32 *)0x40000010;
	*big = 0x4444;
	printf("4 MiB page: %x through the alias, %x physical\n", *big, *(volatile u32 *)0x400010);
	printf("4 MiB PDE A/D: %x\n", pd[0x100] & (A | D));

	demand = 1;
	volatile u32 *v = (u32 *)0x50000000;
	printf("demand read: %x\n", *v);
	printf("PTE after read: A/D %x\n", extra[0] & (A | D));
	*v = 0x600601;
	printf("PTE after write: A/D %x, value %x\n", extra[0] & (A | D), *v);

	extra[1] = 0x601000 | P;                     /* read-only */
	invlpg(0x50001000);
	volatile u32 *ro = (u32 *)0x50001000;
	*ro = 0x1111;                                /* CR0.WP = 0: the kernel may write */
	printf("WP=0 write to read-only: %x\n", *ro);
	set_cr0(cr(0) | CR0_WP);
	extra[1] = 0x601000 | P;
	invlpg(0x50001000);
	*ro = 0x2222;                                /* CR0.WP = 1: #PF, made writable */
	printf("WP=1 write to read-only: %x\n", *ro);

	extra[0] = 0x602000 | P | W;                 /* remap, then INVLPG */
	*(volatile u32 *)0x602000 = 0x602602;
	invlpg(0x50000000);
	printf("after INVLPG: %x\n", *v);

	set_cr3(pd2);
	printf("address space 2: %x\n", *v);
	set_cr3(pd);
	printf("address space 1: %x\n", *v);

	/* Page 0, through a pointer the compiler cannot see is null. */
	volatile u32 *zero;
	asm("" : "=r"(zero) : "0"(0));
	*(volatile u32 *)0x703000 = 0x703703;
	*(volatile u32 *)0x704000 = 0x704704;
	*zero = 0x1234;
	set_cr3(pd2);
	printf("page 0 in address space 2: %x\n", *zero);
	*zero = 0x2345;
	set_cr3(pd);
	printf("page 0 in address space 1: %x\n", *zero);
	low[0][0] = 0x704000 | P | W;
	invlpg(0);
	printf("page 0 after remap + INVLPG: %x\n", *zero);
	low[0][0] = 0 | P | W;
	invlpg(0);
	printf("page 0 mapped back: %x, the other's %x\n", *zero, *(volatile u32 *)0x703000);

	demand = 0;
	extra[5] = 0;
	invlpg(0x50005000);
	pd[0x141] = 0;
	printf("PDE not present, then PTE not present:\n");
	demand = 1;
	v = (u32 *)0x50005004;
	printf("read %x\n", *v);

	/* String I/O and string moves that fault in the middle: the CPU leaves ECX,
	 * ESI, EDI at the faulting element, and the retry finishes the job. */
	show_string_regs = 1;
	extra[0x10] = 0x610000 | P | W;
	extra[0x11] = 0;                             /* demand-mapped when touched */
	invlpg(0x50011000);
	u32 n = 8, src = 0x50010ffc;
	asm volatile("cld; rep outsb" : "+S"(src), "+c"(n) : "d"(0x80) : "memory");
	printf("rep outsb across the boundary: ecx %x esi %x\n", n, src);
	extra[0x11] = 0;
	invlpg(0x50011000);
	n = 4;
	u32 dst = 0x50010ff8, from = 0x100000;
	asm volatile("cld; rep movsl" : "+S"(from), "+D"(dst), "+c"(n) : : "memory");
	printf("rep movsl across the boundary: ecx %x edi %x\n", n, dst);
	extra[0x11] = 0;
	invlpg(0x50011000);
	n = 4;
	dst = 0x50010ffe;
	asm volatile("cld; rep insw" : "+D"(dst), "+c"(n) : "d"(0x61) : "memory");
	printf("rep insw across the boundary: ecx %x edi %x\n", n, dst);
	show_string_regs = 0;

	/* Neighbouring pages (an emulator may map them together): the CPU sets A and
	 * D on the page actually used, whatever the state of its neighbours. */
	demand = 0;
	for (int i = 0x20; i < 0x24; i++)
		extra[i] = (0x620000 + (i - 0x20) * 0x1000) | P | W;
	extra[0x21] |= A;                             /* used before, never written */
	extra[0x22] |= A | D;                         /* used and written before */
	for (int i = 0x20; i < 0x24; i++)
		invlpg(0x50000000 + i * 0x1000);
	(void)*(volatile u32 *)0x50020000;             /* a read of the first */
	printf("after a read of page 0: A/D %x %x %x %x\n", extra[0x20] & (A | D),
	       extra[0x21] & (A | D), extra[0x22] & (A | D), extra[0x23] & (A | D));
	*(volatile u32 *)0x50021000 = 1;               /* a write to page 1 */
	(void)*(volatile u32 *)0x50023000;             /* a read of page 3 */
	printf("after a write to page 1, a read of page 3: A/D %x %x %x %x\n",
	       extra[0x20] & (A | D), extra[0x21] & (A | D), extra[0x22] & (A | D),
	       extra[0x23] & (A | D));
	printf("done\n");
	exit(0);
}
