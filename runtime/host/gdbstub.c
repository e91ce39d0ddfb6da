/* gdbstub.c: the guest as gdb's i386 target sees it (QEMU's -s -S).
 *
 * The vCPU stops only inside the monitor, in resume() before it enters the guest
 * (gdb_check): there the registers are the guest's exactly, with the virtual IF
 * and the guest's selectors, and a stop waits for gdb's packets (gdbconn.c).
 * A stop is due when:
 *  - a software breakpoint is reached: an int3 that gdbmem.c wrote, whose SIGTRAP
 *    (signals.c) is the debugger's when its address is in gdbmem.c's table and
 *    the guest's #BP otherwise.  A breakpoint on a rewritten instruction replaces
 *    the first byte of what was written for it (the call of a guest subroutine,
 *    the trap marker), so the guest stops there once, before it runs;
 *  - a single step ends.  `s` sets TF and the step is one guest instruction as
 *    written: singlestep.c already gives one #DB per instruction through lvm's
 *    rewritten forms, and its #DB is the debugger's while a step is under way
 *    (also after sti: the step does not run on under the interrupt shadow).  No
 *    interrupt is taken while stepping (as QEMU's default), and a step into an
 *    exception stops at its handler's first instruction;
 *  - gdb sends Ctrl-C (0x03) or connects: gdbconn.c notes it at the next host
 *    event, and a HLT stops waiting.
 * Registers: gdb's i386 layout, in a target description (gdbxml.c): eax..edi,
 * eip, eflags, cs ss ds es fs gs in `g`; the x87/SSE registers read as unavailable;
 * cr0 cr2 cr3 cr4 by `p`.  Segment registers cannot be written (but for their own
 * value), nor control registers.  Hardware breakpoints and watchpoints: gdbhw.c
 * (Z3, read watchpoints, answers empty: unsupported).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gdb.h"
#include "mmu.h"
#include "traps.h"
#include "console.h"

#define EFLAGS_TF 0x100u

static bool stop_pending, announce, stepping, tf_ours;
static bool async_stop;                  /* Ctrl-C or a connection: at any instruction */
static int stop_sig = 5;                 /* SIGTRAP; 2 (SIGINT) after Ctrl-C */
static char why[32];                     /* "watch:ADDR;" in the stop reply */
static char pkt[8192], reply[8192];

bool gdb_stepping(void)
{
	return stepping;
}

u32 gdb_hidden_flags(void)
{
	return tf_ours ? EFLAGS_TF : 0;
}

bool gdb_stop_requested(void)
{
	return stop_pending;
}

/* Ctrl-C (announced: gdb waits for the stop), or a new connection (not: gdb asks). */
void gdb_interrupt(bool by_debugger)
{
	if (stop_pending)
		return;
	stop_sig = by_debugger ? 2 : 5;
	announce = by_debugger;
	stop_pending = async_stop = true;
}

bool gdb_breakpoint_hit(struct lvm_regs *r)
{
	if (!gdb_connected() || !gdb_is_breakpoint(cpu.seg[LVM_CS].base + r->eip - 1))
		return false;
	r->eip -= 1;
	stop_pending = announce = true;
	async_stop = false;
	stop_sig = 5;
	return true;
}

void gdb_hw_hit(struct lvm_regs *r, const void *siginfo)
{
	int slot = gdb_hw_slot(siginfo);
	if (!gdb_connected() || slot < 0)
		return;                              /* removed since: the guest goes on */
	gdb_hw_reason(slot, why, sizeof why);
	stop_pending = announce = true;
	async_stop = false;
	stop_sig = 5;
}

static void finish_step(struct lvm_regs *r)
{
	stepping = false;
	if (tf_ours)
		r->eflags &= ~EFLAGS_TF;
	tf_ours = false;
	stop_pending = true;
	if (!async_stop)
		announce = true, stop_sig = 5;
}

bool gdb_step_done(struct lvm_regs *r)
{
	if (!stepping)
		return false;
	finish_step(r);
	return true;
}

void gdb_detached(void)
{
	gdb_remove_breakpoints();
	gdb_hw_remove_all();
	stepping = stop_pending = false;             /* tf_ours: gdb_check clears it */
	gdb_disconnect();
}

static u32 hex_le32(const char *p)
{
	u32 v = 0;
	for (int i = 0; i < 4; i++) {
		const char b[3] = { p[2 * i], p[2 * i + 1], 0 }, *q = b;
		v |= gdb_hex(&q) << 8 * i;
	}
	return v;
}

static void put_le32(char *out, u32 v)
{
	for (int i = 0; i < 4; i++)
		snprintf(out + 2 * i, 3, "%02x", (v >> 8 * i) & 0xff);
}

/* gdb's i386 numbering: eax ecx edx ebx esp ebp esi edi (struct lvm_regs' order),
 * eip, eflags, then cs ss ds es fs gs. */
static const int sreg_of[6] = { LVM_CS, LVM_SS, LVM_DS, LVM_ES, LVM_FS, LVM_GS };

static bool gdb_reg_get(const struct lvm_regs *r, unsigned n, u32 *v)
{
	if (n < 9)
		*v = ((const u32 *)r)[n];
	else if (n == 9)
		*v = guest_eflags(r);
	else if (n < GDB_G_REGS)
		*v = VCPU->sel[sreg_of[n - 10]];
	else
		return gdb_sys_reg_get(n, v);
	return true;
}

static bool gdb_reg_set(struct lvm_regs *r, unsigned n, u32 v)
{
	if (n < 9)
		((u32 *)r)[n] = v;
	else if (n == 9)                         /* CF PF AF ZF SF TF IF DF OF IOPL NT AC ID */
		set_guest_eflags(r, v, 0x247fd5);
	else
		return n < GDB_G_REGS && VCPU->sel[sreg_of[n - 10]] == (v & 0xffff);   /* unchanged only */
	return true;
}


static void resume_as(struct lvm_regs *r, char action, const char *addr)
{
	if (*addr && *addr != ';' && *addr != ':')
		r->eip = gdb_hex(&addr);
	if (action == 's' || action == 'S') {
		stepping = true;
		tf_ours = !(r->eflags & EFLAGS_TF);
		r->eflags |= EFLAGS_TF;
	}
}

/* One packet; true when the guest runs on. */
static bool command(struct lvm_regs *r, const char *p)
{
	reply[0] = 0;
	u32 v;
	switch (p[0]) {
	case '?':
		snprintf(reply, sizeof reply, "T%02xthread:01;", stop_sig);
		break;
	case 'g':
		for (unsigned n = 0; n < GDB_G_REGS; n++)
			gdb_reg_get(r, n, &v), put_le32(reply + 8 * n, v);
		break;
	case 'G':
		if (strlen(p + 1) < GDB_G_REGS * 8) {
			strcpy(reply, "E01");
			break;
		}
		for (unsigned n = 0; n < GDB_G_REGS; n++)
			if (n < 10 || !gdb_reg_set(r, n, hex_le32(p + 1 + 8 * n)))
				strcpy(reply, "E01");
		for (unsigned n = 0; n < 10 && !reply[0]; n++)
			gdb_reg_set(r, n, hex_le32(p + 1 + 8 * n));
		if (!reply[0])
			strcpy(reply, "OK");
		break;
	case 'p': {
		const char *q = p + 1;
		if (gdb_reg_get(r, gdb_hex(&q), &v))
			put_le32(reply, v);
		else
			strcpy(reply, "xxxxxxxx");       /* x87/SSE (and beyond): unavailable */
		break;
	}
	case 'P': {
		const char *q = p + 1;
		unsigned n = gdb_hex(&q);
		strcpy(reply, *q == '=' && strlen(q + 1) >= 8 && gdb_reg_set(r, n, hex_le32(q + 1)) ? "OK" : "E01");
		break;
	}
	case 'm':
		gdb_read_memory(p + 1, reply);
		break;
	case 'M':
		gdb_write_memory(p + 1, reply);
		break;
	case 'Z': case 'z':
		if (p[1] >= '0' && p[1] <= '4' && p[2] == ',') {
			const char *q = p + 3;
			u32 a = gdb_hex(&q), len = (q++, gdb_hex(&q));
			if (p[1] == '0')
				strcpy(reply, p[0] == 'Z' ? gdb_insert_breakpoint(a) : gdb_remove_breakpoint(a));
			else
				strcpy(reply, p[0] == 'Z' ? gdb_hw_insert(p[1] - '0', a, len) :
				       gdb_hw_remove(p[1] - '0', a, len));
		}                                    /* Z3 (read watchpoints): unsupported, empty */
		break;
	case 'c': case 's':
		resume_as(r, p[0], p + 1);
		return true;
	case 'C': case 'S': {                    /* the signal is not the guest's to take */
		const char *q = strchr(p, ';');
		resume_as(r, p[0], q ? q + 1 : "");
		return true;
	}
	case 'v':
		if (!strcmp(p, "vCont?"))
			strcpy(reply, "vCont;c;C;s;S");
		else if (!strncmp(p, "vCont;", 6)) {
			resume_as(r, p[6], "");          /* one vCPU: the first action is its */
			return true;
		} else if (!strncmp(p, "vKill", 5)) {
			gdb_send("OK");
			gdb_disconnect();
			exit(EXIT_POWEROFF);
		}
		break;
	case 'D':
		gdb_send("OK");
		gdb_detached();
		return true;
	case 'k':
		gdb_disconnect();
		exit(EXIT_POWEROFF);
	case 'H': case 'T':
		strcpy(reply, "OK");
		break;
	case 'q':
		if (!strncmp(p, "qSupported", 10))
			strcpy(reply, "PacketSize=1000;QStartNoAckMode+;qXfer:features:read+");
		else if (!strncmp(p, "qXfer:features:read:", 20))
			gdb_xfer_features(p + 20, reply, sizeof reply);
		else if (!strcmp(p, "qAttached"))
			strcpy(reply, "1");
		else if (!strcmp(p, "qC"))
			strcpy(reply, "QC01");
		else if (!strcmp(p, "qfThreadInfo"))
			strcpy(reply, "m01");
		else if (!strcmp(p, "qsThreadInfo"))
			strcpy(reply, "l");
		break;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode")) {
			gdb_send("OK");
			gdb_set_noack();
			return false;
		}
		break;
	}
	gdb_send(reply);
	return false;
}

static void stop_loop(struct lvm_regs *r)
{
	fpu_protect();
	console_flush();
	if (announce) {
		char t[64];
		snprintf(t, sizeof t, "T%02x%sthread:01;", stop_sig, why);
		gdb_send(t);
	}
	for (;;) {
		if (gdb_read_packet(pkt, sizeof pkt) < 0) {
			gdb_detached();
			return;
		}
		if (command(r, pkt))
			return;
	}
}

void gdb_check(struct lvm_regs *r)
{
	if (gdb_accept_wait())                   /* -S: before the first instruction */
		stop_pending = true, announce = false;
	if (tf_ours && !stepping) {              /* the debugger left during its step */
		r->eflags &= ~EFLAGS_TF;
		tf_ours = false;
	}
	if (!gdb_connected())
		return;
	if (stepping && !(r->eflags & EFLAGS_TF))
		finish_step(r);                      /* delivered an exception: at its handler */
	if (!stop_pending)
		return;
	fpu_protect();                           /* libc from here (memcmp, printf...) */
	stop_pending = false;
	if (async_stop && !stepping && singlestep_in_guest_code(r)) {
		/* Inside lvm's code for a rewritten instruction: step to the end of that
		 * instruction (singlestep.c), and stop there. */
		stepping = true;
		tf_ours = !(r->eflags & EFLAGS_TF);
		r->eflags |= EFLAGS_TF;
		return;
	}
	if (stepping)                            /* a Ctrl-C during a step: the step ends */
		finish_step(r), stop_pending = false;
	async_stop = false;
	stop_loop(r);
	announce = false;
	stop_sig = 5;
	why[0] = 0;
}
