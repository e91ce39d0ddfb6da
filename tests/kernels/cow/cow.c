/* cow.c: a tiny Unix-like fork with copy-on-write: after the fork, parent and child
 * share their user pages read-only; the first write of either faults (#PF, error
 * P|W|U, CR2 the address) and the kernel copies the page (or, for the last
 * sharer, makes it writable again) and retries the instruction.  Each process
 * must see only its own writes: its own frames behind the same virtual address. */
#include "desc.h"
#include "paging.h"

#define USER_PAGES 0x11                         /* 0x400000-0x410fff */

struct proc { u32 *pd, *pt; struct frame f; int done; };

static u32 pd[2][1024] __attribute__((aligned(4096)));
static u32 pt[2][1024] __attribute__((aligned(4096)));
static u32 kpt[1024] __attribute__((aligned(4096)));
static struct proc procs[2] = { { pd[0], pt[0] }, { pd[1], pt[1] } };
static int cur;
static u8 refs[0x800];                        /* per frame below 8 MiB */
static u32 next_frame = 0x600000;

static void fork(struct frame *f)
{
	struct proc *parent = &procs[0], *child = &procs[1];
	for (int i = 0; i < 1024; i++) {
		if (i < USER_PAGES) {
			parent->pt[i] &= ~W;           /* both share it read-only */
			refs[parent->pt[i] >> 12]++;
		}
		child->pt[i] = parent->pt[i];
	}
	for (int i = 0; i < 1024; i++)
		child->pd[i] = parent->pd[i];
	child->pd[1] = (u32)child->pt | P | W | U;
	set_cr3(parent->pd);                           /* its writable entries changed */
	child->f = *f;
	child->f.eax = 0;
	f->eax = 1;
	printf("fork: %u pages shared\n", USER_PAGES);
}

static void cow(struct frame *f, u32 va)
{
	u32 *pte = &procs[cur].pt[(va >> 12) & 0x3ff];
	u32 frame = *pte & ~0xfffu;
	printf("pid %u: #PF at %x err %x: ", cur, va, f->err);
	if (f->err != (P | W | U) || (va >> 22) != 1) {
		printf("not a copy-on-write fault\n");
		exit(0x7d);
	}
	if (refs[frame >> 12] > 1) {
		u32 copy = next_frame;
		next_frame += 0x1000;
		for (int i = 0; i < 1024; i++)
			((u32 *)copy)[i] = ((u32 *)frame)[i];
		refs[frame >> 12]--;
		refs[copy >> 12] = 1;
		*pte = copy | P | W | U;
		printf("copied to %x\n", copy);
	} else {
		*pte |= W;
		printf("last sharer, made writable\n");
	}
	invlpg(va);
}

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 14 && (f->cs & 3) == 3) {
		cow(f, cr2);
		return;
	}
	if (f->vector != 0x80) {
		printf("unexpected vector %u err %x\n", f->vector, f->err);
		exit(0x7f);
	}
	switch (f->eax) {
	case 1:
		printf("pid %u: %x\n", cur, f->ebx);
		return;
	case 2:
		fork(f);
		return;
	case 3:
		printf("pid %u exits\n", cur);
		procs[cur].done = 1;
		if (cur == 0) {
			procs[0].f = *f;
			cur = 1;
			set_cr3(procs[1].pd);
			*f = procs[1].f;
			return;
		}
		printf("frames: original %x, parent's copy %x\n", *(u32 *)0x408000,
		       *(u32 *)(procs[0].pt[8] & ~0xfffu));
		printf("done\n");
		exit(0);
	}
	printf("bad system call %u\n", f->eax);
	exit(0x7e);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	identity_tables(&kpt, 1, P | W);               /* the kernel: 0-4 MiB, supervisor */
	for (int i = 0; i < USER_PAGES; i++) {
		pt[0][i] = (0x400000 + i * 0x1000) | P | W | U;
		refs[(0x400000 >> 12) + i] = 1;
	}
	for (int i = USER_PAGES; i < 1024; i++)
		pt[0][i] = (0x400000 + i * 0x1000) | P | W;   /* kernel frames: 0x600000.. */
	pd[0][0] = (u32)kpt | P | W;
	pd[0][1] = (u32)pt[0] | P | W | U;
	load_user();
	paging_on(pd[0], CR0_WP);
	printf("paging on, starting the parent\n");
	enter_user(USER_BASE, 0x411000);
}
