/* user.S: a process that forks (int $0x80, eax 2: 1 in the parent, 0 in the child),
 * then both write the same data and stack pages, which the kernel shares
 * copy-on-write. */
	.macro sys n
	movl $\n, %eax
	int $0x80
	.endm
	.set DATA, 0x408000

	.text
	.globl _start
_start:
	movl $0x1111, DATA                  /* before the fork: a private writable page */
	pushl $0x5555                       /* the stack page too */
	sys 2                               /* fork */
	movl %eax, %esi                     /* 1 parent, 0 child */
	movl DATA, %ebx
	sys 1                               /* both see 0x1111 */
	movl %esi, %ebx
	shll $12, %ebx
	addl $0x2000, %ebx
	movl %ebx, DATA                     /* copy-on-write fault */
	movl DATA, %ebx
	sys 1
	addl $1, DATA                       /* writable now: no fault */
	movl DATA, %ebx
	sys 1
	popl %ebx                           /* 0x5555, then a write to the stack page */
	pushl %esi
	sys 1
	popl %ebx
	sys 1
	sys 3                               /* exit */
	ud2
