/* ata_drive.c: an ATA hard disk on the IDE channel: its commands, IDENTIFY DEVICE
 * data, LBA and CHS addressing and PIO blocks, backed by a raw image (disk.c).
 *
 * Command names as in ATA/ATAPI-6 (T13 1410D).  A command's work is done at once:
 * when the Command register is written (a read's first block is ready with DRQ and
 * the interrupt) or when the last byte of a written block arrives (the block is in
 * the image file before the interrupt).  PIO only: no bus-master DMA (there is no
 * PCI bus), no 48-bit LBA, no PACKET commands: those end with ABRT.  Where ATA-6
 * leaves a choice we answer as QEMU's IDE disk does (each place says so), so that a
 * guest sees the same disk under both.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ata.h"

static void log_once(u8 cmd, const char *why)
{
	static bool seen[256];
	if (seen[cmd])
		return;
	seen[cmd] = true;
	fpu_protect();
	fprintf(stderr, "lvm: ATA drive: command %#04x %s: aborted (ABRT)\n", cmd, why);
}

/* Power-on and software reset: the diagnostic passed (Error 01h), the ATA
 * signature in the Command Block, DRDY; multiple mode back to QEMU's default. */
void ata_reset_drive(struct drive *d)
{
	d->error = 0x01;
	d->features = 0;
	d->count = 1;
	d->lba_low = 1;
	d->lba_mid = d->lba_high = d->disk ? 0x00 : 0xff;
	d->device = OBSOLETE_ONES;
	d->status = DRDY | DSC;
	d->intrq = false;
	d->xfer = NONE;
	d->pos = d->len = 0;
	d->multiple = MAX_MULTIPLE;
	if (d->disk) {
		d->heads = d->disk->heads;
		d->spt = d->disk->spt;
	}
}

static void abort_command(struct channel *c, struct drive *d)
{
	d->xfer = NONE;
	d->status = DRDY | ERR;
	d->error = ABRT;
	ata_interrupt(c, d);
}

/* The addressed sector from the LBA/CHS registers; false for a CHS address the
 * current translation does not have (sector 0, a head too large). */
static bool address(const struct drive *d, u64 *lba)
{
	if (d->device & LBA) {
		*lba = (u32)(d->device & 0x0f) << 24 | d->lba_high << 16 | d->lba_mid << 8 | d->lba_low;
		return true;
	}
	u32 cyl = d->lba_mid | d->lba_high << 8, head = d->device & 0x0f, sector = d->lba_low;
	if (!d->spt || !sector || sector > d->spt || head >= d->heads)
		return false;
	*lba = ((u64)cyl * d->heads + head) * d->spt + sector - 1;
	return true;
}

/* After a transfer the registers address the next sector (QEMU does this; ATA-6
 * leaves them unspecified on success). */
static void set_address(struct drive *d, u64 lba)
{
	if (d->device & LBA) {
		d->device = (d->device & 0xf0) | ((lba >> 24) & 0x0f);
		d->lba_high = lba >> 16;
		d->lba_mid = lba >> 8;
		d->lba_low = lba;
		return;
	}
	u32 per_cyl = d->heads * d->spt;
	if (!per_cyl)
		return;                                /* no valid CHS translation */
	u32 cyl = lba / per_cyl, r = lba % per_cyl;
	d->lba_high = cyl >> 8;
	d->lba_mid = cyl;
	d->device = (d->device & 0xf0) | ((r / d->spt) & 0x0f);
	d->lba_low = r % d->spt + 1;
}

/* The next `n` sectors are addressable on this disk. */
static bool in_range(const struct drive *d, u64 *lba, u32 n)
{
	u64 cap = d->disk->sectors < LBA28_MAX ? d->disk->sectors : LBA28_MAX;
	return address(d, lba) && *lba + n <= cap;
}

/* READ SECTORS / READ MULTIPLE: make the next block ready for the host. */
static void read_block(struct channel *c, struct drive *d)
{
	u32 n = d->count < d->block ? d->count : d->block;
	u64 lba;
	if (n == 0) {                                  /* the last block was read */
		d->xfer = NONE;
		d->status = DRDY | DSC;
		return;
	}
	if (!in_range(d, &lba, n)) {                   /* QEMU answers ABRT (ATA-6: IDNF or ABRT) */
		abort_command(c, d);
		return;
	}
	if (!disk_read(d->disk, lba, d->buf, n)) {
		fpu_protect();
		fprintf(stderr, "lvm: %s: read of sector %llu failed: %s\n", d->disk->path,
			(unsigned long long)lba, strerror(errno));
		abort_command(c, d);
		return;
	}
	set_address(d, lba + n);
	d->count -= n;
	d->xfer = TO_HOST;
	d->pos = 0;
	d->len = n * DISK_SECTOR;
	d->status = DRDY | DSC | DRQ;
	ata_interrupt(c, d);
}

/* WRITE SECTORS / WRITE MULTIPLE: a block arrived; it is in the file before the
 * interrupt tells the host so. */
static void write_block(struct channel *c, struct drive *d)
{
	u32 n = d->len / DISK_SECTOR;
	u64 lba;
	if (!in_range(d, &lba, n)) {
		abort_command(c, d);
		return;
	}
	if (!disk_write(d->disk, lba, d->buf, n)) {
		fpu_protect();
		fprintf(stderr, "lvm: %s: write of sector %llu failed: %s\n", d->disk->path,
			(unsigned long long)lba, strerror(errno));
		abort_command(c, d);
		return;
	}
	set_address(d, lba + n);
	d->count -= n;
	d->pos = 0;
	if (d->count) {
		d->len = (d->count < d->block ? d->count : d->block) * DISK_SECTOR;
		d->status = DRDY | DSC | DRQ;
	} else {
		d->xfer = NONE;
		d->len = 0;
		d->status = DRDY | DSC;
	}
	ata_interrupt(c, d);
}

static void put_string(u16 *w, const char *s, int words)
{
	for (int i = 0; i < words * 2; i++) {
		u8 ch = *s ? (u8)*s++ : ' ';
		w[i / 2] = (i & 1) ? (w[i / 2] & 0xff00) | ch : (w[i / 2] & 0x00ff) | ch << 8;
	}
}

/* IDENTIFY DEVICE: what this drive is and does, word by word (ATA-6 8.15). */
static void identify(struct drive *d)
{
	u16 w[256] = { 0 };
	const struct disk *k = d->disk;
	u32 lba28 = k->sectors < LBA28_MAX ? k->sectors : LBA28_MAX;
	char serial[21];
	snprintf(serial, sizeof serial, "LVM%05d", d->unit + 1);
	w[0] = 0x0040;                                /* ATA device, not removable */
	w[1] = k->cylinders;                          /* default CHS translation */
	w[3] = k->heads;
	w[6] = k->spt;
	put_string(&w[10], serial, 10);
	put_string(&w[23], "0.1", 4);                 /* firmware revision */
	put_string(&w[27], "LVM HARDDISK", 20);       /* model number */
	w[47] = 0x8000 | MAX_MULTIPLE;
	w[48] = 0x0001;                               /* ATA-1's "doubleword I/O": 32-bit data port */
	w[49] = 1u << 11 | 1u << 9;                   /* IORDY, LBA; no DMA */
	w[50] = 0x4000;
	w[51] = 0x0200;                               /* PIO mode 2 timing (obsolete word) */
	w[53] = 0x0003;                               /* words 54-58 and 64-70 valid */
	u32 per_cyl = d->heads * d->spt;
	u32 cyls = per_cyl ? (lba28 / per_cyl > 65535 ? 65535 : lba28 / per_cyl) : 0;
	u32 current = cyls * per_cyl;
	w[54] = cyls;                                 /* current CHS translation */
	w[55] = d->heads;
	w[56] = d->spt;
	w[57] = current;
	w[58] = current >> 16;
	w[59] = d->multiple ? 0x0100 | d->multiple : 0;
	w[60] = lba28;
	w[61] = lba28 >> 16;
	w[64] = 0x0003;                               /* PIO modes 3 and 4 */
	w[67] = 120;                                  /* PIO cycle times, ns */
	w[68] = 120;
	w[80] = 0x007e;                               /* ATA-1 to ATA-6 */
	w[82] = 1u << 5 | 1u << 3;                    /* write cache, power management */
	w[83] = 0x4000 | 1u << 12;                    /* FLUSH CACHE */
	w[84] = 0x4000;
	w[85] = (d->write_cache ? 1u << 5 : 0) | 1u << 3;
	w[86] = 1u << 12;
	w[87] = 0x4000;
	/* Integrity word: signature A5h and a checksum making all 512 bytes sum to 0. */
	u8 sum = 0xa5;
	for (int i = 0; i < 255; i++)
		sum += (w[i] & 0xff) + (w[i] >> 8);
	w[255] = (u16)((u8)-sum) << 8 | 0xa5;
	for (int i = 0; i < 256; i++) {
		d->buf[2 * i] = w[i];
		d->buf[2 * i + 1] = w[i] >> 8;
	}
}

/* Start a data-in command: IDENTIFY's one sector, or the first block of a read. */
static void start_to_host(struct channel *c, struct drive *d, u32 block)
{
	d->block = block;
	if (d->count == 0)
		d->count = 256;
	read_block(c, d);
}

static void start_from_host(struct drive *d, u32 block)
{
	if (d->count == 0)
		d->count = 256;
	d->block = block;
	d->xfer = FROM_HOST;
	d->pos = 0;
	d->len = (d->count < block ? d->count : block) * DISK_SECTOR;
	d->status = DRDY | DSC | DRQ;             /* the first block is asked for without an interrupt */
}

/* SET FEATURES: what a PIO-only drive with a write cache can honour. */
static bool set_features(struct drive *d)
{
	switch (d->features) {
	case 0x02: d->write_cache = true; return true;
	case 0x82:
		d->write_cache = false;
		return disk_flush(d->disk);
	case 0x03: {                               /* set transfer mode (from Sector Count) */
		u8 mode = d->count & 0xff;
		return mode <= 0x01 || (mode >= 0x08 && mode <= 0x0c);   /* PIO default / PIO 0-4 */
	}
	case 0x55: case 0xaa:                      /* read look-ahead off/on */
	case 0x66: case 0xcc:                      /* revert to power-on defaults off/on */
	case 0x05: case 0x85:                      /* advanced power management */
	case 0x42: case 0xc2:                      /* automatic acoustic management */
		return true;
	default:
		return false;
	}
}

/* What an empty device 0 (a disk without a medium, ata.c) aborts, as QEMU's does:
 * reads, writes, IDENTIFY, SET FEATURES, READ NATIVE MAX, INITIALIZE DEVICE
 * PARAMETERS.  The others need no medium and complete (VERIFY too, as in QEMU). */
static bool needs_medium(u8 cmd)
{
	static const u8 list[] = { 0x20, 0x21, 0xc4, 0x30, 0x31, 0x3c, 0xc5, 0xec, 0xef, 0xf8, 0x91 };
	return memchr(list, cmd, sizeof list) != NULL;
}

void ata_command(struct channel *c, struct drive *d, u8 cmd)
{
	if (d->status & (BSY | DRQ))
		return;                               /* ATA-6: indeterminate; QEMU ignores it */
	d->intrq = false;
	ata_update_line(c);
	d->cmd = cmd;
	d->error = 0;
	d->status = DRDY;
	if (!d->disk && needs_medium(cmd)) {
		abort_command(c, d);
		return;
	}
	bool ok = true, dsc = true;
	switch (cmd) {
	case 0x20: case 0x21:                      /* READ SECTORS (with and without retries) */
		start_to_host(c, d, 1);
		return;
	case 0xc4:                                 /* READ MULTIPLE */
		if (!(ok = d->multiple != 0))
			break;
		start_to_host(c, d, d->multiple);
		return;
	case 0x30: case 0x31: case 0x3c:           /* WRITE SECTORS, WRITE VERIFY */
		start_from_host(d, 1);
		return;
	case 0xc5:                                 /* WRITE MULTIPLE */
		if (!(ok = d->multiple != 0))
			break;
		start_from_host(d, d->multiple);
		return;
	case 0xec:                                 /* IDENTIFY DEVICE */
		identify(d);
		d->xfer = TO_HOST;
		d->block = 1;
		d->pos = 0;
		d->len = DISK_SECTOR;
		d->status = DRDY | DSC | DRQ;
		ata_interrupt(c, d);
		return;
	case 0x40: case 0x41: {                    /* READ VERIFY SECTORS */
		u64 lba;
		if (d->count == 0)
			d->count = 256;
		ok = !d->disk || in_range(d, &lba, d->count);
		break;
	}
	case 0x10: case 0x70:                      /* RECALIBRATE, SEEK: nothing moves */
		break;
	case 0x90:                                 /* EXECUTE DEVICE DIAGNOSTIC: both drives */
		for (int i = 0; i < 2; i++) {
			struct drive *x = &c->drive[i];
			x->count = 1, x->lba_low = 1;
			x->lba_mid = x->lba_high = x->disk ? 0x00 : 0xff;
			x->device &= ~0x0f;
		}
		d->device = OBSOLETE_ONES;            /* "DEV shall be cleared" (QEMU: the selection stays) */
		d->error = 0x01;                      /* device 0 passed, device 1 passed or absent */
		d->status = DRDY | DSC;
		ata_interrupt(c, d);
		return;
	case 0x91:                                 /* INITIALIZE DEVICE PARAMETERS */
		d->heads = (d->device & 0x0f) + 1;
		d->spt = d->count & 0xff;             /* 0: CHS commands fail until a valid one */
		break;
	case 0xc6: {                               /* SET MULTIPLE MODE */
		u32 n = d->count & 0xff;              /* 0 disables, as in QEMU */
		ok = n <= MAX_MULTIPLE && (n & (n - 1)) == 0;
		if (ok)
			d->multiple = n;
		break;
	}
	case 0xef:                                 /* SET FEATURES */
		ok = set_features(d);
		break;
	case 0xe5: case 0x98:                      /* CHECK POWER MODE: active or idle */
		d->count = 0xff;
		break;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6:   /* STANDBY/IDLE (IMMEDIATE), SLEEP */
	case 0x94: case 0x95: case 0x96: case 0x97: case 0x99:   /* their ATA-2 opcodes */
		dsc = false;                          /* QEMU leaves DSC clear for these */
		break;
	case 0xe7:                                 /* FLUSH CACHE */
		ok = !d->disk || disk_flush(d->disk);
		if (!ok) {
			fpu_protect();
			fprintf(stderr, "lvm: %s: fdatasync failed: %s\n", d->disk->path, strerror(errno));
		}
		break;
	case 0xf8:                                 /* READ NATIVE MAX ADDRESS */
		set_address(d, (d->disk->sectors < LBA28_MAX ? d->disk->sectors : LBA28_MAX) - 1);
		break;
	case 0x24: case 0x25: case 0x27: case 0x29: case 0x34: case 0x35: case 0x39:
	case 0x42: case 0xea:
		log_once(cmd, "(48-bit LBA) not emulated");
		ok = false;
		break;
	case 0xc8: case 0xc9: case 0xca: case 0xcb:
		log_once(cmd, "(DMA) not emulated: no bus-master DMA");
		ok = false;
		break;
	case 0xa0: case 0xa1: case 0x08:           /* PACKET, IDENTIFY PACKET DEVICE, DEVICE RESET */
		ok = false;                           /* an ATA (not ATAPI) device aborts them */
		break;
	default:
		log_once(cmd, "not emulated");
		ok = false;
	}
	if (!ok) {
		abort_command(c, d);
		return;
	}
	d->status = DRDY | (dsc ? DSC : 0);
	ata_interrupt(c, d);
}

/* The end of a block on the Data register: the next block of a read, or the
 * written block to the image. */
void ata_block_done(struct channel *c, struct drive *d)
{
	if (d->xfer == FROM_HOST) {
		d->status = (d->status & ~DRQ) | BSY;
		write_block(c, d);
		return;
	}
	d->status &= ~DRQ;
	if (d->cmd == 0xec)
		d->xfer = NONE;
	else
		read_block(c, d);
}

