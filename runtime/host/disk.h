/* disk.h: disk images (raw files) as the IDE drives see them, and the options that name them. */
#ifndef LVM_DISK_H
#define LVM_DISK_H
#include "monitor.h"

#define DISK_SECTOR 512
#define DISK_SLOTS 2                 /* index 0: primary master, 1: primary slave */

struct disk {
	const char *path;
	int fd;
	u64 sectors;                     /* image size / 512 */
	u16 cylinders, heads, spt;       /* default CHS geometry, as QEMU guesses it */
};

/* Command line (main.c): each exits with EXIT_USAGE and one line on bad input. */
void disk_option_hd(int index, const char *file, const char *option);   /* -hda, -hdb */
void disk_option_drive(const char *spec);                               /* -drive k=v,... */

struct disk *disk_at(int index);     /* NULL: no image at that index */

/* Whole sectors; false (errno set) on a host I/O error. */
bool disk_read(struct disk *d, u64 lba, void *buf, u32 count);
bool disk_write(struct disk *d, u64 lba, const void *buf, u32 count);
bool disk_flush(struct disk *d);

/* devices/ata.c: the primary IDE channel (ports 0x1f0-0x1f7, 0x3f6; IRQ 14) */
void ata_init(void);
#endif
