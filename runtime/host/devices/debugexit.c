/* debugexit.c: QEMU's isa-debug-exit at port 0xf4: a write ends lvm with (value << 1) | 1. */
#include <stdio.h>
#include <stdlib.h>
#include "../monitor.h"

static void debugexit_write(void *dev, u32 offset, u32 value, int size)
{
	(void)dev; (void)offset; (void)size;
	fflush(stdout);
	exit((int)((value << 1) | 1) & 0xff);
}

void debugexit_init(void)
{
	io_register("isa-debug-exit", 0xf4, 4, NULL, NULL, debugexit_write);
}
