/* user.S: N null system calls (int $0x80, eax 0) timed with rdtsc, then a report
 * call (eax 1, ebx = cycles per call).  Native user code: never rewritten. */
#define N 20000
	.text
	.globl _start
_start:
	rdtsc
	movl %eax, %esi
	movl $N, %ebp
1:	xorl %eax, %eax
	int $0x80
	decl %ebp
	jnz 1b
	rdtsc
	subl %esi, %eax
	xorl %edx, %edx
	movl $N, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $1, %eax
	int $0x80

	rdtsc                                   /* the same through a gate to a lone iret */
	movl %eax, %esi
	movl $N, %ebp
2:	int $0x81
	decl %ebp
	jnz 2b
	rdtsc
	subl %esi, %eax
	xorl %edx, %edx
	movl $N, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $2, %eax
	int $0x80
	ud2
