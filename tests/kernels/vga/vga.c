/* vga.c: what a text-mode kernel does with the VGA: characters and attributes in
 * the text buffer at 0xb8000 (read back), the hardware cursor moved through the
 * CRT controller (0x3d4/0x3d5) and read back, and a wait for vertical retrace on
 * Input Status #1 (0x3da) that ends. */
#include "desc.h"

static void cursor(u16 pos)
{
	outb(0x3d4, 0x0f);
	outb(0x3d5, pos & 0xff);
	outb(0x3d4, 0x0e);
	outb(0x3d5, pos >> 8);
}

static u16 cursor_pos(void)
{
	outb(0x3d4, 0x0f);
	u16 lo = inb(0x3d5);
	outb(0x3d4, 0x0e);
	return lo | inb(0x3d5) << 8;
}

void kmain(void)
{
	serial_init();
	desc_init();
	volatile u16 *text = (u16 *)0xb8000;
	const char *msg = "hello, vga";
	for (int i = 0; msg[i]; i++)
		text[80 + i] = 0x0700 | (u8)msg[i];
	printf("text buffer row 1:");
	for (int i = 0; msg[i]; i++)
		printf(" %x", text[80 + i]);
	printf("\n");
	cursor(80 + 10);
	printf("cursor at %u\n", cursor_pos());
	outb(0x3d4, 0x0a);
	outb(0x3d5, 0x20);                              /* cursor off */
	printf("cursor start register %x\n", inb(0x3d5));
	int spins = 0;
	while (!(inb(0x3da) & 0x08) && spins < 1000000)
		spins++;
	while ((inb(0x3da) & 0x08) && spins < 2000000)
		spins++;
	printf("vertical retrace seen: %s\n", spins < 2000000 ? "yes" : "no");
	exit(0);
}
