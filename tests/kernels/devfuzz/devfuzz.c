/* devfuzz.c: random device programming, to find what breaks lvm's devices.
 *
 * From a seed (`-append seed=N`), `ops=N` random operations (default 20000; 0:
 * for ever) on every device lvm has: reads and writes of random values at the
 * ports of the 8259A pair and ELCR, the 8254 and port 0x61, COM1, the RTC, the
 * 8042 and port 0x92, the VGA CRTC and Input Status, the IDE channel (string I/O
 * on the Data register included), port 0x80 and a few ports nothing answers;
 * random offsets of the local APIC and I/O APIC pages with the instruction forms
 * kernels use on devices (MOV of each size, ALU, XCHG, BTS, REP STOS/MOVS);
 * stores to the BIOS ROM; now and then HLT (a local APIC timer armed to end it)
 * and IA32_APIC_BASE.  With `paging`, all of it through page tables (4 MiB pages,
 * 1:1).  Interrupts are on throughout; the handler ends each with EOIs to the
 * local APIC and both 8259As.  `only=apic` or `only=ports` keeps to one kind;
 * `spin` is `cli; jmp .` (tests/test_devices.py: Ctrl-A x must end any of these
 * on a terminal).  After the last operation the kernel puts COM1 back, says
 * "devfuzz done", and ends as the seed says: isa-debug-exit, or a reset by the
 * 8042 or port 0x92 (the only writes of those reset paths and of port 0xf4; A20
 * stays on).  It runs under QEMU too (`qemu` on the command line: no wide COM1
 * access, on which QEMU asserts), but QEMU is no oracle here: it resets on an
 * INIT IPI to itself, delivers NMIs lvm does not model, and was seen to take an
 * interrupt at vector -1.
 *
 * What the guest does to itself is its business: vectors the devices are pointed
 * at may be exceptions' (an interrupt there has no error code: the stubs below
 * tell it from a real exception by where CS is on the stack); level-triggered
 * inputs left asserted and fast timers would storm, so after 4 interrupts in one
 * operation the handler returns with IF clear (the next operation sets it again),
 * past the HLT if it came before it.  lvm must never crash, hang, or report a host
 * bug or a guest error (tests/test_devfuzz.py, `make fuzz`).
 */
#include "desc.h"

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u
#define STORM 4

static u32 state = 1, ops = 20000, irqs, since_op;
static int for_qemu;                   /* "qemu": no wide COM1 access (QEMU asserts) */
static const char *cmdline = "";
static u32 buf[2048];

static u32 rnd(void)
{
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

/* `name=value` on the command line: the value, or 0. */
static const char *arg(const char *name)
{
	for (const char *p = cmdline; *p; ) {
		while (*p == ' ')
			p++;
		const char *a = p, *b = name;
		while (*b && *a == *b)
			a++, b++;
		if (!*b && (*a == '=' || *a == ' ' || !*a))
			return *a == '=' ? a + 1 : a;
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

static u32 number(const char *s, u32 dflt)
{
	if (!s || *s < '0' || *s > '9')
		return dflt;
	u32 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static int word_is(const char *s, const char *w)
{
	while (*w && *s == *w)
		s++, w++;
	return !*w && (!*s || *s == ' ');
}

extern char fz_sti[], fz_woken[];          /* around other_op's sti; hlt */

static void hook(struct frame *f)
{
	irqs++;
	*(volatile u32 *)(LAPIC + 0xb0) = 0;
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	if (++since_op > STORM) {
		if (f->eip >= (u32)fz_sti && f->eip < (u32)fz_woken)
			f->eip = (u32)fz_woken;       /* as if the HLT had been woken */
		f->eflags &= ~0x200u;
	}
}

/* Vectors where the CPU pushes an error code: a device's interrupt there pushes
 * none, so CS is the second word on the stack instead of the third; such frames go
 * on through the stub of vector 32 (no error code), real exceptions through their
 * own. */
#define ERR_STUB(v) \
	"fz" #v ": cmpl $0x10, 8(%esp)\n\tje 1f\n\tjmp *vectors+4*32\n1:\tjmp *vectors+4*" #v "\n\t"
asm(".text\n\t"
    ERR_STUB(8) ERR_STUB(10) ERR_STUB(11) ERR_STUB(12) ERR_STUB(13) ERR_STUB(14) ERR_STUB(17));
extern char fz8[], fz10[], fz11[], fz12[], fz13[], fz14[], fz17[];

static void exception(struct frame *f)
{
	printf("exception %u err %x at %x\n", f->vector, f->err, f->eip);
	exit(0x7e);
}

static void trap_entry(struct frame *f)
{
	static const u8 with_err[] = { 8, 10, 11, 12, 13, 14, 17 };
	for (unsigned i = 0; i < sizeof with_err; i++)
		if (f->vector == with_err[i])
			exception(f);                 /* reached only with an error code */
	hook(f);
}

static const struct { u16 base, n; } ports[] = {
	{ 0x20, 2 }, { 0xa0, 2 }, { 0x4d0, 2 },             /* 8259A pair, ELCR */
	{ 0x40, 4 }, { 0x61, 1 },                           /* 8254, port B */
	{ 0x3f8, 8 },                                       /* COM1 */
	{ 0x70, 2 },                                        /* RTC */
	{ 0x60, 1 }, { 0x64, 1 }, { 0x92, 1 },              /* 8042, port A */
	{ 0x3d4, 2 }, { 0x3da, 1 },                         /* VGA */
	{ 0x1f0, 8 }, { 0x3f6, 1 },                         /* IDE */
	{ 0x80, 1 },                                        /* POST */
	{ 0x2f8, 8 }, { 0x170, 8 }, { 0x378, 3 }, { 0x2e8, 8 }, /* nothing */
};

static u16 random_port(void)
{
	u32 i = rnd() % (sizeof ports / sizeof ports[0]);
	return ports[i].base + rnd() % ports[i].n;
}

static int covers(u16 port, int size, u16 p) { return port <= p && p < port + size; }

/* No reset, no A20 off, no isa-debug-exit before the end: an access that covers
 * 0x64 or 0x92 has all its bytes made harmless for both (a wide access is one
 * device's wide register on lvm; QEMU gives each byte to the device, all of them
 * to port 0x92 or the 8042 when the access starts there). */
static u32 tame(u16 port, u32 v, int size)
{
	if (!covers(port, size, 0x64) && !covers(port, size, 0x92))
		return v;
	for (int b = 0; b < size; b++) {
		u32 x = (v >> 8 * b) & 0xff;
		if (x == 0xd1 || x == 0xdd || x >= 0xf0)
			x = 0x20;                      /* 8042: read the command byte instead */
		x = (x | 0x02) & ~0x01u;               /* port 0x92: A20 on, no reset edge */
		v = (v & ~(0xffu << 8 * b)) | x << 8 * b;
	}
	return v;
}

static void port_op(void)
{
	u16 port = random_port();
	u32 v = rnd(), kind = rnd() % 16, n = 1 + rnd() % 64, *p = buf;
	if (port == 0x1f0 && kind < 4)
		n = 1 + rnd() % 1024;                  /* the Data register: blocks and more */
	int size = kind == 1 ? 2 : 4;
	if (for_qemu && port >= 0x3f8 && port < 0x400 && kind < 12)
		kind = 5;
	if ((kind == 1 || kind == 3) && (covers(port, size, 0x64) || covers(port, size, 0x92)))
		kind = 5;                              /* random bytes there could reset */
	switch (kind) {
	case 0: asm volatile("cld; rep insw" : "+D"(p), "+c"(n) : "d"(port) : "memory"); break;
	case 1: asm volatile("cld; rep outsw" : "+S"(p), "+c"(n) : "d"(port) : "memory"); break;
	case 2: asm volatile("cld; rep insl" : "+D"(p), "+c"(n) : "d"(port) : "memory"); break;
	case 3: asm volatile("cld; rep outsl" : "+S"(p), "+c"(n) : "d"(port) : "memory"); break;
	case 4: asm volatile("cld; rep insb" : "+D"(p), "+c"(n) : "d"(port) : "memory"); break;
	case 5: case 6: case 7: buf[0] = inb(port); break;
	case 8: { u16 x; asm volatile("inw %1, %0" : "=a"(x) : "Nd"(port)); buf[0] = x; break; }
	case 9: { u32 x; asm volatile("inl %1, %0" : "=a"(x) : "Nd"(port)); buf[0] = x; break; }
	case 10: asm volatile("outw %0, %1" : : "a"((u16)tame(port, v, 2)), "Nd"(port)); break;
	case 11: asm volatile("outl %0, %1" : : "a"(tame(port, v, 4)), "Nd"(port)); break;
	default: outb(port, tame(port, v, 1)); break;
	}
}

static volatile u32 *reg(u32 base, u32 off) { return (volatile u32 *)(base + off); }

/* One access to the local APIC (mostly a register, sometimes anywhere in its
 * page, any size) or the I/O APIC (IOREGSEL, IOWIN, the EOI register). */
static void mmio_op(void)
{
	u32 base, off, v = rnd(), kind = rnd() % 16;
	if (rnd() % 2) {
		base = LAPIC;
		off = rnd() % 8 ? (rnd() % 0x40) << 4 : rnd() & 0xffc;
	} else {
		base = IOAPIC;
		static const u32 offs[] = { 0x00, 0x10, 0x40, 0x00, 0x10 };
		off = rnd() % 8 ? offs[rnd() % 5] : rnd() & 0xffc;
		if (off == 0 && rnd() % 4)
			v = rnd() % 0x40;                  /* mostly a register that exists */
	}
	volatile u32 *p = reg(base, off);
	u32 x;
	switch (kind) {
	case 0: case 1: case 2: case 3: case 4: *p = v; break;
	case 5: case 6: x = *p; buf[0] = x; break;
	case 7: *(volatile u8 *)((u32)p + (v & 3)) = v >> 8; break;
	case 8: x = *(volatile u16 *)((u32)p + (v & 2)); buf[0] = x; break;
	case 9: asm volatile("orl %1, %0" : "+m"(*p) : "r"(v)); break;
	case 10: asm volatile("addl %1, %0" : "+m"(*p) : "r"(v)); break;
	case 11: asm volatile("xchgl %1, %0" : "+m"(*p), "+r"(v)); break;
	case 12: asm volatile("btsl %1, %0" : "+m"(*p) : "Ir"(v & 31)); break;
	case 13: {
		u32 n = 1 + v % 8, *d = (u32 *)p;
		if (off + 4 * n > 0x1000)
			break;
		asm volatile("cld; rep stosl" : "+D"(d), "+c"(n) : "a"(rnd()) : "memory");
		break;
	}
	case 14: {
		u32 n = 1 + v % 8, *s = (u32 *)p, *d = buf;
		if (off + 4 * n > 0x1000)
			break;
		asm volatile("cld; rep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
		break;
	}
	default:                                        /* a store to the BIOS ROM */
		*(volatile u32 *)(0xf0000 + (rnd() & 0xfffc)) = v;
		break;
	}
}

/* Now and then: HLT, woken by a local APIC timer armed just before (the other
 * sources may all be off), or IA32_APIC_BASE with the APIC on or off. */
static void other_op(void)
{
	if (rnd() % 2) {
		u32 lo = 0xfee00900u & ~(rnd() % 2 ? 0 : 0x800u), hi = 0;
		asm volatile("wrmsr" : : "c"(0x1b), "a"(lo), "d"(hi));
		return;
	}
	u32 lo, hi;
	asm volatile("cli");                       /* its interrupt must come after the HLT */
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
	asm volatile("wrmsr" : : "c"(0x1b), "a"(lo | 0x800u), "d"(hi));
	*reg(LAPIC, 0xf0) = 0x1ff;                 /* SVR: on */
	*reg(LAPIC, 0x80) = 0;                     /* TPR */
	*reg(LAPIC, 0x3e0) = 0xb;                  /* divide by 1 */
	*reg(LAPIC, 0x320) = 0x200f0;              /* timer: periodic, vector 0xf0 */
	*reg(LAPIC, 0x380) = 1000 + rnd() % 100000;
	asm volatile("fz_sti: sti; hlt; fz_woken:"); /* periodic: wakes it even if a tick came first */
	*reg(LAPIC, 0x380) = 0;
}

/* "paging": the same with paging on, everything mapped 1:1 in 4 MiB pages. */
static u32 pd[1024] __attribute__((aligned(4096)));

static void paging_on(void)
{
	for (u32 i = 0; i < 1024; i++)
		pd[i] = i << 22 | 0x83;
	u32 cr;
	asm volatile("mov %%cr4, %0; orl $0x10, %0; mov %0, %%cr4" : "=r"(cr));
	asm volatile("mov %0, %%cr3" : : "r"(pd));
	asm volatile("mov %%cr0, %0; orl $0x80000000, %0; mov %0, %%cr0" : "=r"(cr));
}

static void spin(void)
{
	printf("ready\n");
	asm volatile("cli; 1: jmp 1b");
	__builtin_unreachable();
}

void kmain(u32 magic, u32 *info)
{
	serial_init();
	desc_init();
	trap_hook = trap_entry;
	static void *err_stubs[] = { fz8, fz10, fz11, fz12, fz13, fz14, fz17 };
	static const u8 err_vectors[] = { 8, 10, 11, 12, 13, 14, 17 };
	for (unsigned i = 0; i < sizeof err_vectors; i++)
		set_gate_handler(err_vectors[i], (u32)err_stubs[i]);
	pic_init(0x00, 0x00);
	if (magic == 0x2badb002 && (info[0] & 4))
		cmdline = (const char *)info[4];
	if (arg("spin"))
		spin();
	for_qemu = arg("qemu") != 0;
	state = number(arg("seed"), 1) * 2654435761u | 1;
	ops = number(arg("ops"), ops);
	const char *only = arg("only");
	int apic = only && word_is(only, "apic"), io = only && word_is(only, "ports");
	for (u32 i = 0; i < 64; i++)
		buf[i] = rnd();
	printf("devfuzz seed %u ops %u%s\nready\n", number(arg("seed"), 1), ops,
	       apic ? " apic only" : io ? " ports only" : "");
	if (arg("paging"))
		paging_on();
	for (u32 i = 0; ops == 0 || i < ops; i++) {
		since_op = 0;
		asm volatile("sti");
		if (!apic && !io && rnd() % 128 == 0)
			other_op();
		else if (apic || (!io && rnd() % 3 == 0))
			mmio_op();
		else
			port_op();
	}
	asm volatile("cli");
	outb(0x3fc, 0x03);                             /* COM1: no loopback */
	serial_init();
	printf("devfuzz done\n");
	switch (rnd() % 8) {
	case 0: outb(0x64, 0xfe); break;               /* reset: the 8042's pulse */
	case 1: outb(0x92, 0x03); break;               /* reset: port A's fast reset */
	}
	exit(0);
}
