/* pfretry.h: a user #PF's page filled before the faulting instruction runs again. */
#ifndef LVM_PFRETRY_H
#define LVM_PFRETRY_H
#include "monitor.h"

void pfretry_arm(const struct lvm_regs *r, u32 addr, int access);  /* a user #PF delivered */
void pfretry_resume(const struct lvm_regs *r);                      /* CPL 3 about to run */
#endif
