/* desc.h: GDT, IDT and TSS for the test kernels, laid out like the host's where it
 * matters (kernel 0x10/0x18, user code 0x23, user data 0x2b), and the trap frame of vectors.S. */
#ifndef DESC_H
#define DESC_H
#include "k.h"

#define KCODE 0x10          /* with KDATA, UCODE, UDATA: SYSENTER_CS = KCODE works */
#define KDATA 0x18
#define UCODE 0x23
#define UDATA 0x2b
#define TSSSEL 0x30
#define SPARE 0x38          /* GDT slots 7.. are free for tests */

struct frame {
	u32 edi, esi, ebp, esp0, ebx, edx, ecx, eax;   /* pushal */
	u32 ds, es;
	u32 vector, err;
	u32 eip, cs, eflags;
	u32 uesp, uss;                                  /* only from CPL 3 */
};

extern unsigned long long gdt[16];
extern struct tss { u32 link, esp0, ss0, esp1, ss1, esp2, ss2, rest[18]; u16 t, iomap; } tss;

void desc_init(void);                      /* GDT, TSS, IDT: every vector to trap() */
void set_gate(int vector, int type, int dpl);   /* type 0xe interrupt, 0xf trap */
void set_gate_present(int vector, int present);
void set_gate_handler(int vector, u32 offset);    /* after set_gate */
void set_gdt(int index, u32 base, u32 limit, int type, int dpl);   /* type: 0x9a code, 0x92 data... */
extern void (*trap_hook)(struct frame *f);
void enter_user(u32 eip, u32 esp) __attribute__((noreturn));
void pic_init(u8 master_mask, u8 slave_mask);   /* 8259A pair at vectors 0x20/0x28 */
void load_user(void);                      /* copy user_image[] (user.S) to USER_BASE */

static inline void wrmsr(u32 msr, u32 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"(v), "d"(0));
}

/* lib/sysenter.c: SYSENTER_CS/ESP/EIP set, `hook` called at each sysenter with the
 * registers as pushal left them (and the flags); its value is user code's %eax. */
struct sysregs { u32 edi, esi, ebp, esp, ebx, edx, ecx, eax, eflags; };
void sysenter_init(u32 (*hook)(struct sysregs *r));
void sysenter_entry(void);

static inline unsigned long long rdtsc(void)
{
	unsigned int lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (unsigned long long)hi << 32 | lo;
}

/* Benchmarks: "op NAME CYCLES-PER-OP", the lines bench/ops.py and mmu.py parse. */
void report_cycles(const char *name, unsigned long long cycles, u32 n);
#endif
