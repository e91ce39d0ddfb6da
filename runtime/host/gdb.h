/* gdb.h: the GDB remote stub (gdbstub.c: stops, steps, registers, the commands;
 * gdbmem.c: memory and breakpoints; gdbconn.c: the options, the socket, packets;
 * gdbhw.c: debug registers; gdbxml.c: the target description, CR0-CR4). */
#ifndef LVM_GDB_H
#define LVM_GDB_H
#include "monitor.h"

/* main.c: -gdb SPEC (tcp::PORT, unix:PATH), -s (tcp::1234), -S (wait before the
 * first instruction); gdb_init after signals_init, before the guest runs. */
void gdb_option(const char *spec);
void gdb_wait_at_start(void);
int gdb_init(void);

/* signals.c, singlestep.c, irq.c: the events a debugger may claim. */
void gdb_check(struct lvm_regs *r);            /* resume(): stop here if a stop is due */
bool gdb_breakpoint_hit(struct lvm_regs *r);   /* an int3's #BP, eip after it: ours? */
bool gdb_step_done(struct lvm_regs *r);        /* a single-step #DB: the debugger's? */
void gdb_hw_hit(struct lvm_regs *r, const void *siginfo);   /* a debug register's SIGTRAP */
bool gdb_stepping(void);                       /* a step is under way: no interrupts */
bool gdb_stop_requested(void);                 /* HLT: stop waiting */
u32 gdb_hidden_flags(void);                    /* TF while a step of the debugger's runs */
void gdb_poll(void);                           /* input (SIGIO): Ctrl-C, a connection */

/* gdbconn.c, for gdbstub.c */
bool gdb_connected(void);
bool gdb_wanted(void);                          /* -s or -gdb given */
bool gdb_accept_wait(void);                    /* -S: block until a debugger connects */
int gdb_read_packet(char *buf, int max);       /* blocking; -1: the connection is gone */
void gdb_send(const char *payload);
void gdb_set_noack(void);
void gdb_disconnect(void);
void gdb_interrupt(bool by_debugger);          /* gdbstub.c: Ctrl-C, or a new connection */
void gdb_detached(void);                       /* gdbstub.c: the connection went away */

/* gdbmem.c, for gdbstub.c: memory (replies E14 on a fault) and breakpoints */
u32 gdb_hex(const char **p);
void gdb_read_memory(const char *args, char *reply);    /* m ADDR,LEN */
void gdb_write_memory(const char *args, char *reply);   /* M ADDR,LEN:HEX */
const char *gdb_insert_breakpoint(u32 lin);             /* "OK", "E14" */
const char *gdb_remove_breakpoint(u32 lin);
void gdb_remove_breakpoints(void);
bool gdb_is_breakpoint(u32 lin);

/* gdbhw.c, for gdbstub.c: Z1 Z2 Z4 on the host's debug registers (perf_event_open) */
const char *gdb_hw_insert(int kind, u32 addr, u32 len);
const char *gdb_hw_remove(int kind, u32 addr, u32 len);
void gdb_hw_remove_all(void);
int gdb_hw_slot(const void *siginfo);            /* a TRAP_PERF SIGTRAP's slot, -1: not ours */
void gdb_hw_reason(int slot, char *out, int max);

/* gdbxml.c, for gdbstub.c: the target description's registers are gdb's numbering:
 * 0-15 in the `g` packet, x87 16-31 and SSE 32-40 unavailable, then cr0 cr2 cr3 cr4. */
#define GDB_G_REGS 16
#define GDB_REG_CR0 41
#define GDB_SYS_REGS 4
bool gdb_sys_reg_get(unsigned n, u32 *v);                        /* cr0 cr2 cr3 cr4 */
void gdb_xfer_features(const char *args, char *reply, size_t max);   /* after qXfer:features:read: */
#endif
