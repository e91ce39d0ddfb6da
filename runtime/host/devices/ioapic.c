/* ioapic.c: the I/O APIC at 0xfec00000 (Intel 82093AA datasheet), 24 inputs.
 *
 * Register names as in the datasheet: IOREGSEL and IOWIN in the page, and behind
 * them IOAPICID, IOAPICVER, IOAPICARB and the redirection table IOREDTBL[0..23]
 * (vector, delivery mode, destination mode, delivery status, polarity, remote IRR,
 * trigger mode, mask, destination).  Version 0x20 adds the EOI register at 0x40.
 *
 * Wiring as on QEMU's PC and in our MP table: ISA IRQ 0 (the PIT) on input 2, the
 * other ISA IRQs on the input of the same number.  Edge-triggered inputs send
 * their vector on each rising edge; level-triggered ones while asserted, once
 * until the local APIC's EOI clears Remote IRR.  With one CPU, every destination
 * is the vCPU.  Reading IOWIN has no side effect, so the mirror page holds
 * IOREGSEL and the selected register's value: reads run natively.
 */
#include "../monitor.h"
#include "../irq.h"
#include "../mmio.h"

#define IOAPIC_BASE 0xfec00000u
#define NPINS 24
#define RED_MASKED (1ull << 16)
#define RED_LEVEL (1ull << 15)
#define RED_REMOTE_IRR (1ull << 14)
#define RED_RO (RED_REMOTE_IRR | (1ull << 12))
enum { IOREGSEL = 0x00, IOWIN = 0x10, EOIR = 0x40 };
enum { IOAPICID = 0, IOAPICVER = 1, IOAPICARB = 2, IOREDTBL = 0x10 };

static struct ioapic {
	u32 regsel, id;
	u64 red[NPINS];
	bool level[NPINS];
	u8 *mirror;
} io;

static u32 reg_value(u32 sel)
{
	switch (sel) {
	case IOAPICID:  return io.id << 24;
	case IOAPICVER: return 0x20 | (NPINS - 1) << 16;
	case IOAPICARB: return io.id << 24;
	}
	if (sel >= IOREDTBL && sel < IOREDTBL + 2 * NPINS) {
		u64 e = io.red[(sel - IOREDTBL) / 2];
		return sel & 1 ? e >> 32 : (u32)e;
	}
	return 0;
}

static void update_mirror(void)
{
	*(volatile u32 *)(io.mirror + IOREGSEL) = io.regsel;
	*(volatile u32 *)(io.mirror + IOWIN) = reg_value(io.regsel);
}

/* Send input `pin`'s vector if it should go now. */
static void service(int pin)
{
	u64 e = io.red[pin];
	if ((e & RED_MASKED) || !io.level[pin])
		return;
	u32 mode = (e >> 8) & 7;
	if (mode != 0 && mode != 1) {              /* fixed, lowest priority */
		guest_complaint("I/O APIC", "asked for SMI, NMI, INIT or ExtINT delivery: only fixed "
				"and lowest priority are modelled");
		return;
	}
	if (e & RED_LEVEL) {
		if (e & RED_REMOTE_IRR)
			return;
		io.red[pin] |= RED_REMOTE_IRR;
	}
	lapic_accept(e & 0xff, e & RED_LEVEL);
	update_mirror();
}

void ioapic_set_isa_irq(int isa_irq, bool level)
{
	int pin = isa_irq == 0 ? 2 : isa_irq;
	if (pin >= NPINS)
		return;
	bool rising = level && !io.level[pin];
	io.level[pin] = level;
	if (rising || (level && (io.red[pin] & RED_LEVEL)))
		service(pin);
}

void ioapic_eoi(int vector)
{
	for (int pin = 0; pin < NPINS; pin++)
		if ((io.red[pin] & 0xff) == (u32)vector && (io.red[pin] & RED_REMOTE_IRR)) {
			io.red[pin] &= ~RED_REMOTE_IRR;
			update_mirror();
			if (io.red[pin] & RED_LEVEL)
				service(pin);
		}
}

static void write_reg(u32 sel, u32 v)
{
	if (sel == IOAPICID) {
		io.id = (v >> 24) & 0xf;
	} else if (sel >= IOREDTBL && sel < IOREDTBL + 2 * NPINS) {
		int pin = (sel - IOREDTBL) / 2;
		u64 e = io.red[pin];
		if (sel & 1)
			e = (e & 0xffffffffull) | (u64)(v & 0xff000000u) << 32;
		else
			e = (e & ~0xffffffffull & ~0ull) | (e & RED_RO) | (v & ~(u32)RED_RO);
		io.red[pin] = e;
		/* (ExtINT's vector comes from the 8259A: Linux leaves 0 there when it
		 * puts the system back in virtual-wire mode to reboot.) */
		if (!(sel & 1) && (v & 0xff) < 16 && !(v & RED_MASKED) && ((v >> 8) & 7) < 2)
			guest_complaint("I/O APIC", "routed an input to a reserved vector (0-15): it is dropped");
		service(pin);                          /* unmasking a level input fires it */
	}
	update_mirror();
}

static void ioapic_write(void *dev, u32 off, u32 v, int size)
{
	(void)dev, (void)size;
	switch (off) {
	case IOREGSEL: io.regsel = v & 0xff; update_mirror(); break;
	case IOWIN:    write_reg(io.regsel, v); break;
	case EOIR:     ioapic_eoi(v & 0xff); break;
	}
}

static u32 ioapic_read(void *dev, u32 off, int size)
{
	(void)dev, (void)size;
	return off == IOREGSEL ? io.regsel : off == IOWIN ? reg_value(io.regsel) : 0;
}

void ioapic_init(void)
{
	for (int i = 0; i < NPINS; i++)
		io.red[i] = RED_MASKED;
	io.mirror = mmio_register("I/O APIC", IOAPIC_BASE, 0x1000, &io, ioapic_read,
				  ioapic_write, true);
	update_mirror();
}
