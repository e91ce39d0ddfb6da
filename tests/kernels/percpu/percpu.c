/* percpu.c: a kernel's per-CPU data behind %fs (NetBSD's GCPU_SEL, Linux's
 * __KERNEL_PERCPU) while a user program keeps its own TLS in %fs and %gs, with
 * timer interrupts landing in both (a NetBSD boot under lvm once read its per-CPU
 * base wrong at random: issue 11).  Every kernel entry saves the user's %fs, loads
 * the per-CPU selector, counts itself through it and puts the user's back; the
 * kernel's own loop then counts through %fs with interrupts arriving.  Only counts
 * that do not depend on timing are printed.  Checked against a monitor broken on
 * purpose (switch.S's signal_entry not reloading FS after a host signal): this kernel
 * then faults in both modes at "random" addresses ending in 0x740, the monitor's own
 * thread pointer plus the offset, which is what the NetBSD boots showed. */
#include "desc.h"

#define PERCPU_SEL 0x38
#define TLS_SEL 0x4b
#define CALLS 2000
#define LOOPS 1000000

static u8 user_stack[4096] __attribute__((aligned(16)));
static u32 percpu[0x800 / 4] __attribute__((aligned(4096)));   /* 2 KiB of per-CPU data */
static u32 tls[4] = { 0x7715, 0x7716, 0, 0 };
static u32 entries, ticks, bad_tls;

static inline u32 get_fs(void) { u32 v; asm volatile("movl %%fs, %0" : "=r"(v)); return v; }
static inline void set_fs(u32 v) { asm volatile("movl %0, %%fs" : : "r"(v) : "memory"); }

static void count_entry(void)
{
	/* NetBSD's shapes: addl $1,%fs:0xc0 (a counter), testl $4,%fs:0x7c0 (a flag) */
	asm volatile("addl $1, %%fs:0xc0; testl $4, %%fs:0x7c0" ::: "memory", "cc");
}

static void hook(struct frame *f)
{
	u32 user_fs = get_fs();
	set_fs(PERCPU_SEL);
	count_entry();
	entries++;
	if (f->vector == 0x20) {
		ticks++;
		outb(0x20, 0x20);
	} else if (f->vector == 0x80) {
		if (f->eax == 1 && f->ebx != 0x7715)
			bad_tls++;
		if (f->eax == 2) {
			printf("user: %u system calls, TLS bad in %u of them\n", f->ecx, bad_tls);
			printf("per-CPU counter == kernel entries: %u\n", percpu[0xc0 / 4] == entries);
			/* the kernel's loop through %fs, interrupts on */
			percpu[0xc4 / 4] = 0;
			asm volatile("sti");
			for (u32 i = 0; i < LOOPS; i++)
				asm volatile("addl $1, %%fs:0xc4" ::: "memory");
			asm volatile("cli");
			outb(0x21, 0xff);
			printf("kernel loop through %%fs: %u of %u\n", percpu[0xc4 / 4], LOOPS);
			printf("%%fs still the per-CPU selector: %u\n", get_fs() == PERCPU_SEL);
			printf("timer interrupts came: %u\n", ticks > 0);
			printf("done\n");
			exit(0);
		}
	} else {
		printf("vector %u err %x at %x\n", f->vector, f->err, f->eip);
		exit(0x7f);
	}
	set_fs(user_fs);
}

void kmain(void)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	set_gate(0x80, 0xe, 3);
	set_gdt(7, (u32)percpu, sizeof percpu - 1, 0x92, 0);      /* 0x38 */
	set_gdt(9, (u32)tls, sizeof tls - 1, 0x92, 3);            /* 0x4b */
	percpu[0x7c0 / 4] = 4;
	pic_init(0xfe, 0xff);                                     /* IRQ 0 only */
	outb(0x43, 0x34); outb(0x40, 0xa9); outb(0x40, 0x04);    /* ~1 kHz */
	set_fs(TLS_SEL);
	load_user();
	enter_user(USER_BASE, (u32)user_stack + sizeof user_stack);
}
