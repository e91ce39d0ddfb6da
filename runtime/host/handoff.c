/* handoff.c: the turn a user process and the monitor hand each other (handoff.h).
 *
 * One word on the shared page says whose turn it is; the side that waits spins on
 * it briefly (the answer usually comes within microseconds, and a futex sleep and
 * wake-up cost several on their own), then sleeps in FUTEX_WAIT.  A parked
 * process (another address space runs) sleeps at once.  Used by both sides:
 * userproc.c (the monitor) and userchild.c (the user process).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "handoff.h"

struct handoff *ho;

long futex(u32 *word, int op, u32 val, const struct timespec *t)
{
	return syscall(SYS_futex, word, op, val, t, NULL, 0);
}

/* The turn changes hands with a store; the FUTEX_WAKE system call only when the
 * other side may be asleep (it counts itself in `sleepers` before it checks the
 * turn in FUTEX_WAIT, and the giver reads the count after its store: one of the two
 * sees the other's write).  Most handoffs find the other side spinning. */
void give_turn(u32 to)
{
	__atomic_store_n(&ho->turn, to, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ho->sleepers, __ATOMIC_SEQ_CST))
		futex(&ho->turn, FUTEX_WAKE, 1, NULL);
}

long sleep_on_turn(u32 seen, const struct timespec *t)
{
	__atomic_add_fetch(&ho->sleepers, 1, __ATOMIC_SEQ_CST);
	long r = futex(&ho->turn, FUTEX_WAIT, seen, t);
	__atomic_sub_fetch(&ho->sleepers, 1, __ATOMIC_SEQ_CST);
	return r;
}

static bool my_turn(u32 me)
{
	return __atomic_load_n(&ho->turn, __ATOMIC_ACQUIRE) == me;
}

/* Spin before sleeping: most answers come sooner, and a futex sleep and wake-up
 * cost several microseconds on their own.  4000 pauses: ~110 us on this EPYC
 * (27 ns each).  A user process on a CPU of its own spins 6x as long (userproc.c:
 * the kernel's work for a fork or an exec takes longer, and the wake-up that ends
 * a sleep then comes from the monitor's CPU, ~20 us late here) and burns no CPU
 * the monitor would have. */
int spin_rounds = 4000;

bool spin_for(u32 me)
{
	for (int i = 0; i < spin_rounds; i++) {
		u32 t = __atomic_load_n(&ho->turn, __ATOMIC_ACQUIRE);
		if (t == me)
			return true;
		if (t == TURN_PARKED || t == TURN_HANDOVER)
			break;
		asm volatile("pause");
	}
	return my_turn(me);
}

/* Whoever turns h's TURN_HANDOVER into TURN_PARKED (its process, or the monitor
 * when that process sleeps) wakes the successor. */
bool hand_over(struct handoff *h)
{
	u32 t = TURN_HANDOVER;
	if (!__atomic_compare_exchange_n(&h->turn, &t, TURN_PARKED, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return false;
	struct handoff *next = h->successor;
	if (__atomic_load_n(&next->sleepers, __ATOMIC_SEQ_CST))
		futex(&next->turn, FUTEX_WAKE, 1, NULL);
	return true;
}

/* The child's wait for its turn: spin, then sleep on whatever the word says. */
void child_wait(void)
{
	while (!spin_for(TURN_CHILD)) {
		u32 t = __atomic_load_n(&ho->turn, __ATOMIC_ACQUIRE);
		if (t == TURN_HANDOVER && hand_over(ho))
			t = TURN_PARKED;
		if (t != TURN_CHILD && t != TURN_HANDOVER)
			sleep_on_turn(t, NULL);
	}
}
