/* desc.c: the test kernels' descriptor tables. */
#include "desc.h"

unsigned long long gdt[16];
struct tss tss;
static unsigned long long idt[256];
extern u32 vectors[256];                     /* vectors.S */
void (*trap_hook)(struct frame *f);
static u8 kstack[8192] __attribute__((aligned(16)));

void set_gdt(int index, u32 base, u32 limit, int type, int dpl)
{
	unsigned long long d = (limit & 0xffff) | (unsigned long long)(base & 0xffffff) << 16 |
		(unsigned long long)(type | dpl << 5) << 40 |
		(unsigned long long)((limit >> 16) & 0xf) << 48 |
		(unsigned long long)(type & 0x10 ? 0xc : 0x4) << 52 |
		(unsigned long long)(base >> 24) << 56;
	gdt[index] = d;
}

void set_gate(int v, int type, int dpl)
{
	u32 off = vectors[v];
	idt[v] = (off & 0xffff) | (unsigned long long)KCODE << 16 |
		 (unsigned long long)(0x80 | dpl << 5 | type) << 40 |
		 (unsigned long long)(off >> 16) << 48;
}

void set_gate_handler(int v, u32 off)
{
	idt[v] = (idt[v] & 0x0000ffffffff0000ULL) | (off & 0xffff) |
		 (unsigned long long)(off >> 16) << 48;
}

void set_gate_present(int v, int present)
{
	idt[v] = (idt[v] & ~(1ULL << 47)) | (unsigned long long)!!present << 47;
}

struct pseudo { u16 limit; u32 base; } __attribute__((packed));

void desc_init(void)
{
	/* Mask the 8259A: the BIOS (SeaBIOS under QEMU) leaves the PIT's IRQ 0 running
	 * at vector 8, which would land on the double-fault handler with no error code
	 * whenever IF is 1.  Kernels that want interrupts program the PIC themselves. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	set_gdt(2, 0, 0xfffff, 0x9a, 0);
	set_gdt(3, 0, 0xfffff, 0x92, 0);
	set_gdt(4, 0, 0xfffff, 0x9a, 3);
	set_gdt(5, 0, 0xfffff, 0x92, 3);
	tss.ss0 = KDATA;
	tss.esp0 = (u32)(kstack + sizeof kstack);
	tss.iomap = sizeof tss;
	/* A 32-bit available TSS: type 9, byte granular (set_gdt's G comes from type & 0x10). */
	set_gdt(6, (u32)&tss, sizeof tss - 1, 0x89, 0);
	for (int v = 0; v < 256; v++)
		set_gate(v, 0xe, 0);
	struct pseudo g = { sizeof gdt - 1, (u32)gdt }, i = { sizeof idt - 1, (u32)idt };
	asm volatile("lgdt %0\n\tlidt %1\n\t"
		     "ljmp %2, $1f\n1:\t"
		     "movl %3, %%eax\n\tmovl %%eax, %%ds\n\tmovl %%eax, %%es\n\tmovl %%eax, %%ss\n\t"
		     "movl %%eax, %%fs\n\tmovl %%eax, %%gs\n\t"
		     "movw %4, %%ax\n\tltr %%ax"
		     : : "m"(g), "m"(i), "i"(KCODE), "i"(KDATA), "i"(TSSSEL) : "eax", "memory");
}

/* Called by vectors.S with interrupts as the gate left them. */
void trap(struct frame *f)
{
	if (trap_hook) {
		trap_hook(f);
		return;
	}
	printf("unexpected trap %u err %x cs %x\n", f->vector, f->err, f->cs);
	exit(0x7f);
}

void enter_user(u32 eip, u32 esp)
{
	asm volatile("movl %0, %%eax\n\tmovl %%eax, %%ds\n\tmovl %%eax, %%es\n\t"
		     "pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
		     : : "i"(UDATA), "r"(esp), "i"(UCODE), "r"(eip) : "eax", "memory");
	__builtin_unreachable();
}

extern u8 user_image[], user_image_end[];

void load_user(void)
{
	u8 *dst = (u8 *)USER_BASE;
	for (u8 *p = user_image; p < user_image_end; p++)
		*dst++ = *p;
}

void report_cycles(const char *name, unsigned long long cycles, u32 n)
{
	printf("op %s %u\n", name, (u32)(cycles / n));
}

/* The 8259A pair as PC kernels set it up: edge-triggered, cascaded on IRQ 2, 8086
 * mode, vectors 0x20-0x2f; then the masks (a 1 masks the input). */
void pic_init(u8 master_mask, u8 slave_mask)
{
	outb(0x20, 0x11); outb(0xa0, 0x11);        /* ICW1: edge, cascade, ICW4 */
	outb(0x21, 0x20); outb(0xa1, 0x28);        /* ICW2: vectors */
	outb(0x21, 0x04); outb(0xa1, 0x02);        /* ICW3: slave on IRQ 2 */
	outb(0x21, 0x01); outb(0xa1, 0x01);        /* ICW4: 8086 mode */
	outb(0x21, master_mask); outb(0xa1, slave_mask);
}
