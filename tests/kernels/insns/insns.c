/* insns.c: each interesting instruction at CPL 0, run with every general register
 * and the arithmetic flags set to known values; the transcript shows what it
 * changed (registers, flags, stack pointer), so that the rewritten forms must
 * preserve exactly what the CPU preserves. */
#include "desc.h"

u32 saved[9], base_esp;
struct { u16 limit; u32 base; } __attribute__((packed)) dt;
u32 farptr[2], mem16;

/* Registers: eax 11.. ebx 22.. ecx 33.. edx 44.. esi 55.. edi 66.. ebp 77..;
 * flags CF PF AF ZF SF OF (0x8d5), IF 0.  `insn` runs, then everything is saved. */
#define CASE(name, insn)						\
	do {								\
		asm volatile("pushal\n\t"				\
			"movl %%esp, base_esp\n\t"			\
			"movl $0x11111111, %%eax\n\tmovl $0x22222222, %%ebx\n\t" \
			"movl $0x33333333, %%ecx\n\tmovl $0x44444444, %%edx\n\t" \
			"movl $0x55555555, %%esi\n\tmovl $0x66666666, %%edi\n\t" \
			"movl $0x77777777, %%ebp\n\t"			\
			"pushl $0x8d5\n\tpopfl\n\t"			\
			insn "\n\t"					\
			"pushfl\n\tpopl saved+32\n\t"			\
			"movl %%eax, saved\n\tmovl %%ebx, saved+4\n\tmovl %%ecx, saved+8\n\t" \
			"movl %%edx, saved+12\n\tmovl %%esi, saved+16\n\tmovl %%edi, saved+20\n\t" \
			"movl %%ebp, saved+24\n\tmovl %%esp, saved+28\n\t" \
			"movl base_esp, %%esp\n\tpopal"			\
			::: "memory", "cc");				\
		show(name);						\
	} while (0)

static void show(const char *name)
{
	static const char *names[] = { "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp" };
	static const u32 init[] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444,
				    0x55555555, 0x66666666, 0x77777777 };
	printf("%s:", name);
	for (int i = 0; i < 7; i++)
		if (saved[i] != init[i])
			printf(" %s=%x", names[i], saved[i]);
	if (saved[7] != base_esp)
		printf(" esp%c%u", saved[7] > base_esp ? '+' : '-',
		       saved[7] > base_esp ? saved[7] - base_esp : base_esp - saved[7]);
	u32 fl = saved[8] & 0x3fffff & ~0x2u;
	if (fl != 0x8d5)
		printf(" flags=%x", fl);
	printf("\n");
}

static void hook(struct frame *f)
{
	printf("  (vector %u err %x)\n", f->vector, f->err);
	if (f->vector != 0x40 && f->vector != 3)
		exit(0x7f);                        /* not expected: stop here */
}

/* Code a kernel copies before running it, as Linux's apply_alternatives() copies
 * .altinstr_replacement over the original: lvm-as rewrites it in the trap form
 * (call mode's relative calls would land wrong at the copy). */
asm(".pushsection .altinstr_replacement, \"ax\"\n"
    "replacement: cli\n\tpushfl\n\tpopl %esi\n\tsti\n\tmovl %cr0, %edi\n\tret\n"
    "replacement_end:\n\t.popsection");
extern u8 replacement[], replacement_end[];
static u8 copied_code[64] __attribute__((aligned(16)));

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gdt(7, 0x1000, 0xfff, 0x92, 0);        /* 0x38: data, base 0x1000, 4 KiB */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	CASE("nop", "nop");
	CASE("cli", "cli");
	CASE("sti", "sti");
	CASE("cli after sti", "sti; cli");
	CASE("pushf", "pushfl; popl %%eax");
	CASE("pushfw", "pushfw; popw %%ax");
	CASE("popf 0x202", "pushl $0x202; popfl");
	CASE("popf all arith", "pushl $0xcd7; popfl");
	CASE("popfw", "pushw $0x0001; popfw");
	CASE("popf via esp-relative pushl", "pushl $0x246; pushl (%%esp); popfl; popl %%eax");
	CASE("in al imm", "inb $0x21, %%al");
	CASE("in al dx", "movw $0x21, %%dx; inb %%dx, %%al");
	CASE("out al imm", "outb %%al, $0x80");
	CASE("out ax dx", "movw $0x80, %%dx; outw %%ax, %%dx");
	/* (esi/edi are printed relative to mem16: addresses differ between builds) */
	CASE("rep outsb", "movl $mem16, %%esi; movl $2, %%ecx; movw $0x80, %%dx; rep outsb; subl $mem16, %%esi");
	CASE("rep insb", "movl $mem16, %%edi; movl $2, %%ecx; movw $0x21, %%dx; rep insb; subl $mem16, %%edi");
	CASE("insb 16-bit address", "movl $mem16, %%edi; movw $0x21, %%dx; addr16 insb; subl $mem16, %%edi");
	CASE("outsb std", "std; movl $mem16, %%esi; movw $0x80, %%dx; outsb; cld; subl $mem16, %%esi");
	CASE("mov cr0", "movl %%cr0, %%eax");
	CASE("mov cr0 write", "movl %%cr0, %%eax; movl %%eax, %%cr0");
	CASE("mov cr3 round trip", "movl $0x5000, %%eax; movl %%eax, %%cr3; movl %%cr3, %%ebx");
	CASE("mov cr4 read", "movl %%cr4, %%ecx");
	CASE("mov cr2 round trip", "movl $0x1234, %%ecx; movl %%ecx, %%cr2; movl %%cr2, %%edx");
	CASE("mov dr0 round trip", "movl $0xabcd, %%esi; movl %%esi, %%db0; movl %%db0, %%edi");
	CASE("mov dr7 read", "movl %%db7, %%ebp");
	CASE("clts", "clts");
	CASE("smsw reg", "smsw %%eax");
	CASE("smsw mem", "smsw mem16; movzwl mem16, %%eax");
	CASE("lmsw", "smsw %%ax; lmsw %%ax");
	CASE("sgdt esp-relative", "leal -8(%%esp), %%esp; sgdt 2(%%esp); movzwl 2(%%esp), %%eax; leal 8(%%esp), %%esp");
	CASE("lgdt/sgdt round trip", "sgdt dt; lgdt dt; sgdt dt; movzwl dt, %%eax");
	CASE("sidt", "sidt dt; movzwl dt, %%eax");
	CASE("lidt esp-relative", "leal -8(%%esp), %%esp; sidt (%%esp); lidt (%%esp); leal 8(%%esp), %%esp");
	CASE("sldt", "sldt %%eax");
	CASE("str", "str %%eax");
	CASE("str mem", "str mem16; movzwl mem16, %%ebx");
	CASE("lldt null", "xorl %%eax, %%eax; lldt %%ax");
	CASE("invlpg", "invlpg (%%eax)");
	CASE("wbinvd", "wbinvd");
	CASE("invd", "invd");
	CASE("wrmsr/rdmsr sysenter_cs", "movl $0x174, %%ecx; movl $0x10, %%eax; xorl %%edx, %%edx; wrmsr; xorl %%eax, %%eax; rdmsr");
	CASE("mov ds", "movl %%ds, %%eax");
	CASE("mov ds mem", "movw %%ds, mem16; movzwl mem16, %%eax");
	CASE("mov to ds", "movl $0x18, %%eax; movl %%eax, %%ds");
	CASE("mov to fs based", "movl $0x38, %%eax; movl %%eax, %%fs; movl %%fs, %%ebx; movl $0x18, %%eax; movl %%eax, %%fs");
	CASE("push/pop ds", "pushl %%ds; popl %%ds");
	CASE("push/pop es 16-bit", "pushw %%es; popw %%es");
	CASE("push fs/gs", "pushl %%fs; pushl %%gs; popl %%eax; popl %%ebx");
	CASE("pop fs/gs", "pushl $0x18; pushl $0x18; popl %%fs; popl %%gs");
	CASE("push ss/cs", "pushl %%ss; pushl %%cs; popl %%eax; popl %%ebx");
	CASE("lds", "movl $0x1234, farptr; movl $0x18, farptr+4; lds farptr, %%esi");
	CASE("les", "movl $0x1234, farptr; movl $0x18, farptr+4; les farptr, %%edi");
	CASE("lfs lgs", "movl $0x88, farptr; movl $0x18, farptr+4; lfs farptr, %%ebx; lgs farptr, %%ecx");
	CASE("lss", "movl %%esp, farptr; movl $0x18, farptr+4; lss farptr, %%esp");
	CASE("ljmp imm", "ljmp $0x10, $1f; 1:");
	CASE("ljmp mem", "movl $1f, farptr; movl $0x10, farptr+4; ljmp *farptr; 1:");
	CASE("lcall/lret", "lcall $0x10, $2f; jmp 1f; 2: lret; 1:");
	CASE("lcall mem/lret $4", "movl $2f, farptr; movl $0x10, farptr+4; pushl $9; lcall *farptr; jmp 1f; 2: lret $4; 1:");
	CASE("int/iret", "int $0x40");
	CASE("int3", "int3");
	CASE("into no OF", "xorl %%eax, %%eax; into");
	CASE("iret same level", "pushfl; pushl %%cs; pushl $1f; iret; 1:");
	CASE("lar", "movl $0x18, %%eax; lar %%eax, %%ebx");
	CASE("lar invalid", "movl $0x1000, %%eax; lar %%eax, %%ebx");
	CASE("lsl", "movl $0x38, %%eax; lsl %%eax, %%ecx");
	CASE("lsl tss", "movl $0x30, %%eax; lsl %%eax, %%ecx");
	CASE("verr verw", "movl $0x10, %%eax; verr %%ax; setz %%bl; verw %%ax; setz %%bh");
	CASE("verw data", "movl $0x18, %%eax; verw %%ax");
	CASE("arpl adjust", "movl $0x18, %%eax; movl $0x3, %%ebx; arpl %%bx, %%ax");
	CASE("arpl keep", "movl $0x1b, %%eax; movl $0x1, %%ebx; arpl %%bx, %%ax");
	CASE("sysenter msrs", "movl $0x175, %%ecx; rdmsr; movl $0x176, %%ecx; rdmsr");
	for (u8 *p = replacement, *q = copied_code; p < replacement_end; )
		*q++ = *p++;
	CASE("copied code", "call copied_code");
	/* Linux's CPUID probe: popfl toggles EFLAGS.ID (trap mode: through sigreturn,
	 * which keeps the caller's ID, signals.c) */
	CASE("popf toggles ID", "pushfl; popl %%eax; movl %%eax, %%ecx; xorl $0x200000, %%eax; "
	     "pushl %%eax; popfl; pushfl; popl %%ebx; xorl %%ecx, %%ebx; andl $0x200000, %%ebx; "
	     "pushl %%ecx; popfl; xorl %%eax, %%eax; xorl %%ecx, %%ecx");
	CASE("hlt with pending timer", "nop");
	printf("done\n");
	exit(0);
}
