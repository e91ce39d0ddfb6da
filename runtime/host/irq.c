/* irq.c: interrupt sources of the vCPU and the wait of HLT.
 *
 * The PC's interrupt controllers and timers come with the platform (devices/);
 * until one is armed, nothing can ever interrupt the guest, and a HLT with IF set
 * would sleep forever: we say so and stop instead of hanging.
 */
#include "traps.h"

void wait_for_interrupt(struct lvm_regs *r)
{
	kill_guest(r, "hlt with no interrupt source armed: the guest would sleep forever");
}
