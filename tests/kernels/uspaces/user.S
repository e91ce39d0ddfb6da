/* user.S: one step of uspaces.c's script, in whichever address space the kernel
 * entered: %eax the operation, %ebx its argument; the answer by int $0x80 (%ebx).
 * A step that faults ends at the kernel's #PF handler instead. */
#define DATA 0x500000
#define GLOBAL 0x503000
	.text
	.globl _start
_start:
	cmpl $1, %eax
	je read
	cmpl $2, %eax
	je write
	cmpl $4, %eax
	je global
	cmpl $3, %eax
	jne answer                          /* 0: the first entry */
	movl DATA, %ebx                     /* 3: increment */
	incl %ebx
	movl %ebx, DATA
	jmp answer
read:	movl DATA, %ebx
	jmp answer
global:	movl GLOBAL, %ebx                   /* 4: space 0's global page */
	jmp answer
write:	movl %ebx, DATA
	movl DATA, %ebx
answer:	pushl %ebx                          /* the stack page too */
	popl %ebx
	movl $1, %eax
	int $0x80
	ud2
