/* pfbench.c: what paging costs, in TSC cycles: a shadow fill, an address-space
 * switch with 10, 100 and 1000 touched pages (two address spaces with page tables
 * of their own: a switch drops the other's mappings), a reload of the same
 * directory with 100 touched pages (kept: ptsnap.c), a user page fault handled by this
 * kernel, an address-space switch by a user system call followed by 10 user reads
 * (lvm keeps a user process per address space: aspaces.c), a device register read
 * (local APIC ID) and write (TPR), and a user loop
 * over memory (bench/mmu.py compares it with the same loop in a host process).
 * Built like the test kernels. */
#include "desc.h"
#include "paging.h"

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pd2[1024] __attribute__((aligned(4096)));
static u32 low[4][1024] __attribute__((aligned(4096)));      /* 0-16 MiB */
static u32 low2[4][1024] __attribute__((aligned(4096)));     /* the same, pd2's own tables */

#define AREA 0x800000                         /* 8-12 MiB: 1024 pages to touch */

static void touch(u32 pages)
{
	for (u32 i = 0; i < pages; i++)
		(void)*(volatile u32 *)(AREA + i * 0x1000);
}

static void hook(struct frame *f)
{
	if (f->vector == 14) {                    /* user faults: skip the access */
		f->eip = f->edi;
		return;
	}
	if (f->vector == 0x80) {
		if (f->eax == 1)
			report_cycles("user-pf-roundtrip", f->ebx, 1);
		if (f->eax == 3) {                    /* the other address space */
			static int other;
			other ^= 1;
			set_cr3(other ? pd2 : pd);
		}
		if (f->eax == 4)
			report_cycles("user-cr3-switch+10-pages", f->ebx, 1);
		if (f->eax == 2) {
			report_cycles("user-loop-1MiB", f->ebx, 1);
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
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	identity_tables(low, 4, P | W);
	for (int i = 0; i < 0x110; i++)
		low[1][i] |= U;                       /* 4 MiB + 1 MiB + 64 KiB: the user's */
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 1024; i++)
			low2[t][i] = low[t][i];
	map_tables(pd, low, 4, P | W | U);
	map_tables(pd2, low2, 4, P | W | U);
	paging_on(pd, 0);

	unsigned long long t0;
	touch(1024);                              /* warm everything once */
	set_cr3(pd2);                             /* away and back: nothing of pd's is kept */
	set_cr3(pd);
	t0 = rdtsc();
	touch(1024);
	report_cycles("shadow-fill-per-page", rdtsc() - t0, 1024);

	static const u32 sizes[] = { 10, 100, 1000 };
	static const char *names[] = { "cr3-switch+10-pages", "cr3-switch+100-pages", "cr3-switch+1000-pages" };
	for (int s = 0; s < 3; s++) {
		u32 reps = 20000 / sizes[s];
		t0 = rdtsc();
		for (u32 r = 0; r < reps; r++) {
			set_cr3(r & 1 ? pd2 : pd);
			touch(sizes[s]);
		}
		report_cycles(names[s], rdtsc() - t0, reps);
	}
	set_cr3(pd);
	t0 = rdtsc();
	for (u32 r = 0; r < 200; r++) {
		set_cr3(pd);
		touch(100);
	}
	report_cycles("cr3-reload+100-pages", rdtsc() - t0, 200);

	/* Device registers: the local APIC ID (a load: from the mirror page, natively)
	 * and the TPR (a store: trapped and emulated). */
	volatile u32 *apic_id = (u32 *)0xfee00020, *tpr = (u32 *)0xfee00080;
	pd[0x3fb] = 0xfec00000u | P | W | PS;         /* 4 MiB page over both APICs */
	set_cr4(get_cr4() | CR4_PSE);
	set_cr3(pd);
	u32 sum = *apic_id;
	t0 = rdtsc();
	for (int i = 0; i < 100000; i++)
		sum += *apic_id;
	report_cycles("mmio-read-lapic-id", rdtsc() - t0, 100000);
	t0 = rdtsc();
	for (int i = 0; i < 2000; i++)
		*tpr = i & 0x70;
	report_cycles("mmio-write-lapic-tpr", rdtsc() - t0, 2000);
	if (sum)
		printf("apic id %u?\n", sum);

	load_user();
	enter_user(USER_BASE, 0x50f000);
}
