/* ata.c: the primary IDE channel of a PC (ports 0x1f0-0x1f7 and 0x3f6, IRQ 14):
 * register decoding, drive selection, INTRQ, software reset, the Data register.
 *
 * Register and bit names as in ATA/ATAPI-6 (T13 1410D): the Command Block (Data,
 * Error/Features, Sector Count, LBA Low/Mid/High, Device, Status/Command) and the
 * Control Block (Alternate Status/Device Control).  Both drives latch every
 * register write, as on the cable; the one the Device register's DEV bit selects
 * answers reads and executes commands (ata_drive.c).  Where the spec leaves a
 * choice, we do what QEMU's IDE model does (each such place says so).  Commands
 * complete at once, so BSY is only ever seen during a software reset.
 */
#include <string.h>
#include "../irq.h"
#include "ata.h"

static struct channel primary;

static struct drive *selected(struct channel *c) { return &c->drive[c->selected]; }
static bool any_drive(struct channel *c) { return c->drive[0].disk || c->drive[1].disk; }

/* Which positions answer Error, Status and commands: a drive with a disk, and
 * device 0 whenever device 1 has one.  ATA-6 has no device 1 without a device 0;
 * QEMU's empty device 0 beside a device 1 is a hard disk without a medium (Status
 * DRDY|DSC after a reset, the "no device" signature, commands that need the medium
 * aborted: ata_drive.c), so a kernel waiting for device 0 to be ready goes on.  An
 * absent device 1 has no Error or Status of its own (0) and ignores commands. */
static bool answers(struct channel *c, struct drive *d)
{
	return d->disk || (d->unit == 0 && c->drive[1].disk);
}

/* INTRQ is driven by the selected drive, and only while nIEN is 0: a drive's
 * pending interrupt shows again when nIEN is cleared (QEMU instead drops an
 * interrupt raised while nIEN is set). */
void ata_update_line(struct channel *c)
{
	bool level = selected(c)->intrq && !(c->control & NIEN);
	if (level != c->line) {
		c->line = level;
		irq_line(ATA_IRQ, level);
	}
}

void ata_interrupt(struct channel *c, struct drive *d)
{
	d->intrq = true;
	ata_update_line(c);
}

/* The Data register: `size` bytes from/to the selected drive's block.  Outside a
 * data phase reads return 0 and writes are dropped (QEMU too).  A byte access
 * moves one byte (QEMU ignores it: reads 0xff, drops writes). */
static u32 data_in(struct channel *c, int size)
{
	struct drive *d = selected(c);
	u32 v = 0;
	if (d->xfer != TO_HOST)
		return 0;
	for (int i = 0; i < size && d->pos < d->len; i++)
		v |= (u32)d->buf[d->pos++] << (8 * i);
	if (d->pos == d->len)
		ata_block_done(c, d);
	return v;
}

static void data_out(struct channel *c, u32 v, int size)
{
	struct drive *d = selected(c);
	if (d->xfer != FROM_HOST)
		return;
	for (int i = 0; i < size && d->pos < d->len; i++)
		d->buf[d->pos++] = v >> (8 * i);
	if (d->pos == d->len)
		ata_block_done(c, d);
}

/* A REP INSW/INSL/OUTSW/OUTSL run on the Data register (io.c): up to the end of
 * the current block, what data_in and data_out do element by element. */
static u32 data_string(void *dev, u32 reg, int size, void *buf, u32 count, bool out)
{
	struct channel *c = dev;
	struct drive *d = selected(c);
	if (reg != DATA || d->xfer != (out ? FROM_HOST : TO_HOST))
		return 0;
	u32 n = (d->len - d->pos) / size;              /* 0: an element across the block's end */
	if (n > count)
		n = count;
	if (!buf || !n)
		return n;
	if (out)
		memcpy(d->buf + d->pos, buf, n * size);
	else
		memcpy(buf, d->buf + d->pos, n * size);
	d->pos += n * size;
	if (d->pos == d->len)
		ata_block_done(c, d);
	return n;
}

static u32 command_block_read(void *dev, u32 reg, int size)
{
	struct channel *c = dev;
	struct drive *d = selected(c);
	if (reg == DATA)
		return data_in(c, size);
	/* QEMU's channel with no drive reads 0 everywhere; a position that does not
	 * answer still latched the writes to the other registers. */
	if (!any_drive(c))
		return 0;
	switch (reg) {
	case ERROR_FEATURES: return answers(c, d) ? d->error : 0;
	case SECTOR_COUNT:   return d->count & 0xff;
	case LBA_LOW:        return d->lba_low;
	case LBA_MID:        return d->lba_mid;
	case LBA_HIGH:       return d->lba_high;
	case DEVICE:         return d->device;
	default:
		if (!answers(c, d))
			return 0;
		d->intrq = false;                    /* reading Status acknowledges the interrupt */
		ata_update_line(c);
		return d->status;
	}
}

static void command_block_write(void *dev, u32 reg, u32 v, int size)
{
	struct channel *c = dev;
	if (reg == DATA) {
		data_out(c, v, size);
		return;
	}
	if (reg == STATUS_COMMAND) {
		if (answers(c, selected(c)))          /* else ignored (QEMU too) */
			ata_command(c, selected(c), v);
		return;
	}
	/* A drive busy with a command (or its data) ignores the other registers. */
	if (selected(c)->status & (BSY | DRQ))
		return;
	for (int i = 0; i < 2; i++) {
		struct drive *d = &c->drive[i];
		switch (reg) {
		case ERROR_FEATURES: d->features = v; break;
		case SECTOR_COUNT:   d->count = v & 0xff; break;
		case LBA_LOW:        d->lba_low = v; break;
		case LBA_MID:        d->lba_mid = v; break;
		case LBA_HIGH:       d->lba_high = v; break;
		case DEVICE:         d->device = v | OBSOLETE_ONES; break;
		}
	}
	if (reg == DEVICE) {
		c->selected = !!(v & DEV);
		ata_update_line(c);
	}
}

static u32 control_block_read(void *dev, u32 reg, int size)
{
	struct channel *c = dev;
	struct drive *d = selected(c);
	return answers(c, d) ? d->status : 0;               /* Alternate Status: no acknowledge */
}

/* Device Control: SRST held high keeps both drives BSY; its falling edge resets
 * them (registers, signature, device 0 selected).  No interrupt follows a reset
 * (QEMU raises one when nIEN is 0). */
static void control_block_write(void *dev, u32 reg, u32 v, int size)
{
	struct channel *c = dev;
	bool was = c->control & SRST, now = v & SRST;
	c->control = v;
	if (now) {
		for (int i = 0; i < 2; i++) {
			struct drive *d = &c->drive[i];
			d->intrq = false;
			d->xfer = NONE;
			d->status = BSY;
		}
	} else if (was) {
		for (int i = 0; i < 2; i++)
			ata_reset_drive(&c->drive[i]);
		c->selected = 0;
	}
	ata_update_line(c);
}

void ata_init(void)
{
	struct channel *c = &primary;
	for (int i = 0; i < 2; i++) {
		c->drive[i].unit = i;
		c->drive[i].disk = disk_at(i);
		c->drive[i].write_cache = true;
		ata_reset_drive(&c->drive[i]);
	}
	io_register("ATA primary command block", 0x1f0, 8, c, command_block_read, command_block_write);
	io_register("ATA primary control block", 0x3f6, 1, c, control_block_read, control_block_write);
	io_register_string(0x1f0, data_string);
}
