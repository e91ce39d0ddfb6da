/* i8259.c: the two cascaded Intel 8259A programmable interrupt controllers (PC AT).
 *
 * Register and command names as in the 8259A datasheet: ICW1-ICW4 initialization,
 * OCW1 (IMR), OCW2 (EOI, specific EOI), OCW3 (read IRR/ISR, special mask not
 * modelled).  Edge-triggered inputs (the PC's ISA default), or level-triggered
 * ones: all of a chip's with ICW1.LTIM, or per input with the edge/level control
 * registers (ELCR, ports 0x4d0/0x4d1, as on PCI-era PCs and QEMU; inputs 0-2, 8
 * and 13 stay edge).  A level input requests while its line is high, again after
 * each EOI.  Fixed priority with IRQ 0 highest, the slave on master input 2,
 * automatic EOI, and the spurious IRQ 7 / 15 a real PIC answers when the request
 * vanished before the acknowledge.
 */
#include "../monitor.h"
#include "../irq.h"

struct pic {
	u8 irr, isr, imr;
	u8 vector_base;          /* ICW2 */
	u8 icw_step;             /* 0: ready; 2..4: next ICW expected */
	bool icw4_needed, auto_eoi, read_isr, ltim;
	u8 lines;                /* input levels, for edge detection */
	u8 elcr, elcr_mask;      /* level-triggered inputs; which may be */
};

static struct pic pics[2] = { { .imr = 0xff, .elcr_mask = 0xf8 }, { .imr = 0xff, .elcr_mask = 0xde } };

static u8 level_inputs(const struct pic *p) { return p->ltim ? 0xff : p->elcr; }

/* Highest-priority pending request that beats everything in service; -1 if none. */
static int best(const struct pic *p)
{
	u8 req = p->irr & ~p->imr;
	for (int i = 0; i < 8; i++) {
		if (p->isr & (1u << i))
			return -1;
		if (req & (1u << i))
			return i;
	}
	return -1;
}

static void update_irq(void)
{
	for (int i = 0; i < 2; i++)              /* a level input requests while high */
		pics[i].irr |= pics[i].lines & level_inputs(&pics[i]) & ~pics[i].isr;
	/* The slave's output is the master's input 2. */
	bool slave_out = best(&pics[1]) >= 0;
	if (slave_out && !(pics[0].lines & 4))
		pics[0].irr |= 4;
	pics[0].lines = (pics[0].lines & ~4) | (slave_out ? 4 : 0);
	irq_update_pending(best(&pics[0]) >= 0);
}

void pic_set_irq(int irq, bool level)
{
	struct pic *p = &pics[irq >> 3];
	u8 bit = 1u << (irq & 7);
	if (level && !(p->lines & bit))
		p->irr |= bit;                       /* rising edge */
	if (!level && (level_inputs(p) & bit))
		p->irr &= ~bit;                      /* a level request ends with the line */
	p->lines = level ? p->lines | bit : p->lines & ~bit;
	update_irq();
}

/* Is `irq` requested and not yet acknowledged (a new edge would merge into it)? */
bool pic_irq_busy(int irq)
{
	return pics[irq >> 3].irr & (1u << (irq & 7));
}

bool pic_irq_masked(int irq)
{
	return pics[irq >> 3].imr & (1u << (irq & 7));
}

bool pic_pending(void)
{
	return best(&pics[0]) >= 0;
}

/* The INTA cycle: the vector of the highest request, moved from IRR to ISR. */
int pic_acknowledge(void)
{
	struct pic *m = &pics[0];
	int irq = best(m);
	if (irq < 0)
		return m->vector_base + 7;           /* spurious IRQ 7 */
	m->irr &= ~(1u << irq);
	if (!m->auto_eoi)
		m->isr |= 1u << irq;
	int vector = m->vector_base + irq;
	if (irq == 2) {
		struct pic *s = &pics[1];
		int sirq = best(s);
		if (sirq < 0) {
			vector = s->vector_base + 7;     /* spurious IRQ 15 */
		} else {
			s->irr &= ~(1u << sirq);
			if (!s->auto_eoi)
				s->isr |= 1u << sirq;
			vector = s->vector_base + sirq;
		}
	}
	update_irq();
	return vector;
}

static u32 pic_read(void *dev, u32 reg, int size)
{
	struct pic *p = dev;
	if (reg == 1)
		return p->imr;
	return p->read_isr ? p->isr : p->irr;
}

static void pic_write(void *dev, u32 reg, u32 v, int size)
{
	struct pic *p = dev;
	if (reg == 0 && (v & 0x10)) {                         /* ICW1 */
		p->icw_step = 2;
		p->icw4_needed = v & 1;
		p->ltim = v & 8;
		if (v & 2)
			unimplemented_once("8259A single mode (ICW1.SNGL)");
		p->imr = 0, p->isr = 0, p->irr = 0, p->auto_eoi = false, p->read_isr = false;
	} else if (reg == 1 && p->icw_step) {
		if (p->icw_step == 2) {
			p->vector_base = v & 0xf8;               /* ICW2 */
			p->icw_step = 3;
		} else if (p->icw_step == 3) {
			p->icw_step = p->icw4_needed ? 4 : 0;     /* ICW3: cascade wiring, fixed */
		} else {
			p->auto_eoi = v & 2;                      /* ICW4 */
			p->icw_step = 0;
		}
	} else if (reg == 1) {
		p->imr = v;                                   /* OCW1 */
	} else if ((v & 0x18) == 0) {                         /* OCW2 */
		u8 cmd = v >> 5;
		if (cmd == 1) {                               /* non-specific EOI */
			for (int i = 0; i < 8; i++)
				if (p->isr & (1u << i)) {
					p->isr &= ~(1u << i);
					break;
				}
		} else if (cmd == 3) {                        /* specific EOI */
			p->isr &= ~(1u << (v & 7));
		} else if (cmd != 0 && cmd != 2 && cmd != 6) {
			unimplemented_once("8259A rotating priority (OCW2)");
		}
	} else if ((v & 0x18) == 0x08) {                      /* OCW3 */
		if (v & 2)
			p->read_isr = v & 1;
		if (v & 0x40)
			unimplemented_once("8259A special mask mode (OCW3)");
	}
	update_irq();
}

static u32 elcr_read(void *dev, u32 reg, int size)
{
	(void)dev, (void)size;
	return pics[reg].elcr;
}

static void elcr_write(void *dev, u32 reg, u32 v, int size)
{
	(void)dev, (void)size;
	pics[reg].elcr = v & pics[reg].elcr_mask;
	update_irq();
}

void i8259_init(void)
{
	io_register("8259A ELCR", 0x4d0, 2, NULL, elcr_read, elcr_write);
	io_register("8259A master", 0x20, 2, &pics[0], pic_read, pic_write);
	io_register("8259A slave", 0xa0, 2, &pics[1], pic_read, pic_write);
}
