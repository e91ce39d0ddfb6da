/* isoproc.h: what isolate.c (running guest code) and isoproc.c (the processes) share. */
#ifndef LVM_ISOPROC_H
#define LVM_ISOPROC_H
#include <sys/types.h>
#include "monitor.h"

extern char iso_stub[], iso_stub_end[], iso_stub_ops[], iso_stub_call_end[], iso_stub_done[],
	iso_stub_fail[], iso_stub_frame[], iso_stub_flags[];
extern void *iso_stub_page;              /* the process's copy of isostub.S */
#define STUB(sym) ((u64)(uintptr_t)iso_stub_page + (u64)((sym) - iso_stub))
#define ALTSTACK_SIZE (64 * 1024)

struct area;
struct proc {
	const char *name;
	pid_t pid;
	struct area *area;                /* the queue of host calls */
	u8 *altstack;                     /* its signal stack, shared: frames are read there */
	u32 nops;
	int pending;                      /* a wait status reported while the other ran */
};
extern struct proc kproc, uproc;     /* the kernel's process, the user's */

long iso_pt(int req, pid_t pid, void *addr, void *data);   /* ptrace; a failure is our bug */
int iso_wait_for(struct proc *p);        /* its next stop; the other's death ends the run */
void iso_run_ops(struct proc *p);        /* the queued host calls, before guest code runs */
#endif
