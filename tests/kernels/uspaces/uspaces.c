/* uspaces.c: user code in many address spaces, and what a CR3 load must make it
 * see.  lvm keeps a user process per recent page directory (aspaces.c), with its
 * mappings, while the kernel runs others: this kernel runs user code in 12 spaces
 * (more than lvm's default 8) round robin, and while a space is not current
 * changes its data page's entry, its W, P and D bits, frees its page table and
 * reuses the page as data (entries that point elsewhere), and rewrites a whole
 * directory, remaps a global page with INVLPG; then enters it again and prints
 * what user code sees.  Each step is
 * one entry into user mode (user.S), ended by its int $0x80 or its #PF. */
#include "desc.h"
#include "paging.h"

#define GLOBAL 0x503000u                        /* space 0's global page */
#define NSPACE 12
#define DATA 0x500000u                          /* each space's data page */
#define STACK_TOP 0x502000u                     /* and its stack page below */
#define FRAME(k) (0x800000u + (k) * 0x1000u)    /* data frames, kernel-mapped */
#define STACK(k) (0x900000u + (k) * 0x1000u)
#define SPARE_FRAME FRAME(40)
#define DATA_PTE ((DATA >> 12) & 0x3ff)

static u32 pd[NSPACE][1024] __attribute__((aligned(4096)));
static u32 upt[NSPACE][1024] __attribute__((aligned(4096)));
static u32 spare_pt[1024] __attribute__((aligned(4096)));
static u32 kpt[3][1024] __attribute__((aligned(4096)));     /* 0-12 MiB, supervisor */

struct step { int space, op; u32 arg; void (*before)(void); const char *what; };

static void move_data_1(void) { *(u32 *)FRAME(30) = 0xa17; upt[1][DATA_PTE] = FRAME(30) | P | W | U; }
static void no_write_3(void) { upt[3][DATA_PTE] &= ~W; }
static void not_present_5(void) { upt[5][DATA_PTE] &= ~P; }
static void show_d_6(void) { printf("(space 6's D: %u) ", !!(upt[6][DATA_PTE] & D)); }
static void clear_d_6(void) { show_d_6(); upt[6][DATA_PTE] &= ~D; printf("(cleared) "); }
/* Space 8's page table freed and its page reused as data: entries that would map
 * space 9's frame; its directory now points at a new table. */
static void free_table_8(void)
{
	*(u32 *)SPARE_FRAME = 0x5a5;
	for (int i = 0; i < 1024; i++)
		spare_pt[i] = upt[8][i];
	spare_pt[DATA_PTE] = SPARE_FRAME | P | W | U;
	pd[8][1] = (u32)spare_pt | P | W | U;
	for (int i = 0; i < 1024; i++)
		upt[8][i] = FRAME(9) | P | W | U;
}
static void reuse_dir_10(void) { pd[10][1] = (u32)upt[11] | P | W | U; }
/* A global page survives CR3 loads in the TLB: only INVLPG (here while space 1
 * is current) makes the CPU read its new entry. */
static void remap_global_0(void)
{
	*(u32 *)FRAME(51) = 0x6a1;
	upt[0][(GLOBAL >> 12) & 0x3ff] = FRAME(51) | P | W | U | G;
	invlpg(GLOBAL);
}

static struct step script[1200];
static u32 rounds_ok, rounds_bad;
static int nsteps, at;

static void add(int space, int op, u32 arg, void (*before)(void), const char *what)
{
	script[nsteps++] = (struct step){ space, op, arg, before, what };
}

static void enter(struct frame *f)
{
	if (at == nsteps) {
		printf("1000 switches among the %d spaces: %u right, %u wrong\ndone\n", NSPACE,
		       rounds_ok, rounds_bad);
		exit(0);
	}
	struct step *s = &script[at++];
	if (s->before)
		s->before();
	set_cr3(pd[s->space]);
	if (s->what)
		printf("%s: ", s->what);
	f->eip = USER_BASE;
	f->eax = s->op;
	f->ebx = s->arg;
	f->uesp = STACK_TOP;
}


static void hook(struct frame *f)
{
	struct step *s = &script[at - 1];
	if ((f->cs & 3) != 3) {
		printf("kernel trap %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7e);
	}
	if (f->vector == 14) {
		u32 cr2;
		asm volatile("movl %%cr2, %0" : "=r"(cr2));
		printf("#PF err %x at %x in space %d\n", f->err, cr2, s->space);
	} else if (f->vector == 0x80) {
		if (s->what)
			printf("space %d reads %x\n", s->space, f->ebx);
		else if (s->op == 0)
			;                                  /* the first entry */
		else if (f->ebx == s->arg)
			rounds_ok++;
		else
			rounds_bad++;
	} else {
		printf("trap %u err %x in space %d\n", f->vector, f->err, s->space);
		exit(0x7d);
	}
	enter(f);
}

static void build_spaces(void)
{
	identity_tables(kpt, 3, P | W);
	for (int k = 0; k < NSPACE; k++) {
		for (int j = 0; j < 1024; j++)
			upt[k][j] = kpt[1][j];                        /* supervisor by default */
		for (int j = 0; j < 16; j++)
			upt[k][j] = (USER_BASE + j * 0x1000u) | P | U;   /* user code, read-only */
		upt[k][DATA_PTE] = FRAME(k) | P | W | U;
		upt[k][DATA_PTE + 1] = STACK(k) | P | W | U;
		pd[k][0] = (u32)kpt[0] | P | W;
		pd[k][1] = (u32)upt[k] | P | W | U;
		pd[k][2] = (u32)kpt[2] | P | W;
		*(u32 *)FRAME(k) = 0;
	}
	*(u32 *)FRAME(50) = 0x6a0;
	upt[0][(GLOBAL >> 12) & 0x3ff] = FRAME(50) | P | W | U | G;
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	load_user();
	build_spaces();
	add(0, 0, 0, 0, 0);
	for (int k = 0; k < NSPACE; k++)
		add(k, 2, 0x111 * k, 0, k == 0 ? "write 111*k in each space k, k = 0..11; space 0" : 0);
	for (int r = 0; r < 3; r++)
		for (int k = 0; k < NSPACE; k++)
			add(k, 3, 0x111 * k + r + 1, 0, 0);
	add(0, 1, 0, 0, "each space's own value, after 3 increments in each");
	for (int k = 1; k < NSPACE; k++)
		add(k, 1, 0, 0, "  next");
	add(2, 1, 0, move_data_1, "space 2, while space 1's data entry is changed");
	add(1, 1, 0, 0, "space 1 after the change");
	add(4, 1, 0, no_write_3, "space 4, while space 3 loses W");
	add(3, 2, 7, 0, "space 3 writes");
	add(4, 1, 0, not_present_5, "space 4, while space 5 loses P");
	add(5, 1, 0, 0, "space 5 reads");
	add(6, 2, 0x66, 0, "space 6 writes");
	add(7, 1, 0, clear_d_6, "space 7, while space 6's D is cleared");
	add(6, 2, 0x67, 0, "space 6 writes again");
	add(7, 1, 0, show_d_6, "space 7 then");
	add(9, 1, 0, free_table_8, "space 9, while space 8's page table is freed and reused as data");
	add(8, 1, 0, 0, "space 8 on its new table");
	add(11, 1, 0, reuse_dir_10, "space 11, while space 10's directory is rewritten to use 11's table");
	add(10, 1, 0, 0, "space 10 then");
	add(0, 4, 0, 0, "space 0 reads its global page");
	add(1, 1, 0, 0, "space 1");
	add(2, 1, 0, remap_global_0, "space 2, while space 0's global page is remapped and INVLPG'd");
	add(0, 4, 0, 0, "space 0's global page then");
	/* 1000 switches, reading each space's value (spaces 1, 3, 5, 8 and 10 changed
	 * above: their own expectations). */
	static const u32 want[NSPACE] = { 3, 0xa17, 0x225, 0x336, 0x447, 0, 0x67, 0x77a, 0x5a5,
					   0x99c, 0xbbe, 0xbbe };
	for (int i = 0; i < 1000; i++) {
		int k = (i * 7) % NSPACE;
		if (k == 5 || k == 3)
			k = 2;
		add(k, 1, want[k], 0, 0);
	}
	paging_on(pd[0], 0);
	set_cr4(get_cr4() | CR4_PGE);
	printf("paging on, %d address spaces\n", NSPACE);
	struct frame f = { 0 };
	enter(&f);
	enter_user(f.eip, f.uesp);
}
