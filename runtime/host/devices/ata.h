/* ata.h: what the IDE channel (ata.c) and its drives (ata_drive.c) share: the
 * registers and bits of ATA/ATAPI-6 (T13 1410D), a drive's latched registers and
 * PIO data phase, the channel.  Private to these two files. */
#ifndef LVM_ATA_H
#define LVM_ATA_H
#include "../disk.h"

enum { DATA = 0, ERROR_FEATURES = 1, SECTOR_COUNT = 2, LBA_LOW = 3, LBA_MID = 4, LBA_HIGH = 5,
       DEVICE = 6, STATUS_COMMAND = 7 };
enum { ERR = 0x01, DRQ = 0x08, DSC = 0x10, DF = 0x20, DRDY = 0x40, BSY = 0x80 };   /* Status */
enum { ABRT = 0x04 };                                                               /* Error */
enum { NIEN = 0x02, SRST = 0x04 };                                                  /* Device Control */
enum { DEV = 0x10, LBA = 0x40, OBSOLETE_ONES = 0xa0 };                              /* Device */

#define ATA_IRQ 14
#define MAX_MULTIPLE 16              /* sectors per DRQ block of READ/WRITE MULTIPLE (QEMU's) */
#define LBA28_MAX 0x0fffffffu

enum xfer { NONE, TO_HOST, FROM_HOST };

struct drive {
	struct disk *disk;               /* NULL: nothing at this position */
	int unit;
	/* The Command Block as this drive latched it. */
	u8 error, features, lba_low, lba_mid, lba_high, device, status;
	u32 count;                       /* Sector Count; a command taking 0 as 256 stores 256 */
	bool intrq;                      /* pending: cleared by reading Status, writing Command, SRST */
	u16 heads, spt;                  /* CHS translation (INITIALIZE DEVICE PARAMETERS) */
	u8 multiple;                     /* SET MULTIPLE MODE; 0: READ/WRITE MULTIPLE abort */
	bool write_cache;
	/* The PIO data phase: DRQ is set while pos < len. */
	enum xfer xfer;
	u8 cmd;
	u32 block;                       /* sectors per DRQ block */
	u32 pos, len;
	u8 buf[MAX_MULTIPLE * DISK_SECTOR];
};

struct channel {
	struct drive drive[2];
	int selected;
	u8 control;                      /* Device Control as last written */
	bool line;                       /* INTRQ as the 8259A sees it */
};

/* ata.c: the channel */
void ata_update_line(struct channel *c);                  /* INTRQ after a change */
void ata_interrupt(struct channel *c, struct drive *d);   /* the drive asks for service */

/* ata_drive.c: the drive */
void ata_reset_drive(struct drive *d);                    /* power-on, SRST */
void ata_command(struct channel *c, struct drive *d, u8 cmd);
void ata_block_done(struct channel *c, struct drive *d);  /* the host moved the last byte */
#endif
