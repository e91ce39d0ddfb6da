/* monitor.h: what the monitor's files share (host side only; the guest contract is lvm/vcpu.h). */
#ifndef LVM_MONITOR_H
#define LVM_MONITOR_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "lvm/vcpu.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* Exit statuses of the monitor (the guest's own, through port 0xf4, are odd). */
enum { EXIT_POWEROFF = 0, EXIT_USAGE = 2, EXIT_BAD_KERNEL = 3, EXIT_GUEST_ERROR = 4, EXIT_HOST_BUG = 70 };

#define VCPU ((struct lvm_vcpu *)(uintptr_t)LVM_VCPU_ADDR)
#define TRAMPOLINE_ADDR ((u32)LVM_MONITOR_ENTRY)   /* 64-bit entry stub, below 4 GiB */
#define HOST_CS LVM_MONITOR_SEL
#define GUEST_CS 0x23
#define GUEST_DS 0x2b

/* A segment register as the guest's descriptor made it (hidden part included). */
struct segment {
	u16 sel;
	u32 base, limit;
	u16 attr;            /* descriptor bits 40-47 and 52-55 */
};

struct table_reg { u32 base; u16 limit; };

/* Host-private CPU state: what the vCPU page does not carry. */
struct cpu {
	struct segment seg[6];          /* ES CS SS DS FS GS, order of enum lvm_sreg */
	struct segment ldtr, tr;
	struct table_reg gdtr, idtr;
	bool sti_shadow;                /* no interrupt before the next instruction (sti, mov ss) */
	struct lvm_regs *fault_regs;    /* while emulating: the state to report a fault with */
	u32 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 tsc_offset;
};
extern struct cpu cpu;

/* memory.c: guest physical memory */
int mem_init(u32 size_bytes);
u32 mem_size(void);
void *gpa_ptr(u32 gpa, u32 len);             /* NULL if [gpa, gpa+len) is not RAM */
void firmware_init(void);                    /* firmware.c: BDA, EBDA, MP tables */
bool guest_read(u32 linear, void *dst, u32 len);
bool guest_write(u32 linear, const void *src, u32 len);

/* loader.c */
int load_multiboot(const char *path, const char *cmdline, struct lvm_regs *r);
u8 *read_image(const char *path, size_t *len);

/* switch.S + entry.c: world switches; the two lvm_enter_guest return only when a
 * host event came after the last check_interrupts() */
void lvm_enter_guest(const struct lvm_regs *r, u32 ds_es);
void lvm_enter_guest_fast(const struct lvm_regs *r, u32 ds_es);
void resume(struct lvm_regs *r) __attribute__((noreturn));
int entry_init(void);

/* emulate.c: false (and r unchanged) if the instruction is not one we emulate */
bool emulate(struct lvm_regs *r, u32 site);
void fetch_failed(struct lvm_regs *r) __attribute__((noreturn));   /* decode() could not read */

/* vcpupage.c: the vCPU page as a mirror of the monitor's own copy */
void vcpu_page_leave(void);
void vcpu_page_entered(void);
struct lvm_regs vcpu_page_take_saved(void);

/* signals.c, guestsig.c: trap mode, native faults, system calls; resume.c: resume() enters the guest */
int signals_init(void);
int allowlist_install(void);                 /* allowlist.c: the monitor's seccomp filter */

/* irq.c: interrupt sources and the wait of HLT */
void wait_for_interrupt(struct lvm_regs *r);

/* segments.c */
void segments_reset(void);

/* ioport.c: the port bus */
typedef u32 (*io_read_fn)(void *dev, u32 offset, int size);
typedef void (*io_write_fn)(void *dev, u32 offset, u32 value, int size);
int io_register(const char *name, u16 base, u16 len, void *dev, io_read_fn rd, io_write_fn wr);
u32 io_in(u16 port, int size);
void io_out(u16 port, u32 value, int size);
/* Optional, for block devices: a REP INS/OUTS run at once.  The hook with buf NULL
 * says how many of `count` elements it would move now; with a buffer, moves them. */
typedef u32 (*io_string_fn)(void *dev, u32 offset, int size, void *buf, u32 count, bool out);
void io_register_string(u16 port, io_string_fn fn);
u32 io_string(u16 port, int size, void *buf, u32 count, bool out);

/* devices */
void uart_init(void);
void rtc_init(void);
void cmos_set(u8 index, u8 value);           /* CMOS RAM a device fills in (disk types...) */
void i8042_init(void);
void debugexit_init(void);
void post_init(void);
void vga_init(void);

/* fpu.c: call before anything that may run libc code using SSE (printf...) */
void fpu_protect(void);
void fpu_forget(void);
extern u8 guest_fpu[512];
extern u8 *guest_frame_fpu;                  /* signals.c: the frame being handled, or NULL */
void fpu_guest_get(u8 *img);                 /* 512 bytes, 16-aligned */
void fpu_guest_set(const u8 *img);

/* report.c: one error path for a misbehaving guest, another for our own bugs */
void kill_guest(const struct lvm_regs *r, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
void unimplemented_once(const char *what);
void guest_complaint(const char *device, const char *what);   /* once per `what` */
void host_bug(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void trace_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
