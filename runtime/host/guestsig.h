/* guestsig.h: guest code's host signals (guestsig.c) and the way back into guest
 * code from a handler (resume.c), for signals.c and userproc.c. */
#ifndef LVM_GUESTSIG_H
#define LVM_GUESTSIG_H
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include "monitor.h"

void guestsig_init(void);                      /* at start: what it reports needs reading */
void guest_signal(int sig, siginfo_t *si, mcontext_t *m, struct lvm_regs *r);
void regs_from_mcontext(const mcontext_t *m, struct lvm_regs *r);
/* A handler for guest code arms the resume point; resume() then goes back to it
 * (longjmp), and the handler takes the registers to resume with from disarm. */
void resume_arm(jmp_buf *jb);
bool resume_armed(void);
const struct lvm_regs *resume_disarm(void);
#endif
