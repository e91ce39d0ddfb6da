/* user.S: the processes of the multitasking kernel, one program that asks the
 * kernel for its process number first.  0 idles (asks the kernel to halt until an interrupt);
 * 1 and 2 log a line, sleep 10 or 25 timer ticks, and do it again, busy in between
 * with a loop over their stack. */
	.macro sys n
	movl $\n, %eax
	int $0x80
	.endm

	.text
	.globl _start
_start:
	sys 4                               /* whoami */
	movl %eax, %esi
	testl %esi, %esi
	jnz 1f
0:	sys 3                               /* idle: halt in the kernel, then yield */
	jmp 0b
1:	xorl %edi, %edi                     /* my count */
2:	movl %edi, %ebx
	sys 1                               /* log(count) */
	movl $10, %ebx
	cmpl $1, %esi
	je 3f
	movl $25, %ebx
3:	sys 2                               /* sleep(ticks) */
	movl $20000, %ecx                   /* some work of our own */
4:	addl %ecx, -4(%esp)
	loop 4b
	incl %edi
	jmp 2b
