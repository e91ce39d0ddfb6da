/*
 * The machine-level pieces of the NetBSD guest's /sbin/init: the process entry, the
 * system-call stubs, the signal trampoline and two memory probes.  NetBSD/i386's
 * system-call ABI (sys/arch/i386/i386/trap.c, syscall.c): `int $0x80` with the number
 * in %eax and the arguments on the user stack as for a C call (the kernel reads them
 * from 4(%esp), above a return-address slot); the result in %eax (and %edx), the carry
 * flag set on error with the errno in %eax.  The stubs return -errno on error.
 */
	.text

/* Entry: %esp -> argc, argv[], NULL, envp[], NULL, auxv (exec_elf.c, elf_copyargs). */
	.globl	_start
_start:
	xorl	%ebp, %ebp
	movl	%esp, %eax
	andl	$-16, %esp
	subl	$12, %esp
	pushl	%eax
	call	start_c
	hlt

/*
 * long sys(int number, ...): the return address is popped so that the number sits
 * in the kernel's return-address slot and the arguments at 4(%esp), then put back.
 */
	.globl	sys
sys:
	popl	%ecx
	movl	(%esp), %eax
	int	$0x80
	pushl	%ecx
	jnc	1f
	negl	%eax
1:	ret

/*
 * int sys_fork(void): fork(2) returns the other side's pid in %eax and, in %edx,
 * 1 in the child and 0 in the parent; the child's result is 0 here.
 */
	.globl	sys_fork
sys_fork:
	movl	$2, %eax
	int	$0x80
	jc	2f
	decl	%edx
	andl	%edx, %eax
	ret
2:	negl	%eax
	ret

/*
 * The signal trampoline, version 2 (__SIGTRAMP_SIGINFO_VERSION): sendsig_siginfo
 * (sys/arch/i386/i386/machdep.c) builds {ra, signum, siginfo *, ucontext *, siginfo,
 * ucontext} and enters the handler with ra pointing here.  After the handler's ret,
 * %esp points at signum: the ucontext pointer goes into the argument slot and
 * setcontext(2) (308) resumes the interrupted context.  If it returns, exit(2) (1).
 */
	.globl	sigtramp
sigtramp:
	movl	8(%esp), %eax
	movl	%eax, 4(%esp)
	movl	$308, %eax
	int	$0x80
	movl	$126, 4(%esp)
	movl	$1, %eax
	int	$0x80

/*
 * int probe_read(const int *p), int probe_write(int *p, int v): the access, or, when
 * it faults, the SIGSEGV handler sets the saved %eip to probe_fault, which returns -1
 * from the probe (the fault leaves %esp at the probe's return address).
 */
	.globl	probe_read, probe_write, probe_fault
probe_read:
	movl	4(%esp), %ecx
	movl	(%ecx), %eax
	ret
probe_write:
	movl	4(%esp), %ecx
	movl	8(%esp), %eax
	movl	%eax, (%ecx)
	xorl	%eax, %eax
	ret
probe_fault:
	movl	$-1, %eax
	ret

/* The ELF note NetBSD's exec_elf.c (netbsd_elf_signature) looks for: a SHT_NOTE section
 * whose note is "NetBSD\0", 4 bytes of __NetBSD_Version__, type 1 (ELF_NOTE_TYPE_NETBSD_TAG). */
	.section .note.netbsd.ident, "a", @note
	.p2align 2
	.long	7, 4, 1
	.ascii	"NetBSD\0\0"
	.long	NETBSD_VERSION
	.section .note.GNU-stack, "", @progbits
