/* switch.S: the two world switches between the 64-bit monitor and 32-bit guest code.
 *
 * Into the guest: iretq to host_sel's CS and SS (the host's 32-bit user code
 * selector, or an LDT one cut at the user limit: compat mode either way) with
 * DS/ES loaded first (a null DS faults every access in compat mode).
 * Out of the guest: the guest's `lcall $0x33, $0xffffe000` lands on entry_stub,
 * which the monitor copies to a page below 4 GiB (a far pointer has a 32-bit
 * offset).  The stub saves the guest's registers in the vCPU page, switches to the
 * monitor stack and calls the C handler; it never returns to the caller, the
 * handler resumes the guest with lvm_enter_guest.
 */
#include "vcpu-offsets.h"
#define VCPU_ADDR 0xfffff000
#define GUEST_CS 0x23
#define GUEST_DS 0x2b
#define R(x) VCPU_SAVED_##x(%rax)

	.text
	.code64
/* The two ways into the guest share one sequence, a restartable window: a host
 * event (SIGALRM, SIGIO) noted after resume()'s last look at them (check_interrupts)
 * must not stay unseen while the guest runs, maybe for ever without entering the
 * monitor (issue 15).  So the window's first act is to check host_events (irq.c),
 * and a signal that interrupts the window sends it back to its start
 * (lvm_enter_window, signals.c), where everything is loaded again from entering_*.
 * With an event pending, lvm_enter_guest returns instead (the only way it does),
 * and resume() looks again.  Nothing in the window may call out of it. */
#include "guest-gprs.h"
	.macro enter_window fast
	movq %rbx, entering_rbx(%rip)   /* callee-saved, for the return */
	movq %rbp, entering_rbp(%rip)
	movq %rdi, entering_regs(%rip)
	movl %esi, entering_ds_es(%rip)
	movq %rsp, entering_rsp(%rip)
	movb $\fast, entering_fast(%rip)
	jmp lvm_enter_window
	.endm

/* void lvm_enter_guest(const struct lvm_regs *r, u32 ds_es)
 * ds_es: host selectors for DS (low 16 bits) and ES (high 16 bits).  Returns only
 * when a host event came after the caller's last look. */
	.globl lvm_enter_guest
	.type lvm_enter_guest, @function
lvm_enter_guest:
	enter_window 0
	.size lvm_enter_guest, .-lvm_enter_guest

/* void lvm_enter_guest_fast(const struct lvm_regs *r, u32 ds_es)
 * The same with popfq + lretq through 24 bytes below the guest's %esp, which the
 * caller checked are writable guest memory (free stack, as for an interrupt frame):
 * cheaper than iretq. */
	.globl lvm_enter_guest_fast
	.type lvm_enter_guest_fast, @function
lvm_enter_guest_fast:
	enter_window 1
	.size lvm_enter_guest_fast, .-lvm_enter_guest_fast

	.globl lvm_enter_window, lvm_enter_window_end
lvm_enter_window:
	movq entering_rsp(%rip), %rsp
	movq entering_regs(%rip), %rdi
	movl entering_ds_es(%rip), %esi
	cmpl $0, host_events(%rip)
	jne 3f
	cmpb $0, guest_fpu_saved(%rip)  /* the guest's x87/SSE state, if fpu_protect() saved it */
	je 1f
	fxrstor64 guest_fpu(%rip)
	movb $0, guest_fpu_saved(%rip)
1:	movl %esi, %ds
	shrl $16, %esi
	movl %esi, %es
	movzwl host_sel+8(%rip), %esi   /* FS, GS: they replace the monitor's FS base */
	movl %esi, %fs
	movzwl host_sel+10(%rip), %esi
	movl %esi, %gs
	cmpb $0, entering_fast(%rip)
	jne 2f
	movzwl host_sel+4(%rip), %eax   /* SS */
	pushq %rax
	movl 16(%rdi), %eax             /* esp */
	pushq %rax
	movl 36(%rdi), %eax             /* eflags */
	orl $0x202, %eax
	pushq %rax
	movzwl host_sel+2(%rip), %eax   /* CS */
	pushq %rax
	movl 32(%rdi), %eax             /* eip */
	pushq %rax
	guest_gprs
	iretq
2:	movl 16(%rdi), %eax             /* esp */
	leaq -24(%rax), %rsp
	movl 36(%rdi), %eax             /* eflags */
	orl $0x202, %eax
	movq %rax, 0(%rsp)
	movl 32(%rdi), %eax             /* eip */
	movq %rax, 8(%rsp)
	movzwl host_sel+2(%rip), %eax   /* CS */
	movq %rax, 16(%rsp)
	guest_gprs
	popfq
	lretq
lvm_enter_window_end:
3:	movq entering_rbx(%rip), %rbx
	movq entering_rbp(%rip), %rbp
	ret                             /* %rsp is entering_rsp: the caller's return address */

	.bss
	.p2align 3
entering_regs:  .quad 0
entering_rsp:   .quad 0
entering_rbx:   .quad 0
entering_rbp:   .quad 0
entering_ds_es: .long 0
entering_fast:  .byte 0
	.text

/* Position-independent; copied to TRAMPOLINE_ADDR with its two data words filled. */
	.globl entry_stub, entry_stub_end, entry_stub_rsp, entry_stub_handler, entry_stub_fsbase
	.p2align 4
entry_stub:
	movabsl %eax, VCPU_ADDR + VCPU_SAVED_EAX
	movl $VCPU_ADDR, %eax
	movl %ecx, R(ECX)
	movl %edx, R(EDX)
	movl %ebx, R(EBX)
	movl %esp, R(ESP)
	movl %ebp, R(EBP)
	movl %esi, R(ESI)
	movl %edi, R(EDI)
	movq entry_stub_rsp(%rip), %rsp /* before pushfq: the guest's stack may end here */
	pushfq
	popq %rcx
	movl %ecx, R(EFLAGS)
	andl $~0x44100, %ecx            /* no single-steps (a guest's TF, signals.c), no
	                                   alignment checks (AC), no NT (iretq) in the monitor */
	pushq %rcx
	popfq
	movq entry_stub_fsbase(%rip), %rcx
	wrfsbase %rcx                   /* the monitor's thread pointer (guest FS replaced it) */
	cld
	callq *entry_stub_handler(%rip)
	ud2
	.p2align 3
entry_stub_rsp:     .quad 0
entry_stub_handler: .quad 0
entry_stub_fsbase:  .quad 0
entry_stub_end:

/* Signal handlers are entered with the guest's FS when guest code was interrupted:
 * put the monitor's thread pointer back before any C runs, and the guest's FS/GS
 * before returning to guest code (signal_handler returns non-zero then). */
	.globl signal_entry
	.type signal_entry, @function
signal_entry:
	pushfq                          /* guest user code may have set AC and NT: the */
	andl $~0x44000, (%rsp)          /* monitor's C must not take alignment checks, nor */
	popfq                           /* iretq with NT (#GP); the signal frame keeps them */
	pushq %rdx
	movq host_fsbase(%rip), %rax
	wrfsbase %rax
	popq %rdx
	subq $8, %rsp                   /* 16-byte alignment for the C call */
	call signal_handler
	addq $8, %rsp
	testl %eax, %eax
	jz 1f
	movzwl host_sel+8(%rip), %eax
	movl %eax, %fs
	movzwl host_sel+10(%rip), %eax
	movl %eax, %gs
1:	/* EFLAGS.ID and NT: rt_sigreturn keeps the caller's (signals.c) */
	pushfq
	andl $~0x204000, (%rsp)
	movq resume_live_flags(%rip), %rax
	orq %rax, (%rsp)
	popfq
	ret
	.size signal_entry, .-signal_entry

	.section .note.GNU-stack, "", @progbits
