/* k.h: the few primitives every test kernel uses: port I/O, serial output, exit. */
#ifndef K_H
#define K_H
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

static inline void outb(u16 port, u8 v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

void serial_init(void);
void putc(char c);
void puts(const char *s);
void printf(const char *fmt, ...);
void exit(int status) __attribute__((noreturn));
/* The Multiboot command line's last word (QEMU puts the kernel's path first), or "". */
const char *cmdline_last_word(u32 magic, const u32 *mbi);
int streq(const char *a, const char *b);
#endif
