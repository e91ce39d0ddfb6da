/* report.c: the monitor's three ways to fail, kept apart as lguest does.
 *
 * kill_guest(): the guest did something a real CPU would not survive or that we
 * cannot emulate: a report (what, where, registers, last events) and a distinct
 * exit status.  unimplemented_once(): a feature the guest touched that we do not
 * model yet, logged once.  host_bug(): our own invariant broke: abort.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "console.h"
#include "monitor.h"

/* The last events, kept cheap enough for hot paths (every interrupt, every fault):
 * the format and up to four integer arguments are stored, and formatted only when
 * a report is printed.  Formats take integer conversions only. */
#define NTRACE 16
static struct event { const char *fmt; unsigned a[4]; } trace[NTRACE];
static unsigned ntrace;

void trace_event(const char *fmt, ...)
{
	struct event *e = &trace[ntrace++ % NTRACE];
	va_list ap;
	va_start(ap, fmt);
	e->fmt = fmt;
	int n = 0;
	for (const char *p = fmt; *p; p++)
		if (*p == '%' && *++p != '%' && n < 4)
			e->a[n++] = va_arg(ap, unsigned);
	va_end(ap);
}

void kill_guest(const struct lvm_regs *r, const char *fmt, ...)
{
	va_list ap;
	fpu_protect();
	console_flush();                 /* the guest's last words before the report */
	fflush(stdout);
	fprintf(stderr, "lvm: guest error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (r) {
		fprintf(stderr, "  eip=%08x eflags=%08x (IF=%u) cs=%04x cpl=%u\n",
			r->eip, (r->eflags & ~LVM_EFLAGS_VIRTUAL) | VCPU->vif | VCPU->vflags,
			!!VCPU->vif, cpu.seg[LVM_CS].sel, VCPU->cpl);
		fprintf(stderr, "  eax=%08x ebx=%08x ecx=%08x edx=%08x\n", r->eax, r->ebx, r->ecx, r->edx);
		fprintf(stderr, "  esi=%08x edi=%08x ebp=%08x esp=%08x\n", r->esi, r->edi, r->ebp, r->esp);
		fprintf(stderr, "  cr0=%08x cr2=%08x cr3=%08x cr4=%08x\n",
			VCPU->cr[0], VCPU->cr[2], VCPU->cr[3], VCPU->cr[4]);
	}
	unsigned n = ntrace < NTRACE ? ntrace : NTRACE;
	if (n)
		fprintf(stderr, "  last events (oldest first):\n");
	for (unsigned i = ntrace - n; i < ntrace; i++) {
		struct event *e = &trace[i % NTRACE];
		fprintf(stderr, "    ");
		fprintf(stderr, e->fmt, e->a[0], e->a[1], e->a[2], e->a[3]);
		fprintf(stderr, "\n");
	}
	exit(EXIT_GUEST_ERROR);
}

void unimplemented_once(const char *what)
{
	fpu_protect();
	static const char *seen[64];
	for (unsigned i = 0; i < 64 && seen[i]; i++)
		if (seen[i] == what || !strcmp(seen[i], what))
			return;
	for (unsigned i = 0; i < 64; i++)
		if (!seen[i]) {
			seen[i] = what;
			break;
		}
	console_flush();
	fprintf(stderr, "lvm: not emulated yet (ignored): %s\n", what);
}

/* A guest that programs a device into a state the datasheet calls invalid: one
 * line per device and complaint, and the device carries on as the hardware would. */
void guest_complaint(const char *device, const char *what)
{
	fpu_protect();
	static const char *seen[64];
	unsigned i;
	for (i = 0; i < 64 && seen[i]; i++)
		if (seen[i] == what)
			return;
	if (i < 64)
		seen[i] = what;
	console_flush();
	fprintf(stderr, "lvm: %s: the guest %s (said once)\n", device, what);
}

void host_bug(const char *fmt, ...)
{
	va_list ap;
	fpu_protect();
	console_restore();               /* the user's terminal survives our bug */
	fprintf(stderr, "lvm: internal error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}
