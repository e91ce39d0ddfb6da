/* guest-gprs.h: an assembler macro of switch.S and usergate.S, the two places that
 * load guest code's general registers last before entering it. */
	.macro guest_gprs               /* all but esp from struct lvm_regs at %rdi */
	movl 0(%rdi), %eax
	movl 4(%rdi), %ecx
	movl 8(%rdi), %edx
	movl 12(%rdi), %ebx
	movl 20(%rdi), %ebp
	movl 24(%rdi), %esi
	movl 28(%rdi), %edi
	.endm
