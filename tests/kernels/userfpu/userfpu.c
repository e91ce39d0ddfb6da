/* userfpu.c: user code's x87/SSE state across its kernel entries, as a kernel with
 * tasks sees it.  lvm runs user code in host processes (one per recent address
 * space) and sends the state between them and the monitor only when it changed
 * (userproc.c: the agreed state); a kernel changes it in three ways, each of which
 * user code must see: its own instructions in a system call (%xmm1, MXCSR), a
 * change and its undoing (the state back to what user code left; and user code
 * undoing the kernel's change, back to what it reported before), and a task
 * switch, which saves one task's image (FXSAVE) and loads another's (FXRSTOR),
 * between tasks of one space (one host process, two states) and of others.  Six
 * tasks in three spaces (task t in space t % 3) report their registers five
 * times per round (user.S: int $0x80, sysenter, a #PF, two more int $0x80), which
 * the kernel checks against what it expects of each task.  The same program
 * assembled by gas runs under QEMU; the transcripts must be the same, also with
 * one or two lvm user processes for the three spaces. */
#include "desc.h"
#include "paging.h"

#define NSPACE 3
#define NTASK 6
#define ROUNDS 600
#define DATA 0x500000u
#define STACK_TOP 0x502000u
#define FRAME(k) (0x800000u + (k) * 0x1000u)    /* data frames, in the kernel's 8-12 MiB */
#define STACK(k) (0x900000u + (k) * 0x1000u)
#define DATA_PTE ((DATA >> 12) & 0x3ff)

static u32 pd[NSPACE][1024] __attribute__((aligned(4096)));
static u32 upt[NSPACE][1024] __attribute__((aligned(4096)));

/* What the kernel expects of a task at its next report. */
struct task {
	struct frame f;
	u8 fpu[512] __attribute__((aligned(16)));
	u32 x0, inc, x1, x1_was, st, mxcsr;
	int started;
};
static struct task tasks[NTASK];
static int cur = -1;
static u32 seed = 12345, reports, right, wrong, switches, kernel_sets, undos, user_undos;

static u32 rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 16;
}

static void check(const char *how, u32 x0, u32 x1, u32 st, u32 mxcsr, int stepped)
{
	struct task *t = &tasks[cur];
	reports++;
	if (x0 == t->x0 && x1 == t->x1 && st == t->st && mxcsr == t->mxcsr) {
		right++;
	} else if (wrong++ < 5) {
		printf("task %d by %s: xmm0 %x (want %x) xmm1 %x (%x) st0 %u (%u) mxcsr %x (%x)\n",
		       cur, how, x0, t->x0, x1, t->x1, st, t->st, mxcsr, t->mxcsr);
	}
	if (stepped) {
		t->x0 += t->inc;                   /* user code's step after the report */
		t->st++;
	}
}

/* The kernel changes user code's registers itself (they are live in a system call). */
static void kernel_set_xmm1(u32 v)
{
	struct task *t = &tasks[cur];
	asm volatile("movd %0, %%xmm1" : : "r"(v));
	t->x1_was = t->x1;
	t->x1 = v;
	kernel_sets++;
}

static void kernel_undo_xmm1(void)
{
	struct task *t = &tasks[cur];
	asm volatile("movd %0, %%xmm1" : : "r"(t->x1_was));
	t->x1 = t->x1_was;
	undos++;
}

static void kernel_set_mxcsr(u32 v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
	tasks[cur].mxcsr = v;
}

static void switch_to(int n, struct frame *f)
{
	if (n == cur)
		return;
	switches++;
	tasks[cur].f = *f;
	asm volatile("fxsave %0" : "=m"(tasks[cur].fpu));
	cur = n;
	asm volatile("fxrstor %0" : : "m"(tasks[n].fpu));
	set_cr3(pd[n % NSPACE]);
	*f = tasks[n].f;
}

static void finish(void)
{
	printf("%u reports (%u rounds of %d tasks in %d spaces): %u right, %u wrong\n", reports,
	       ROUNDS, NTASK, NSPACE, right, wrong);
	printf("%u task switches, %u registers set by the kernel, %u undone (%u by user code)\ndone\n",
	       switches, kernel_sets, undos, user_undos);
	exit(0);
}

static void hook(struct frame *f)
{
	if ((f->cs & 3) != 3) {
		printf("kernel trap %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7e);
	}
	if (f->vector == 14) {
		u32 cr2;
		asm volatile("movl %%cr2, %0" : "=r"(cr2));
		if (cr2 != DATA || (upt[cur % NSPACE][DATA_PTE] & P)) {
			printf("#PF err %x at %x in task %d\n", f->err, cr2, cur);
			exit(0x7d);
		}
		check("#PF", f->ebx, f->esi, f->edi, f->ebp, 1);
		upt[cur % NSPACE][DATA_PTE] |= P;      /* the read is retried and passes */
		return;
	}
	if (f->vector != 0x80) {
		printf("trap %u err %x in task %d\n", f->vector, f->err, cur);
		exit(0x7c);
	}
	if (f->eax == 3) {
		/* %xmm1 changed, which user code changes back: the state it then reports
		 * (4) is the one it reported here, which the kernel reads itself. */
		check("int $0x80 (3)", f->ebx, f->esi, f->edi, f->ebp, 0);
		asm volatile("movd %0, %%xmm1" : : "r"(0x5eed0000u + reports));
		kernel_sets++;
		return;
	}
	if (f->eax == 4) {
		u32 x1;
		asm volatile("movd %%xmm1, %0" : "=r"(x1));
		check("int $0x80 (4)", f->ebx, x1, f->edi, f->ebp, 1);
		user_undos++;
		return;
	}
	check("int $0x80", f->ebx, f->esi, f->edi, f->ebp, 1);
	if (reports >= ROUNDS * NTASK * 5)
		finish();
	u32 r = rnd();
	if (r % 5 == 0)
		kernel_set_xmm1(0x10001u * reports);
	switch_to(r % 3 ? (int)(rnd() % NTASK) : cur, f);
}

/* The sysenter entry: the same report; the kernel sometimes changes %xmm1 (and
 * sometimes puts it back as user code had it) or MXCSR's rounding, and unmaps the
 * data page, which the next read then faults on. */
static u32 fast_call(struct sysregs *r)
{
	check("sysenter", r->ebx, r->esi, r->edi, r->ebp, 1);
	u32 x = rnd();
	if (x % 7 == 0)
		kernel_undo_xmm1();
	else if (x % 7 == 1)
		kernel_set_xmm1(x);
	else if (x % 11 == 2)
		kernel_set_mxcsr(0x1f80u | (x & 0x6000u));
	upt[cur % NSPACE][DATA_PTE] &= ~P;
	invlpg(DATA);
	return r->eax;
}

static void build(void)
{
	for (int k = 0; k < NSPACE; k++) {
		for (int j = 0; j < 16; j++)
			upt[k][j] = (USER_BASE + j * 0x1000u) | P | U;   /* user code, read-only */
		upt[k][DATA_PTE] = FRAME(k) | W | U;                /* mapped at its fault */
		upt[k][DATA_PTE + 1] = STACK(k) | P | W | U;
		pd[k][0] = 0 | P | W | PS;                          /* the kernel's 0-4 MiB */
		pd[k][1] = (u32)upt[k] | P | W | U;
		pd[k][2] = 0x800000u | P | W | PS;                  /* its 8-12 MiB */
	}
	/* Each task's first image: its counters, increment, %xmm1 and rounding. */
	for (int t = 0; t < NTASK; t++) {
		struct task *k = &tasks[t];
		k->x0 = 0x1000u * (t + 1);
		k->inc = 3u + 2u * t;
		k->x1 = k->x1_was = 0xabc0u + t;
		k->st = 100u * (t + 1);
		k->mxcsr = 0x1f80u | ((t & 3u) << 13);
		u32 st = k->st;
		asm volatile("fninit\n\t"
			     "movd %0, %%xmm0\n\t"
			     "movd %1, %%xmm2\n\t"
			     "pshufd $0, %%xmm2, %%xmm2\n\t"
			     "movd %2, %%xmm1\n\t"
			     "fildl %3\n\t"
			     "ldmxcsr %4\n\t"
			     "fxsave %5"
			     : : "r"(k->x0), "r"(k->inc), "r"(k->x1), "m"(st), "m"(k->mxcsr),
			       "m"(k->fpu) : "memory");
		k->f.eip = USER_BASE;
		k->f.cs = UCODE;
		k->f.eflags = 0x202;
		k->f.uesp = STACK_TOP;
		k->f.uss = UDATA;
		k->f.ds = k->f.es = UDATA;
	}
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	sysenter_init(fast_call);
	u32 cr0, cr4;
	asm volatile("movl %%cr0, %0; movl %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	asm volatile("movl %0, %%cr4" : : "r"(cr4 | 0x610u));             /* PSE, OSFXSR, OSXMMEXCPT */
	asm volatile("movl %0, %%cr0" : : "r"((cr0 & ~4u) | 2u));         /* EM off, MP on */
	load_user();
	build();
	cur = 0;
	asm volatile("fxrstor %0" : : "m"(tasks[0].fpu));
	paging_on(pd[0], 0);
	printf("paging on, %d tasks in %d spaces\n", NTASK, NSPACE);
	enter_user(USER_BASE, STACK_TOP);
}
