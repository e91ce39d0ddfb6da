/* vectors.S: 256 entry stubs (with a dummy error code where the CPU pushes none)
 * and the common path to trap() and back with iret. */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)

	.text
	.altmacro
	.macro stub v
	.p2align 4
vec\v:
	.if !HAS_ERR(\v)
	pushl $0
	.endif
	pushl $\v
	jmp common
	.endm

	.set i, 0
	.rept 256
	stub %i
	.set i, i + 1
	.endr

common:
	pushl %es
	pushl %ds
	pushal
	movl $0x18, %eax
	movl %eax, %ds
	movl %eax, %es
	pushl %esp
	call trap
	addl $4, %esp
	popal
	popl %ds
	popl %es
	addl $8, %esp
	iret

	.macro addr v
	.long vec\v
	.endm
	.section .rodata
	.globl vectors
	.p2align 2
vectors:
	.set i, 0
	.rept 256
	addr %i
	.set i, i + 1
	.endr

	.section .note.GNU-stack, "", @progbits
