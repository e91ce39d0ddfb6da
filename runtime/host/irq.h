/* irq.h: how devices reach the vCPU: interrupt lines into the 8259A pair, whose
 * output is the vCPU's INTR, and the host timer that drives the PIT. */
#ifndef LVM_IRQ_H
#define LVM_IRQ_H
#include "monitor.h"

/* devices/i8259.c */
void pic_set_irq(int irq, bool level);
bool pic_pending(void);
int pic_acknowledge(void);
void i8259_init(void);
/* devices/i8254.c */
void i8254_init(void);
void pit_timer_expired(void);

/* irq.c */
void irq_update_pending(bool pending);           /* the PIC's INTR output changed */
void host_timer_arm(u64 first_ns, u64 period_ns); /* 0, 0: disarm */
u64 now_ns(void);
void check_interrupts(struct lvm_regs *r);      /* deliver one if IF allows */
void irq_timer_signal(void);                     /* from the SIGALRM handler */
int irq_init(void);
#endif
