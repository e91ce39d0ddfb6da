/* user.S: system calls by `sysenter`, the way Linux's vDSO makes them.  Built with
 * lvm-as's user mode for lvm's kernels (each `sysenter` becomes the far call of
 * lvm's user system-call gate) and with plain gas for QEMU's: the transcripts must
 * be the same.  The kernel (usergate.c) prints what its sysenter entry sees. */
#include "user.inc"
#define SYS_PUTS 1
#define SYS_PUTX 2
#define SYS_EXIT 3
#define SYS_BREAK_SYSENTER 6
#define SYS_MEND_SYSENTER 7
	/* sysenter with %eax = n: the kernel's sysexit returns to the next label. */
	.macro fast n
	movl $\n, %eax
	movl $9f, %edx
	movl %esp, %ecx
	sysenter
9:
	.endm

	.text
	.globl _start
_start:
	puts hello

	/* 1. What the kernel sees: every register, the flags user code can set, and
	 * the stack at %ecx exactly as it was (the gate's far return taken off). */
	puts n_regs
	pushl $0x55555555
	pushl $0x66666666
	movl $0x11111111, %ebx
	movl $0x22222222, %esi
	movl $0x33333333, %edi
	movl $0x44444444, %ebp
	std
	stc
	movl $4, %eax
	movl $1f, %edx
	movl %esp, %ecx
	sysenter
1:	cld
	putx
	addl $8, %esp

	/* 2. The FPU and SSE registers are user code's across a system call. */
	puts n_fpu
	movl $0x12345678, %eax
	movd %eax, %xmm0
	movl $0x0abcdef0, %eax
	movd %eax, %xmm7
	fninit
	fld1
	fldpi
	fast 5
	movd %xmm0, %eax
	putx
	movd %xmm7, %eax
	putx
	fstpl -8(%esp)
	movl -4(%esp), %eax                 /* pi's high word: 400921fb */
	putx
	fstpl -8(%esp)
	movl -4(%esp), %eax                 /* 1.0: 3ff00000 */
	putx

	/* 3. Many system calls while the timer interrupts at 1 kHz: 20000 at least,
	 * and on until 20 ticks have come (system call 11 answers their count). */
	puts n_loop
	sys 8, $0                           /* start the timer */
	movl $20000, %esi
2:	fast 5
	decl %esi
	jnz 2b
5:	fast 11
	cmpl $20, %eax
	jb 5b
	/* 1000 times a system call, then a spin in user code until the timer has
	 * ticked again: only the timer's interrupt of user code ends it, also when
	 * it comes while the system call returns (lvm's gate then loses the
	 * monitor's stop request, which the monitor sends again). */
	fast 12                             /* where the tick count is */
	movl %eax, %edi
	movl $1000, %esi
6:	fast 5
	movl (%edi), %eax
	addl $1, %eax
7:	cmpl (%edi), %eax
	ja 7b
	decl %esi
	jnz 6b
	sys 9, $0                           /* stop it; prints the count */

	/* 4. A sysenter with SYSENTER_CS 0 is #GP(0) at the instruction. */
	sys SYS_BREAK_SYSENTER, $0
	resume_at 3f
	puts n_gp
	fast 5
3:	sys SYS_MEND_SYSENTER, $0

	/* 5. TF set on a sysenter: the #DB comes in the kernel, after it. */
	puts n_tf
	movl $10, %eax
	movl $4f, %edx
	movl %esp, %ecx
	pushfl
	orl $0x100, (%esp)
	popfl                               /* TF from here: a #DB after the next one */
	sysenter
4:	puts n_after_tf

	/* 5b. The same with NT set too: NT is user code's, kept across the call. */
	puts n_nt_tf
	movl $10, %eax
	movl $8f, %edx
	movl %esp, %ecx
	pushfl
	orl $0x4100, (%esp)
	popfl
	sysenter
8:	pushfl
	popl %eax
	andl $0x4000, %eax
	pushfl                              /* NT off again (and TF) for what follows */
	andl $~0x4100, (%esp)
	popfl
	putx

	/* 6. An ordinary sysenter once more, then exit by int $0x80. */
	fast 5
	movl $SYS_EXIT, %eax
	int $0x80
	ud2

	.section .rodata
hello:      .asciz "hello from user mode\n"
n_regs:     .asciz "registers at sysenter: "
n_fpu:      .asciz "fpu and sse after a sysenter:\n"
n_loop:     .asciz "system calls under timer interrupts: "
n_gp:       .asciz "sysenter with SYSENTER_CS 0"
n_tf:       .asciz "sysenter with TF set: "
n_after_tf: .asciz "back from it\n"
n_nt_tf:    .asciz "sysenter with NT and TF set: "
