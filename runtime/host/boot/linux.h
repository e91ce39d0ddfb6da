/* boot/linux.h: Linux's 32-bit boot protocol (boot/linux.c). */
#ifndef LVM_BOOT_LINUX_H
#define LVM_BOOT_LINUX_H
#include "monitor.h"
enum { LINUX_NOT_BZIMAGE = 1 };
int load_linux(const char *path, const char *cmdline, const char *initrd, struct lvm_regs *r);
void linux_boot_segments(void);
#endif
