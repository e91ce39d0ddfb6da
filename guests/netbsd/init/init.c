/*
 * /sbin/init of lvm's NetBSD guest, built by scripts/netbsd-build.py: a freestanding
 * NetBSD/i386 program (no libc; see start.S for the ABI) that opens /dev/console,
 * prints a banner, makes the root file system writable, runs the system-call suite
 * (suite.c), then the shell (shell.c) on the console, and when the shell exits calls
 * reboot(2), which ends lvm and QEMU (-no-reboot).  Run as "init case NAME" it is one
 * of the suite's re-executed children.
 */
#include "nb.h"

static void console(void)
{
	int fd = sys(SYS_open, "/dev/console", O_RDWR);
	if (fd < 0)
		sys(SYS_exit, 2);	/* nowhere to say it: the kernel panics on init's exit */
	sys(SYS_dup2, fd, 0);
	sys(SYS_dup2, fd, 1);
	sys(SYS_dup2, fd, 2);
	if (fd > 2)
		sys(SYS_close, fd);
}

void start_c(long *sp)
{
	int argc = sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	if (argc >= 3 && strcmp(argv[1], "case") == 0) {
		int ok = envp[0] && strcmp(envp[0], "SUITE=exec") == 0;
		sys(SYS_exit, ok ? suite_child(argv[2]) : 98);
	}
	console();
	say("lvm NetBSD init: system-call suite, then a shell\n");
	char *fspec = 0;	/* no device: an update of the root's flags (ffs_mount) */
	long r = sys(SYS_mount, "ffs", "/", MNT_UPDATE, &fspec, sizeof fspec);
	if (r < 0)
		say_num("init: cannot remount / read-write: error ", -r, "\n");
	suite("/sbin/init");
	say("shell: type exit to reboot\n");
	shell();
	say("init: rebooting\n");
	sys(SYS_reboot, RB_AUTOBOOT, 0);
	fatal("reboot failed: error ", r);
}
