/* user.S: khot.c's user side: each entry asks the kernel for one step of its script
 * (int $0x80) and does nothing else; the kernel touches this space's pages itself. */
	.text
	.globl _start
_start:
	int $0x80
	ud2
