/* user.S: (1) N reads of a kernel-only page, each a #PF the kernel skips;
 * (3) N2 address-space switches by system call, each followed by reads of 10
 * pages; (2) ten passes summing 1 MiB of its own memory (0x400000-0x4fffff).  Each
 * reported to the kernel as cycles per unit with int $0x80 (eax 1, 4, 2). */
#define N 2000
#define N2 500
	.text
	.globl _start
_start:
	rdtsc
	movl %eax, %esi
	movl $N, %ebp
1:	movl $2f, %edi
	movl 0x100000, %eax                 /* a kernel page: #PF */
2:	decl %ebp
	jnz 1b
	rdtsc
	subl %esi, %eax
	xorl %edx, %edx
	movl $N, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $1, %eax
	int $0x80

	/* (3) N2 rounds of a system call by which the kernel switches to the other
	 * address space (eax 3), then a read of 10 of this program's pages: what a
	 * context switch costs user code.  Reported with eax 4. */
	rdtsc
	movl %eax, %esi
	movl $N2, %ebp
6:	movl $3, %eax
	int $0x80
	movl $0x480000, %edi
	movl $10, %ecx
7:	movl (%edi), %eax
	addl $0x1000, %edi
	loop 7b
	decl %ebp
	jnz 6b
	rdtsc
	subl %esi, %eax
	xorl %edx, %edx
	movl $N2, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $4, %eax
	int $0x80

	movl $0x400000 + 0x20000, %esi       /* past this program */
	xorl %eax, %eax
	movl $3, %ecx                        /* warm up */
3:	call sum
	loop 3b
	rdtsc
	movl %eax, %ebp
	movl $10, %ecx
4:	call sum
	loop 4b
	rdtsc
	subl %ebp, %eax
	xorl %edx, %edx
	movl $10, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $2, %eax
	int $0x80
	ud2

/* sum the 1 MiB - 128 KiB at %esi, 4 bytes at a time, into %edx (clobbers edi) */
sum:	pushl %ecx
	movl %esi, %edi
	movl $(0x100000 - 0x20000) / 4, %ecx
	xorl %edx, %edx
5:	addl (%edi), %edx
	addl $4, %edi
	loop 5b
	popl %ecx
	ret
