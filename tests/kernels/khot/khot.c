/* khot.c: the kernel's touches of user memory after a CR3 load, what lvm's "hot
 * pages" must get right.  The kernel's view of memory is one for every address
 * space, so a switch drops the old space's user pages from it; lvm maps again, at
 * the CR3 load, the user pages the kernel touched in that space before
 * (runtime/host/mmu/khot.c), if their entries are present and accessed already.  Here a system call from each of
 * three spaces reads (and writes) the same user addresses from the kernel, round
 * robin, and while a space is not current its entries change: the page moved to
 * another frame, A cleared, D cleared, P cleared, a frame freed and reused; the next
 * touch after the switch back must see the new entry, set A and D as the CPU would
 * and fault where it would.  Each step is one entry into user mode (user.S). */
#include "desc.h"
#include "paging.h"

#define NSPACE 3
#define DATA 0x500000u                          /* two user pages per space */
#define DATA2 0x501000u
#define STACK_TOP 0x503000u
#define FRAME(k) (0x800000u + (k) * 0x1000u)    /* frames, kernel-mapped */
#define PTE(a) (((a) >> 12) & 0x3ff)
#define FAULTED 0xfa17edu

static u32 pd[NSPACE][1024] __attribute__((aligned(4096)));
static u32 upt[NSPACE][1024] __attribute__((aligned(4096)));
static u32 kpt[3][1024] __attribute__((aligned(4096)));     /* 0-12 MiB, supervisor */

/* The kernel's reads and writes of user memory, resumed past by the #PF handler
 * (kernel_fault) with FAULTED in %eax, as a kernel's exception table would. */
extern char kread_at[], kread_out[], kwrite_at[], kwrite_out[];
static __attribute__((noinline)) u32 kread(u32 addr)
{
	u32 v;
	asm volatile(".globl kread_at, kread_out\nkread_at: movl (%1), %0\nkread_out:"
		     : "=a"(v) : "c"(addr) : "memory");
	return v;
}
static __attribute__((noinline)) u32 kwrite(u32 addr, u32 v)
{
	asm volatile(".globl kwrite_at, kwrite_out\nkwrite_at: movl %0, (%1)\nkwrite_out:"
		     : "+a"(v) : "c"(addr) : "memory");
	return v;
}

static u32 bits(u32 pte) { return pte & (A | D); }

struct step { int space; void (*before)(void); void (*act)(int space); const char *what; };
static struct step script[700];
static int nsteps, at;
static u32 rounds_ok, rounds_bad, want[NSPACE][2];

static void add(int space, void (*before)(void), void (*act)(int), const char *what)
{
	script[nsteps++] = (struct step){ space, before, act, what };
}

/* What a system call does in its space. */
static void touch(int k) { kread(DATA); kread(DATA2); }
static void show(int k)
{
	u32 a = kread(DATA), b = kread(DATA2);     /* in this order, then the bits */
	printf("reads %x %x; A/D %x %x\n", a, b, bits(upt[k][PTE(DATA)]), bits(upt[k][PTE(DATA2)]));
}
static void show_bits_first(int k)
{
	printf("A/D before %x, ", bits(upt[k][PTE(DATA)]));
	show(k);
}
static void write_then_show(int k)
{
	printf("A/D before %x, ", bits(upt[k][PTE(DATA)]));
	printf("writes %x, ", kwrite(DATA, 0xb2));
	show(k);
}
static void check(int k)
{
	if (kread(DATA) == want[k][0] && kread(DATA2) == want[k][1])
		rounds_ok++;
	else
		rounds_bad++;
}

/* While space 0 is current: space 1's entries change. */
static void move_1(void) { *(u32 *)FRAME(10) = 0xb1; upt[1][PTE(DATA)] = FRAME(10) | P | W | U | A | D; }
static void clear_a_1(void) { upt[1][PTE(DATA)] &= ~A; }
static void clear_d_1(void) { upt[1][PTE(DATA)] &= ~D; }
static void not_present_1(void) { upt[1][PTE(DATA)] &= ~P; }
static void back_1(void) { *(u32 *)FRAME(11) = 0xb3; upt[1][PTE(DATA)] = FRAME(11) | P | W | U | A | D; }
/* Space 2's second page's frame, freed, becomes space 1's first page's; space 2's
 * entry now maps a new frame, both already accessed. */
static void reuse_2(void)
{
	*(u32 *)FRAME(2 * 2 + 1) = 0xc5;
	upt[1][PTE(DATA)] = FRAME(2 * 2 + 1) | P | W | U | A;
	*(u32 *)FRAME(12) = 0xc6;
	upt[2][PTE(DATA2)] = FRAME(12) | P | W | U | A;
}
/* A present, accessed entry whose frame is read-only to the kernel as well as to
 * user code would be: W cleared while inactive (CR0.WP is set) */
static void read_only_2(void) { upt[2][PTE(DATA)] &= ~W; }

static void kernel_fault(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 14 && (f->eip == (u32)kread_at || f->eip == (u32)kwrite_at)) {
		printf("(kernel #PF err %x at %x) ", f->err, cr2);
		f->eip = (u32)(f->eip == (u32)kread_at ? kread_out : kwrite_out);
		f->eax = FAULTED;
		return;
	}
	printf("kernel trap %u err %x at %x\n", f->vector, f->err, f->eip);
	exit(0x7e);
}

static void hook(struct frame *f)
{
	if ((f->cs & 3) != 3) {
		kernel_fault(f);
		return;
	}
	if (f->vector != 0x80) {
		printf("trap %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7d);
	}
	if (at > 0) {
		struct step *s = &script[at - 1];
		if (s->what)
			printf("%s: ", s->what);
		s->act(s->space);
	}
	if (at == nsteps) {
		printf("300 switches among the %d spaces: %u right, %u wrong\ndone\n", NSPACE,
		       rounds_ok, rounds_bad);
		exit(0);
	}
	struct step *s = &script[at++];
	if (s->before)
		s->before();
	set_cr3(pd[s->space]);
	f->eip = USER_BASE;
	f->uesp = STACK_TOP;
}

static void build_spaces(void)
{
	identity_tables(kpt, 3, P | W);
	for (int k = 0; k < NSPACE; k++) {
		for (int j = 0; j < 1024; j++)
			upt[k][j] = kpt[1][j];                        /* supervisor by default */
		for (int j = 0; j < 16; j++)
			upt[k][j] = (USER_BASE + j * 0x1000u) | P | U;   /* user code, read-only */
		upt[k][PTE(DATA)] = FRAME(2 * k) | P | W | U;
		upt[k][PTE(DATA2)] = FRAME(2 * k + 1) | P | W | U;
		upt[k][PTE(STACK_TOP) - 1] = FRAME(20 + k) | P | W | U;
		pd[k][0] = (u32)kpt[0] | P | W;
		pd[k][1] = (u32)upt[k] | P | W | U;
		pd[k][2] = (u32)kpt[2] | P | W;
		*(u32 *)FRAME(2 * k) = 0xa0 + 0x10 * k;
		*(u32 *)FRAME(2 * k + 1) = 0xa8 + 0x10 * k;
	}
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	load_user();
	build_spaces();
	for (int r = 0; r < 4; r++)                /* the kernel's touches, remembered */
		for (int k = 0; k < NSPACE; k++)
			add(k, 0, r == 3 ? show : touch, r == 3 ? (k ? "  next" : "each space's pages, read by the kernel") : 0);
	add(0, 0, touch, 0);
	add(1, move_1, show, "space 1 after its first page moved to another frame");
	add(0, 0, touch, 0);
	add(1, clear_a_1, show_bits_first, "space 1 after its A was cleared");
	add(0, 0, touch, 0);
	add(1, clear_d_1, write_then_show, "space 1 after its D was cleared, the kernel writing");
	add(0, 0, touch, 0);
	add(1, not_present_1, show, "space 1 after its first page lost P");
	add(0, 0, touch, 0);
	add(1, back_1, show, "space 1 with its page back on a new frame");
	add(2, 0, touch, 0);
	add(0, reuse_2, touch, 0);
	add(1, 0, show, "space 1 on the frame space 2 freed");
	add(2, 0, show, "space 2 on its new frame");
	add(0, read_only_2, touch, 0);
	add(2, 0, write_then_show, "space 2 after its first page lost W, the kernel writing");
	want[0][0] = 0xa0, want[0][1] = 0xa8;
	want[1][0] = 0xc5, want[1][1] = 0xb8;
	want[2][0] = 0xc0, want[2][1] = 0xc6;
	for (int i = 0; i < 300; i++)
		add(i % NSPACE, 0, check, 0);
	paging_on(pd[0], CR0_WP);
	printf("paging on, %d address spaces\n", NSPACE);
	enter_user(USER_BASE, STACK_TOP);
}
