/*
 * /sbin/init of lvm's NetBSD guest, built by scripts/netbsd-build.py: a freestanding
 * NetBSD/i386 program (no libc; see start.S for the ABI) that opens /dev/console,
 * prints a banner, makes the root file system writable, runs the system-call suite
 * (suite.c), then a shell on the console (Debian's busybox ash under COMPAT_LINUX,
 * or init's own, shell.c, without it), and when the shell exits calls
 * reboot(2), which ends lvm and QEMU (-no-reboot); booted with -s, it reboots after
 * the suite.  Run as "init case NAME" it is one of the suite's re-executed children.
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

/* Debian's busybox ash under COMPAT_LINUX as the console's shell; -1 if it cannot
 * run (then init's own shell, shell.c, takes the console). */
static int busybox(char **argv)
{
	int pid = sys_fork();
	if (pid == 0) {
		char *envp[] = { "PATH=/bin:/sbin", "HOME=/", "TERM=dumb", "PS1=# ", 0 };
		sys(SYS_execve, "/bin/busybox", argv, envp);
		sys(SYS_exit, 127);
	}
	int status = 0;
	if (pid < 0 || wait4(pid, &status, 0) != pid || status == 127 << 8)
		return -1;
	return 0;
}

static int busybox_shell(void)
{
	char *sh[] = { "sh", 0 };
	return busybox(sh);
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
	/* "-s", the kernel's single-user flag (boot -s; lvm run and QEMU: -append "-s"):
	 * here the suite alone, then reboot, for runs without a console to type at */
	if (argc >= 2 && strcmp(argv[1], "-s") == 0)
		say("init: suite only (-s)\n");
	else {
		say("shell: type exit to reboot\n");
		if (busybox_shell() < 0)
			shell();
	}
	say("init: rebooting\n");
	r = sys(SYS_reboot, RB_AUTOBOOT, 0);
	fatal("reboot failed: error ", r);
}
