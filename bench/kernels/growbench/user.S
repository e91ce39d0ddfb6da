/* user.S: touch the heap's 48 MiB a page at a time (each first touch a #PF the
 * kernel maps), then have the kernel free it; the cycles per page of each, reported
 * with int $0x80 (eax 1: growth, 2: free; 3 asks for the free).  User code runs with
 * IF set: the kernel's timer ticks meanwhile. */
#define HEAP 0x1000000
#define PAGES (48 * 256)
	.text
	.globl _start
_start:
	rdtsc
	movl %eax, %esi
	movl %edx, %ebp
	movl $HEAP, %edi
	movl $PAGES, %ecx
1:	movl %ecx, (%edi)
	addl $0x1000, %edi
	loop 1b
	call per_page
	movl $1, %eax
	int $0x80
	rdtsc
	movl %eax, %esi
	movl %edx, %ebp
	movl $3, %eax
	int $0x80
	call per_page
	movl $2, %eax
	int $0x80
	ud2

/* %ebx = (TSC now - %ebp:%esi) / PAGES */
per_page:
	rdtsc
	subl %esi, %eax
	sbbl %ebp, %edx
	movl $PAGES, %ecx
	divl %ecx
	movl %eax, %ebx
	ret
