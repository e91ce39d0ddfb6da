/* user.S: N system calls in three ways, each timed with rdtsc and reported to the
 * kernel (ebx = cycles per call) through the next vector:
 *   1. int $0x80 into the kernel's entry code (vectors.S), eax 0 -> report int $0x80, eax 1
 *   2. int $0x80 to a lone iret (the kernel switched the gate) -> report int $0x81, eax 2
 *   3. int $0x81 to a lone iret -> report int $0x82, eax 3
 * Native user code: never rewritten. */
#define N 20000
	.macro timed insn, report_vector, code
	rdtsc
	movl %eax, %esi
	movl $N, %ebp
1:	xorl %eax, %eax
	\insn
	decl %ebp
	jnz 1b
	rdtsc
	subl %esi, %eax
	xorl %edx, %edx
	movl $N, %ecx
	divl %ecx
	movl %eax, %ebx
	movl $\code, %eax
	int $\report_vector
	.endm

	.text
	.globl _start
_start:
	timed "int $0x80", 0x80, 1
	timed "int $0x80", 0x81, 2
	timed "int $0x81", 0x82, 3
	ud2
