/* userimg.S: the kernel's user program (a flat binary built from user.S with plain
 * gcc, linked at USER_BASE) as data: user_image[] .. user_image_end[]. */
	.section .rodata
	.globl user_image, user_image_end
	.p2align 4
user_image:
	.incbin USER_BIN
user_image_end:
	.section .note.GNU-stack, "", @progbits
