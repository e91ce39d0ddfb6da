/* gdbtarget.c: the kernel tests/test_gdb.py debugs, under lvm (both modes) and QEMU.
 * Each function is noinline so that gdb can break on it; flip() has a rewritten
 * cli and sti on lines of their own (stepped over with stepi/next); table[] is what
 * x/4wx reads; spin() runs until `counter` reaches a value the debugger can see
 * (a Ctrl-C lands somewhere in it).  Booted alone it prints facts and exits 0x11.
 * For the protocol test (`-append forever`, `-append idle`): it spins, or sleeps in
 * HLT between timer ticks, until the debugger writes 1 to `released`; exit 0x22. */
#include "desc.h"

volatile u32 table[4] = { 0x11223344, 0xdeadbeef, 0xcafef00d, 0x01020304 };
volatile u32 counter, released, ticks;

__attribute__((noinline)) u32 flip(u32 x)
{
	u32 flags;
	asm volatile("cli");
	asm volatile("pushfl; popl %0" : "=r"(flags));
	asm volatile("sti");
	return x + ((flags >> 9) & 1);
}

__attribute__((noinline)) u32 spin(u32 n)
{
	for (counter = 0; counter < n; counter++)
		asm volatile("" ::: "memory");
	return counter;
}

__attribute__((noinline)) void poke(u32 v)
{
	table[2] = v;
}

__attribute__((noinline)) void spin_forever(void)
{
	while (!released)
		counter++;
}

static void tick(struct frame *f)
{
	if (f->vector == 0x20)
		ticks++, outb(0x20, 0x20);
}

__attribute__((noinline)) void idle_forever(void)
{
	trap_hook = tick;
	pic_init(0xfe, 0xff);                    /* the PIT alone */
	outb(0x43, 0x34);                        /* channel 0, rate generator: 100 Hz */
	outb(0x40, 11932 & 0xff);
	outb(0x40, 11932 >> 8);
	while (!released)
		asm volatile("sti; hlt; cli");
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	const char *cmd = cmdline_last_word(magic, mbi);
	if (streq(cmd, "forever") || streq(cmd, "idle")) {
		if (streq(cmd, "forever"))
			spin_forever();
		else
			idle_forever();
		printf("released\n");
		exit(0x22);
	}
	u32 a = flip(41);
	printf("flip %u\n", a);
	printf("spin %u\n", spin(1000));
	poke(0x55aa55aa);
	printf("table %x %x %x %x\n", table[0], table[1], table[2], table[3]);
	exit(0x11);
}
