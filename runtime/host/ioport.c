/* ioport.c: the port bus: devices register ranges, accesses are routed by offset.
 *
 * LVM_TRACE_IO=1 prints every access (time since start, port, size, value, device)
 * to stderr, as QEMU's -trace does for its devices: how a driver probes, what it
 * waits for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "monitor.h"

struct io_range {
	const char *name;
	u16 base, len;
	void *dev;
	io_read_fn rd;
	io_write_fn wr;
	io_string_fn str;
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
	ranges[nranges++] = (struct io_range){ .name = name, .base = base, .len = len, .dev = dev, .rd = rd, .wr = wr };
	return 0;
}

/* A device that moves blocks through one port (IDE data) can take a whole
 * `rep ins/outs` run at once. */
void io_register_string(u16 port, io_string_fn fn)
{
	struct io_range *r = NULL;
	for (int i = 0; i < nranges; i++)
		if (port >= ranges[i].base && port < ranges[i].base + ranges[i].len)
			r = &ranges[i];
	if (!r)
		host_bug("string hook for port %#x: no device there", port);
	r->str = fn;
}

static int tracing = -1;              /* LVM_TRACE_IO, read at the first access */
static struct timespec trace_t0;

static bool trace_on(void)
{
	if (tracing < 0) {
		const char *v = getenv("LVM_TRACE_IO");
		tracing = v && *v && strcmp(v, "0") != 0;
		clock_gettime(CLOCK_MONOTONIC, &trace_t0);
	}
	return tracing;
}

static void trace_io(const char *dir, u16 port, int size, u32 value, const struct io_range *r)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long long us = (t.tv_sec - trace_t0.tv_sec) * 1000000LL + (t.tv_nsec - trace_t0.tv_nsec) / 1000;
	fprintf(stderr, "lvm-io %6lld.%06lld %s%c 0x%04x 0x%0*x %s\n", us / 1000000, us % 1000000, dir,
		"bwl"[size >> 1], port, 2 * size, value, r ? r->name : "(no device)");
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
	u32 v;
	if (!r || !r->rd) {
		trace_event("in%c %#x: no device", "bwl"[size >> 1], port);
		v = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;     /* open bus */
	} else
		v = r->rd(r->dev, port - r->base, size);
	if (trace_on())
		trace_io("in", port, size, v, r);
	return v;
}

void io_out(u16 port, u32 value, int size)
{
	struct io_range *r = find(port);
	if (trace_on())
		trace_io("out", port, size, value, r);
	if (!r || !r->wr) {
		trace_event("out%c %#x <- %#x: no device", "bwl"[size >> 1], port, value);
		return;
	}
	r->wr(r->dev, port - r->base, value, size);
}

/* With buf NULL: how many of `count` elements of `size` bytes the port's device
 * would move at once now (0: no string hook, or it wants them one by one).  Else
 * move that many between the port and buf. */
u32 io_string(u16 port, int size, void *buf, u32 count, bool out)
{
	struct io_range *r = find(port);
	if (!r || !r->str)
		return 0;
	return r->str(r->dev, port - r->base, size, buf, count, out);
}
