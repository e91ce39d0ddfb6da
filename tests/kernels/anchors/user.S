/* user.S: anchors.c's user side.  The first entry asks for the first step; each
 * step (at USER_BASE + 16) is one read (at %esi, unless 0) and one write (of %ebx at
 * %edi, unless 0), then the value read back to the kernel. */
	.text
	.globl _start
_start:
	int $0x80
	ud2
	.balign 16
step:
	xorl %eax, %eax
	testl %esi, %esi
	jz 1f
	movl (%esi), %eax
1:	testl %edi, %edi
	jz 2f
	movl %ebx, (%edi)
2:	int $0x80
	ud2
