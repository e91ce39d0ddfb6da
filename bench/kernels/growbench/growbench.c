/* growbench.c: the teaching-kernel pattern that makes lvm slow (issue 12): a process
 * grows to 48 MiB a page at a time and frees it, and this kernel reloads CR3 after
 * every change of the address space, as xv6's growproc()/switchuvm() does; each
 * page comes from a free list in descending physical order (fault-around cannot
 * merge them), and a 100 Hz local APIC timer reloads CR3 twice per tick (a switch to
 * the scheduler's page directory and back).  The user program reports the cycles
 * for the growth and for the free; bench/mmu.py prints them next to QEMU's.
 * Built like the test kernels. */
#include "desc.h"
#include "paging.h"

#define HEAP 0x1000000u                     /* 16 MiB: the user's heap, growing */
#define PAGES (48u * 256)                   /* 48 MiB */
#define FRAMES_TOP 0x7000000u               /* free frames below 112 MiB */

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 kpd[1024] __attribute__((aligned(4096)));        /* the scheduler's */
static u32 low[4][1024] __attribute__((aligned(4096)));     /* 0-16 MiB */
static u32 heap_pt[PAGES / 1024][1024] __attribute__((aligned(4096)));
static u32 next_frame = FRAMES_TOP, mapped;

static void hook(struct frame *f)
{
	if (f->vector == 14) {                    /* the heap's next page: map it */
		u32 cr2;
		asm volatile("movl %%cr2, %0" : "=r"(cr2));
		u32 page = (cr2 - HEAP) >> 12;
		if (cr2 < HEAP || page >= PAGES) {
			printf("fault at %x\n", cr2);
			exit(0x7f);
		}
		next_frame -= 0x1000;
		heap_pt[page >> 10][page & 1023] = next_frame | P | W | U;
		mapped++;
		set_cr3(pd);                      /* the address space changed */
		return;
	}
	if (f->vector == 0x40) {                  /* the timer: to the scheduler and back */
		set_cr3(kpd);
		set_cr3(pd);
		*(volatile u32 *)0xfee000b0 = 0;  /* EOI */
		return;
	}
	if (f->vector == 0x80) {
		if (f->eax == 1)
			report_cycles("grow-48MiB-per-page", f->ebx, 1);
		if (f->eax == 3) {               /* free the heap, CR3 after each page */
			for (u32 i = 0; i < PAGES; i++) {
				heap_pt[i >> 10][i & 1023] = 0;
				set_cr3(pd);
			}
			next_frame = FRAMES_TOP;
			mapped = 0;
		}
		if (f->eax == 2) {
			report_cycles("free-48MiB-per-page", f->ebx, 1);
			printf("done\n");
			exit(0);
		}
		return;
	}
	printf("unexpected vector %u\n", f->vector);
	exit(0x7f);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	set_gate(0x40, 0xe, 0);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	identity_tables(low, 4, P | W);
	for (int i = 0; i < 0x110; i++)
		low[1][i] |= U;                       /* 4 MiB + 1 MiB + 64 KiB: the user's */
	map_tables(pd, low, 4, P | W | U);
	map_tables(kpd, low, 4, P | W | U);
	for (u32 t = 0; t < PAGES / 1024; t++)
		pd[(HEAP >> 22) + t] = (u32)heap_pt[t] | P | W | U;
	pd[0x3fb] = kpd[0x3fb] = 0xfec00000u | P | W | PS;     /* 4 MiB page over the APICs */
	set_cr4(get_cr4() | CR4_PSE);
	paging_on(pd, 0);
	volatile u32 *apic = (u32 *)0xfee00000;
	apic[0x3e0 / 4] = 0xb;                        /* divide by 1 */
	apic[0x320 / 4] = 0x20040;                    /* periodic, vector 0x40 */
	apic[0x380 / 4] = 10000000;                   /* 10 ms at lvm's and QEMU's 1 GHz */
	load_user();
	enter_user(USER_BASE, 0x50f000);
}
