/* gdbmem.c: guest memory as the debugger reads and writes it, and its breakpoints.
 *
 * gdb's addresses are linear (the test kernels, Linux and NetBSD run on flat
 * segments), taken through the guest's page tables as they are now, without
 * setting A or D (mmu_peek), to guest RAM only: a device page or an address no
 * table maps is a fault, E14, so that a debugger's read never has a device's side
 * effects.  A software breakpoint (Z0) is an int3 written into RAM at the
 * physical address of its linear address at insertion (gdb inserts breakpoints
 * at every resume and removes them at every stop), its original byte kept here:
 * reads show the original, writes under a breakpoint change the original.  Not
 * done: breakpoints inside lvm's guest subroutines (singlestep.c and irq.c
 * recognize those by their bytes) are not refused, only not supported.
 */
#include <stdio.h>
#include <string.h>
#include "gdb.h"
#include "mmu.h"

#define NBP 64
#define MAXMEM 2048

static struct breakpoint { u32 lin, gpa; u8 orig; bool used; } bps[NBP];

/* Where guest RAM holds linear address lin now (no side effects on the tables). */
static u8 *ram_at(u32 lin, u32 *gpa_out)
{
	u32 gpa = lin, flags;
	if (paging_enabled()) {
		if (!mmu_peek(lin, &gpa, &flags))
			return NULL;
		gpa |= lin & 0xfff;
	}
	if (gpa_out)
		*gpa_out = gpa;
	return gpa_ptr(gpa, 1);
}

static struct breakpoint *find_bp(u32 lin)
{
	for (int i = 0; i < NBP; i++)
		if (bps[i].used && bps[i].lin == lin)
			return &bps[i];
	return NULL;
}

static void remove_bp(struct breakpoint *b)
{
	u8 *p = gpa_ptr(b->gpa, 1);
	if (p && *p == 0xcc)
		*p = b->orig;
	b->used = false;
}

const char *gdb_insert_breakpoint(u32 lin)
{
	if (find_bp(lin))
		return "OK";
	u32 gpa;
	u8 *p = ram_at(lin, &gpa);
	if (!p)
		return "E14";
	for (int i = 0; i < NBP; i++)
		if (!bps[i].used) {
			bps[i] = (struct breakpoint){ lin, gpa, *p, true };
			*p = 0xcc;
			return "OK";
		}
	return "E28";                            /* ENOSPC: the table is full */
}

void gdb_remove_breakpoints(void)
{
	for (int i = 0; i < NBP; i++)
		if (bps[i].used)
			remove_bp(&bps[i]);
}

/* An int3 of ours is at lin (the guest reached it: a breakpoint stop). */
bool gdb_is_breakpoint(u32 lin)
{
	struct breakpoint *b = find_bp(lin);
	u8 *p = b ? gpa_ptr(b->gpa, 1) : NULL;
	return p && *p == 0xcc;
}

const char *gdb_remove_breakpoint(u32 lin)
{
	struct breakpoint *b = find_bp(lin);
	if (b)
		remove_bp(b);
	return "OK";
}

u32 gdb_hex(const char **p)
{
	u32 v = 0;
	for (;; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return v;
		v = v << 4 | d;
	}
}

void gdb_read_memory(const char *args, char *reply)
{
	u32 a = gdb_hex(&args), n;
	args++;
	n = gdb_hex(&args);
	if (n > MAXMEM)
		n = MAXMEM;
	u32 i;
	for (i = 0; i < n; i++) {
		u8 *p = ram_at(a + i, NULL);
		if (!p)
			break;
		struct breakpoint *b = find_bp(a + i);
		snprintf(reply + 2 * i, 3, "%02x", b && *p == 0xcc ? b->orig : *p);
	}
	if (i == 0 && n)
		strcpy(reply, "E14");
}

void gdb_write_memory(const char *args, char *reply)
{
	u32 a = gdb_hex(&args), n;
	args++;
	n = gdb_hex(&args);
	if (*args++ != ':' || strlen(args) < 2 * n) {
		strcpy(reply, "E01");
		return;
	}
	for (u32 i = 0; i < n; i++)
		if (!ram_at(a + i, NULL)) {
			strcpy(reply, "E14");
			return;
		}
	for (u32 i = 0; i < n; i++) {
		const char b[3] = { args[2 * i], args[2 * i + 1], 0 }, *q = b;
		u8 v = gdb_hex(&q), *p = ram_at(a + i, NULL);
		struct breakpoint *bp = find_bp(a + i);
		if (bp && *p == 0xcc)
			bp->orig = v;                    /* the breakpoint stays */
		else
			*p = v;
	}
	strcpy(reply, "OK");
}
