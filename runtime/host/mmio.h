/* mmio.h: device pages in the guest's physical address space, and the BIOS ROM. */
#ifndef LVM_MMIO_H
#define LVM_MMIO_H
#include "monitor.h"

#define BIOS_ROM_START 0xc0000u     /* option ROMs and the system BIOS: read-only */
#define BIOS_ROM_END   0x100000u

typedef u32 (*mmio_read_fn)(void *dev, u32 offset, int size);
typedef void (*mmio_write_fn)(void *dev, u32 offset, u32 value, int size);

/* Whole pages at `base`; with `mirror`, returns the page(s) the device keeps its
 * registers' read values in (loads then run natively), else NULL. */
u8 *mmio_register(const char *name, u32 base, u32 len, void *dev, mmio_read_fn rd,
		  mmio_write_fn wr, bool mirror);
bool mmio_present(u32 gpa);
u32 mmio_mirror(u32 gpa);           /* memfd offset of gpa's mirror page, or 0 */
void mmio_mirror_loads(u32 gpa, bool native);   /* loads from the mirror, or trapped */
bool mmio_is_rom(u32 gpa);
void mmio_copy(u32 gpa, void *buf, u32 len, bool write);

/* memory.c: memfd pages beyond RAM, for mirrors */
u32 mem_alloc_aux(u32 len);
u8 *mem_aux_ptr(u32 offset, u32 len);
#endif
