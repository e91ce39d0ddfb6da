/* usergate.c: system calls by sysenter from a user program whose sysenters lvm-as's
 * user mode made far calls of lvm's user system-call gate (user.S): the kernel
 * must see what a sysenter gives it (registers, flags, the user stack untouched),
 * and user code must find its registers, FPU and SSE state after the sysexit,
 * also under a fast timer, with SYSENTER_CS 0 (#GP) and with TF (#DB in the
 * kernel).  The same program assembled by gas runs under QEMU. */
#include "desc.h"

static u8 user_stack[4096] __attribute__((aligned(16)));
static volatile u32 ticks, fast_calls;
void sysenter_landing(void);

static void timer(int on)
{
	outb(0x43, 0x34);
	outb(0x40, on ? 1193 & 0xff : 0);   /* 1 kHz, or the slowest rate */
	outb(0x40, on ? 1193 >> 8 : 0);
	pic_init(on ? 0xfe : 0xff, 0xff);
}

static void hook(struct frame *f)
{
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
		return;
	}
	if (f->vector == 1 && (f->cs & 3) == 0) {
		printf("#DB at CPL 0 %s, ", f->eip == (u32)sysenter_entry ? "at the sysenter entry" : "elsewhere");
		f->eflags &= ~0x100u;
		return;
	}
	if ((f->cs & 3) != 3) {
		printf("kernel trap %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7e);
	}
	if (f->vector == 0x80) {
		switch (f->eax) {
		case 1: puts((const char *)f->ebx); break;
		case 2: printf("%x\n", f->ebx); break;
		case 3: printf("user exit\n"); exit(0);
		case 6: wrmsr(0x174, 0); break;
		case 7: wrmsr(0x174, KCODE); break;
		case 8: fast_calls = 0; ticks = 0; timer(1); break;
		case 9: timer(0); printf("%s, %s\n", fast_calls >= 20000 ? "20000 or more" : "too few",
					 ticks >= 20 ? "20 ticks or more" : "too few ticks"); break;
		}
		return;
	}
	printf(": vector %u err %x at cpl %u\n", f->vector, f->err, f->cs & 3);
	f->eip = f->edi;
	f->uesp = f->ebp;
}

/* The sysenter entry: CPL 0, IF 0, on the MSR stack; r as the user left them. */
static u32 fast_call(struct sysregs *r)
{
	if (r->eax == 4) {
		const u32 *us = (const u32 *)r->ecx;
		printf("eax %x ebx %x esi %x edi %x ebp %x ecx=esp+%x edx ok %u, DF %u CF %u, "
		       "stack %x %x: ", r->eax, r->ebx, r->esi, r->edi, r->ebp,
		       r->ecx - (u32)user_stack, r->edx > USER_BASE, (r->eflags >> 10) & 1,
		       r->eflags & 1, us[0], us[1]);
		return 0x66;
	}
	if (r->eax == 10)
		printf("in the kernel, ");
	if (r->eax == 11)
		return ticks;
	if (r->eax == 12)
		return (u32)&ticks;                    /* paging is off: user code reads it */
	fast_calls++;
	return r->eax;
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	sysenter_init(fast_call);
	pic_init(0xff, 0xff);
	u32 cr0, cr4;
	asm volatile("movl %%cr0, %0; movl %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	cr0 = (cr0 & ~4u) | 2u;                     /* EM off, MP on */
	cr4 |= 0x600;                               /* OSFXSR, OSXMMEXCPT: SSE */
	asm volatile("movl %0, %%cr0; movl %1, %%cr4" : : "r"(cr0), "r"(cr4));
	load_user();
	printf("entering user mode\n");
	enter_user(USER_BASE, (u32)user_stack + sizeof user_stack);
}
