/* chaos.c: random user programs.  Each is 48 random bytes at 0x40000 run at CPL 3
 * (0x700000 with "above" on the command line: the user part above the kernel, so
 * lvm guards the kernel by revocation instead of segment limits) with random
 * registers, under paging with the kernel above its users; the first
 * exception or system call it makes ends it, and the kernel prints what (vector,
 * error code, where, CR2 for #PF); a program still running after 64 instructions
 * is ended as "long".  Deterministic for a seed (`-append seed=N`), so the
 * transcript must be QEMU's; and lvm must never crash or hang (tests/test_mmu.py).
 * Bytes whose native result depends on the host rather than the guest (segment
 * register reads and loads, far transfers, CPUID, RDTSC, descriptor-table reads,
 * SYSCALL, VEX prefixes) are replaced by NOPs: the README lists those differences.
 * Where QEMU differs from the hardware, the case is made equal or left out: the W
 * bit of a #PF is not printed (QEMU reports a read-modify-write as a read); C6, C7
 * and 8F with a non-zero reg field (#UD; QEMU runs a MOV or POP), LOCK (#UD on a
 * non-memory destination; QEMU faults on the access first), a CS override (a write
 * through CS is #GP; QEMU writes), INT1 (#DB; QEMU #UD) and FS/GS overrides (null
 * in user mode here: #GP; QEMU does not check) are replaced too.  And where the
 * hardware leaves a choice: ENTER (AMD probes the new stack top, QEMU does not) and
 * the decimal adjustments (their flags are undefined, and a jump may follow).
 * Other instructions leave some flags undefined too (shifts, MUL, BSF...): a seed
 * whose programs branch on those may differ, which is why the test takes seeds
 * checked to agree, and runs more seeds only for lvm's robustness.
 * Programs run single-stepped (TF), so "long" after 64 instructions is exact in
 * both; a timer would not be. */
#include "desc.h"
#include "paging.h"

static u32 CODE = 0x40000;                 /* 0x700000 with "above" */
#define NPROG 150
#define LEN 48

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 low[2][1024] __attribute__((aligned(4096)));
static u32 seed = 1, prog, steps;

static u32 rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

static int host_dependent(const u8 *b, int i)
{
	static const u8 one[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x8c, 0x8e, 0x9a, 0xc4,
				  0xc5, 0xca, 0xcb, 0xcf, 0xea, 0xff, 0x62, 0x9c, 0x9d,
				  0xf0, 0x2e, 0xf1, 0x64, 0x65, 0xc8, 0x27, 0x2f, 0x37, 0x3f,
				  0xd4, 0xd5 };
	static const u8 two[] = { 0x00, 0x01, 0x02, 0x03, 0x05, 0x31, 0x33, 0x34, 0x35, 0xa0, 0xa1,
				  0xa2, 0xa8, 0xa9, 0xb2, 0xb4, 0xb5, 0x0f, 0x38, 0x3a, 0xc7 };
	for (unsigned k = 0; k < sizeof one; k++)
		if (b[i] == one[k])
			return 1;
	if (b[i] == 0x0f)
		for (unsigned k = 0; k < sizeof two; k++)
			if (b[i + 1] == two[k])
				return 1;
	if ((b[i] == 0xc6 || b[i] == 0xc7 || b[i] == 0x8f) && (b[i + 1] & 0x38))
		return 1;                  /* XABORT/XBEGIN/XOP forms: #UD here, MOV/POP for QEMU */
	return 0;
}

static void next(struct frame *f)
{
	if (++prog > NPROG) {
		printf("done\n");
		exit(0);
	}
	u8 *code = (u8 *)CODE;
	for (int i = 0; i < LEN + 8; i++)
		code[i] = rnd();
	for (int i = LEN - 1; i >= 0; i--)             /* backwards: a NOP can make a new pair */
		if (host_dependent(code, i))
			code[i] = 0x90;
	for (int i = LEN; i < LEN + 8; i++)
		code[i] = 0xcc;                            /* run off the end: int3 */
	for (u32 *p = (u32 *)(CODE + 0x8000); p < (u32 *)(CODE + 0x10000); p++)
		*p = 0;                                    /* a clean stack and data page */
	asm volatile("fninit");                            /* no x87 state from the last one */
	f->eax = rnd(); f->ebx = rnd() & 0x4ffff; f->ecx = rnd() & 0xff; f->edx = rnd();
	f->esi = CODE + 0x8000 + (rnd() & 0xfff); f->edi = CODE + 0x9000 + (rnd() & 0xfff);
	f->ebp = CODE + 0xf000;
	f->eip = CODE;
	f->cs = UCODE;
	f->eflags = 0x302 | (rnd() & 0x8d5);               /* TF: counted steps */
	steps = 0;
	f->uesp = CODE + 0xf000;
	f->uss = UDATA;
	f->ds = f->es = UDATA;
}

static void hook(struct frame *f)
{
	u32 cr2;
	asm volatile("movl %%cr2, %0" : "=r"(cr2));
	if ((f->cs & 3) != 3) {
		printf("kernel fault: vector %u err %x eip %x cr2 %x\n", f->vector, f->err, f->eip, cr2);
		exit(0x7f);
	}
	if (prog == 0) {
		next(f);
		return;
	}
	if (f->vector == 1 && (f->eflags & 0x100)) {
		if (++steps < 64)
			return;                            /* the next instruction */
		printf("%u long\n", prog);
	} else if (f->vector == 14)
		printf("%u #PF %x at +%x cr2 %x\n", prog, f->err & 5, f->eip - CODE, cr2);
	else
		printf("%u vector %u err %x at +%x\n", prog, f->vector, f->err, f->eip - CODE);
	next(f);
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	for (int v = 0; v < 256; v++)                      /* int n reaches the kernel, except */
		if (v != 8 && (v < 10 || v > 14) && v != 17 && v != 21 && v != 29 && v != 30)
			set_gate(v, 0xe, 3);               /* where the CPU pushes an error code */
	const char *cmd = (magic == 0x2badb002 && (mbi[0] & 4)) ? (const char *)mbi[4] : "";
	for (const char *c = cmd; *c; c++)
		if (c[0] == 's' && c[1] == 'e' && c[2] == 'e' && c[3] == 'd' && c[4] == '=')
			for (c += 5, seed = 0; *c >= '0' && *c <= '9'; c++)
				seed = seed * 10 + (*c - '0');
	for (const char *c = cmd; *c; c++)
		if (c[0] == 'a' && c[1] == 'b' && c[2] == 'o' && c[3] == 'v' && c[4] == 'e')
			CODE = 0x700000;                   /* the user part above the kernel */
	printf("seed %u\n", seed);
	identity_tables(low, 2, P | W);
	for (u32 a = CODE; a < CODE + 0x10000; a += 0x1000)
		low[a >> 22][(a >> 12) & 0x3ff] |= U;      /* the user part: 64 KiB */
	map_tables(pd, low, 2, P | W | U);
	paging_on(pd, CR0_WP);
	asm volatile("movl %%cr4, %%eax; orl $0x600, %%eax; movl %%eax, %%cr4" ::: "eax");  /* SSE on */
	pic_init(0xff, 0xff);
	*(volatile u16 *)CODE = 0x30cd;                    /* int $0x30: the first program, please */
	enter_user(CODE, CODE + 0xf000);
}
