/* user.S: a task of userfpu.c, which keeps its state in x87 and SSE registers:
 * %xmm0 a counter that user code steps by %xmm2, %st(0) one that it steps by 1,
 * %xmm1 and MXCSR what its kernel last set.  Each round it shows them to the
 * kernel three ways (snap: %ebx %xmm0's low word, %esi %xmm1's, %edi %st(0) as an
 * integer, %ebp MXCSR), each followed by a step: an int $0x80 (where the kernel
 * may switch tasks), a sysenter (lvm's user system-call gate in lvm's build), a
 * read of the data page, which the kernel maps only when it faults, and a pair
 * of int $0x80 around which user code undoes what its kernel changed. */
#define DATA 0x500000
	.macro snap
	movd %xmm0, %ebx
	movd %xmm1, %esi
	subl $4, %esp
	fistl (%esp)
	popl %edi
	subl $4, %esp
	stmxcsr (%esp)
	popl %ebp
	.endm
	.macro step
	paddd %xmm2, %xmm0
	fld1
	faddp
	.endm

	.text
	.globl _start
_start:
1:	snap
	movl $1, %eax
	int $0x80
	step
	snap
	movl $2, %eax
	movl $9f, %edx
	movl %esp, %ecx
	sysenter
9:	step
	snap
	movl DATA, %eax
	step
	/* The kernel changes %xmm1 (3) and user code puts it back: its state is then
	 * again the one it reported before, which the kernel reads itself (4). */
	snap
	movdqa %xmm1, %xmm3
	movl $3, %eax
	int $0x80
	movdqa %xmm3, %xmm1
	movd %xmm1, %esi
	movl $4, %eax
	int $0x80
	step
	jmp 1b
