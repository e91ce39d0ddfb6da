/* user.S: (1) N reads of a kernel page, each a #PF the kernel skips (the kernel
 * resumes at %edi); (2) N null system calls.  Each reported to the kernel in TSC
 * cycles per round trip with int $0x80 (eax 1, 2); eax 0 is the null call. */
#define N 2000
	.text
	.globl _start
_start:
	rdtsc
	movl %eax, %esi
	movl $N, %ebp
1:	movl $2f, %edi
	movl 0x100000, %eax                 /* the kernel's page: #PF */
2:	decl %ebp
	jnz 1b
	rdtsc
	subl %esi, %eax
	call report1

	rdtsc
	movl %eax, %esi
	movl $N, %ebp
3:	xorl %eax, %eax
	int $0x80                           /* the null system call */
	decl %ebp
	jnz 3b
	rdtsc
	subl %esi, %eax
	xorl %edx, %edx
	movl $N, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $2, %eax
	int $0x80
	ud2

report1:
	xorl %edx, %edx
	movl $N, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
	ret
