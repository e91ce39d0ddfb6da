/* usergate.S: lvm's user system-call gate inside lvm's user process (userproc.c).
 *
 * Code lvm-as built in user mode (Linux's vDSO) enters its kernel by
 * `lcall $0x33, $LVM_USER_GATE` where it had `sysenter`, which is #UD on AMD hosts:
 * a host signal per guest system call.  In the user process the far call lands on
 * usergate_stub, copied to LVM_USER_GATE, which jumps (an absolute address: the
 * monitor's code is above 4 GiB) to usergate_entry.  That saves user code's
 * registers and selectors, takes the gate's own stack and the monitor's thread
 * pointer, and calls userproc_gate() (C), which reports the call to the monitor as
 * an event, waits for its turn and ends in usergate_return: every register, the
 * selectors and the flags loaded from the monitor's answer, and an iretq into
 * 32-bit user code, as a sigreturn would have done, without the kernel's signal
 * delivery.  r8-r15 are free: 32-bit code has none.
 */
#include "guest-gprs.h"
	.text
	.code64
	.globl usergate_stub, usergate_stub_target, usergate_stub_end
usergate_stub:
	movabsq $0, %r11
usergate_stub_target = . - 8
	jmpq *%r11
usergate_stub_end:

/* struct usergate_regs (userproc.c): eax ecx edx ebx esp ebp esi edi eflags, then
 * DS ES FS GS SS as 16-bit words. */
	.globl usergate_entry, usergate_entry_end
	.type usergate_entry, @function
usergate_entry:
	movb $1, usergate_busy(%rip)
	movl %eax, usergate_regs+0(%rip)
	movl %ecx, usergate_regs+4(%rip)
	movl %edx, usergate_regs+8(%rip)
	movl %ebx, usergate_regs+12(%rip)
	movl %esp, usergate_regs+16(%rip)
	movl %ebp, usergate_regs+20(%rip)
	movl %esi, usergate_regs+24(%rip)
	movl %edi, usergate_regs+28(%rip)
	movw %ds, usergate_regs+36(%rip)
	movw %es, usergate_regs+38(%rip)
	movw %fs, usergate_regs+40(%rip)
	movw %gs, usergate_regs+42(%rip)
	movw %ss, usergate_regs+44(%rip)
	movq usergate_stack_top(%rip), %rsp
	pushfq
	popq %rax
	movl %eax, usergate_regs+32(%rip)
	pushq $0x202                    /* no TF, AC, DF or NT in the monitor's C */
	popfq
usergate_entry_end:
	movq host_fsbase(%rip), %rax
	wrfsbase %rax
	call userproc_gate
	ud2
	.size usergate_entry, .-usergate_entry

/* usergate_return(%rdi: struct usergate_return): selectors, then an iretq frame
 * built from it, then the general registers.  Nothing after it may call C: FS
 * holds the guest's selector from here.  A signal that comes in here is ignored
 * (userproc.c: the rip range). */
	.globl usergate_return, usergate_return_end
	.type usergate_return, @function
usergate_return:
	movzwl 40(%rdi), %eax
	movl %eax, %ds
	movzwl 42(%rdi), %eax
	movl %eax, %es
	movzwl 44(%rdi), %eax
	movl %eax, %fs
	movzwl 46(%rdi), %eax
	movl %eax, %gs
	movzwl 50(%rdi), %eax           /* ss */
	pushq %rax
	movl 16(%rdi), %eax             /* esp */
	pushq %rax
	movl 36(%rdi), %eax             /* eflags */
	pushq %rax
	movzwl 48(%rdi), %eax           /* cs */
	pushq %rax
	movl 32(%rdi), %eax             /* eip */
	pushq %rax
	guest_gprs                      /* the layout of struct lvm_regs */
	movb $0, usergate_busy(%rip)
	iretq
usergate_return_end:
	.size usergate_return, .-usergate_return

	.section .note.GNU-stack, "", @progbits
