/* k.c: serial console (COM1, polled), a tiny printf, and exit through isa-debug-exit. */
#include <stdarg.h>
#include "k.h"

#define COM1 0x3f8

void serial_init(void)
{
	outb(COM1 + 1, 0x00);   /* IER: no interrupts */
	outb(COM1 + 3, 0x80);   /* LCR: DLAB */
	outb(COM1 + 0, 0x01);   /* DLL: 115200 baud */
	outb(COM1 + 1, 0x00);   /* DLM */
	outb(COM1 + 3, 0x03);   /* LCR: 8N1 */
	outb(COM1 + 2, 0xc7);   /* FCR: FIFO on, cleared */
}

void putc(char c)
{
	if (c == '\n')
		putc('\r');
	while (!(inb(COM1 + 5) & 0x20))   /* LSR.THRE */
		;
	outb(COM1, c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void putnum(u32 v, int base, int width)
{
	char buf[12];
	int i = 0;
	do {
		buf[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i < width)
		buf[i++] = '0';
	while (i)
		putc(buf[--i]);
}

void printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putc(*fmt);
			continue;
		}
		int width = 0;
		while (fmt[1] >= '0' && fmt[1] <= '9')
			width = width * 10 + (*++fmt - '0');
		switch (*++fmt) {
		case 'x': putnum(va_arg(ap, u32), 16, width); break;
		case 'u': putnum(va_arg(ap, u32), 10, width); break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) { putc('-'); v = -v; }
			putnum(v, 10, width);
			break;
		}
		case 's': puts(va_arg(ap, const char *)); break;
		case 'c': putc(va_arg(ap, int)); break;
		default: putc(*fmt);
		}
	}
	va_end(ap);
}

void exit(int status)
{
	outb(0xf4, status);     /* QEMU isa-debug-exit / lvm: process exits (status<<1)|1 */
	for (;;)
		asm volatile("cli; hlt");
}

const char *cmdline_last_word(u32 magic, const u32 *mbi)
{
	const char *cmd = (magic == 0x2badb002 && (mbi[0] & 4)) ? (const char *)mbi[4] : "";
	for (const char *c = cmd; *c; c++)
		if (*c == ' ')
			cmd = c + 1;
	return cmd;
}

int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}
