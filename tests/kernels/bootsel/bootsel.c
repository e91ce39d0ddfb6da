/* bootsel.c: the segment selectors a Multiboot kernel starts with.  The
 * specification leaves them undefined; GRUB leaves CS = 0x08 and DS = 0x10, and
 * kernels that load a GDT of that layout and never reload CS (xv6 does exactly
 * this) take their first interrupt with CS = 0x08 pushed and come back by iret.
 * lvm starts the same way (QEMU's loader uses 0x10/0x18, where such a kernel
 * survives only because TCG checks for interrupts at block boundaries), so this
 * kernel runs under lvm only (tests/test_hardening.py). */
#include "k.h"

struct dtr { u16 limit; u32 base; } __attribute__((packed));

static unsigned long long gdt[] = {
	0,
	0x00cf9a000000ffffULL,   /* 0x08: flat code, ring 0 */
	0x00cf92000000ffffULL,   /* 0x10: flat data, ring 0 */
};
static unsigned long long idt[0x31];
volatile u32 interrupts;
void isr(void);
asm(".text\nisr:\n\tincl interrupts\n\tiret");

void kmain(void)
{
	u16 cs, ds;
	serial_init();
	asm volatile("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
	printf("at entry: cs %x ds %x\n", cs, ds);
	struct dtr g = { sizeof gdt - 1, (u32)gdt };
	asm volatile("lgdt %0\n\tmovw $0x10, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%es\n\t"
		     "movw %%ax, %%ss" : : "m"(g) : "eax", "memory");   /* CS not reloaded */
	u32 h = (u32)isr;
	idt[0x30] = (h & 0xffff) | 0x08u << 16 | (unsigned long long)(0x8e00 | (h & 0xffff0000u)) << 32;
	struct dtr i = { sizeof idt - 1, (u32)idt };
	asm volatile("lidt %0" : : "m"(i));
	asm volatile("int $0x30" : : : "memory");
	asm volatile("mov %%cs, %0" : "=r"(cs));
	printf("after an interrupt and iret: cs %x, %u interrupt\n", cs, interrupts);
	exit(0);
}
