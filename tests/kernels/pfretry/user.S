/* user.S: touches pages the kernel maps only when they fault (pfretry.c), and asks
 * after each what their page-table entry says (sys 1: present, accessed, dirty). */
#include "user.inc"
	.set PAGE0, 0x500000
	.macro show page
	sys 1, $\page
	.endm

	.text
	.globl _start
_start:
	movl $1, PAGE0                      /* a write fault, fixed: A and D */
	show PAGE0
	movl PAGE0 + 0x1000, %eax           /* a read fault, fixed: A only */
	show PAGE0 + 0x1000
	movl $1, PAGE0 + 0x1000             /* writable already: now D too */
	show PAGE0 + 0x1000
	movl $2, %ecx                       /* the next fault is left unfixed twice */
	sys 2, $0
	movl $1, PAGE0 + 0x2000
	show PAGE0 + 0x2000
	movl $elsewhere, %ecx               /* fixed, but resumed elsewhere: untouched */
	sys 3, $0
	movl $1, PAGE0 + 0x3000
	ud2
elsewhere:
	show PAGE0 + 0x3000
	sys 4, $0                           /* fixed after a run in another space */
	movl $1, PAGE0 + 0x4000
	show PAGE0 + 0x4000
	movl PAGE0 + 0x3000, %eax           /* now it is read */
	show PAGE0 + 0x3000
	sys 5, $0
	ud2
