/* boot.S: Multiboot (v1) entry shared by the test kernels: header, stack, kmain(). */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003          /* page-aligned modules, memory information */

	.section .multiboot, "a"
	.p2align 2
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	pushl $0
	popfl                             /* known EFLAGS; IF=0 */
	pushl %ebx                        /* multiboot information */
	pushl %eax                        /* multiboot magic */
	call kmain
1:	cli
	hlt
	jmp 1b

	.bss
	.p2align 4
stack:	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
