/* i8042.c: the Intel 8042 keyboard controller (ports 0x60, 0x64; IRQ 1 and 12), the
 * PS/2 keyboard behind it, and port 0x92 (system control port A: fast A20, reset).
 *
 * What kernels do with it at boot: the controller's commands (command byte read
 * and write, self-test, interface tests, disabling and enabling the ports, the
 * output port with the A20 and reset lines, pulses) and the keyboard's (reset,
 * identify, LEDs, rate, scan code set, enable/disable), each answered as QEMU's
 * i8042 and PS/2 keyboard answer them.  No keys are ever pressed (the console's
 * input goes to the UART) and there is no mouse: bytes for it are answered with
 * 0xfe (no device), so a kernel's mouse probe fails at once.
 *
 * One output buffer, as on the chip: a controller reply goes before keyboard
 * bytes, each shown by OBF only once the previous one was read; reading port 0x60
 * with OBF clear returns the last byte again.  IRQ 1 is raised while the buffer
 * holds a keyboard-side byte and the command byte enables it (IRQ 12 for the aux
 * side).  Status A2 tells which port was written last (QEMU keeps it at 1).
 *
 * A reset (command 0xfe, a pulse of output port bit 0, or port 0x92 bit 0 rising)
 * ends the run as QEMU's -no-reboot does: status 0, "lvm: guest reset" on stderr.
 * A20 cannot be turned off (guest memory does not wrap at 1 MiB): said once.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../console.h"
#include "../irq.h"

enum { STAT_OBF = 0x01, STAT_IBF = 0x02, STAT_SYS = 0x04, STAT_A2 = 0x08, STAT_INH = 0x10,
       STAT_AUX_OBF = 0x20 };
enum { CCB_KBD_INT = 0x01, CCB_AUX_INT = 0x02, CCB_SYS = 0x04, CCB_KBD_DISABLE = 0x10,
       CCB_AUX_DISABLE = 0x20, CCB_XLATE = 0x40 };
enum { OUT_RESET = 0x01, OUT_A20 = 0x02, OUT_OBF = 0x10, OUT_AUX_OBF = 0x20, OUT_ONES = 0xcc };
enum { ACK = 0xfa, RESEND = 0xfe, BAT_OK = 0xaa };

/* Who owns the byte in the output buffer. */
enum { SRC_NONE, SRC_CTRL, SRC_CTRL_AUX, SRC_KBD, SRC_AUX };

struct kbc {
	u8 status, ccb, outport, port92;
	u8 write_cmd;                    /* controller command waiting for its data byte */
	u8 obdata, source;               /* the output buffer */
	bool ctrl_pending, ctrl_aux;     /* a controller reply waiting */
	u8 cbdata;
	u8 kq[16], aux[16];              /* keyboard and aux device bytes waiting */
	unsigned kq_head, kq_count, aux_head, aux_count;
	u8 kbd_cmd;                      /* keyboard command waiting for its argument */
	u8 scancode_set;
	bool scanning;
};

/* As SeaBIOS leaves it under QEMU: self-test passed, translation, keyboard IRQ on,
 * aux port off, A20 on. */
static struct kbc kbc = {
	.status = STAT_SYS | STAT_A2 | STAT_INH, .ccb = CCB_KBD_INT | CCB_AUX_DISABLE | CCB_XLATE,
	.outport = OUT_ONES | OUT_A20 | OUT_RESET, .port92 = 0x02, .scancode_set = 2, .scanning = true,
};

static void guest_reset(void)
{
	console_flush();
	fpu_protect();
	fprintf(stderr, "lvm: guest reset\n");
	exit(EXIT_POWEROFF);
}

static void set_a20(bool on)
{
	if (!on)
		unimplemented_once("A20 gate off (memory above 1 MiB does not wrap)");
}

static void update_lines(struct kbc *k)
{
	bool full = k->status & STAT_OBF, aux = k->status & STAT_AUX_OBF;
	irq_line(1, full && !aux && (k->ccb & CCB_KBD_INT) && !(k->ccb & CCB_KBD_DISABLE));
	irq_line(12, full && aux && (k->ccb & CCB_AUX_INT));
}

/* Fill an empty output buffer from what is waiting, highest priority first; a
 * disabled interface's device bytes wait. */
static void fill(struct kbc *k)
{
	if (k->status & STAT_OBF)
		return;                          /* the reader of this byte calls us again */
	u8 src = SRC_NONE;
	if (k->ctrl_pending)
		src = k->ctrl_aux ? SRC_CTRL_AUX : SRC_CTRL;
	else if (k->kq_count && !(k->ccb & CCB_KBD_DISABLE))
		src = SRC_KBD;
	else if (k->aux_count && !(k->ccb & CCB_AUX_DISABLE))
		src = SRC_AUX;
	if (src == SRC_NONE)
		return;
	k->source = src;
	k->status |= STAT_OBF;
	k->outport |= OUT_OBF;
	if (src == SRC_CTRL_AUX || src == SRC_AUX) {
		k->status |= STAT_AUX_OBF;
		k->outport |= OUT_AUX_OBF;
	}
	update_lines(k);
}

static void reply(struct kbc *k, u8 v, bool aux)
{
	k->cbdata = v;                           /* a newer reply replaces an unread one */
	k->ctrl_pending = true;
	k->ctrl_aux = aux;
	fill(k);
}

static void kbd_queue(struct kbc *k, u8 v)
{
	if (k->kq_count < sizeof k->kq)
		k->kq[(k->kq_head + k->kq_count++) % sizeof k->kq] = v;
	fill(k);
}

static void aux_queue(struct kbc *k, u8 v)
{
	if (k->aux_count < sizeof k->aux)
		k->aux[(k->aux_head + k->aux_count++) % sizeof k->aux] = v;
	fill(k);
}

static u8 take(u8 *q, unsigned *head, unsigned *count, unsigned size)
{
	if (!*count)
		return 0;
	u8 v = q[*head];
	*head = (*head + 1) % size;
	(*count)--;
	return v;
}

static u32 data_read(struct kbc *k)
{
	if (!(k->status & STAT_OBF))
		return k->obdata;                /* nothing new: the last byte again */
	k->status &= ~(STAT_OBF | STAT_AUX_OBF);
	k->outport &= ~(OUT_OBF | OUT_AUX_OBF);
	switch (k->source) {
	case SRC_CTRL: case SRC_CTRL_AUX:
		k->obdata = k->cbdata;
		k->ctrl_pending = false;
		break;
	case SRC_KBD:
		k->obdata = take(k->kq, &k->kq_head, &k->kq_count, sizeof k->kq);
		break;
	case SRC_AUX:
		k->obdata = take(k->aux, &k->aux_head, &k->aux_count, sizeof k->aux);
		break;
	}
	update_lines(k);
	fill(k);
	return k->obdata;
}

static void keyboard_reset(struct kbc *k)
{
	k->kq_count = 0;
	k->scancode_set = 2;
	k->scanning = true;
}

/* A byte for the keyboard (PS/2 keyboard command set, as QEMU's ps2.c answers). */
static void keyboard_write(struct kbc *k, u8 v)
{
	u8 cmd = k->kbd_cmd;
	k->kbd_cmd = 0;
	k->kq_count = 0;                         /* a command drops unread replies */
	if (cmd == 0xf0) {                           /* scan code set: get (0) or set */
		if (v == 0) {
			static const u8 xlated[4] = { 0xff, 0x43, 0x41, 0x3f };
			kbd_queue(k, ACK);
			kbd_queue(k, k->ccb & CCB_XLATE ? xlated[k->scancode_set] : k->scancode_set);
		} else if (v <= 3) {
			k->scancode_set = v;
			kbd_queue(k, ACK);
		} else {
			kbd_queue(k, RESEND);
		}
		return;
	}
	if (cmd) {                                   /* LEDs, typematic rate, make/break */
		kbd_queue(k, ACK);
		return;
	}
	switch (v) {
	case 0xf2:                                   /* identify: an MF2 keyboard */
		kbd_queue(k, ACK);
		kbd_queue(k, 0xab);
		kbd_queue(k, k->ccb & CCB_XLATE ? 0x41 : 0x83);
		break;
	case 0xee:                                   /* echo */
		kbd_queue(k, 0xee);
		break;
	case 0xed: case 0xf0: case 0xf3: case 0xfc:  /* commands with an argument */
		k->kbd_cmd = v;
		kbd_queue(k, ACK);
		break;
	case 0xf4:                                   /* enable scanning */
		k->scanning = true;
		kbd_queue(k, ACK);
		break;
	case 0xf5: case 0xf6:                        /* defaults, scanning off / on */
		keyboard_reset(k);
		k->scanning = v == 0xf6;
		kbd_queue(k, ACK);
		break;
	case 0xff:                                   /* reset: ACK, then self-test passed */
		keyboard_reset(k);
		kbd_queue(k, ACK);
		kbd_queue(k, BAT_OK);
		break;
	case 0x00: case 0xfa:
		kbd_queue(k, ACK);
		break;
	default:
		kbd_queue(k, RESEND);
	}
}

static void outport_write(struct kbc *k, u8 v)
{
	k->outport = v;
	set_a20(v & OUT_A20);
	if (!(v & OUT_RESET))
		guest_reset();
}

static void command(struct kbc *k, u8 v)
{
	if ((v & 0xf0) == 0xf0)                      /* pulse output port bits 3-0 low */
		v = v & 1 ? 0xff : 0xfe;
	switch (v) {
	case 0x20: reply(k, k->ccb, false); break;   /* read command byte */
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		k->write_cmd = v;                    /* its data byte comes on port 0x60 */
		break;
	case 0xa7: k->ccb |= CCB_AUX_DISABLE; break;
	case 0xa8: k->ccb &= ~CCB_AUX_DISABLE; fill(k); break;
	case 0xa9: reply(k, 0x00, false); break;     /* aux interface test: OK */
	case 0xaa:                                   /* self-test: passed, system flag */
		k->status |= STAT_SYS;
		reply(k, 0x55, false);
		break;
	case 0xab: reply(k, 0x00, false); break;     /* keyboard interface test: OK */
	case 0xad: k->ccb |= CCB_KBD_DISABLE; break;
	case 0xae: k->ccb &= ~CCB_KBD_DISABLE; fill(k); break;
	case 0xc0: reply(k, 0x80, false); break;     /* input port: keyboard not inhibited */
	case 0xd0: reply(k, k->outport, false); break;
	case 0xdd: k->outport &= ~OUT_A20; set_a20(false); break;
	case 0xdf: k->outport |= OUT_A20; break;
	case 0xfe: guest_reset();
	case 0xff: break;                            /* pulse nothing */
	default: {
		static bool logged;
		if (!logged) {
			logged = true;
			fpu_protect();
			fprintf(stderr, "lvm: 8042: controller command %#x not emulated (ignored; "
				"reported once)\n", v);
		}
		trace_event("8042 command %#x ignored", v);
	}
	}
}

static void data_write(struct kbc *k, u8 v)
{
	u8 cmd = k->write_cmd;
	k->write_cmd = 0;
	switch (cmd) {
	case 0:
		keyboard_write(k, v);
		k->ccb &= ~CCB_KBD_DISABLE;          /* a byte for the keyboard enables it */
		fill(k);
		break;
	case 0x60:
		k->ccb = v;                          /* (QEMU leaves the status SYS flag alone) */
		update_lines(k);                     /* the enables act on the byte in the buffer */
		fill(k);
		break;
	case 0xd1: outport_write(k, v); break;
	case 0xd2: reply(k, v, false); break;        /* as if from the keyboard */
	case 0xd3: reply(k, v, true); break;         /* as if from the aux device */
	case 0xd4:                                   /* to the aux device: there is none */
		aux_queue(k, RESEND);
		k->ccb &= ~CCB_AUX_DISABLE;
		fill(k);
		break;
	}
}

static u32 kbc_data_read(void *dev, u32 reg, int size) { return data_read(dev); }
static u32 kbc_status_read(void *dev, u32 reg, int size) { return ((struct kbc *)dev)->status; }

static void kbc_data_write(void *dev, u32 reg, u32 v, int size)
{
	struct kbc *k = dev;
	k->status &= ~STAT_A2;
	data_write(k, v);
}

static void kbc_command_write(void *dev, u32 reg, u32 v, int size)
{
	struct kbc *k = dev;
	k->status |= STAT_A2;
	command(k, v);
}

/* System control port A: bit 1 A20, bit 0 a reset on its rising edge. */
static u32 port92_read(void *dev, u32 port, int size)
{
	return kbc.port92;
}

static void port92_write(void *dev, u32 port, u32 v, int size)
{
	u8 old = kbc.port92;
	kbc.port92 = v;
	set_a20(v & 2);
	if ((v & 1) && !(old & 1))
		guest_reset();
}

void i8042_init(void)
{
	io_register("8042 data", 0x60, 1, &kbc, kbc_data_read, kbc_data_write);
	io_register("8042 status/command", 0x64, 1, &kbc, kbc_status_read, kbc_command_write);
	io_register("port A (0x92)", 0x92, 1, NULL, port92_read, port92_write);
}
