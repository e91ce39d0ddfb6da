/* kbd.c: the 8042 keyboard controller and the PS/2 keyboard behind it, as kernels
 * drive them at boot: controller self-test and interface tests, the command byte,
 * disabling and enabling the interfaces, the output port (A20 and reset lines,
 * left on: QEMU really gates A20), writing the output buffer, keyboard commands
 * (reset, identify, echo, LEDs, scan code set, unknown), IRQ 1, port 0x92; then a
 * reset, which ends the run with status 0 under lvm and under QEMU -no-reboot.
 * The command line chooses the reset: "reset=fe" (command 0xfe, the default),
 * "reset=f0" (a pulse of output port bit 0), "reset=d1" (output port write),
 * "reset=92" (port 0x92 bit 0).
 *
 * Status bit 3 (A2: last write to 0x64 rather than 0x60) is printed only after
 * command writes: QEMU keeps it at 1, the chip (and lvm) clear it on data writes.
 */
#include "desc.h"

static u8 status(void) { return inb(0x64); }

/* Wait for the output buffer (bounded: a missing reply prints as "--"). */
static int read_data(void)
{
	for (u32 i = 0; i < 1000000; i++)
		if (status() & 1)
			return inb(0x60);
	return -1;
}

static void command(u8 c) { outb(0x64, c); }

static void drain(void)
{
	while (status() & 1)
		inb(0x60);
}

static void show(const char *what, int n)
{
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		int v = read_data();
		if (v < 0)
			printf(" --");
		else
			printf(" %2x", v);
	}
	printf(" (then status %2x)\n", status() & ~0x08);
}

static void keyboard(const char *what, u8 cmd, int replies)
{
	outb(0x60, cmd);
	show(what, replies);
}

static volatile u32 irq1, irq1_data;

static void hook(struct frame *f)
{
	if (f->vector != 0x21) {
		printf("unexpected vector %u\n", f->vector);
		exit(0x7f);
	}
	irq1++;
	irq1_data = inb(0x60);
	outb(0x20, 0x20);
}

static const char *arg(u32 magic, u32 *mbi)
{
	if (magic != 0x2badb002 || !(mbi[0] & 4))
		return "";
	const char *s = (const char *)mbi[4];
	for (; *s; s++)
		if (s[0] == 'r' && s[1] == 'e' && s[2] == 's' && s[3] == 'e' && s[4] == 't' && s[5] == '=')
			return s + 6;
	return "";
}

void kmain(u32 magic, u32 *mbi)
{
	serial_init();
	desc_init();
	trap_hook = hook;
	const char *reset = arg(magic, mbi);

	printf("status at boot %2x\n", status());
	command(0xaa);
	printf("self-test: status %2x", status());
	show(", reply", 1);
	command(0x20);
	show("command byte", 1);
	command(0xab);
	show("keyboard interface test", 1);
	command(0xa9);
	show("aux interface test", 1);
	command(0xad);
	command(0x20);
	show("after 0xad (keyboard off)", 1);
	command(0xae);
	command(0xa8);
	command(0x20);
	show("after 0xae, 0xa8 (both on)", 1);
	command(0xa7);
	command(0x20);
	show("after 0xa7 (aux off)", 1);
	command(0x60);
	outb(0x60, 0x65);                          /* + system flag */
	command(0x20);
	show("command byte written 65", 1);
	command(0xd0);
	show("output port", 1);
	command(0xd1);
	outb(0x60, 0xcf);                          /* A20 on, reset high: no change */
	command(0xd0);
	show("output port written cf", 1);
	command(0xd2);
	outb(0x60, 0xab);
	printf("0xd2: status %2x", status() & ~0x08);
	show(", data", 1);
	command(0xd3);
	outb(0x60, 0x5a);
	printf("0xd3: status %2x", status() & ~0x08);
	show(", data", 1);
	printf("port 0x60 again with nothing new: %2x\n", inb(0x60));

	keyboard("keyboard reset", 0xff, 2);
	keyboard("identify", 0xf2, 3);
	keyboard("echo", 0xee, 1);
	keyboard("set LEDs", 0xed, 1);
	keyboard("LEDs 7", 0x07, 1);
	keyboard("scan code set", 0xf0, 1);
	keyboard("get", 0x00, 2);
	keyboard("disable", 0xf5, 1);
	keyboard("enable", 0xf4, 1);
	keyboard("unknown 0x01", 0x01, 1);
	drain();

	/* IRQ 1: a byte the controller puts in the output buffer as the keyboard's. */
	pic_init(0xfd, 0xff);        /* only IRQ 1 */
	command(0x60);
	outb(0x60, 0x61);                          /* keyboard interrupt on */
	asm volatile("sti");
	command(0xd2);
	outb(0x60, 0x42);
	for (volatile int i = 0; i < 50; i++)     /* QEMU takes interrupts between blocks */
		;
	while (!irq1)
		asm volatile("hlt");
	asm volatile("cli");
	printf("IRQ 1: %u, data %2x\n", irq1, irq1_data);

	printf("port 0x92: %2x\n", inb(0x92));
	command(0xff);                             /* pulses that leave bit 0 alone */
	command(0xfd);
	outb(0x92, inb(0x92));
	printf("pulses 0xff, 0xfd and port 0x92 rewritten: still running\n");
	printf("resetting (%s)\n", *reset ? reset : "fe");
	if (reset[0] == '9')
		outb(0x92, inb(0x92) | 1);
	else if (reset[0] == 'd') {
		command(0xd1);
		outb(0x60, 0xce);                  /* reset line low */
	} else if (reset[0] == 'f' && reset[1] == '0')
		command(0xfe & 0xfe);              /* 0xfe is also "pulse bit 0" */
	else
		command(0xfe);
	for (;;)
		asm volatile("hlt");
}
