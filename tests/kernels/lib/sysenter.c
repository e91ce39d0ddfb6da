/* sysenter.c: the sysenter entry of the test kernels that take system calls by
 * sysenter from C (usergate, userfpu): the three MSRs, and an entry (CPL 0, IF 0,
 * on the MSR stack) that gives sysenter_hook the registers and flags user code
 * left and returns by sysexit with the hook's value in %eax; its sti, as Linux's,
 * has the sysexit in its shadow. */
#include "desc.h"

u32 (*sysenter_hook)(struct sysregs *r);
static u8 sysenter_stack[4096] __attribute__((aligned(16)));

static __attribute__((used)) u32 sysenter_dispatch(struct sysregs *r)
{
	return sysenter_hook(r);
}
asm(".text\n"
    ".globl sysenter_entry\n"
    "sysenter_entry:\n\t"
    "pushfl\n\t"
    "pushal\n\t"
    "cld\n\t"
    "pushl %esp\n\t"
    "call sysenter_dispatch\n\t"
    "addl $4, %esp\n\t"
    "movl %eax, 28(%esp)\n\t"          /* pushal's eax */
    "popal\n\t"
    "popfl\n\t"
    "sti\n\t"
    "sysexit");

void sysenter_init(u32 (*hook)(struct sysregs *r))
{
	sysenter_hook = hook;
	wrmsr(0x174, KCODE);
	wrmsr(0x175, (u32)sysenter_stack + sizeof sysenter_stack);
	wrmsr(0x176, (u32)sysenter_entry);
}
