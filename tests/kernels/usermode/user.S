/* user.S: a user program, never rewritten: it runs natively at CPL 3 and reaches
 * the kernel only through system calls and faults.  Before each instruction that
 * should fault, %edi holds where the kernel resumes it. */
#define SYS_PUTS 1
#define SYS_PUTX 2
#define SYS_EXIT 3

#include "user.inc"
	/* Run one instruction expected to fault; the kernel prints the fault. */
	.macro fault name, insn:vararg
	pushl %eax                           /* puts must not change what insn sees */
	pushl %ebx
	puts \name
	popl %ebx
	popl %eax
	movl $1f, %edi
	\insn
1:
	.endm

	.text
	.globl _start
_start:
	puts hello
	puts cs_is
	movl %cs, %eax
	putx
	puts ss_is
	movl %ss, %eax
	putx
	puts flags_are
	pushfl
	popl %eax
	andl $0x3200, %eax                 /* IOPL and IF */
	putx
	puts after_popf
	pushl $0
	popfl                              /* IF cannot be cleared at CPL 3: silently kept */
	pushfl
	popl %eax
	andl $0x3200, %eax
	putx

	fault n_cli, cli
	fault n_hlt, hlt
	fault n_in, inb $0x60, %al
	fault n_out, outb %al, $0x80
	fault n_cr0, movl %cr0, %eax
	fault n_lgdt, lgdt (%esp)
	fault n_ud2, ud2
	xorl %ecx, %ecx
	xorl %edx, %edx
	fault n_div, divl %ecx
	fault n_int3, int3
	fault n_int81, int $0x81
	fault n_int0b, int $0x0b
	fault n_into0, into
	movl $0x7fffffff, %eax
	addl $1, %eax
	fault n_into, into
	movl $0x18, %eax
	fault n_kds, movl %eax, %ds
	movl $0x5b, %eax                    /* guest GDT[11]: DPL 3 data, not present */
	fault n_np, movl %eax, %ds
	movl $0x63, %eax                    /* guest GDT[12]: likewise, into SS */
	fault n_ss, movl %eax, %ss
	movl $0x2b, %eax
	movl %eax, %ds
	puts n_uds
	movl $0x2b, %eax
	movl %eax, %ds
	movl %ds, %eax
	putx

	/* A user data segment stays in DS and ES on the way into the kernel, whose
	 * entry pushes %ds before it reloads it: lvm's rewritten push must not go
	 * through DS.  GDT[13] (0x6b) ends at 16 MiB, below lvm's vCPU page; a null
	 * DS would do on Intel, but an AMD CPU keeps the old limit of a null DS
	 * loaded in 64-bit mode. */
	puts n_limds
	movl %ds, %esi
	movl $0x6b, %eax
	movl %eax, %ds
	movl %eax, %es
	movl $0x4e, %eax
	putx
	movl %esi, %ds
	movl %esi, %es

	puts n_sysenter
	movl $1f, %edx                      /* sysexit returns to %edx with %esp = %ecx */
	movl %esp, %ecx
	movl $0x5e, %eax
	sysenter
1:	putx

	movl $SYS_EXIT, %eax
	int $0x80
	ud2

	.section .rodata
hello:      .asciz "hello from user mode\n"
cs_is:      .asciz "cs: "
ss_is:      .asciz "ss: "
flags_are:  .asciz "IOPL|IF: "
after_popf: .asciz "after popf 0: "
n_cli:      .asciz "cli"
n_hlt:      .asciz "hlt"
n_in:       .asciz "in"
n_out:      .asciz "out"
n_cr0:      .asciz "mov cr0"
n_lgdt:     .asciz "lgdt"
n_ud2:      .asciz "ud2"
n_div:      .asciz "div by 0"
n_int3:     .asciz "int3"
n_int81:    .asciz "int 0x81 (DPL 0 gate)"
n_int0b:    .asciz "int 0x0b (#NP's DPL 0 gate: #GP, not a double fault)"
n_into0:    .asciz "into without OF"
n_into:     .asciz "into"
n_kds:      .asciz "kernel data in ds"
n_syscall:  .asciz "syscall"
n_uds:      .asciz "user data in ds: "
n_np:       .asciz "not-present ds"
n_ss:       .asciz "not-present ss"
n_limds:    .asciz "a 16 MiB ds and es at a kernel entry: "
n_sysenter: .asciz "sysenter, back with eax "
