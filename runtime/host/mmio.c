/* mmio.c: the physical address space outside RAM: device pages and the BIOS ROM.
 *
 * A guest physical address is RAM (memory.c), a page of a device registered here,
 * the read-only BIOS area (0xc0000-0xfffff: the option and system ROMs of a PC;
 * the monitor writes its firmware tables there, the guest only reads), or nothing.
 *
 * Device pages are never mapped writable in the host: a guest store faults and is
 * emulated (datainsn.c decodes it, mmu_access() routes it here).  Loads are the
 * problem: a kernel may read the local APIC ID millions of times, and a trap costs
 * microseconds.  So a device may keep a *mirror*: a page of the same memfd holding
 * what each of its registers reads as, updated by the device on every state change.
 * The mirror is mapped read-only where the guest maps the device page, and loads run
 * natively; only registers whose reads have side effects need a device without a
 * mirror (every access then traps).
 *
 * Reads of nothing return all ones (an undriven bus), writes are dropped; each is
 * logged once, with the address.
 */
#include <stdio.h>
#include <string.h>
#include "monitor.h"
#include "mmio.h"

struct mmio_range {
	const char *name;
	u32 base, len;
	void *dev;
	mmio_read_fn rd;
	mmio_write_fn wr;
	u32 mirror_off;          /* offset of the mirror in the memfd, 0: none */
	bool mirror_off_now;     /* loads trap for now (the device asked: mmio_mirror_loads) */
};

static struct mmio_range ranges[8];
static int nranges;

u8 *mmio_register(const char *name, u32 base, u32 len, void *dev, mmio_read_fn rd,
		  mmio_write_fn wr, bool mirror)
{
	if ((base | len) & 0xfff || !len || base + len - 1 < base)
		host_bug("MMIO range %s %#x+%#x is not whole pages", name, base, len);
	if (base < mem_size())
		host_bug("MMIO range %s at %#x overlaps guest RAM", name, base);
	for (int i = 0; i < nranges; i++)
		if (base < ranges[i].base + ranges[i].len && ranges[i].base < base + len)
			host_bug("MMIO range %s %#x+%#x overlaps %s", name, base, len, ranges[i].name);
	if (nranges == (int)(sizeof ranges / sizeof ranges[0]))
		host_bug("too many MMIO ranges");
	struct mmio_range *m = &ranges[nranges++];
	*m = (struct mmio_range){ name, base, len, dev, rd, wr, 0, false };
	if (!mirror)
		return NULL;
	m->mirror_off = mem_alloc_aux(len);
	return mem_aux_ptr(m->mirror_off, len);
}

static struct mmio_range *find(u32 gpa)
{
	for (int i = 0; i < nranges; i++)
		if (gpa - ranges[i].base < ranges[i].len)
			return &ranges[i];
	return NULL;
}

bool mmio_is_rom(u32 gpa)
{
	return gpa >= BIOS_ROM_START && gpa < BIOS_ROM_END;
}

/* Where the host may map `gpa`'s page read-only for loads: its mirror's offset in
 * the memfd, or 0 if every access must trap. */
u32 mmio_mirror(u32 gpa)
{
	struct mmio_range *m = find(gpa);
	return m && m->mirror_off && !m->mirror_off_now ? m->mirror_off + ((gpa - m->base) & ~0xfffu) : 0;
}

void mmio_mirror_loads(u32 gpa, bool native)
{
	struct mmio_range *m = find(gpa);
	if (!m || !m->mirror_off)
		host_bug("mmio_mirror_loads(%#x): no mirror there", gpa);
	m->mirror_off_now = !native;
}

bool mmio_present(u32 gpa)
{
	return find(gpa) != NULL;
}

static void nothing_there(u32 gpa, bool write)
{
	static u32 logged;
	if (logged++ < 4)
		fprintf(stderr, "lvm: guest %s physical %#x: no RAM or device there (%s)\n",
			write ? "wrote" : "read", gpa, write ? "dropped" : "reads as all ones");
}

/* An access of 1, 2 or 4 bytes that does not cross a device's pages. */
static u32 access(u32 gpa, u32 v, int size, bool write)
{
	struct mmio_range *m = find(gpa);
	if (!m || gpa - m->base + size > m->len) {
		nothing_there(gpa, write);
		return 0xffffffffu;
	}
	if (write) {
		if (m->wr)
			m->wr(m->dev, gpa - m->base, v, size);
		return 0;
	}
	return m->rd ? m->rd(m->dev, gpa - m->base, size) : 0xffffffffu;
}

/* The monitor's accesses outside RAM (mmu_access): split into naturally sized
 * pieces, as a bus would.  ROM reads come from RAM and do not get here. */
void mmio_copy(u32 gpa, void *buf, u32 len, bool write)
{
	u8 *b = buf;
	while (len) {
		int size = len >= 4 && !(gpa & 3) ? 4 : len >= 2 && !(gpa & 1) ? 2 : 1;
		u32 v = 0;
		if (write) {
			memcpy(&v, b, size);
			access(gpa, v, size, true);
		} else {
			v = access(gpa, 0, size, false);
			memcpy(b, &v, size);
		}
		b += size, gpa += size, len -= size;
	}
}
