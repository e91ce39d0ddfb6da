/* irq.h: how devices reach the vCPU: interrupt lines into the 8259A pair, whose
 * output is the vCPU's INTR, and the host timer that drives the PIT. */
#ifndef LVM_IRQ_H
#define LVM_IRQ_H
#include <signal.h>
#include <time.h>
#include "monitor.h"

#define SIG_DEVICE_TIMER SIGRTMIN                /* the device timers' signal */

/* devices/i8259.c */
void pic_set_irq(int irq, bool level);
bool pic_pending(void);
int pic_acknowledge(void);
void i8259_init(void);
/* devices/i8254.c */
void i8254_init(void);
void pit_timer_expired(void);
/* devices with host events (input, timers): polled by irq.c; can they wake a halted vCPU? */
void uart_poll(bool input);                      /* input: stdin may be readable */
bool uart_can_interrupt(void);
void rtc_poll(void);
bool rtc_can_interrupt(void);

/* irq.c */
void irq_update_pending(bool pending);           /* the PIC's INTR output changed */
void host_timer_arm(u64 first_ns, u64 period_ns); /* 0, 0: disarm */
u64 now_ns(void);
void check_interrupts(struct lvm_regs *r);      /* deliver one if IF allows */
void irq_timer_signal(void);                     /* from the SIGALRM handler */
void irq_input_signal(void);                     /* from the SIGIO handler */
void irq_device_timer_signal(void);              /* from the SIG_DEVICE_TIMER handler */
int device_timer_create(timer_t *t);             /* one-shot, raises SIG_DEVICE_TIMER */
void device_timer_arm(timer_t t, u64 when_ns);   /* absolute now_ns() time; 0 disarms */
int irq_init(void);
#endif
