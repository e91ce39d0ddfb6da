/* user.S: TLS in %fs and %gs (the kernel's 0x4b), read and sent to the kernel CALLS
 * times with int $0x80 while the timer interrupts; then the count (eax 2). */
#define CALLS 2000
	.text
	.globl _start
_start:
	movl $0x4b, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl $CALLS, %esi
1:	movl %fs:0, %ebx
	movl %gs:4, %edx
	cmpl $0x7716, %edx
	je 2f
	xorl %ebx, %ebx                      /* %gs lost: report it as bad TLS */
2:	movl $1, %eax
	int $0x80
	decl %esi
	jnz 1b
	movl $CALLS, %ecx
	movl $2, %eax
	int $0x80
	ud2
