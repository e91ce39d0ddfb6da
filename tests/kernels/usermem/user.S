/* user.S: memory accesses of a user process under paging; before each access that
 * should fault, %edi holds where the kernel resumes it. */
	.macro report
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
	.endm

	.text
	.globl _start
_start:
	movl $0x12345, data                 /* its own data page */
	movl data, %eax
	report
	pushl $0x777                        /* its own stack page */
	popl %eax
	report
	movl 0x411000, %eax                 /* read-only user page: reading is fine */
	report
	movl $1f, %edi
	movl 0x100000, %eax                 /* a kernel page */
1:	movl $1f, %edi
	movl $5, 0x100000                   /* write to a kernel page */
1:	movl $1f, %edi
	movl $5, 0x411000                   /* write to the read-only user page */
1:	movl $1f, %edi
	movl 0x412000, %eax                 /* not present */
1:	movl $1f, %edi
	movl $1, 0xfffff000                 /* the top page: not mapped for the user */
1:	movl $1f, %edi
	movl 0xffffe004, %eax
1:	movl $2, %eax
	int $0x80
	ud2

	.data
data:	.long 0
