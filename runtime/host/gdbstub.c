/* gdbstub.c: the guest as gdb's i386 target sees it (QEMU's -s -S).
 *
 * The vCPU stops only inside the monitor, in resume() before it enters the guest
 * (gdb_check): there the registers are the guest's exactly, with the virtual IF
 * and the guest's selectors, and a stop waits for gdb's packets (gdbconn.c).
 * A stop is due when:
 *  - a software breakpoint is reached.  Z0 writes an int3 into guest RAM at the
 *    physical address the guest's page tables give now (gdb inserts breakpoints
 *    at every resume and removes them at every stop), and keeps the original byte
 *    in a table: the int3's SIGTRAP (signals.c) is the debugger's when its address
 *    is in the table, the guest's #BP otherwise.  A breakpoint on a rewritten
 *    instruction replaces the first byte of what was written for it (the call of
 *    a guest subroutine, the trap marker), so the guest stops there, before it runs.
 *    Reads of memory show the original bytes;
 *  - a single step ends.  `s` sets TF and the step is one guest instruction as
 *    written: singlestep.c already gives one #DB per instruction through lvm's
 *    rewritten forms, and its #DB is the debugger's while a step is under way
 *    (also after sti: the step does not run on under the interrupt shadow).  No
 *    interrupt is taken while stepping (as QEMU's default), and a step into an
 *    exception stops at its handler's first instruction;
 *  - gdb sends Ctrl-C (0x03) or connects: gdbconn.c notes it at the next host
 *    event, and a HLT stops waiting.
 * Registers: gdb's default i386 layout (no target description): eax..edi, eip,
 * eflags, cs ss ds es fs gs; the x87/SSE registers read as unavailable.  Segment
 * registers cannot be written.  Not done: hardware breakpoints and watchpoints
 * (Z1-Z4 answer empty: unsupported).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gdb.h"
#include "mmu.h"
#include "traps.h"
#include "console.h"

#define EFLAGS_TF 0x100u
#define NBP 64
#define MAXMEM 2048

static struct breakpoint { u32 lin, gpa; u8 orig; bool used; } bps[NBP];
static bool stop_pending, announce, stepping, tf_ours;
static int stop_sig = 5;                 /* SIGTRAP; 2 (SIGINT) after Ctrl-C */
static char pkt[8192], reply[8192];

bool gdb_stepping(void)
{
	return stepping;
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
	stop_pending = true;
}

/* Where guest RAM holds linear address lin now (no side effects on the tables). */
static u8 *ram_at(u32 lin, u32 *gpa_out)
{
	u32 gpa = lin, flags;
	if (paging_enabled()) {
		if (!mmu_peek(lin, &gpa, &flags))
			return NULL;
		gpa |= lin & 0xfff;
	}
	if (gpa_out)
		*gpa_out = gpa;
	return gpa_ptr(gpa, 1);
}

static struct breakpoint *find_bp(u32 lin)
{
	for (int i = 0; i < NBP; i++)
		if (bps[i].used && bps[i].lin == lin)
			return &bps[i];
	return NULL;
}

static void remove_bp(struct breakpoint *b)
{
	u8 *p = gpa_ptr(b->gpa, 1);
	if (p && *p == 0xcc)
		*p = b->orig;
	b->used = false;
}

static const char *insert_bp(u32 lin)
{
	if (find_bp(lin))
		return "OK";
	u32 gpa;
	u8 *p = ram_at(lin, &gpa);
	if (!p)
		return "E14";
	for (int i = 0; i < NBP; i++)
		if (!bps[i].used) {
			bps[i] = (struct breakpoint){ lin, gpa, *p, true };
			*p = 0xcc;
			return "OK";
		}
	return "E28";                            /* ENOSPC: the table is full */
}

static void remove_all(void)
{
	for (int i = 0; i < NBP; i++)
		if (bps[i].used)
			remove_bp(&bps[i]);
}

bool gdb_breakpoint_hit(struct lvm_regs *r)
{
	struct breakpoint *b;
	if (!gdb_connected() || !(b = find_bp(cpu.seg[LVM_CS].base + r->eip - 1)))
		return false;
	u8 *p = gpa_ptr(b->gpa, 1);
	if (!p || *p != 0xcc)
		return false;
	r->eip -= 1;
	stop_pending = announce = true;
	stop_sig = 5;
	return true;
}

static void finish_step(struct lvm_regs *r)
{
	stepping = false;
	if (tf_ours)
		r->eflags &= ~EFLAGS_TF;
	tf_ours = false;
	stop_pending = announce = true;
	stop_sig = 5;
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
	remove_all();
	stepping = stop_pending = false;
	gdb_disconnect();
}

static u32 hex(const char **p)
{
	u32 v = 0;
	for (;; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return v;
		v = v << 4 | d;
	}
}

static u32 hex_le32(const char *p)
{
	u32 v = 0;
	for (int i = 0; i < 4; i++) {
		const char b[3] = { p[2 * i], p[2 * i + 1], 0 }, *q = b;
		v |= hex(&q) << 8 * i;
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
		*v = guest_eflags(r) & ~(tf_ours ? EFLAGS_TF : 0);
	else if (n < 16)
		*v = VCPU->sel[sreg_of[n - 10]];
	else
		return false;
	return true;
}

static bool gdb_reg_set(struct lvm_regs *r, unsigned n, u32 v)
{
	if (n < 9)
		((u32 *)r)[n] = v;
	else if (n == 9)                         /* CF PF AF ZF SF TF IF DF OF IOPL NT AC ID */
		set_guest_eflags(r, v, 0x247fd5);
	else
		return n < 16 && VCPU->sel[sreg_of[n - 10]] == (v & 0xffff);   /* unchanged only */
	return true;
}

static void read_memory(const char *args)
{
	u32 a = hex(&args), n;
	args++;
	n = hex(&args);
	if (n > MAXMEM)
		n = MAXMEM;
	u32 i;
	for (i = 0; i < n; i++) {
		u8 *p = ram_at(a + i, NULL);
		if (!p)
			break;
		struct breakpoint *b = find_bp(a + i);
		snprintf(reply + 2 * i, 3, "%02x", b && *p == 0xcc ? b->orig : *p);
	}
	if (i == 0 && n)
		strcpy(reply, "E14");
}

static void write_memory(const char *args)
{
	u32 a = hex(&args), n;
	args++;
	n = hex(&args);
	if (*args++ != ':' || strlen(args) < 2 * n) {
		strcpy(reply, "E01");
		return;
	}
	for (u32 i = 0; i < n; i++)
		if (!ram_at(a + i, NULL)) {
			strcpy(reply, "E14");
			return;
		}
	for (u32 i = 0; i < n; i++) {
		const char b[3] = { args[2 * i], args[2 * i + 1], 0 }, *q = b;
		u8 v = hex(&q), *p = ram_at(a + i, NULL);
		struct breakpoint *bp = find_bp(a + i);
		if (bp && *p == 0xcc)
			bp->orig = v;                    /* the breakpoint stays */
		else
			*p = v;
	}
	strcpy(reply, "OK");
}

static void resume_as(struct lvm_regs *r, char action, const char *addr)
{
	if (*addr && *addr != ';' && *addr != ':')
		r->eip = hex(&addr);
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
		for (unsigned n = 0; n < 16; n++)
			gdb_reg_get(r, n, &v), put_le32(reply + 8 * n, v);
		break;
	case 'G':
		if (strlen(p + 1) < 16 * 8) {
			strcpy(reply, "E01");
			break;
		}
		for (unsigned n = 0; n < 16; n++)
			if (n < 10 || !gdb_reg_set(r, n, hex_le32(p + 1 + 8 * n)))
				strcpy(reply, "E01");
		for (unsigned n = 0; n < 10 && !reply[0]; n++)
			gdb_reg_set(r, n, hex_le32(p + 1 + 8 * n));
		if (!reply[0])
			strcpy(reply, "OK");
		break;
	case 'p': {
		const char *q = p + 1;
		if (gdb_reg_get(r, hex(&q), &v))
			put_le32(reply, v);
		else
			strcpy(reply, "xxxxxxxx");       /* x87/SSE: unavailable */
		break;
	}
	case 'P': {
		const char *q = p + 1;
		unsigned n = hex(&q);
		strcpy(reply, *q == '=' && strlen(q + 1) >= 8 && gdb_reg_set(r, n, hex_le32(q + 1)) ? "OK" : "E01");
		break;
	}
	case 'm':
		read_memory(p + 1);
		break;
	case 'M':
		write_memory(p + 1);
		break;
	case 'Z': case 'z':
		if (p[1] == '0' && p[2] == ',') {
			const char *q = p + 3;
			u32 a = hex(&q);
			struct breakpoint *b = find_bp(a);
			if (p[0] == 'Z')
				strcpy(reply, insert_bp(a));
			else if (b)
				remove_bp(b), strcpy(reply, "OK");
			else
				strcpy(reply, "OK");
		}                                    /* Z1-Z4: unsupported (empty) */
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
			strcpy(reply, "PacketSize=1000;QStartNoAckMode+");
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
		char t[24];
		snprintf(t, sizeof t, "T%02xthread:01;", stop_sig);
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
	if (!gdb_connected())
		return;
	if (stepping && !(r->eflags & EFLAGS_TF))
		finish_step(r);                      /* delivered an exception: at its handler */
	if (!stop_pending)
		return;
	stop_pending = false;
	stop_loop(r);
	announce = false;
	stop_sig = 5;
}
