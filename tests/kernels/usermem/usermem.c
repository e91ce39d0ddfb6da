/* usermem.c: a user process under paging: its own code, data and stack pages work
 * natively; a kernel page, a read-only page and an unmapped page each give the
 * kernel a #PF with CR2 and the error code (U, W, P bits) the CPU sets. */
#include "desc.h"
#include "paging.h"

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 low[2][1024] __attribute__((aligned(4096)));

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if (f->vector == 0x80) {
		if (f->eax == 1) {
			printf("user: %x\n", f->ebx);
			return;
		}
		printf("user done\n");
		exit(0);
	}
	if (f->vector == 14) {
		printf("#PF at %x err %x from cpl %u\n", cr2, f->err, f->cs & 3);
		f->eip = f->edi;                     /* the user program's resume point */
		return;
	}
	printf("unexpected vector %u err %x\n", f->vector, f->err);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	identity_tables(low, 2, P | W);                  /* supervisor */
	for (int i = 0; i < 0x11; i++)
		low[1][i] |= U;                      /* 0x400000-0x410fff: user code, data, stack */
	low[1][0x11] = 0x411000 | P | U;         /* 0x411000: user, read-only */
	low[1][0x12] = 0;                        /* 0x412000: not present */
	map_tables(pd, low, 2, P | W | U);
	*(volatile u32 *)0x411000 = 0x411411;

	load_user();
	paging_on(pd, CR0_WP);
	printf("paging on, entering user mode\n");
	enter_user(USER_BASE, 0x411000);
}
