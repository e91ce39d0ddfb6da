/* badmmu.c: page tables a careless kernel might build, one case per command line
 * word (tests/test_mmu.py runs each under lvm and QEMU):
 *   cr3-low-bits  CR3 with its ignored low bits set: paging works as usual
 *   page0         paging off, data in physical page 0 (below vm.mmap_min_addr)
 *   user-page0    a user program's data at virtual page 0
 *   user-code0    a user program running at virtual page 0
 *   cr3-outside   CR3 beyond guest memory
 *   pde-outside   a page directory entry pointing beyond guest memory
 *   pte-outside   a page table entry mapping a frame beyond guest memory
 *   pde-reserved  a 4 MiB page whose entry has a reserved bit set (bit 13: PSE-36's
 *                 address bits on QEMU's CPU, reserved on lvm's): #PF with RSVD
 *   kernel-top    the kernel mapping the second page from the top (lvm's entry stub)
 *                 and writing there: a report, not a crash
 *   user-top      a user program writing the top page of the address space, which
 *                 the guest maps for it (lvm's vCPU page: the guest must be stopped,
 *                 the page not corrupted)
 * The last five have no QEMU-identical outcome (QEMU reads unassigned memory as
 * zeros or ones); lvm must stop with a clear report, never crash or hang. */
#include "desc.h"
#include "paging.h"

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt[2][1024] __attribute__((aligned(4096)));      /* 0-8 MiB */

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 0x80) {
		printf("user: %x\n", f->ebx);
		if (f->eax == 2) {
			printf("done\n");
			exit(0);
		}
		return;
	}
	printf("vector %u err %x cr2 %x eip %x\n", f->vector, f->err, cr2, f->eip);
	exit(0x7f);
}

static void paging(u32 cr3)
{
	identity_tables(pt, 2, P | W);
	pd[0] = (u32)pt[0] | P | W | U;
	pd[1] = (u32)pt[1] | P | W;
	paging_on((const void *)cr3, 0);
}

/* A user program copied to physical 0x500000 and mapped at virtual page 0 and 1. */
static const u8 user_data_prog[] = {
	0xc7, 0x05, 0x00, 0x08, 0x00, 0x00, 0x55, 0x55, 0x00, 0x00,  /* movl $0x5555, 0x800 */
	0x8b, 0x1d, 0x00, 0x08, 0x00, 0x00,                          /* movl 0x800, %ebx */
	0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80,                    /* movl $1, %eax; int $0x80 */
	0xb8, 0x02, 0x00, 0x00, 0x00, 0xcd, 0x80,                    /* movl $2, %eax; int $0x80 */
};

static void user_at_zero(int code_at_zero)
{
	u8 *phys = (u8 *)0x500000;
	for (u32 i = 0; i < sizeof user_data_prog; i++)
		phys[0x1000 + i] = user_data_prog[i];
	paging((u32)pd);
	pt[0][0] = 0x500000 | P | W | U;              /* page 0: user data (and code) */
	pt[0][1] = 0x501000 | P | W | U;              /* page 1: user code */
	pt[0][2] = 0x502000 | P | W | U;              /* page 2: user stack */
	set_cr3(pd);
	u32 entry = 0x1000;
	if (code_at_zero) {
		for (u32 i = 0; i < sizeof user_data_prog; i++)
			phys[0x100 + i] = user_data_prog[i];
		entry = 0x100;
	}
	printf("entering user mode at %x\n", entry);
	enter_user(entry, 0x3000);
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	const char *cmd = cmdline_last_word(magic, mbi);
	printf("case %s\n", cmd);
	if (streq(cmd, "cr3-low-bits")) {
		paging((u32)pd | 0xfe7);
		u32 cr3;
		asm volatile("movl %%cr3, %0" : "=r"(cr3));
		printf("cr3 reads back %x, memory at 0x400000 %x\n", cr3 - (u32)pd,
		       *(volatile u32 *)0x400000);
	} else if (streq(cmd, "page0")) {
		volatile u32 *p;
		asm("movl $0x500, %0" : "=r"(p));           /* hide the constant from gcc */
		*p = 0xabcd;
		p[1] = p[0] + 1;
		asm volatile("addl $0x10, %0" : "+m"(p[1]));
		printf("page 0: %x %x\n", p[0], p[1]);
	} else if (streq(cmd, "user-page0")) {
		user_at_zero(0);
	} else if (streq(cmd, "user-code0")) {
		user_at_zero(1);
	} else if (streq(cmd, "user-top")) {
		static const u8 prog[] = {
			0xc7, 0x05, 0x00, 0xf0, 0xff, 0xff, 0x55, 0x55, 0x00, 0x00, /* movl $0x5555, 0xfffff000 */
			0xb8, 0x02, 0x00, 0x00, 0x00, 0xcd, 0x80,                   /* movl $2, %eax; int $0x80 */
		};
		u8 *at = (u8 *)0x500000;
		for (u32 i = 0; i < sizeof prog; i++)
			at[i] = prog[i];
		paging((u32)pd);
		pd[1] |= U;
		for (int i = 0; i < 1024; i++)
			pt[1][i] |= U;                        /* 4-8 MiB: the user's */
		static u32 top[1024] __attribute__((aligned(4096)));
		top[1023] = 0x600000 | P | W | U;          /* 0xfffff000, for the user */
		pd[1023] = (u32)top | P | W | U;
		set_cr3(pd);
		printf("entering user mode\n");
		enter_user(0x500000, 0x510000);
	} else if (streq(cmd, "kernel-top")) {
		paging((u32)pd);
		static u32 top[1024] __attribute__((aligned(4096)));
		top[1022] = 0x600000 | P | W;              /* 0xffffe000 */
		pd[1023] = (u32)top | P | W;
		set_cr3(pd);
		*(volatile u32 *)0xffffe010 = 1;
		printf("wrote there\n");
	} else if (streq(cmd, "pde-reserved")) {
		paging((u32)pd);
		set_cr4(get_cr4() | CR4_PSE);
		pd[3] = 0x800000 | 0x2000 | P | W | PS;          /* 4 MiB page, bit 13 set */
		asm volatile("invlpg 0xc00000" : : : "memory");
		printf("read through it: %x\n", *(volatile u32 *)0xc00000);
	} else if (streq(cmd, "cr3-outside")) {
		paging(0xf0000000u);
		printf("still running\n");
	} else if (streq(cmd, "pde-outside")) {
		paging((u32)pd);
		pd[2] = 0xf0000000u | P | W;
		asm volatile("" : : : "memory");
		printf("read through it: %x\n", *(volatile u32 *)0x800000);
	} else if (streq(cmd, "pte-outside")) {
		paging((u32)pd);
		pt[1][5] = 0xf0000000u | P | W;
		asm volatile("invlpg 0x405000" : : : "memory");
		printf("read through it: %x\n", *(volatile u32 *)0x405000);
	} else {
		printf("unknown case\n");
		exit(0x7e);
	}
	printf("done\n");
	exit(0);
}
