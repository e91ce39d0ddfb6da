/* suite.h: what the system-call suite's files share (suite.c runs the cases listed
 * there; suite_proc.c processes and signals, suite_mem.c memory, suite_fs.c files,
 * suite_net.c sockets).  A case returns 1, or 0 with a detail set by CHECK. */
#ifndef SUITE_H
#define SUITE_H
#include "nb.h"

#define CHECK(cond, what, v) do { if (!(cond)) { set_detail(what, (long)(v)); return 0; } } while (0)

void set_detail(const char *what, long v);
int in_child(int (*body)(void));       /* fork, run body in the child, wait: the status */
int exit42(void);
extern const char *self_path;          /* /sbin/init, for the cases that re-execute it */
/* SIGSEGV recovery (suite_proc.c): with catch_segv()'s handler, a fault in a probe
 * (start.S) makes it return -1; segv_count counts them */
void catch_segv(void);
extern volatile int caught_sig, segv_count;
int mapped(const void *p);             /* mmap's result: an address, not -errno */
int write_file(const char *path, const char *data, size_t n);
int t_mmap_file(const char *path);

int t_fork_wait(void), t_execve(void), t_pipe(void), t_pipe_processes(void), t_signal(void),
    t_sigchld(void), t_sigsegv(void), t_many_processes(void);
int t_mmap_anon(void), t_mprotect(void), t_mmap_ffs(void);
int t_ffs(void), t_tmpfs(void);
int t_socketpair(void), t_inet(void);
#endif
