/* singlestep.c: kernel code stepping itself with EFLAGS.TF through instructions lvm
 * rewrites (a vCPU-page store and load, port I/O, pushf/popf/sti): one #DB after each
 * instruction as written, DR6.BS set, and the #DB after the popf that clears TF. */
#include "desc.h"

extern const u32 steps[];            /* the address after each instruction below */
void stepped(void);
static u32 seen[32], dr6[32];
static volatile int n;

static void hook(struct frame *f)
{
	if (f->vector != 1) {
		printf("vector %u at %x\n", f->vector, f->eip);
		exit(0x7e);
	}
	u32 d;
	asm volatile("movl %%dr6, %0" : "=r"(d));
	asm volatile("movl %0, %%dr6" : : "r"(0xffff0ff0));
	if (n < 32)
		dr6[n] = d, seen[n] = f->eip;
	n++;
}

asm(".text\n"
    "stepped:\n\t"
    "pushfl\n\t"
    "orl $0x100, (%esp)\n\t"
    "popfl\n"                            /* TF on: the first #DB is after the next one */
    "0:\tnop\n"
    "1:\tcli\n"
    "2:\tmovl %cr0, %eax\n"
    "3:\tinb $0x80, %al\n"
    "4:\tpushfl\n"
    "5:\tpopfl\n"
    "6:\tsti\n"
    "7:\tmovl %eax, %ecx\n"
    "8:\tpushl $2\n"
    "9:\tpopfl\n"                        /* TF off: still a #DB after it */
    "10:\tnop\n"
    "11:\tret\n"
    ".section .rodata\n"
    "steps: .long 0b, 1b, 2b, 3b, 4b, 5b, 6b, 7b, 8b, 9b, 10b, 11b\n"
    ".text\n");

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	asm volatile("movl %0, %%dr6" : : "r"(0xffff0ff0));
	stepped();
	printf("%d single-step traps\n", n);
	for (int i = 0; i < n && i < 32; i++) {
		int at = -1;
		for (int k = 0; k < 12; k++)
			if (steps[k] == seen[i])
				at = k;
		printf("#DB %d: after step %d, DR6.BS %u\n", i, at, (dr6[i] >> 14) & 1);
	}
	exit(0);
}
