/* anchors.c: user and kernel touches at both ends of 2 MiB ranges, where lvm keeps
 * the PROT_NONE page that holds the host's page table (runtime/host/mmu/anchor.c):
 * a fill in a range's lower half puts it at the range's top free page, one in the
 * upper half at its bottom.  So user code here reads and writes exactly those
 * pages, each first while the guest has not mapped it (the guest's #PF, which the
 * kernel answers by mapping a fresh frame: demand paging), then mapped; pages go
 * (PTE cleared and INVLPG, a whole table cleared and CR3 reloaded) and come back
 * on other frames; two address spaces map the same addresses to other frames; the
 * kernel reads the same user addresses, faulting where they are not mapped.  What
 * every touch sees is QEMU's transcript. */
#include "desc.h"
#include "paging.h"

#define NSPACE 2
#define R1 0x600000u                    /* a 2 MiB range of page table 1 */
#define R1TOP 0x7ff000u
#define R2 0x800000u                    /* page table 2's first range */
#define R2TOP 0x9ff000u
#define STACK_TOP 0x420000u
#define FRAMES 0xc00000u                /* demand-paged frames, kernel-mapped (12-16 MiB) */
#define PTI(a) (((a) >> 12) & 0x3ff)
#define FAULTED 0xfa17edu

static u32 pd[NSPACE][1024] __attribute__((aligned(4096)));
static u32 upt[NSPACE][2][1024] __attribute__((aligned(4096)));   /* 4-8, 8-12 MiB */
static u32 kpt[4][1024] __attribute__((aligned(4096)));           /* 0-16 MiB */
static u32 next_frame = FRAMES;
static int space;

extern char kread_at[], kread_out[];
static __attribute__((noinline)) u32 kread(u32 addr)
{
	u32 v;
	asm volatile(".globl kread_at, kread_out\nkread_at: movl (%1), %0\nkread_out:"
		     : "=a"(v) : "c"(addr) : "memory");
	return v;
}

static u32 *pte(int k, u32 a) { return &upt[k][(a >> 22) - 1][PTI(a)]; }

/* A fresh frame for a, its first word telling which space and address it is for. */
static void map_fresh(int k, u32 a)
{
	u32 f = next_frame;
	next_frame += 0x1000;
	*(u32 *)f = (a >> 12) ^ (k << 16) ^ (f >> 4);
	*pte(k, a) = f | P | W | U;
}

static void unmap(int k, u32 a)
{
	*pte(k, a) = 0;
	if (k == space)
		invlpg(a);
}

static void clear_range(int k, u32 from, u32 to)
{
	for (u32 a = from; a < to; a += 0x1000)
		*pte(k, a) = 0;
	if (k == space)
		set_cr3(pd[k]);
}

struct step { int space; u32 read, write; void (*before)(void); const char *what; };
static void drop_r1(void) { unmap(0, R1); }
static void drop_r1_of_1(void) { unmap(1, R1TOP); }
static void clear_0(void) { clear_range(0, R1, R1TOP + 0x1000); }
static void kernel_reads(void)
{
	printf("kernel reads %x %x %x: ", kread(R2TOP), kread(R2 + 0x2000), kread(R1TOP));
}
static const struct step script[] = {
	{ 0, R1, 0, 0, "space 0 reads the range's bottom" },
	{ 0, R1TOP, 0, 0, "space 0 reads its top" },
	{ 0, 0, R1 + 0x1000, 0, "space 0 writes the page above the bottom" },
	{ 0, R1 + 0x1000, 0, 0, "space 0 reads it" },
	{ 0, R1 + 0x2000, R1TOP - 0x1000, 0, "space 0 reads the next, writes below the top" },
	{ 0, R1, 0, drop_r1, "space 0 reads its bottom, unmapped and INVLPGed" },
	{ 1, R1TOP, 0, 0, "space 1 reads the top" },
	{ 1, R1, R1 + 0x1000, 0, "space 1 reads the bottom, writes above it" },
	{ 0, R1TOP, 0, 0, "space 0 reads its top again" },
	{ 1, R1TOP, 0, drop_r1_of_1, "space 1 reads its top, unmapped while inactive" },
	{ 0, R1 + 0x1000, 0, clear_0, "space 0 reads a page of its range, all cleared" },
	{ 0, R1TOP, R1TOP - 0x1000, 0, "space 0 reads its top, writes below it" },
	{ 0, 0, R2TOP, 0, "space 0 writes the next range's top" },
	{ 0, R2, 0, 0, "space 0 reads that range's bottom" },
	{ 0, R2TOP, 0, kernel_reads, "space 0 reads it back" },
	{ 1, R2 + 0x2000, 0, kernel_reads, "space 1 reads in the next range" },
	{ 0, R2 + 0x2000, 0, kernel_reads, "space 0 too" },
};
#define NSTEPS (int)(sizeof script / sizeof script[0])
#define ROUNDS 200
static int at;
static u32 sum[NSPACE];

static void kernel_fault(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 14 && f->eip == (u32)kread_at) {
		printf("(kernel #PF err %x at %x) ", f->err, cr2);
		f->eip = (u32)kread_out;
		f->eax = FAULTED;
		return;
	}
	printf("kernel trap %u err %x at %x\n", f->vector, f->err, f->eip);
	exit(0x7e);
}

static void enter(struct frame *f, int k, u32 read, u32 write)
{
	space = k;
	set_cr3(pd[k]);
	f->eip = USER_BASE + 16;             /* user.S: step */
	f->uesp = STACK_TOP;
	f->esi = read, f->edi = write, f->ebx = 0x5700 + at;
}

static void hook(struct frame *f)
{
	if ((f->cs & 3) != 3) {
		kernel_fault(f);
		return;
	}
	if (f->vector == 14) {                   /* demand paging, then the retry */
		u32 cr2;
		asm volatile("movl %%cr2, %0" : "=r"(cr2));
		if (cr2 < R1 || cr2 >= R2TOP + 0x1000) {
			printf("user #PF err %x at %x, eip %x\n", f->err, cr2, f->eip);
			exit(0x7c);
		}
		if (at <= NSTEPS)
			printf("#PF err %x at %x, ", f->err, cr2);
		map_fresh(space, cr2);
		return;
	}
	if (f->vector != 0x80) {
		printf("trap %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7d);
	}
	if (at > 0 && at <= NSTEPS)
		printf("read %x\n", f->eax);
	if (at > NSTEPS)
		sum[space] += f->eax;
	if (at < NSTEPS) {
		const struct step *s = &script[at++];
		printf("%s: ", s->what);
		if (s->before)
			s->before();
		enter(f, s->space, s->read, s->write);
		return;
	}
	if (at < NSTEPS + 2 * ROUNDS) {             /* both spaces' tops, in turn */
		int k = at++ & 1;
		enter(f, k, k ? R1 : R1TOP, 0);
		return;
	}
	printf("%d rounds: sums %x %x\ndone\n", ROUNDS, sum[0], sum[1]);
	exit(0);
}

static void build_spaces(void)
{
	identity_tables(kpt, 4, P | W);
	for (int k = 0; k < NSPACE; k++) {
		for (int j = 0; j < 1024; j++)
			upt[k][0][j] = upt[k][1][j] = 0;
		for (int j = 0; j < 16; j++)
			upt[k][0][j] = (USER_BASE + j * 0x1000u) | P | U;   /* user code, read-only */
		upt[k][0][PTI(STACK_TOP) - 1] = (0xf00000u + k * 0x1000u) | P | W | U;
		pd[k][0] = (u32)kpt[0] | P | W;
		pd[k][1] = (u32)upt[k][0] | P | W | U;
		pd[k][2] = (u32)upt[k][1] | P | W | U;
		pd[k][3] = (u32)kpt[3] | P | W;
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
	paging_on(pd[0], CR0_WP);
	printf("paging on, %d address spaces\n", NSPACE);
	enter_user(USER_BASE, STACK_TOP);
}
