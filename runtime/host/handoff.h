/* handoff.h: the page a user process and the monitor hand each other the turn on
 * (userproc.c; the child's system-call gate, usergate.c, uses it too). */
#ifndef LVM_HANDOFF_H
#define LVM_HANDOFF_H
#include <time.h>
#include <ucontext.h>
#include "monitor.h"

/* TURN_PARKED: the monitor's turn, and this process's not soon (another address
 * space runs): it sleeps at once instead of spinning, which would keep the core
 * from the process that runs next. */
/* TURN_HANDOVER: parked, and the process that reads it first wakes `successor`
 * (the next address space's process) on its own CPU: a wake from the monitor's
 * would be a cross-CPU one, an interrupt that reaches a sleeping virtual CPU
 * tens of microseconds late (userproc_select). */
enum { TURN_MONITOR, TURN_CHILD, TURN_PARKED, TURN_HANDOVER };
enum { OP_MAP = 1, OP_UNMAP, OP_LDT, OP_ANCHOR };
#define OPS_MAX 4096
struct op { u32 kind, prot; u64 at, len, off; u8 desc[16]; };

/* The shared page (several, in fact): what each side hands the other. */
struct handoff {
	u32 turn;
	u32 sleepers;                     /* in FUTEX_WAIT on turn: a wake is needed */
	/* to the child */
	u64 gregs[NGREG];
	u16 sel[6];                       /* host CS SS DS ES FS GS */
	u64 live_flags;                   /* EFLAGS.ID and NT (signal_entry) */
	bool fpu_same;                    /* resume with the agreed x87/SSE state: fpu unwritten */
	u8 fpu[512] __attribute__((aligned(64)));
	struct handoff *successor;        /* TURN_HANDOVER: whom to wake */
	u32 nops;
	bool unmap_all;                   /* the queue overflowed: start from nothing */
	bool view_lost;                   /* from the child: it dropped its view whole (the
	                                     host's mapping bound, userchild.c) */
	struct op ops[OPS_MAX];
	/* to the monitor */
	int ev_sig, ev_code;
	u64 ev_addr;
	u64 ev_gregs[NGREG];
	u16 ev_sel[4];                    /* DS ES FS GS as user code left them */
	bool ev_fpu_same;                 /* user code left the agreed state: ev_fpu unwritten */
	u8 ev_fpu[512] __attribute__((aligned(64)));
};

/* The current user process's (in a child: its own). */
extern struct handoff *ho;
long futex(u32 *word, int op, u32 val, const struct timespec *t);
void give_turn(u32 to);
bool spin_for(u32 me);                  /* ~0.1 ms, or less if parked: true if it came */
extern int spin_rounds;                 /* how long spin_for spins (pauses) */
long sleep_on_turn(u32 seen, const struct timespec *t);
void child_wait(void);                  /* a child's wait for its turn */
bool hand_over(struct handoff *h);     /* TURN_HANDOVER taken: its successor woken */
/* userchild.c: the user process's side. */
void apply_ops(void);                   /* a child applies what the monitor queued */
int userchild_handlers(void);
__attribute__((noreturn)) void userchild_main(pid_t monitor);
/* The frame's x87/SSE image: the FXSAVE area but its last 48 bytes (the kernel's
 * own words). */
#define FXSAVE_BYTES 464
/* The x87/SSE state both sides last handed each other (the agreed state): an image
 * equal to it is not copied (userproc.c).  Images are 16-aligned, 512 bytes. */
static inline bool fpu_equal(const u8 *a, const u8 *b)
{
	const u64 *x = (const u64 *)a, *y = (const u64 *)b;
	u64 d = 0;
	for (int i = 0; i < FXSAVE_BYTES / 8; i++)
		d |= x[i] ^ y[i];
	return !d;
}
void fpu_report(const u8 *img);         /* a child: the state user code left */
const u8 *fpu_answer(void);             /* a child: the state to resume with, or NULL: as left */
/* usergate.c, for the child's signal handler and start. */
void map_gate(void);
bool in_gate(const mcontext_t *m);
int gate_signal(int sig, mcontext_t *m);
#endif
