/* memory.c: guest physical memory, one memfd seen twice.
 *
 * The monitor reaches guest RAM only through gpa_ptr(), which checks the range,
 * via a view mapped above 4 GiB.  Guest code reaches it at its own linear
 * addresses below 4 GiB: with paging off, linear == physical, so the same memfd
 * is mapped there too (page 0 excepted: vm.mmap_min_addr forbids it without
 * privilege).  Once the guest turns CR0.PG on, mmu.c replaces the low mapping
 * with a shadow of its page tables.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "monitor.h"
#include "mmu.h"
#include "mmio.h"

static int memfd = -1;
static void protect_rom(void);
static u8 *view;          /* host view of guest physical memory, above 4 GiB */
static u32 size;

u32 mem_size(void) { return size; }

int mem_init(u32 bytes)
{
	size = bytes;
	memfd = memfd_create("lvm-guest-ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, size) < 0) {
		perror("lvm: guest memory");
		return -1;
	}
	view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (view == MAP_FAILED) {
		perror("lvm: mapping guest memory");
		return -1;
	}
	if ((uintptr_t)view < (1ull << 32))
		host_bug("guest memory view landed below 4 GiB (%p)", (void *)view);
	/* Identity mapping for paging-off execution. */
	void *low = mmap((void *)0x1000, size - 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, memfd, 0x1000);
	if (low != (void *)0x1000) {
		fprintf(stderr, "lvm: cannot map guest memory at its physical addresses: %s\n",
			strerror(errno));
		return -1;
	}
	protect_rom();
	return 0;
}

/* The BIOS area is read-only to guest code; its stores fault and are dropped. */
static void protect_rom(void)
{
	mprotect((void *)BIOS_ROM_START, BIOS_ROM_END - BIOS_ROM_START, PROT_READ | PROT_EXEC);
}

/* Pages of the memfd beyond RAM (device mirrors): never guest RAM, mapped only
 * where mmu.c puts a device page. */
static u32 aux_end;

u32 mem_alloc_aux(u32 len)
{
	if (!aux_end)
		aux_end = size;
	u32 off = aux_end;
	aux_end += len;
	if (ftruncate(memfd, aux_end) < 0)
		host_bug("growing guest memory for device pages: %m");
	return off;
}

u8 *mem_aux_ptr(u32 off, u32 len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, off);
	if (p == MAP_FAILED)
		host_bug("mapping a device page: %m");
	return p;
}

int memfd_of_guest(void) { return memfd; }

/* Paging turned off again: linear is physical (mmu_flush() unmapped the rest). */
void mem_map_identity(void)
{
	if (mmap((void *)0x1000, size - 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_SHARED | MAP_FIXED, memfd, 0x1000) != (void *)0x1000)
		host_bug("identity mapping of guest memory: %m");
	protect_rom();
}

void *gpa_ptr(u32 gpa, u32 len)
{
	if (len > size || gpa > size - len)
		return NULL;
	return view + gpa;
}

/* The monitor's implicit supervisor accesses (descriptor tables, TSS, interrupt
 * frames, instruction fetch) through the guest's paging; false if they fault. */
bool guest_read(u32 linear, void *dst, u32 len)
{
	u32 at, err;
	return mmu_access(linear, dst, len, MMU_READ, false, &at, &err);
}

bool guest_write(u32 linear, const void *src, u32 len)
{
	u32 at, err;
	return mmu_access(linear, (void *)src, len, MMU_WRITE, false, &at, &err);
}
