/* stats.h: counts of monitor entries by reason (stats.c; LVM_STATS=1). */
#ifndef LVM_STATS_H
#define LVM_STATS_H
#include "monitor.h"
struct insn;
extern bool stats_on;
void stats_signal(int sig, u32 trapno);
void stats_call(void);
void stats_gate(void);
void stats_fastseg(void);              /* fastseg.c: a load a guest subroutine finished */
void stats_insn(const struct insn *in);
void stats_print(void);
#endif
