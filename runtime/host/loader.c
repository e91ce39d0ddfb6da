/* loader.c: a Multiboot (v1) boot loader for ELF32 kernels, as GRUB or QEMU -kernel.
 *
 * The guest gets what the Multiboot specification promises (section 3.2): its
 * PT_LOAD segments at their physical addresses, bss zeroed, EAX = 0x2BADB002,
 * EBX = the physical address of a Multiboot information structure carrying the
 * memory sizes, a BIOS-style memory map and the command line.  Every way a file
 * can fail to be such a kernel is one line naming the problem, before the guest
 * runs; the caller exits non-zero.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "monitor.h"

#define MB_HEADER_MAGIC 0x1badb002
#define MB_BOOT_MAGIC   0x2badb002
#define MB_SEARCH       8192          /* the header lies in the first 8 KiB */
#define MB_FLAG_AOUT_KLUDGE (1u << 16)

/* Multiboot information, where we put it: low memory, below the EBDA, as GRUB does. */
#define MBI_ADDR     0x9000u
#define MBI_CMDLINE  (MBI_ADDR + 0x100)
#define MBI_MMAP     (MBI_ADDR + 0x900)
#define MBI_LOADER   (MBI_ADDR + 0xa00)

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4], mmap_length, mmap_addr;
	u32 drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_mmap { u32 size; u64 addr, len; u32 type; } __attribute__((packed));

static int fail(const char *path, const char *msg)
{
	fprintf(stderr, "lvm: %s: %s\n", path, msg);
	return -1;
}

/* A whole regular file, or NULL after one line on stderr (boot/linux.c uses it too). */
u8 *read_image(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "lvm: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(path, "not a regular file");
		close(fd);
		return NULL;
	}
	u8 *buf = malloc(st.st_size ? st.st_size : 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		free(buf);
		fail(path, buf ? "cannot read it whole" : "too large to read into memory");
		return NULL;
	}
	*len = got;
	return buf;
}

static const u32 *find_header(const u8 *img, size_t len)
{
	for (size_t off = 0; off + 12 <= len && off < MB_SEARCH; off += 4) {
		const u32 *h = (const u32 *)(img + off);
		if (h[0] == MB_HEADER_MAGIC && h[0] + h[1] + h[2] == 0)
			return h;
	}
	return NULL;
}

/* Low memory that is not the kernel's to load into: what the BIOS and lvm keep
 * there, and the 640 KiB-1 MiB hole, which is not RAM on a PC.  QEMU's loader
 * writes a segment there anyway (into VGA memory, over the BIOS); lvm refuses
 * it: its RAM there is the text buffer, or read-only under the ROM and holding
 * the MP tables, and an ELF kernel cannot be moved.  Only bytes no section covers
 * are left out without a word: the ELF and program headers ld often puts in the
 * page before a kernel linked at 1 MiB (nothing of the kernel is there). */
static const struct { u32 start, end; const char *what; } reserved[] = {
	{ 0, 0x1000, "page 0 (the real-mode interrupt table and BIOS data area)" },
	{ MBI_ADDR, MBI_ADDR + 0x1000, "the Multiboot information lvm puts at 0x9000" },
	{ 0x9fc00, 0xa0000, "the extended BIOS data area" },
	{ 0xa0000, 0xc0000, "the 640 KiB-1 MiB hole (VGA memory, not RAM)" },
	{ 0xc0000, 0x100000, "the 640 KiB-1 MiB hole (the BIOS ROM area, read-only)" },
};
#define NRESERVED (sizeof reserved / sizeof reserved[0])

/* Does an allocated section of segment `p` lie in physical [lo, hi)?  Without
 * section headers, assume so. */
static bool section_in(const u8 *img, size_t len, const Elf32_Phdr *p, u64 lo, u64 hi)
{
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)img;
	if (!eh->e_shnum || eh->e_shentsize != sizeof(Elf32_Shdr) || eh->e_shoff > len ||
	    eh->e_shnum > (len - eh->e_shoff) / sizeof(Elf32_Shdr))
		return true;
	const Elf32_Shdr *sh = (const Elf32_Shdr *)(img + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (!(sh[i].sh_flags & SHF_ALLOC) || !sh[i].sh_size || sh[i].sh_addr < p->p_vaddr ||
		    sh[i].sh_addr - p->p_vaddr >= p->p_memsz)
			continue;
		u64 start = (u64)p->p_paddr + (sh[i].sh_addr - p->p_vaddr);
		if (start < hi && start + sh[i].sh_size > lo)
			return true;
	}
	return false;
}

static int refuse(const char *path, u64 start, u64 end, const char *why)
{
	char msg[220];
	snprintf(msg, sizeof msg, "kernel segment %#llx-%#llx %s", (unsigned long long)start,
		 (unsigned long long)end, why);
	return fail(path, msg);
}

/* One PT_LOAD at its physical address, less the reserved bytes no section needs. */
static int load_segment(const char *path, const u8 *img, size_t len, const Elf32_Phdr *p)
{
	u64 start = p->p_paddr, end = start + p->p_memsz;
	for (unsigned i = 0; i < NRESERVED; i++) {
		u64 lo = start > reserved[i].start ? start : reserved[i].start;
		u64 hi = end < reserved[i].end ? end : reserved[i].end;
		if (lo < hi && section_in(img, len, p, lo, hi)) {
			char why[160];
			snprintf(why, sizeof why, "overlaps %s: link the kernel at 1 MiB or above",
				 reserved[i].what);
			return refuse(path, start, end, why);
		}
	}
	for (u64 at = start; at < end; ) {
		u64 next = end;                          /* [at, next): RAM, or reserved */
		bool skip = false;
		for (unsigned i = 0; i < NRESERVED; i++) {
			if (at >= reserved[i].start && at < reserved[i].end)
				skip = true, next = reserved[i].end < end ? reserved[i].end : end;
			else if (reserved[i].start > at && reserved[i].start < next)
				next = reserved[i].start;
		}
		u8 *dst = skip ? NULL : gpa_ptr(at, next - at);
		if (!skip && !dst) {
			char why[80];
			snprintf(why, sizeof why, "does not fit in guest memory (%u MiB; use -m)",
				 mem_size() >> 20);
			return refuse(path, start, end, why);
		}
		u64 off = at - start, n = next - at;
		u64 file = off < p->p_filesz ? (p->p_filesz - off < n ? p->p_filesz - off : n) : 0;
		if (dst) {
			memcpy(dst, img + p->p_offset + off, file);
			memset(dst + file, 0, n - file);
		}
		at = next;
	}
	return 0;
}

static int load_segments(const char *path, const u8 *img, size_t len)
{
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)img;
	if (eh->e_machine != EM_386 || eh->e_type != ET_EXEC)
		return fail(path, "not an i386 executable (ELF e_machine/e_type)");
	if (eh->e_phoff > len || eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf32_Phdr))
		return fail(path, "truncated ELF program headers");
	const Elf32_Phdr *ph = (const Elf32_Phdr *)(img + eh->e_phoff);
	int loaded = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > len ||
		    ph[i].p_filesz > len - ph[i].p_offset)
			return fail(path, "a PT_LOAD segment lies outside the file");
		if (load_segment(path, img, len, &ph[i]) < 0)
			return -1;
		loaded++;
	}
	if (!loaded)
		return fail(path, "no loadable segment");
	return 0;
}

/* The entry point as a physical address.  Multiboot enters with paging off, and a
 * kernel linked high (NetBSD: e_entry 0xc0100000, its first segment at physical 1 MiB)
 * gives a virtual e_entry: like QEMU's loader, translate it through the PT_LOAD
 * segment whose virtual range holds it.  An entry no segment holds is taken as is. */
static u32 entry_address(const u8 *img)
{
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)img;
	const Elf32_Phdr *ph = (const Elf32_Phdr *)(img + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && eh->e_entry >= ph[i].p_vaddr &&
		    eh->e_entry - ph[i].p_vaddr < ph[i].p_memsz)
			return eh->e_entry - ph[i].p_vaddr + ph[i].p_paddr;
	return eh->e_entry;
}

static void build_info(const char *path, const char *cmdline)
{
	struct mb_info *mbi = gpa_ptr(MBI_ADDR, sizeof *mbi);
	memset(mbi, 0, sizeof *mbi);
	/* mem, boot device, cmdline, mmap, loader name.  The boot device is QEMU's: BIOS
	 * drive 0x80, no partition (NetBSD takes its root disk from it). */
	mbi->flags = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 6 | 1 << 9;
	mbi->boot_device = 0x8000ffff;
	mbi->mem_lower = 639;
	mbi->mem_upper = (mem_size() >> 10) - 1024;

	char *cl = gpa_ptr(MBI_CMDLINE, 0x800);
	snprintf(cl, 0x800, "%s%s%s", path, cmdline && *cmdline ? " " : "", cmdline ? cmdline : "");
	mbi->cmdline = MBI_CMDLINE;

	struct mb_mmap map[] = {
		{ 20, 0, 0x9fc00, 1 },                              /* conventional memory */
		{ 20, 0x9fc00, 0x400, 2 },                          /* EBDA */
		{ 20, 0xf0000, 0x10000, 2 },                        /* BIOS */
		{ 20, 0x100000, mem_size() - 0x100000, 1 },         /* extended memory */
		{ 20, 0xfec00000, 0x1000, 2 },                      /* I/O APIC */
		{ 20, 0xfee00000, 0x1000, 2 },                      /* local APIC */
	};
	memcpy(gpa_ptr(MBI_MMAP, sizeof map), map, sizeof map);
	mbi->mmap_addr = MBI_MMAP;
	mbi->mmap_length = sizeof map;
	strcpy(gpa_ptr(MBI_LOADER, 16), "lvm");
	mbi->boot_loader_name = MBI_LOADER;
}

int load_multiboot(const char *path, const char *cmdline, struct lvm_regs *r)
{
	size_t len;
	u8 *img = read_image(path, &len);
	if (!img)
		return -1;
	int rc = -1;
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)img;
	if (len < 4 || memcmp(img, ELFMAG, SELFMAG))
		fail(path, "not an ELF file (a Multiboot ELF32 kernel is expected)");
	else if (len < sizeof *eh)
		fail(path, "truncated ELF header");
	else if (img[EI_CLASS] == ELFCLASS64)
		fail(path, "64-bit ELF: lvm runs 32-bit (i386) kernels");
	else if (img[EI_CLASS] != ELFCLASS32 || img[EI_DATA] != ELFDATA2LSB)
		fail(path, "not a little-endian ELF32 file");
	else if (!find_header(img, len))
		fail(path, "no Multiboot header in the first 8 KiB (magic 0x1badb002)");
	else if (find_header(img, len)[1] & MB_FLAG_AOUT_KLUDGE)
		fail(path, "Multiboot a.out kludge (flag 16) is not supported: link an ELF kernel");
	else if (load_segments(path, img, len) == 0) {
		build_info(path, cmdline);
		memset(r, 0, sizeof *r);
		r->eax = MB_BOOT_MAGIC;
		r->ebx = MBI_ADDR;
		r->eip = entry_address(img);
		r->eflags = 0x2;
		/* Undefined by the spec: the top of the information's page, which no
		 * segment overlaps (the first entry writes 24 bytes below it). */
		r->esp = MBI_ADDR + 0x1000;
		rc = 0;
	}
	free(img);
	return rc;
}
