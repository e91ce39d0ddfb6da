/* pfretry.c: user page faults a kernel answers in different ways, and the
 * Accessed/Dirty bits each leaves behind.  lvm maps a user #PF's page just before
 * the faulting instruction runs again (runtime/host/mmu/pfretry.c); these are the cases
 * where that must give what the CPU gives: the retry's own A and D bits (a read
 * sets A only), a kernel that does not fix the fault at once (the retry faults
 * again), one that resumes elsewhere (nothing touched the page: A stays clear), and
 * one that fixes it while another address space runs first. */
#include "desc.h"
#include "paging.h"

#define PAGE(n) (0x500000u + (n) * 0x1000u)     /* the probed pages: PTEs 0x100.. */

static u32 pd[2][1024] __attribute__((aligned(4096)));
static u32 upt[1024] __attribute__((aligned(4096)));
static u32 kpt[1024] __attribute__((aligned(4096)));
static unsigned faults, refuse;                 /* refuse: faults to leave unfixed */
static u32 elsewhere;                           /* nonzero: resume there after a fix */
static int other_space;                         /* fix, then run the other CR3 first */

static u32 *pte_of(u32 va) { return &upt[(va >> 12) & 0x3ff]; }

static void page_fault(struct frame *f, u32 va)
{
	faults++;
	printf("#PF %x err %x, fault %u: ", va, f->err, faults);
	if (refuse) {
		refuse--;
		printf("left unmapped\n");
		return;
	}
	*pte_of(va) = (0x700000 + (va & 0xff000)) | P | W | U;   /* A and D clear */
	invlpg(va);
	if (other_space) {
		other_space = 0;
		set_cr3(pd[1]);                 /* the user pages are not there */
		*(volatile u32 *)0x3ff000;      /* the kernel runs a little in it */
		set_cr3(pd[0]);
		printf("mapped, after a run in another address space\n");
	} else
		printf("mapped\n");
	if (elsewhere) {
		f->eip = elsewhere;             /* as a signal handler would be entered */
		elsewhere = 0;
	}
}

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 14 && (f->cs & 3) == 3) {
		page_fault(f, cr2);
		return;
	}
	if (f->vector != 0x80) {
		printf("unexpected vector %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7f);
	}
	u32 pte = *pte_of(f->ebx);
	switch (f->eax) {
	case 1:                                 /* the PTE of the page at ebx */
		printf("  page %x: %s%s%s, faults %u\n", f->ebx, pte & P ? "present" : "not present",
		       pte & A ? ", accessed" : "", pte & D ? ", dirty" : "", faults);
		return;
	case 2:                                 /* the next fault: ecx times unfixed */
		refuse = f->ecx;
		return;
	case 3:                                 /* the next fix resumes at ecx */
		elsewhere = f->ecx;
		return;
	case 4:                                 /* the next fix runs the other space */
		other_space = 1;
		return;
	case 5:
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
	for (int i = 0; i < 0x20; i++)
		upt[i] = (0x400000 + i * 0x1000) | P | W | U;  /* the program and its stack */
	pd[0][0] = pd[1][0] = (u32)kpt | P | W;
	pd[0][1] = (u32)upt | P | W | U;
	load_user();
	paging_on(pd[0], CR0_WP);
	printf("paging on\n");
	enter_user(USER_BASE, 0x420000);
}
