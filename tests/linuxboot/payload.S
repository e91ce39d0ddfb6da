/* payload.S: a stand-in for a bzImage's protected-mode kernel (tests/test_linux_boot.py
 * wraps it in a setup header): prints what Linux's 32-bit boot protocol promises
 * it (registers, selectors, the zero page's command line, E820 map and initrd) on
 * COM1 and exits through port 0xf4.  Built with lvm-cc, like a kernel. */
	.code32
	.text
	.globl _start
_start:
	orl %ebx, %edi                      /* the protocol: ebx, edi, ebp zero */
	orl %ebp, %edi
	movl %esi, %ebp                     /* boot_params */
	movl $0x100000 + 0x8000, %esp       /* our own stack, in what we were loaded in */
	movl $s_esi, %esi; call puts; movl %ebp, %eax; call hex
	movl $s_ebx, %esi; call puts; movl %edi, %eax; call hex
	movl $s_cs, %esi; call puts; xorl %eax, %eax; movw %cs, %ax; call hex
	movl $s_ds, %esi; call puts; movw %ds, %ax; call hex
	movl $s_if, %esi; call puts; pushfl; popl %eax; shrl $9, %eax; andl $1, %eax; call hex
	movl $s_loader, %esi; call puts; movzbl 0x210(%ebp), %eax; call hex
	movl $s_e820, %esi; call puts; movzbl 0x1e8(%ebp), %eax; call hex
	movl $s_last, %esi; call puts      /* the extended-memory entry: size in KiB */
	movl 0x2d0 + 3 * 20 + 8(%ebp), %eax; shrl $10, %eax; call hex
	movl $s_rdsize, %esi; call puts; movl 0x21c(%ebp), %eax; call hex
	movl $s_rdalign, %esi; call puts; movl 0x218(%ebp), %eax; andl $0xfff, %eax; call hex
	movl $s_rdword, %esi; call puts; movl 0x218(%ebp), %eax; movl (%eax), %eax; call hex
	movl $s_cmd, %esi; call puts; movl 0x228(%ebp), %esi; call puts
	movl $s_nl, %esi; call puts
	movl $0, %eax
	outl %eax, $0xf4

puts:	lodsb
	testb %al, %al
	jz 1f
	movw $0x3f8, %dx
	outb %al, %dx
	jmp puts
1:	ret

hex:	movl $8, %ecx                       /* %eax as 8 hex digits and a newline */
1:	roll $4, %eax
	movl %eax, %ebx
	andl $15, %ebx
	movb digits(%ebx), %bl
	pushl %eax
	movb %bl, %al
	movw $0x3f8, %dx
	outb %al, %dx
	popl %eax
	loop 1b
	movb $10, %al
	outb %al, %dx
	ret

	.section .rodata
digits:	.ascii "0123456789abcdef"
s_esi:	.asciz "esi "
s_ebx:	.asciz "ebx|edi|ebp "
s_cs:	.asciz "cs "
s_ds:	.asciz "ds "
s_if:	.asciz "IF "
s_loader: .asciz "type_of_loader "
s_e820:	.asciz "e820 entries "
s_last:	.asciz "extended memory KiB "
s_rdsize: .asciz "initrd size "
s_rdalign: .asciz "initrd offset in page "
s_rdword: .asciz "initrd first word "
s_cmd:	.asciz "cmdline: "
s_nl:	.asciz "\n"
