/* userds.c: user code loads Linux's __USER_DS (0x7b) into DS and ES itself and writes
 * through it: 0x7b is the host's per-CPU segment (read-only, tiny limit) until lvm
 * sees the fault and loads the guest's descriptor (segments.c). */
#include <stdio.h>
static int x = 5;
int main(void)
{
	unsigned short ds;
	asm volatile("movw %%ds, %0" : "=r"(ds));
	asm volatile("movw $0x7b, %%ax; movw %%ax, %%ds; movw %%ax, %%es" ::: "eax", "memory");
	x += 37;                               /* a write through the reloaded DS */
	unsigned v;
	asm volatile("movl %1, %0" : "=r"(v) : "m"(x));
	printf("T 0x7b in ds/es: x=%d v=%u\n", x, v);
	return 0;
}
