/* irq.h: how devices reach the vCPU: ISA lines into the 8259A pair and the I/O
 * APIC, the local APIC, and the virtual timers that drive them (irq.c). */
#ifndef LVM_IRQ_H
#define LVM_IRQ_H
#include <signal.h>
#include <time.h>
#include "monitor.h"


/* devices/i8259.c */
void pic_set_irq(int irq, bool level);
bool pic_pending(void);
bool pic_irq_busy(int irq);                      /* requested, not yet taken */
bool pic_irq_masked(int irq);
int pic_acknowledge(void);
void i8259_init(void);
/* devices/i8254.c */
void i8254_init(void);
void pit_catch_up(void);                         /* re-raise ticks the host was late for */

/* devices with host events (input, timers): polled by irq.c; can they wake a halted vCPU? */
void uart_poll(bool input);                      /* input: stdin may be readable */
bool uart_can_interrupt(void);
void rtc_poll(void);
bool rtc_can_interrupt(void);
/* devices/lapic.c */
void lapic_init(void);
bool lapic_pending(void);
void lapic_refresh(void);                        /* Current Count in the mirror */                        /* a vector above the priority */
int lapic_acknowledge(void);                     /* -1 if none */
bool lapic_accepts_extint(void);                 /* LINT0 passes the 8259A's INTR */
void lapic_accept(int vector, bool level);       /* from the I/O APIC */
u64 lapic_base_msr(void);
void lapic_set_base_msr(u64 v);
/* devices/ioapic.c */
void ioapic_init(void);
void ioapic_set_isa_irq(int isa_irq, bool level);
void ioapic_eoi(int vector);                     /* a level-triggered vector's EOI */

/* irq.c */
struct vtimer {
	u64 deadline, period;                        /* CLOCK_MONOTONIC ns */
	bool armed;
	void (*expired)(struct vtimer *t, u64 periods);
};
void vtimer_register(struct vtimer *t);
void vtimer_arm(struct vtimer *t, u64 deadline, u64 period);   /* deadline 0: off */
void irq_line(int isa_irq, bool level);          /* what devices call */
void irq_update(void);                           /* a controller's output changed */
void irq_update_pending(bool pending);           /* the 8259A's INTR output changed */
void irq_input_signal(void);                     /* from the SIGIO handler */
void device_timer_init(struct vtimer *t);        /* a device's one-shot deadline */
void device_timer_arm(struct vtimer *t, u64 when_ns);   /* now_ns() time; 0 disarms */
u64 now_ns(void);
void check_interrupts(struct lvm_regs *r);      /* deliver one if IF allows */
void irq_timer_signal(void);                     /* from the SIGALRM handler */
enum { EVENT_TIMER = 1, EVENT_INPUT = 2 };
extern volatile u32 host_events;                 /* noted, not yet polled (switch.S reads it) */
int irq_init(void);
#endif
