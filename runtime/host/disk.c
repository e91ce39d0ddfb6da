/* disk.c: disk images for the IDE drives: raw files named by -hda/-hdb/-drive.
 *
 * A raw image is the disk byte for byte, so a sector is a pread/pwrite at
 * lba * 512: no format layer, no cache of our own.  Writes reach the file (the
 * host's page cache) before the guest hears that they completed, so they survive
 * the monitor being killed; FLUSH CACHE adds fdatasync for the host crashing.
 *
 * Everything that could go wrong with an image is found here, before the guest
 * starts, and reported in one line with EXIT_USAGE: the guest never sees a disk
 * that half works.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "disk.h"

static struct disk slots[DISK_SLOTS];
static bool used[DISK_SLOTS];

static void __attribute__((noreturn, format(printf, 2, 3))) bad(const char *option, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "lvm: %s: ", option);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* QEMU's default geometry, so that a guest sees the same CHS under both: the
 * heads and sectors per track of the first partition that ends on a cylinder
 * boundary in an MBR (if there are at most 16 heads), else 16 heads, 63 sectors
 * and as many cylinders as fit, 2 to 16383. */
static void guess_geometry(struct disk *d)
{
	u8 mbr[DISK_SECTOR];
	if (pread(d->fd, mbr, sizeof mbr, 0) == sizeof mbr && mbr[510] == 0x55 && mbr[511] == 0xaa) {
		for (int i = 0; i < 4; i++) {
			const u8 *p = mbr + 0x1be + 16 * i;
			u32 nr_sects = p[12] | p[13] << 8 | p[14] << 16 | (u32)p[15] << 24;
			unsigned heads = p[5] + 1u, spt = p[6] & 63;
			if (!nr_sects || heads == 1 || !spt)
				continue;
			u64 cyls = d->sectors / (heads * spt);
			if (cyls < 1 || cyls > 16383)
				continue;
			if (heads > 16)
				break;                 /* a BIOS translation: use the default below */
			d->cylinders = cyls, d->heads = heads, d->spt = spt;
			return;
		}
	}
	u64 cyls = d->sectors / (16 * 63);
	d->cylinders = cyls > 16383 ? 16383 : cyls < 2 ? 2 : cyls;
	d->heads = 16;
	d->spt = 63;
}

static void attach(int index, const char *file, bool probe_format, const char *option)
{
	if (index < 0 || index >= DISK_SLOTS)
		bad(option, "index %d out of range: 0 is the primary master, 1 the primary slave "
		    "(the secondary IDE channel is not modelled)", index);
	if (used[index])
		bad(option, "index %d already holds %s", index, slots[index].path);
	if (!*file)
		bad(option, "no image file given");
	int fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		int rfd = open(file, O_RDONLY | O_CLOEXEC);
		if (rfd >= 0) {
			close(rfd);
			bad(option, "the image is read-only: IDE disks are read-write, and lvm writes each "
			    "sector to the image as the guest writes it (QEMU refuses read-only IDE disks "
			    "too); use a writable copy");
		}
	}
	if (fd < 0)
		bad(option, "cannot open the image: %s", strerror(errno));
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		bad(option, "cannot find the image's size: %s", strerror(errno));
	if (size == 0)
		bad(option, "the image is empty: a disk needs at least one 512-byte sector");
	if (size % DISK_SECTOR)
		bad(option, "the image's size, %lld bytes, is not a multiple of 512 (QEMU pads the last "
		    "sector with zeros; lvm refuses, so that a guest write never changes the file's size)",
		    (long long)size);
	if (probe_format) {
		u8 magic[4];
		if (pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "QFI\xfb", 4))
			bad(option, "this is a qcow2 image; lvm reads raw images only "
			    "(qemu-img convert -O raw %s disk.img)", file);
	}
	/* Two writers (another lvm, or this one with the same file twice) would each
	 * see a disk changing under it. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		bad(option, "the image is in use by another lvm (or given twice)");
	struct disk *d = &slots[index];
	*d = (struct disk){ .path = file, .fd = fd, .sectors = (u64)size / DISK_SECTOR };
	guess_geometry(d);
	used[index] = true;
}

void disk_option_hd(int index, const char *file, const char *option)
{
	char what[4200];
	snprintf(what, sizeof what, "%s %s", option, file);
	attach(index, file, true, what);
}

/* -drive file=F[,format=raw][,index=N][,if=ide][,media=disk]: QEMU's spelling; ",,"
 * is a comma inside a value, as in QEMU. */
void disk_option_drive(const char *spec)
{
	char *copy = strdup(spec), *p = copy, *file = NULL;
	int index = -1;
	bool format_given = false;
	char opt[4200];
	snprintf(opt, sizeof opt, "-drive %s", spec);
	while (*p) {
		char *key = p, *val = NULL, *out;
		while (*p && *p != '=' && *p != ',')
			p++;
		if (*p != '=')
			bad(opt, "expected key=value, got '%.*s'", (int)(p - key), key);
		*p++ = 0;
		val = out = p;
		for (;;) {                         /* the value, ",," unescaped */
			if (*p == ',' && p[1] == ',') {
				*out++ = ',';
				p += 2;
			} else if (*p && *p != ',') {
				*out++ = *p++;
			} else {
				break;
			}
		}
		if (*p == ',')
			p++;
		*out = 0;
		if (!strcmp(key, "file")) {
			file = val;
		} else if (!strcmp(key, "format")) {
			if (strcmp(val, "raw"))
				bad(opt, "format=%s: lvm reads raw images only (qemu-img convert -O raw)", val);
			format_given = true;
		} else if (!strcmp(key, "index")) {
			char *end;
			long v = strtol(val, &end, 10);
			if (!*val || *end)
				bad(opt, "index=%s: expected a number", val);
			if (v < 0 || v >= DISK_SLOTS)
				bad(opt, "index %ld out of range: 0 is the primary master, 1 the primary slave "
				    "(the secondary IDE channel is not modelled)", v);
			index = v;
		} else if (!strcmp(key, "if")) {
			if (strcmp(val, "ide"))
				bad(opt, "if=%s: lvm models IDE disks only (if=ide)", val);
		} else if (!strcmp(key, "media")) {
			if (strcmp(val, "disk"))
				bad(opt, "media=%s: lvm models hard disks only (media=disk)", val);
		} else if (!strcmp(key, "readonly")) {
			if (strcmp(val, "off"))
				bad(opt, "readonly=%s: IDE hard disks are read-write (QEMU refuses read-only "
				    "IDE disks too)", val);
		} else {
			bad(opt, "unknown key '%s' (lvm knows file, format, index, if, media)", key);
		}
	}
	if (!file)
		bad(opt, "no file= given");
	if (index < 0) {                           /* QEMU: the first free unit */
		for (index = 0; index < DISK_SLOTS && used[index]; index++)
			;
		if (index == DISK_SLOTS)
			bad(opt, "no free IDE index left (0 and 1 are taken)");
	}
	attach(index, file, !format_given, opt);
	/* `file` points into `copy`: it stays allocated for the run. */
}

struct disk *disk_at(int index)
{
	return index >= 0 && index < DISK_SLOTS && used[index] ? &slots[index] : NULL;
}

bool disk_read(struct disk *d, u64 lba, void *buf, u32 count)
{
	u8 *p = buf;
	size_t left = (size_t)count * DISK_SECTOR;
	off_t off = (off_t)(lba * DISK_SECTOR);
	while (left) {
		ssize_t n = pread(d->fd, p, left, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;                   /* the file shrank under us */
			return false;
		}
		p += n, left -= n, off += n;
	}
	return true;
}

bool disk_write(struct disk *d, u64 lba, const void *buf, u32 count)
{
	const u8 *p = buf;
	size_t left = (size_t)count * DISK_SECTOR;
	off_t off = (off_t)(lba * DISK_SECTOR);
	while (left) {
		ssize_t n = pwrite(d->fd, p, left, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n, left -= n, off += n;
	}
	return true;
}

bool disk_flush(struct disk *d)
{
	while (fdatasync(d->fd) < 0)
		if (errno != EINTR)
			return false;
	return true;
}
