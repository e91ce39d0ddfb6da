/* userlimit.c: a kernel with pages at 0xc0000000, above its user part, as Linux and
 * xv6 have them: a user process reaching them by every kind of instruction gets the
 * #PF the CPU gives (CR2, error code, and for jumps, calls and returns the fault at
 * the target with the stack as the transfer left it); pages the kernel makes
 * user-accessible up there work, with or without INVLPG.  (lvm guards that half
 * with segment limits instead of unmapping it: tests/test_mmu.py counts that.) */
#include "desc.h"
#include "paging.h"

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 low[2][1024] __attribute__((aligned(4096)));
static u32 high[1024] __attribute__((aligned(4096)));
static u32 mid[1024] __attribute__((aligned(4096)));       /* 0x7fc00000-0x7fffffff */

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 0x80) {
		switch (f->eax) {
		case 1:
			printf("user read %x\n", f->ebx);
			return;
		case 3:
			high[3] |= U;
			asm volatile("invlpg 0xc0003000" : : : "memory");
			return;
		case 5:
			f->eip = 0xc0000200;             /* iret there: #PF at the fetch */
			return;
		case 4:
			high[4] |= U;                    /* no INVLPG: the CPU may or may not see it */
			asm volatile("" : : : "memory");
			return;
		}
		printf("done\n");
		exit(0);
	}
	if (f->vector == 14 || f->vector == 13) {
		if (f->vector == 13)
			printf("#GP err %x eip %x", f->err, f->eip);
		else
			printf("#PF cr2 %x err %x eip %x", cr2, f->err, f->eip);
		if (f->uesp != f->ebp)
			printf(" esp %+d", (int)(f->uesp - f->ebp));
		printf("\n");
		f->eip = f->edi;
		f->uesp = f->ebp;
		return;
	}
	printf("unexpected vector %u err %x eip %x\n", f->vector, f->err, f->eip);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	identity_tables(low, 2, P | W);
	for (int i = 0; i < 0x12; i++)
		low[1][i] |= U;                          /* 0x400000-0x411fff: the user part */
	low[1][0x12] = 0;
	for (int i = 0; i < 16; i++)
		high[i] = (0x600000 + i * 0x1000) | P | W;   /* the kernel's half */
	*(volatile u32 *)0x603000 = 0x3333;
	*(volatile u32 *)0x604000 = 0x4444;
	pd[0] = (u32)low[0] | P | W;
	pd[1] = (u32)low[1] | P | W | U;
	pd[0x300] = (u32)high | P | W | U;              /* U in the PDE: the PTEs decide */
	mid[1023] = 0x605000 | P | W | U;               /* the last page of a table, the user's */
	*(volatile u32 *)0x605000 = 0x5555;
	pd[0x1ff] = (u32)mid | P | W | U;
	load_user();
	paging_on(pd, CR0_WP);
	*(volatile u32 *)0xc0000008 = 0x8;              /* the kernel uses its half */
	asm volatile("movl %%cr4, %%eax; orl $0x600, %%eax; movl %%eax, %%cr4" ::: "eax");  /* SSE */
	printf("entering user mode\n");
	enter_user(USER_BASE, 0x411000);
}
