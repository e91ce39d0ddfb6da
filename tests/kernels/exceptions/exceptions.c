/* exceptions.c: faults and traps raised at CPL 0, each delivered through the IDT
 * with the vector, error code, pushed CS and return address the CPU gives. */
#include "desc.h"

static volatile u32 resume_at, fault_at;
static struct frame last;
static volatile int seen;

static u32 handler_if;

static void hook(struct frame *f)
{
	u32 fl;
	asm volatile("pushfl; popl %0" : "=r"(fl));
	handler_if = (fl >> 9) & 1;
	last = *f;
	seen++;
	f->eip = resume_at;
}

static void report(const char *name)
{
	if (!seen) {
		printf("%s: no exception\n", name);
		return;
	}
	const char *where = last.eip == fault_at ? "at the instruction" :
			    last.eip == resume_at ? "after it" : "elsewhere";
	printf("%s: vector %u err %x cs %x %s IF %u, in handler %u\n", name, last.vector, last.err,
	       last.cs, last.vector == 8 ? "-" : where, (last.eflags >> 9) & 1, handler_if);
}

/* `code` runs with label 2 on the instruction expected to fault and label 1 after it. */
#define CASE(name, code, ...)						\
	do {								\
		seen = 0;						\
		asm volatile("movl $2f, %0\n\tmovl $1f, %1\n\t" code "\n1:" \
			     : "=m"(fault_at), "=m"(resume_at) : : "memory", ##__VA_ARGS__); \
		report(name);						\
	} while (0)

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x40, 0xe, 0);
	set_gdt(7, 0, 0xfffff, 0x12, 0);          /* 0x38: data, not present */
	set_gdt(8, 0, 0xfffff, 0x92, 0);          /* 0x40: data, present */

	CASE("divide error", "xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\txorl %%edx, %%edx\n2:\tdivl %%ecx", "eax", "ecx", "edx");
	CASE("invalid opcode", "2:\tud2");
	CASE("breakpoint", "2:\tint3");
	CASE("overflow", "movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n2:\tinto", "eax");
	CASE("no overflow", "xorl %%eax, %%eax\n2:\tinto", "eax");
	CASE("int 0x40", "2:\tint $0x40");
	CASE("selector beyond the GDT", "movl $0x1008, %%eax\n2:\tmovl %%eax, %%ds", "eax");
	CASE("TSS selector in DS", "movl $0x30, %%eax\n2:\tmovl %%eax, %%es", "eax");
	CASE("not-present DS", "movl $0x38, %%eax\n2:\tmovl %%eax, %%ds", "eax");
	CASE("not-present SS", "movl $0x38, %%eax\n2:\tmovl %%eax, %%ss", "eax");
	CASE("DPL 3 data in SS", "movl $0x2b, %%eax\n2:\tmovl %%eax, %%ss", "eax");
	CASE("RPL 3 code in SS", "movl $0x13, %%eax\n2:\tmovl %%eax, %%ss", "eax");
	CASE("null SS", "xorl %%eax, %%eax\n2:\tmovl %%eax, %%ss", "eax");
	CASE("null FS is fine", "xorl %%eax, %%eax\n2:\tmovl %%eax, %%fs\n\tmovl $0x18, %%eax\n\tmovl %%eax, %%fs", "eax");
	CASE("far jump to data", "2:\tljmp $0x18, $0");
	CASE("far jump to null", "2:\tljmp $0, $0");
	CASE("pop into CS-less DS", "pushl $0x1234\n2:\tpopl %%ds\n\taddl $4, %%esp");
	CASE("lds from memory", "pushl $0x38\n\tpushl $0\n2:\tlds (%%esp), %%eax\n\taddl $8, %%esp", "eax");

	/* Gates: not present, and a fault while delivering (a double fault). */
	set_gate_present(0x41, 0);
	CASE("not-present gate", "2:\tint $0x41");
	set_gate_present(0x41, 1);
	set_gate(0x41, 0xe, 3);
	CASE("int through a DPL 3 gate", "2:\tint $0x41");

	/* Interrupt vs trap gates: IF in the handler. */
	asm volatile("sti");
	CASE("interrupt gate clears IF", "2:\tint $0x40");
	set_gate(0x40, 0xf, 0);
	CASE("trap gate keeps IF", "2:\tint $0x40");
	asm volatile("cli");

	set_gate_present(0x41, 0);
	set_gate_present(11, 0);
	CASE("double fault", "2:\tint $0x41");
	printf("done\n");
	exit(0);
}
