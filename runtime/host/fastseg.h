/* fastseg.h: segment loads a call-mode guest subroutine finishes (fastseg.c). */
#ifndef LVM_FASTSEG_H
#define LVM_FASTSEG_H
#include "monitor.h"

void fastseg_note(int sreg, u16 sel, u32 where, u64 d);  /* a load emulated at CPL 0 */
void fastseg_flush(void);                                /* the GDTR changed, a reset */
void fastseg_forget_host(u16 host);                      /* an LDT slot rewritten */
void fastseg_apply(const u32 used[4], const u32 sel[4]); /* at a monitor entry */
#endif
