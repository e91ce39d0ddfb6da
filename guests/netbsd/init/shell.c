/*
 * The guest's minimal native shell (init's last stage, on the console): a prompt "# ",
 * one command a line, words split at blanks or in single quotes, no pipes or
 * redirection.
 * Built-ins: echo, ls [DIR], cat FILE..., mkdir DIR, rm FILE, cd DIR, exit;
 * anything else runs as a program: the word as a path if it has a '/', else /bin/WORD
 * (so `busybox ls` runs Debian's static busybox under COMPAT_LINUX), and the shell
 * waits for it.  Returns at exit or at the end of its input.
 */
#include "nb.h"

static char line[512];

static int read_line(void)
{
	size_t n = 0;
	for (;;) {
		char c;
		long r = sys(SYS_read, 0, &c, 1);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			return n ? (int)n : -1;
		if (c == '\r' || c == '\n')
			break;
		if (n + 1 < sizeof line)
			line[n++] = c;
	}
	line[n] = 0;
	return n;
}

static void complain(const char *cmd, const char *arg, long err)
{
	say(cmd);
	say(": ");
	say(arg);
	say_num(": error ", -err, "\n");
}

static void ls(const char *dir)
{
	static char buf[4096];
	int fd = sys(SYS_open, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		complain("ls", dir, fd);
		return;
	}
	long r;
	while ((r = sys(SYS_getdents, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < r;) {
			struct dirent *d = (struct dirent *)(buf + off);
			if (d->fileno && d->name[0] != '.') {
				say(d->name);
				say("\n");
			}
			off += d->reclen;
		}
	sys(SYS_close, fd);
}

static void cat(const char *path)
{
	char buf[1024];
	int fd = sys(SYS_open, path, O_RDONLY);
	if (fd < 0) {
		complain("cat", path, fd);
		return;
	}
	long r;
	while ((r = sys(SYS_read, fd, buf, sizeof buf)) > 0)
		sys(SYS_write, 1, buf, r);
	sys(SYS_close, fd);
}

static void run(char **argv)
{
	static char path[128];
	const char *p = argv[0];
	int slash = 0;
	for (const char *q = p; *q; q++)
		slash |= *q == '/';
	if (!slash && strlen(p) < 100) {
		memcpy(path, "/bin/", 5);
		memcpy(path + 5, p, strlen(p) + 1);
		p = path;
	}
	int pid = sys_fork();
	if (pid == 0) {
		char *envp[] = { "PATH=/bin", "HOME=/", "TERM=dumb", "PS1=# ", 0 };
		long r = sys(SYS_execve, p, argv, envp);
		complain("sh", p, r);
		sys(SYS_exit, 127);
	}
	int s = 0;
	wait4(pid, &s, 0);
	if (WIFSIGNALED(s))
		say_num("sh: killed by signal ", WTERMSIG(s), "\n");
}

int shell(void)
{
	char *argv[32];
	for (;;) {
		say("# ");
		if (read_line() < 0)
			return 0;
		int argc = 0;
		for (char *p = line; *p && argc < 31;) {
			while (*p == ' ' || *p == '\t')
				*p++ = 0;
			if (!*p)
				break;
			if (*p == '\'') {	/* 'a quoted word' */
				argv[argc++] = ++p;
				while (*p && *p != '\'')
					p++;
				if (*p)
					*p++ = 0;
				continue;
			}
			argv[argc++] = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		argv[argc] = 0;
		if (argc == 0)
			continue;
		const char *c = argv[0];
		if (strcmp(c, "exit") == 0)
			return 0;
		else if (strcmp(c, "echo") == 0) {
			for (int i = 1; i < argc; i++) {
				say(argv[i]);
				say(i + 1 < argc ? " " : "");
			}
			say("\n");
		} else if (strcmp(c, "ls") == 0)
			ls(argc > 1 ? argv[1] : ".");
		else if (strcmp(c, "cat") == 0)
			for (int i = 1; i < argc; i++)
				cat(argv[i]);
		else if (strcmp(c, "mkdir") == 0 || strcmp(c, "rm") == 0 || strcmp(c, "cd") == 0) {
			int n = c[0] == 'm' ? SYS_mkdir : c[0] == 'r' ? SYS_unlink : SYS_chdir;
			for (int i = 1; i < argc; i++) {
				long r = sys(n, argv[i], 0755);
				if (r < 0)
					complain(c, argv[i], r);
			}
		} else
			run(argv);
	}
}
