/* boot/linux.c: Linux's 32-bit boot protocol (Documentation/x86/boot.rst), as a
 * boot loader that skips the real-mode setup code would do it.
 *
 * A bzImage is a boot sector and `setup_sects` sectors of real-mode setup code,
 * then the protected-mode kernel (the decompressor and its payload).  We never run
 * the real-mode part: we do what it would have done and enter the protected-mode
 * kernel at its 32-bit entry with %esi pointing at a `struct boot_params` (the
 * "zero page") holding the setup header copied from the file, an E820 memory map
 * built from -m, the command line and the initrd's place and size.  The CPU state
 * is the one the protocol prescribes: protected mode, paging off, interrupts off,
 * a GDT with flat 4 GiB code at __BOOT_CS (0x10) and data at __BOOT_DS (0x18),
 * those loaded in CS and DS/ES/SS, %ebp/%edi/%ebx zero.  Every way the file or the
 * initrd can be unusable is one line before the guest runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "monitor.h"
#include "boot/linux.h"

/* Where we put what the real-mode setup code would have: below the EBDA, as
 * boot loaders put the real-mode part (0x90000). */
#define ZERO_PAGE   0x90000u
#define BOOT_GDT    0x91000u
#define CMDLINE     0x92000u
#define CMDLINE_MAX 0x2000u
#define RESERVETOP  "reservetop=4M"

/* struct boot_params offsets (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ALT_MEM_K     0x1e0
#define BP_E820_ENTRIES  0x1e8
#define BP_HDR           0x1f1
#define BP_E820_TABLE    0x2d0
/* struct setup_header, at 0x1f1 in both the file and the zero page. */
#define HDR_SETUP_SECTS  0x1f1
#define HDR_BOOT_FLAG    0x1fe
#define HDR_JUMP_END     0x201        /* 0x202 + this byte = the header's end */
#define HDR_MAGIC        0x202
#define HDR_VERSION      0x206
#define HDR_LOADER_TYPE  0x210
#define HDR_LOADFLAGS    0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK      0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END     0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_MAX   0x22c
#define HDR_XLOADFLAGS   0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE    0x260
#define LOADED_HIGH      0x01
#define CAN_USE_HEAP     0x80
#define XLF_KERNEL_64    0x01
#define BOOT_CS 0x10
#define BOOT_DS 0x18

static bool booted_linux;

static int fail(const char *path, const char *msg)
{
	fprintf(stderr, "lvm: %s: %s\n", path, msg);
	return -1;
}

static u32 le32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }
static u16 le16(const u8 *p) { return p[0] | p[1] << 8; }

static bool is_bzimage(const u8 *img, size_t len)
{
	return len >= 0x264 && le32(img + HDR_MAGIC) == 0x53726448;     /* "HdrS" */
}

static void e820(u8 *zp)
{
	struct { u64 addr, size; u32 type; } __attribute__((packed)) map[] = {
		{ 0, 0x9fc00, 1 },                            /* conventional memory */
		{ 0x9fc00, 0x400, 2 },                        /* EBDA */
		{ 0xf0000, 0x10000, 2 },                      /* BIOS */
		{ 0x100000, mem_size() - 0x100000, 1 },       /* extended memory */
		{ 0xfec00000, 0x1000, 2 },                    /* I/O APIC */
		{ 0xfee00000, 0x1000, 2 },                    /* local APIC */
	};
	memcpy(zp + BP_E820_TABLE, map, sizeof map);
	zp[BP_E820_ENTRIES] = sizeof map / sizeof map[0];
	u32 ext_k = (mem_size() >> 10) - 1024;
	memcpy(zp + BP_ALT_MEM_K, &ext_k, 4);
}

/* The initrd as high as the kernel allows, page aligned, above the kernel's
 * decompression area. */
static int place_initrd(const char *path, u8 *zp, u32 kernel_end)
{
	size_t len;
	u8 *rd = read_image(path, &len);
	if (!rd)
		return -1;
	u32 max = le32(zp + HDR_INITRD_MAX);              /* last byte usable */
	u64 top = (u64)max + 1 < mem_size() ? (u64)max + 1 : mem_size();
	if (len == 0 || len > top || ((top - len) & ~0xfffull) < kernel_end) {
		char msg[200];
		snprintf(msg, sizeof msg, "initrd of %zu bytes does not fit between the kernel "
			 "(ends at %#x) and %#llx, the highest address this kernel takes one at "
			 "(use -m)", len, kernel_end, (unsigned long long)top);
		free(rd);
		return fail(path, len ? msg : "empty initrd");
	}
	u32 at = (top - len) & ~0xfffull;
	memcpy(gpa_ptr(at, len), rd, len);
	free(rd);
	memcpy(zp + HDR_RAMDISK, &at, 4);
	u32 size = len;
	memcpy(zp + HDR_RAMDISK_SIZE, &size, 4);
	return 0;
}

static int load(const char *path, const u8 *img, size_t len, const char *cmdline,
		const char *initrd, struct lvm_regs *r)
{
	char msg[200];
	u16 version = le16(img + HDR_VERSION);
	if (le16(img + HDR_BOOT_FLAG) != 0xaa55)
		return fail(path, "bzImage without the 0xAA55 boot flag");
	if (version < 0x0206) {
		snprintf(msg, sizeof msg, "Linux boot protocol %u.%02u is older than 2.06, the "
			 "oldest lvm loads", version >> 8, version & 0xff);
		return fail(path, msg);
	}
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return fail(path, "a zImage (loaded low): lvm loads bzImages only");
	if (le16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64)
		return fail(path, "a 64-bit kernel: lvm runs 32-bit (i386) kernels");
	u32 setup = (img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4) + 1;
	if ((size_t)setup * 512 >= len)
		return fail(path, "truncated bzImage (no protected-mode kernel after the setup code)");
	u32 pm_len = len - setup * 512, load = le32(img + HDR_CODE32_START);
	u32 init_size = le32(img + HDR_INIT_SIZE);
	if (init_size < pm_len)
		init_size = pm_len;
	if (load < 0x100000 || !gpa_ptr(load, init_size)) {
		snprintf(msg, sizeof msg, "the kernel needs %#x-%#x, beyond guest memory (%u MiB; "
			 "use -m)", load, load + init_size, mem_size() >> 20);
		return fail(path, msg);
	}
	/* The top two pages of the address space are lvm's (the vCPU page and the
	 * monitor's entry), where Linux puts its fixmap: reservetop= moves the fixmap
	 * below them (Linux rounds it to 4 MiB).  Added unless the user gave one. */
	char full[CMDLINE_MAX + 32];
	if (!cmdline)
		cmdline = "";
	bool given = strstr(cmdline, "reservetop=") != NULL;
	snprintf(full, sizeof full, "%s%s%s", cmdline, given || !*cmdline ? "" : " ",
		 given ? "" : RESERVETOP);
	cmdline = full;
	size_t cl_len = strlen(cmdline);
	u32 cl_max = le32(img + HDR_CMDLINE_SIZE);
	if (cl_len > cl_max || cl_len >= CMDLINE_MAX) {
		snprintf(msg, sizeof msg, "command line of %zu bytes is longer than this kernel "
			 "takes (%u)", cl_len, cl_max);
		return fail(path, msg);
	}
	memcpy(gpa_ptr(load, pm_len), img + setup * 512, pm_len);

	u8 *zp = gpa_ptr(ZERO_PAGE, 0x1000);
	memset(zp, 0, 0x1000);
	u32 hdr_end = 0x202 + img[HDR_JUMP_END];
	if (hdr_end > 0x1000 || hdr_end > len)
		return fail(path, "setup header runs past its page");
	memcpy(zp + BP_HDR, img + BP_HDR, hdr_end - BP_HDR);
	e820(zp);
	zp[HDR_LOADER_TYPE] = 0xff;                         /* no registered loader id */
	zp[HDR_LOADFLAGS] &= ~CAN_USE_HEAP;                 /* no real-mode heap: never ran */
	memset(zp + HDR_HEAP_END, 0, 2);
	char *cl = gpa_ptr(CMDLINE, CMDLINE_MAX);
	memcpy(cl, cmdline, cl_len + 1);
	u32 clp = CMDLINE;
	memcpy(zp + HDR_CMD_LINE_PTR, &clp, 4);
	if (initrd && place_initrd(initrd, zp, load + init_size) < 0)
		return -1;

	/* The GDT the protocol asks for: flat code at 0x10, flat data at 0x18. */
	u64 *gdt = gpa_ptr(BOOT_GDT, 4 * 8);
	gdt[0] = gdt[1] = 0;
	gdt[2] = 0x00cf9a000000ffffull;
	gdt[3] = 0x00cf92000000ffffull;
	memset(r, 0, sizeof *r);
	r->esi = ZERO_PAGE;
	r->eip = load;
	r->eflags = 0x2;
	r->esp = ZERO_PAGE;          /* unused by the protocol: below the zero page */
	booted_linux = true;
	return 0;
}

/* LINUX_NOT_BZIMAGE if `path` is no bzImage (the caller tries Multiboot), else
 * 0, or -1 after one line on stderr. */
int load_linux(const char *path, const char *cmdline, const char *initrd, struct lvm_regs *r)
{
	size_t len;
	u8 *img = read_image(path, &len);
	if (!img)
		return -1;
	int rc = is_bzimage(img, len) ? load(path, img, len, cmdline, initrd, r) : LINUX_NOT_BZIMAGE;
	free(img);
	return rc;
}

/* After segments_reset(): the protocol's GDT and selectors. */
void linux_boot_segments(void)
{
	if (!booted_linux)
		return;
	cpu.gdtr = (struct table_reg){ .base = BOOT_GDT, .limit = 4 * 8 - 1 };
	for (int s = 0; s < 6; s++) {
		cpu.seg[s].sel = s == LVM_CS ? BOOT_CS : BOOT_DS;
		VCPU->sel[s] = cpu.seg[s].sel;
	}
}
