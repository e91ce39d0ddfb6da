/* user.S: a user process touching the kernel's half in every way an instruction
 * can: loads, stores, a load straddling the end of the user part, string loads,
 * the stack, jumps, calls and returns into it, also through segment registers the
 * program reloaded itself with its flat selectors.  Before each, %edi holds where the
 * kernel resumes it and %ebp its stack pointer. */
#include "user.inc"
	.set K, 0xc0000000

	.text
	.globl _start
_start:
	resume_at 1f
	movl K, %eax                        /* present, supervisor: err 5 */
1:	resume_at 1f
	movl $1, K + 4                      /* err 7 */
1:	resume_at 1f
	movl 0xd0000000, %eax               /* not present: err 4 */
1:	resume_at 1f
	movl 0x411ffe, %eax                 /* straddles the end of the user part */
1:	resume_at 1f
	cmpl $0, K + 8                      /* a read by an ALU instruction */
1:	resume_at 1f
	movl $K + 0xc, %esi
	lodsl                               /* a string read from the kernel's half */
1:	resume_at 1f
	movl $K + 0x10, %esp
	pushl $5                            /* the stack in the kernel's half */
1:	movl %ebp, %esp
	resume_at 1f
	jmp K                               /* a jump: #PF at the target */
1:	resume_at 1f
	movl $K + 0x1000, %eax
	call *%eax                          /* the return address is pushed first */
1:	resume_at 1f
	pushl $K + 0x2000
	ret                                 /* the return pops first */
1:	resume_at 1f
	movaps %xmm1, K + 0x20              /* aligned SSE store: #PF */
1:	resume_at 1f
	movaps %xmm1, K + 0x21              /* misaligned: #GP before any paging */
1:	resume_at 1f
	movl $0x2b, %eax                    /* this kernel's flat user data selector, */
	movl %eax, %ds                      /* also the host's: no limit of lvm's holds */
	movl %eax, %es
	movl K, %eax                        /* still err 5 */
1:	resume_at 1f
	movl $1, K + 4                      /* err 7 */
1:	resume_at 1f
	movl $K + 0x18, %esi
	movsl                               /* DS and ES: err 5 (the read) */
1:	resume_at 1f
	ljmp $0x23, $K + 0x100              /* the flat user code selector: err 5 at the target */
1:	resume_at 1f
	sys 5, $0                           /* the kernel's iret returns into its own half */
1:	movl 0x7ffff000, %eax               /* the user part's last page ends a table */
	sys 1, %eax
	sys 3, $0                           /* ask for a user page up there */
	movl K + 0x3000, %eax               /* now readable */
	sys 1, %eax
	sys 4, $0                           /* made user-accessible without INVLPG */
	movl K + 0x4000, %eax
	sys 1, %eax
	resume_at 1f
	movl K, %eax                        /* the rest is still protected */
1:	sys 2, $0
	ud2
