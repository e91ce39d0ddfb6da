/* segload.c: `movl %reg, %sreg` at CPL 0, repeated, while the GDT changes under it.
 * In call mode lvm finishes a load of a selector it has seen in that register
 * before in guest code, when the descriptor's bytes are still the same
 * (runtime/guest/segload.s.j2, runtime/host/fastseg.c); each case here is one where
 * the CPU's result differs from the last load's: a descriptor given a new base, its
 * Accessed bit cleared (the load sets it again), made not present (#NP), given a
 * DPL below the RPL (#GP), a new GDT at another address (lgdt), null selectors,
 * the per-register ways crowded out; and loads that race a 1 kHz timer whose handler
 * loads the same registers (iret must bring back what the interrupted code had);
 * the same for `popl %sreg` and for `mov DISP(%esp), %sreg`. */
#include "desc.h"

#define AREA 0x200000                          /* three 256-byte areas, each tagged */
static unsigned long long gdt2[16] __attribute__((aligned(8)));
static volatile u32 ticks, resume_at;
struct pseudo { u16 limit; u32 base; } __attribute__((packed));

static void tag_areas(void)
{
	for (int i = 0; i < 4; i++) {
		*(volatile u32 *)(AREA + i * 0x100) = 0xa0a0 + i;
		*(volatile u32 *)(AREA + i * 0x100 + 0x10) = 0x38 + 8 * i;   /* a selector */
	}
}

static u32 fs_word(void) { u32 v; asm volatile("movl %%fs:0, %0" : "=r"(v)); return v; }
static u32 gs_word(void) { u32 v; asm volatile("movl %%gs:0, %0" : "=r"(v)); return v; }
static void load_fs(u32 sel) { asm volatile("movl %0, %%fs" : : "r"(sel) : "memory"); }
static void load_gs(u32 sel) { asm volatile("movl %0, %%gs" : : "r"(sel) : "memory"); }
static void load_es(u32 sel) { asm volatile("movl %0, %%es" : : "r"(sel) : "memory"); }
static u32 read_fs(void) { u32 v; asm volatile("movl %%fs, %0" : "=r"(v)); return v; }
static u32 read_es(void) { u32 v; asm volatile("movl %%es, %0" : "=r"(v)); return v; }
static u32 read_gs(void) { u32 v; asm volatile("movl %%gs, %0" : "=r"(v)); return v; }

static void hook(struct frame *f)
{
	if (f->vector == 0x20) {                   /* the timer: loads of its own */
		u32 fs = read_fs(), gs = read_gs();   /* vectors.S keeps only DS and ES */
		ticks++;
		load_fs(0x40);
		load_gs(0x48);
		if (fs_word() != 0xa0a1 || gs_word() != 0xa0a2)
			printf("tick %u: wrong segment words\n", ticks);
		load_fs(fs);
		load_gs(gs);
		outb(0x20, 0x20);
		return;
	}
	printf("vector %u err %x\n", f->vector, f->err);
	f->eip = resume_at;
}

#define TRY(what) do { asm volatile("movl $1f, %0" : "=m"(resume_at)); what; \
	asm volatile("1:"); } while (0)

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	tag_areas();
	set_gdt(7, AREA, 0xff, 0x92, 0);           /* 0x38 */
	set_gdt(8, AREA + 0x100, 0xff, 0x92, 0);   /* 0x40 */
	set_gdt(9, AREA + 0x200, 0xff, 0x92, 0);   /* 0x48 */
	set_gdt(10, AREA + 0x300, 0xff, 0x92, 0);  /* 0x50 */

	/* The same loads again and again: FS alternates between two selectors. */
	u32 sum = 0;
	for (int i = 0; i < 1000; i++) {
		load_fs(0x38);
		sum += fs_word();
		load_fs(0x40);
		sum += fs_word();
	}
	printf("1000 rounds: sum %x\n", sum);

	/* A new base behind the same selector: the next load sees it. */
	load_fs(0x38);
	set_gdt(7, AREA + 0x300, 0xff, 0x92, 0);
	printf("before reload: %x\n", fs_word());  /* the CPU keeps the old descriptor */
	load_fs(0x38);
	printf("after reload: %x\n", fs_word());

	/* Accessed cleared by the kernel: the load sets it again. */
	load_es(0x50);
	load_es(0x10 + 8);
	gdt[10] &= ~(1ull << 40);
	load_es(0x50);
	printf("accessed bit after the load: %u\n", (u32)(gdt[10] >> 40) & 1);
	load_es(0x18);

	/* Not present, then a DPL below the RPL: the faults, with their error codes. */
	load_gs(0x48);
	load_gs(0x40);
	gdt[9] &= ~(1ull << 47);
	TRY(load_gs(0x48));
	printf("gs after #NP: %x\n", read_gs());
	gdt[9] |= 1ull << 47;
	load_gs(0x48);
	TRY(load_gs(0x4b));                        /* RPL 3 on a DPL 0 segment: #GP */
	printf("gs after #GP: %x\n", read_gs());
	load_gs(0x48);
	printf("gs word %x\n", gs_word());

	/* Null selectors, with their RPL, and back. */
	load_fs(0);
	printf("fs after null: %x\n", read_fs());
	load_fs(3);
	printf("fs after null RPL 3: %x\n", read_fs());
	load_fs(0x40);
	printf("fs word %x, selector %x\n", fs_word(), read_fs());

	/* A load the monitor did not see, then an entry into it: what it uses next is
	 * that load's (an emulated `mov %fs:0x10, %gs` reads through FS's base). */
	load_fs(0x48);
	load_fs(0x48);
	outb(0x80, 0);
	printf("fs after an entry: %x\n", read_fs());
	asm volatile("mov %%fs:0x10, %%gs" ::: "memory");
	printf("gs from fs:0x10: %x, its word %x\n", read_gs(), gs_word());
	load_es(0x18);
	load_es(0x18);
	load_fs(0);
	outb(0x80, 0);
	printf("es %x, fs %x after an entry\n", read_es(), read_fs());

	/* A flat segment (the host's own flat selector stands for it) given a base of
	 * 0x100: only the descriptor's low word changes. */
	set_gdt(11, 0, 0xfffff, 0x92, 0);          /* 0x58 */
	load_es(0x58);
	load_es(0x58);
	gdt[11] |= 0x100ull << 16;
	load_es(0x58);
	u32 w;
	asm volatile("movl %%es:%c1, %0" : "=r"(w) : "i"(AREA));
	printf("es:AREA with base 0x100: %x\n", w);
	load_es(0x18);

	/* Pops: the same, the selector from the stack (esp moves past it only when the
	 * load succeeds). */
	sum = 0;
	for (int i = 0; i < 300; i++) {
		u32 v;
		asm volatile("pushl $0x50; popl %%es; movl %%es:0, %0; pushl $0x18; popl %%es"
			     : "=r"(v) : : "memory");
		sum += v;
		asm volatile("pushl $0x48; popl %%gs; pushl $0x38; popl %%fs" ::: "memory");
		sum += gs_word() + fs_word();
	}
	printf("300 rounds of pops: sum %x\n", sum);
	gdt[9] &= ~(1ull << 47);                   /* 0x48 not present */
	u32 moved;
	asm volatile("movl %%esp, %%esi\n\t"
		     "pushl $0x48\n\t"
		     "movl $2f, %1\n\t"
		     "popl %%gs\n"
		     "2:\tmovl %%esi, %0\n\t"
		     "subl %%esp, %0\n\t"
		     "movl %%esi, %%esp"
		     : "=r"(moved), "=m"(resume_at) : : "esi", "memory");
	printf("pop of a not-present selector: gs %x, esp %u below where it was\n", read_gs(), moved);
	gdt[9] |= 1ull << 47;
	asm volatile("pushl $0; popl %%fs; pushl $3; popl %%gs" ::: "memory");
	printf("popped nulls: fs %x gs %x\n", read_fs(), read_gs());

	/* From the stack frame, as Linux's exit path reloads %fs (`mov PT_FS(%esp),
	 * %fs`): a disp8 and a disp32 form, repeated, a changed descriptor, a fault
	 * (esp and the register as they were), a null selector. */
	sum = 0;
	for (int i = 0; i < 300; i++) {
		u32 v;
		asm volatile("subl $256, %%esp\n\t"
			     "movl $0x40, 36(%%esp)\n\t"
			     "movl $0x48, 200(%%esp)\n\t"
			     "mov 36(%%esp), %%fs\n\t"
			     "mov 200(%%esp), %%gs\n\t"
			     "movl $0x50, 4(%%esp)\n\t"
			     "mov 4(%%esp), %%es\n\t"
			     "movl %%es:0, %0\n\t"
			     "movl $0x18, 8(%%esp)\n\t"
			     "mov 8(%%esp), %%es\n\t"
			     "addl $256, %%esp"
			     : "=r"(v) : : "memory");
		sum += v + fs_word() + gs_word();
	}
	printf("300 rounds from the stack frame: sum %x\n", sum);
	set_gdt(8, AREA + 0x200, 0xff, 0x92, 0);   /* 0x40: a new base */
	asm volatile("subl $8, %%esp; movl $0x40, 4(%%esp); mov 4(%%esp), %%fs; addl $8, %%esp" ::: "memory");
	printf("0x40 from the stack after a new base: %x\n", fs_word());
	set_gdt(8, AREA + 0x100, 0xff, 0x92, 0);
	gdt[9] &= ~(1ull << 47);                   /* 0x48 not present */
	asm volatile("movl %%esp, %%esi\n\t"
		     "subl $64, %%esp\n\t"
		     "movl $0x48, 40(%%esp)\n\t"
		     "movl $2f, %1\n\t"
		     "mov 40(%%esp), %%gs\n"
		     "2:\tmovl %%esi, %0\n\t"
		     "subl %%esp, %0\n\t"
		     "movl %%esi, %%esp"
		     : "=r"(moved), "=m"(resume_at) : : "esi", "memory");
	printf("a not-present selector from the stack: gs %x, esp %u below\n", read_gs(), moved);
	gdt[9] |= 1ull << 47;
	asm volatile("subl $16, %%esp; movl $3, 12(%%esp); mov 12(%%esp), %%fs; addl $16, %%esp" ::: "memory");
	printf("null from the stack: fs %x\n", read_fs());

	/* Three selectors in one register: the ways crowd each other out. */
	sum = 0;
	for (int i = 0; i < 300; i++) {
		load_fs(0x38); sum += fs_word();
		load_fs(0x40); sum += fs_word();
		load_fs(0x48); sum += fs_word();
	}
	printf("300 rounds of three: sum %x\n", sum);

	/* Another GDT, at another address, with other descriptors at the same indices. */
	for (int i = 0; i < 16; i++)
		gdt2[i] = gdt[i];
	unsigned long long old7 = gdt[7];
	gdt2[7] = gdt[8];                          /* 0x38 now means AREA + 0x100 */
	struct pseudo g2 = { sizeof gdt2 - 1, (u32)gdt2 }, g1 = { sizeof gdt - 1, (u32)gdt };
	load_fs(0x38);
	asm volatile("lgdt %0" : : "m"(g2));
	load_fs(0x38);
	printf("0x38 in the second GDT: %x\n", fs_word());
	asm volatile("lgdt %0" : : "m"(g1));
	load_fs(0x38);
	printf("0x38 in the first again: %x (descriptor %s)\n", fs_word(),
	       gdt[7] == (old7 | 1ull << 40) ? "as set" : "changed");

	/* Loads racing the timer, whose handler loads FS and GS too. */
	pic_init(0xfe, 0xff);
	outb(0x43, 0x34);
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);                     /* 1 kHz */
	asm volatile("sti");
	u32 bad = 0, rounds = 0;
	while (ticks < 200) {
		load_fs(0x38);
		load_gs(0x50);
		if (fs_word() != 0xa0a3 || gs_word() != 0xa0a3)
			bad++;
		load_fs(0x48);
		if (fs_word() != 0xa0a2)
			bad++;
		rounds++;
	}
	asm volatile("cli");
	printf("200 ticks: %s\n", bad ? "a load lost" : "every load held");
	(void)rounds;
	printf("done\n");
	exit(0);
}
