/* console.h: the host terminal behind COM1 (console.c): stdout for the guest's
 * output, stdin for its input, and the terminal state to put back on every exit. */
#ifndef LVM_CONSOLE_H
#define LVM_CONSOLE_H
#include "monitor.h"

void console_init(void);             /* after signals_init(): raw mode, SIGIO on input */
void console_write(u8 c);            /* buffered; flushed at '\n' */
void console_flush(void);
int console_read(u8 *buf, int max);  /* what stdin has now, up to max bytes; never blocks */
void console_kick(void);             /* input may have arrived (SIGIO): look again */
bool console_take_break(void);       /* the user sent a break (Ctrl-A b) */
bool console_input_open(void);       /* false once stdin reached EOF */
bool console_is_terminal(void);      /* a user can still type (and quit with Ctrl-A x) */

/* From signal handlers (async-signal-safe): */
void console_restore(void);          /* terminal and stdin flags as we found them; flush */
void console_fatal_signal(int sig) __attribute__((noreturn));
void console_stop(void);             /* SIGTSTP: the terminal back, stop */
void console_continued(void);        /* SIGCONT: raw again */
#endif
