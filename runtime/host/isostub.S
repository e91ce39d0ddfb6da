/* isostub.S: the only code of lvm's in an isolated process (isolate.c).
 *
 * Copied to a page of its own that the process keeps, read-only and executable,
 * when everything else of the monitor is unmapped.  Two entries:
 * iso_stub_ops runs the monitor's queued host calls (%rbx: the first, %r12: how
 * many; each a system call number and six arguments), every one of which stops
 * the process for the monitor's approval (its seccomp filter traces them all), and
 * ends on int3; a call that fails ends on ud2 with %rbx at it.  iso_stub_frame is
 * every signal handler's address: the host kernel writes the signal frame on the
 * process's alternate stack, the int3 there hands it to the monitor, which never
 * lets the handler go on (the process resumes guest code from the registers the
 * monitor sets).  iso_stub_flags sets the flags ptrace cannot.  The monitor sets every register before each entry: nothing here
 * reads guest state.
 */
	.text
	.code64
	.globl iso_stub, iso_stub_end, iso_stub_ops, iso_stub_call_end, iso_stub_done
	.globl iso_stub_fail, iso_stub_frame, iso_stub_flags
	.p2align 4
iso_stub:
iso_stub_ops:
1:	testq %r12, %r12
	jz iso_stub_done
	movq 0(%rbx), %rax
	movq 8(%rbx), %rdi
	movq 16(%rbx), %rsi
	movq 24(%rbx), %rdx
	movq 32(%rbx), %r10
	movq 40(%rbx), %r8
	movq 48(%rbx), %r9
	syscall
iso_stub_call_end:
	cmpq $-4095, %rax
	jae iso_stub_fail
	addq $56, %rbx
	decq %r12
	jmp 1b
iso_stub_done:
	int3
	jmp iso_stub_done
iso_stub_fail:
	ud2
/* EFLAGS.ID and NT, which ptrace cannot set: popfq from %rax. */
iso_stub_flags:
	pushq %rax
	popfq
	int3
	.p2align 4
iso_stub_frame:
	int3
	ud2
iso_stub_end:

	.section .note.GNU-stack, "", @progbits
