/* user.S: the hostile user program (hostile.c says what each case does).  Before
 * each attack %edi holds where the kernel resumes it after a fault, %ebp its
 * stack pointer. */
#include "user.inc"
	.macro flat                          /* the host's flat data selector */
	movl $0x2b, %eax
	movl %eax, %ds
	movl %eax, %es
	.endm
	.set K, 0xc0000000

	.text
	.globl _start
_start:
	jmp 1f
	.p2align 2
which:	.long 0                              /* filled in by the kernel */
cpl:	.long 0
vif:	.long 0
saved:	.long 0
cr3:	.long 0
dr7:	.long 0
sel_cs:	.long 0
1:	movl which, %eax
	jmp *cases(,%eax,4)
cases:	.long done, user_cpl, user_peek, user_vif, user_kernel, user_stub, user_far64, user_spin

user_cpl:                                   /* (a user process has no vCPU page: #PF) */
	flat
	resume_at 1f
	movl cpl, %ebx
	movl $0, (%ebx)
1:	flat
	resume_at 1f
	movl vif, %ebx
	movl $0, (%ebx)
1:	resume_at 1f
	outb %al, $0x80
1:	resume_at 1f
	movl %cr0, %eax
1:	resume_at 1f
	cli
1:	resume_at 1f
	hlt
1:	jmp done

user_peek:                                  /* (no vCPU page at all in a user process: #PF) */
	flat
	resume_at 1f
	movl saved, %esi
	movl $10, %ecx                      /* eax..edi, eip, eflags */
	xorl %edx, %edx
2:	orl (%esi), %edx
	addl $4, %esi
	loop 2b
	sys 1, %edx                         /* 0: nothing saved shows */
1:	flat                                /* again: the kernel's iret restored DS */
	resume_at 1f
	movl cr3, %esi
	sys 1, (%esi)                       /* 0 */
1:	flat
	resume_at 1f
	movl dr7, %esi
	sys 1, (%esi)                       /* 0 */
1:	jmp done

user_vif:
1:	resume_at 1b                        /* an interrupt's iret may restore the */
	flat                                /* guest's DS between flat and the store */
	movl vif, %ebx
	movl $0, (%ebx)
	jmp 1b

user_kernel:
	flat
	resume_at 1f
	movl K, %eax                        /* present, supervisor: err 5 */
1:	resume_at 1f
	movl $1, K + 4                      /* err 7 */
1:	resume_at 1f
	movl $0x2b, %eax
	movl %eax, %ss
	movl $K + 0x10, %esp
	pushl $5                            /* the stack in the kernel's half: err 7 */
1:	movl %ebp, %esp
	resume_at 1f
	ljmp $0x23, $K + 0x100              /* the host's flat code selector: err 5 */
1:	sys 1, $0x11
	jmp done

user_spin:
	sys 1, $0x5
1:	jmp 1b

user_far64:
	ljmp $0x33, $0x0fff0000             /* 64-bit code, where nothing is mapped */
	jmp done

user_stub:
	resume_at 1f
	pushl $site + 5                     /* the "near return" of a rewritten site */
	pushl $0                            /* LVM_ENTRY_EMULATE */
	lcall $0x33, $0xffffe000
site:	.byte 0xe8, 0, 0, 0, 0              /* where a `call __lvm_emulate` would be */
	outb %al, $0x80
1:	movl %ebp, %esp
	sys 1, $0x22
	jmp done

done:	sys 2, $0
