/* ioport.c: the port bus: devices register ranges, accesses are routed by offset. */
#include <stdio.h>
#include "monitor.h"

struct io_range {
	const char *name;
	u16 base, len;
	void *dev;
	io_read_fn rd;
	io_write_fn wr;
};

static struct io_range ranges[32];
static int nranges;

int io_register(const char *name, u16 base, u16 len, void *dev, io_read_fn rd, io_write_fn wr)
{
	for (int i = 0; i < nranges; i++)
		if (base < ranges[i].base + ranges[i].len && ranges[i].base < base + len)
			host_bug("port range %s %#x+%u overlaps %s", name, base, len, ranges[i].name);
	if (nranges == (int)(sizeof ranges / sizeof ranges[0]))
		host_bug("too many port ranges");
	ranges[nranges++] = (struct io_range){ name, base, len, dev, rd, wr };
	return 0;
}

static struct io_range *find(u16 port)
{
	for (int i = 0; i < nranges; i++)
		if (port >= ranges[i].base && port < ranges[i].base + ranges[i].len)
			return &ranges[i];
	return NULL;
}

u32 io_in(u16 port, int size)
{
	struct io_range *r = find(port);
	if (!r || !r->rd) {
		trace_event("in%c %#x: no device", "bwl"[size >> 1], port);
		return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;   /* open bus */
	}
	return r->rd(r->dev, port - r->base, size);
}

void io_out(u16 port, u32 value, int size)
{
	struct io_range *r = find(port);
	if (!r || !r->wr) {
		trace_event("out%c %#x <- %#x: no device", "bwl"[size >> 1], port, value);
		return;
	}
	r->wr(r->dev, port - r->base, value, size);
}
