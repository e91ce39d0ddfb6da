/* user.S: the escape kernel's attacks (escape.c says what each case does), as
 * plain gcc code: the user program runs them at CPL 3, the kernel calls the same
 * functions at CPL 0 (unrewritten code in a kernel is what a hostile one would
 * run).  Each function returns to its caller unless it escapes for good; one that
 * can fault sets %edi (where the kernel resumes it) and %ebp (its stack pointer). */
#include "user.inc"
	.set K, 0xc0000000                  /* the guest kernel's half */
	.set DONE, 0x1002
	.set RESULT, 0x1001

	.text
	.globl _start
_start:
	jmp 1f
	.p2align 2
which:	.long 0                              /* USER_BASE + 4: filled in by the kernel */
probe:	.long 0                              /* 1 read, 2 write, 3 jump */
paddr:	.quad 0                              /* where the probe goes (64-bit) */
result:	.long 0
	.p2align 4
table:	.long 0, far_ljmp, far_lcall, far_iret, far_lret, i386_int80, i386_sysenter, host_sels, \
	      probe32, spin                 /* USER_BASE + 0x20 */
1:	movl which, %eax
	call *table(,%eax,4)
	sys RESULT, result
	sys DONE, $0

/* To the host's 64-bit code selector, four ways, then host system calls (whose
 * strings are touched first: a host page fault in 64-bit code is lvm's error). */
	.macro touch
	movl marker, %eax
	movl msg, %eax
	movl argv64, %eax
	movl cmd, %eax
	.endm
far_ljmp:
	touch
	ljmp $0x33, $escape64
far_lcall:
	touch
	lcall $0x33, $escape64
far_iret:
	touch
	pushl $0x2b                          /* (a 64-bit iret's SS:RSP, if popped) */
	pushl %esp
	pushfl
	pushl $0x33
	pushl $escape64
	iret
far_lret:
	touch
	pushl $0x33
	pushl $escape64
	lret

/* The host's i386 system call numbers, through the two 32-bit entries. */
i386_int80:
	resume_at 9f
	movl $39, %eax                       /* mkdir(marker, 0755) */
	movl $marker, %ebx
	movl $0755, %ecx
	int $0x80
	movl $4, %eax                        /* write(1, msg, len) */
	movl $1, %ebx
	movl $msg, %ecx
	movl $msglen, %edx
	int $0x80
	movl $11, %eax                       /* execve("/bin/sh", argv, 0) */
	movl $sh, %ebx
	movl $argv32, %ecx
	xorl %edx, %edx
	int $0x80
	movl $1, %eax                        /* exit(42) */
	movl $42, %ebx
	int $0x80
9:	movl %ebp, %esp
	ret

i386_sysenter:
	resume_at 9f
	movl $39, %eax
	movl $marker, %ebx
	movl $0755, %ecx
	sysenter
9:	movl %ebp, %esp
	resume_at 9f
	movl $1, %eax
	movl $42, %ebx
	sysenter
9:	movl %ebp, %esp
	ret

/* Each host selector in DS, then a read and a write of the kernel's half. */
host_sels:
	movl $sels, %esi
1:	movl (%esi), %ebx
	testl %ebx, %ebx
	jz 2f
	resume_at 3f
	movl %ebx, %ds
	movl K, %eax
	sys RESULT, %eax                     /* (never: the read faults) */
3:	movl %ss, %eax
	movl %eax, %ds
	resume_at 3f
	movl %ebx, %ds
	movl $1, K + 4
	sys RESULT, $1
3:	movl %ss, %eax
	movl %eax, %ds
	addl $4, %esi
	jmp 1b
2:	ret
sels:	.long 0x23, 0x2b, 0x33, 0x7b, 0

/* A read, write or jump at paddr from 64-bit code. */
probe32:
	movl $0, result                      /* the page written before: a host page */
	movl paddr, %eax                     /* fault in 64-bit code is lvm's error */
	movl forged, %eax
	movl marker, %eax
	lcall $0x33, $probe64
	movl %ss, %eax
	movl %eax, %ds
	ret

spin:	sys RESULT, $0x5
1:	jmp 1b

	.code64
escape64:
	movl %esp, %esp
	movl $1, %eax                        /* write */
	movl $1, %edi
	movl $msg, %esi
	movl $msglen, %edx
	syscall
	movl $83, %eax                       /* mkdir */
	movl $marker, %edi
	movl $0755, %esi
	syscall
	movl $59, %eax                       /* execve */
	movl $sh, %edi
	movl $argv64, %esi
	xorl %edx, %edx
	syscall
	movl $60, %eax                       /* exit */
	movl $42, %edi
	syscall
	hlt

probe64:
	movl %esp, %esp
	movq paddr(%rip), %r11
	movl probe(%rip), %ecx
	cmpl $3, %ecx
	je 1f
	movb (%r11), %dl
	cmpl $2, %ecx
	jne 2f
	movb %dl, (%r11)
2:	movzbl %dl, %edx
	orl $0x100, %edx                     /* "it worked" */
	movl %edx, result(%rip)
	lretl
1:	movl $forged, %ebx                   /* what lvm's stub would run: mkdir */
	movl $1, %r12d
	movl $83, %eax
	movl $marker, %edi
	movl $0755, %esi
	jmp *%r11

	.data
	.p2align 3
forged:	.long 83, 0, marker, 0, 0755, 0, 0, 0, 0, 0, 0, 0, 0, 0
argv32:	.long sh, dashc, cmd, 0
argv64:	.long sh, 0, dashc, 0, cmd, 0, 0, 0
marker:	.asciz "lvm-escaped"
msg:	.ascii "ESCAPED\n"
	.set msglen, . - msg
sh:	.asciz "/bin/sh"
dashc:	.asciz "-c"
cmd:	.asciz "mkdir lvm-shell; echo SHELL"
