/* hello.c: the sample kernel: prints on COM1, touches the common privileged state
 * (flags, GDT, segments, CR0), and exits with status 0. */
#include "k.h"

struct gdtr { u16 limit; u32 base; } __attribute__((packed));

static unsigned long long gdt[] = {
	0,
	0x00cf9a000000ffffULL,   /* 0x08: flat code, ring 0 */
	0x00cf92000000ffffULL,   /* 0x10: flat data, ring 0 */
};

static void load_gdt(void)
{
	struct gdtr g = { sizeof(gdt) - 1, (u32)gdt };
	asm volatile("lgdt %0\n\t"
		     "ljmp $0x08, $1f\n"
		     "1:\tmovw $0x10, %%ax\n\t"
		     "movw %%ax, %%ds\n\tmovw %%ax, %%es\n\tmovw %%ax, %%ss\n\t"
		     "movw %%ax, %%fs\n\tmovw %%ax, %%gs"
		     : : "m"(g) : "eax", "memory");
}

void kmain(u32 magic, u32 info)
{
	u32 flags, cr0;
	u16 cs;

	serial_init();
	printf("hello from a rewritten kernel\n");
	printf("multiboot magic %x\n", magic);
	load_gdt();
	asm volatile("mov %%cs, %0" : "=r"(cs));
	printf("cs %x\n", cs);
	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	printf("cr0.PE %u\n", cr0 & 1);
	asm volatile("pushfl; popl %0" : "=r"(flags));
	printf("IF %u\n", (flags >> 9) & 1);
	asm volatile("sti; pushfl; popl %0; cli" : "=r"(flags));
	printf("IF after sti %u\n", (flags >> 9) & 1);
	(void)info;
	exit(0);
}
