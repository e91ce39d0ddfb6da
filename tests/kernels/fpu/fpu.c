/* fpu.c: the guest's x87 and SSE registers survive everything that makes the
 * emulator run (port I/O, segment loads, int n, timer interrupts and HLT). */
#include "desc.h"

static volatile u32 ticks;
static u32 pattern[8][4], back[8][4];

static void hook(struct frame *f)
{
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
	}
}

#define XMM_ALL(op, arr)						\
	asm volatile(op " 0+%0, %%xmm0\n\t" op " 16+%0, %%xmm1\n\t"	\
		     op " 32+%0, %%xmm2\n\t" op " 48+%0, %%xmm3\n\t"	\
		     op " 64+%0, %%xmm4\n\t" op " 80+%0, %%xmm5\n\t"	\
		     op " 96+%0, %%xmm6\n\t" op " 112+%0, %%xmm7" : : "m"(arr) : "memory")
#define XMM_STORE(arr)							\
	asm volatile("movdqu %%xmm0, 0+%0\n\tmovdqu %%xmm1, 16+%0\n\t"	\
		     "movdqu %%xmm2, 32+%0\n\tmovdqu %%xmm3, 48+%0\n\t"	\
		     "movdqu %%xmm4, 64+%0\n\tmovdqu %%xmm5, 80+%0\n\t"	\
		     "movdqu %%xmm6, 96+%0\n\tmovdqu %%xmm7, 112+%0" : "=m"(arr) : : "memory")

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	u32 cr0, cr4;
	asm volatile("movl %%cr0, %0" : "=r"(cr0));
	asm volatile("movl %%cr4, %0" : "=r"(cr4));
	asm volatile("movl %0, %%cr0" : : "r"((cr0 & ~0x4u) | 0x2));     /* EM off, MP on */
	asm volatile("movl %0, %%cr4" : : "r"(cr4 | 0x600));             /* OSFXSR, OSXMMEXCPT */
	asm volatile("fninit");

	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			pattern[i][j] = 0x01010101u * (i * 4 + j + 1);
	XMM_ALL("movdqu", pattern);
	asm volatile("fld1; fldpi; fldl2e");                       /* st0 l2e, st1 pi, st2 1 */

	pic_init(0xfe, 0xff);                     /* only IRQ 0 */
	outb(0x43, 0x34); outb(0x40, 1193 & 0xff); outb(0x40, 1193 >> 8);
	for (int i = 0; i < 100; i++) {
		outb(0x80, i);
		asm volatile("movl $0x18, %%eax; movl %%eax, %%ds; int $0x41" ::: "eax");
	}
	asm volatile("sti");
	while (ticks < 5)
		asm volatile("hlt");
	asm volatile("cli");

	XMM_STORE(back);
	int same = 1;
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			same &= back[i][j] == pattern[i][j];
	u32 cw;
	double l2e, pi, one;
	asm volatile("fstpl %0; fstpl %1; fstpl %2; fnstcw %3" : "=m"(l2e), "=m"(pi), "=m"(one), "=m"(cw));
	printf("xmm0-7 preserved: %s\n", same ? "yes" : "no");
	printf("x87 stack preserved: %s\n", (u32)(pi * 1000000) == 3141592 && one == 1.0 &&
	       (u32)(l2e * 1000000) == 1442695 ? "yes" : "no");
	printf("x87 control word %x\n", cw);
	exit(0);
}
