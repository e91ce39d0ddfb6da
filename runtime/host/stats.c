/* stats.c: why the guest entered the monitor, counted (LVM_STATS=1 prints them).
 *
 * Every monitor entry costs microseconds (a host signal, or a far call and the
 * monitor's stack switch) where a native instruction costs nanoseconds, so what a
 * kernel enters the monitor for, and how often, is what decides its speed under
 * lvm.  Entries are counted by how they came (a host signal by signal and trap
 * number, a guest subroutine's call) and, for the instructions the monitor then
 * emulates, by opcode.  The table is printed at exit, the most frequent first.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "monitor.h"
#include "insn.h"
#include "stats.h"

bool stats_on;
static u64 by_signal[65][32];           /* [signal][trap number] */
static u64 by_call, by_gate, fast_loads, by_insn[2][256][9]; /* [twobyte][opcode][ModRM reg; 8: no ModRM] */

void stats_signal(int sig, u32 trapno)
{
	bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGTRAP || sig == SIGFPE;
	if (sig > 0 && sig < 65)
		by_signal[sig][!fault ? 0 : trapno < 32 ? trapno : 31]++;   /* else trapno is stale */
}

void stats_call(void) { by_call++; }
void stats_gate(void) { by_gate++; }
void stats_fastseg(void) { fast_loads++; }

void stats_insn(const struct insn *in)
{
	by_insn[in->twobyte][in->op][in->has_modrm ? in->reg : 8]++;
}

struct row { u64 n; char what[72]; };

static int by_count(const void *a, const void *b)
{
	u64 x = ((const struct row *)a)->n, y = ((const struct row *)b)->n;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* What an opcode is, for the ones kernels make lvm emulate (and loads or stores of
 * a device's registers: any other). */
static const char *insn_name(int twobyte, int op, int reg)
{
	static const struct { u8 twobyte, op; signed char reg; const char *name; } names[] = {
		{0, 0xe4, -1, "in"}, {0, 0xe5, -1, "in"}, {0, 0xec, -1, "in"}, {0, 0xed, -1, "in"},
		{0, 0xe6, -1, "out"}, {0, 0xe7, -1, "out"}, {0, 0xee, -1, "out"}, {0, 0xef, -1, "out"},
		{0, 0x6c, -1, "ins"}, {0, 0x6d, -1, "ins"}, {0, 0x6e, -1, "outs"}, {0, 0x6f, -1, "outs"},
		{0, 0xcf, -1, "iret"}, {0, 0xfa, -1, "cli"}, {0, 0xfb, -1, "sti"}, {0, 0xf4, -1, "hlt"},
		{0, 0x9c, -1, "pushf"}, {0, 0x9d, -1, "popf"}, {0, 0x8e, -1, "mov to a segment register"},
		{0, 0x8c, -1, "mov from a segment register"}, {0, 0x07, -1, "pop %es"},
		{0, 0x17, -1, "pop %ss"}, {0, 0x1f, -1, "pop %ds"}, {1, 0xa1, -1, "pop %fs"},
		{1, 0xa9, -1, "pop %gs"}, {0, 0x06, -1, "push %es"}, {0, 0x0e, -1, "push %cs"},
		{0, 0x16, -1, "push %ss"}, {0, 0x1e, -1, "push %ds"}, {1, 0xa0, -1, "push %fs"},
		{1, 0xa8, -1, "push %gs"}, {0, 0xcd, -1, "int n"}, {0, 0xea, -1, "ljmp"},
		{0, 0x9a, -1, "lcall"}, {0, 0xca, -1, "lret"}, {0, 0xcb, -1, "lret"},
		{1, 0x20, -1, "mov from a control register"}, {1, 0x22, -1, "mov to a control register"},
		{1, 0x21, -1, "mov from a debug register"}, {1, 0x23, -1, "mov to a debug register"},
		{1, 0x01, 0, "sgdt"}, {1, 0x01, 1, "sidt"}, {1, 0x01, 2, "lgdt"}, {1, 0x01, 3, "lidt"},
		{1, 0x01, 4, "smsw"}, {1, 0x01, 6, "lmsw"}, {1, 0x01, 7, "invlpg"},
		{1, 0x00, 0, "sldt"}, {1, 0x00, 1, "str"}, {1, 0x00, 2, "lldt"}, {1, 0x00, 3, "ltr"},
		{1, 0x30, -1, "wrmsr"}, {1, 0x32, -1, "rdmsr"}, {1, 0xa2, -1, "cpuid"},
		{1, 0x34, -1, "sysenter"}, {1, 0x35, -1, "sysexit"}, {1, 0x06, -1, "clts"},
		{1, 0x09, -1, "wbinvd"}, {1, 0x08, -1, "invd"}, {1, 0x31, -1, "rdtsc"},
	};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].twobyte == twobyte && names[i].op == op && (names[i].reg < 0 || names[i].reg == reg))
			return names[i].name;
	return "a device register's load or store, or other";
}

static const char *trap_name(u32 t)
{
	static const char *const names[] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
					     "#DF", "-", "#TS", "#NP", "#SS", "#GP", "#PF" };
	return t < sizeof names / sizeof names[0] ? names[t] : "other";
}

void stats_print(void)
{
	enum { MAX = 64 * 32 + 1 + 16 };
	static struct row rows[MAX];
	int n = 0;
	for (int s = 1; s < 65; s++)
		for (int t = 0; t < 32; t++)
			if (by_signal[s][t] && n < MAX) {
				rows[n].n = by_signal[s][t];
				snprintf(rows[n++].what, sizeof rows[0].what, "signal %s %s", strsignal(s),
					 s == SIGSEGV || s == SIGBUS || s == SIGTRAP || s == SIGFPE ? trap_name(t) : "");
			}
	if (by_call)
		rows[n].n = by_call, snprintf(rows[n++].what, sizeof rows[0].what, "guest subroutine's call");
	if (by_gate)
		rows[n].n = by_gate, snprintf(rows[n++].what, sizeof rows[0].what, "user system-call gate");
	fprintf(stderr, "lvm stats: segment loads finished in guest code %llu (seen at the next entry)\n",
		(unsigned long long)fast_loads);
	fprintf(stderr, "lvm stats: monitor entries\n");
	qsort(rows, n, sizeof rows[0], by_count);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "  %12llu  %s\n", (unsigned long long)rows[i].n, rows[i].what);
	/* the instructions emulated: the 16 most frequent opcodes */
	struct row top[16] = { 0 };
	for (int tb = 0; tb < 2; tb++)
		for (int op = 0; op < 256; op++)
			for (int reg = 0; reg < 9; reg++) {
				u64 c = by_insn[tb][op][reg];
				if (!c || c <= top[15].n)
					continue;
				top[15].n = c;
				char modrm[4] = "";
				if (reg < 8)
					snprintf(modrm, sizeof modrm, "/%d", reg);
				snprintf(top[15].what, sizeof top[0].what, "%s%02x%s  %s", tb ? "0f " : "", op, modrm,
					 insn_name(tb, op, reg));
				qsort(top, 16, sizeof top[0], by_count);
			}
	fprintf(stderr, "lvm stats: instructions emulated, by opcode (/n: ModRM's reg field)\n");
	for (int i = 0; i < 16 && top[i].n; i++)
		fprintf(stderr, "  %12llu  %s\n", (unsigned long long)top[i].n, top[i].what);
}
