/* post.c: port 0x80, the POST diagnostic port: writes are accepted and dropped
 * (kernels use it as a short I/O delay), reads return the last value written. */
#include "../monitor.h"

static u8 last;

static u32 post_read(void *dev, u32 reg, int size) { return last; }
static void post_write(void *dev, u32 reg, u32 v, int size) { last = v; }

void post_init(void)
{
	io_register("POST port", 0x80, 1, NULL, post_read, post_write);
}
