/*
 * The system-call suite the guest's /sbin/init runs at boot: one line per case, "ok N -
 * name" or "not ok N - name (detail)", with nothing that differs between machines (no
 * pids, addresses or times), so that lvm's call and trap kernels and the native kernel
 * under QEMU print the same lines (tests/test_netbsd.py compares them).  A case that
 * needs a fresh program image re-executes /sbin/init as "init case NAME" (suite_child).
 */
#include "nb.h"

static int number, passed;
static char detail[96];

static void set_detail(const char *what, long v)
{
	char buf[16];
	size_t n = strlen(what);
	memcpy(detail, what, n);
	fmt_num(buf, v);
	memcpy(detail + n, buf, strlen(buf) + 1);
}

#define CHECK(cond, what, v) do { if (!(cond)) { set_detail(what, (long)(v)); return 0; } } while (0)

static void report(const char *name, int ok)
{
	say_num(ok ? "ok " : "not ok ", ++number, " - ");
	say(name);
	if (!ok) {
		say(" (");
		say(detail);
		say(")");
	} else
		passed++;
	say("\n");
}

/* fork, run body in the child (its result is the exit status), wait; the status */
static int in_child(int (*body)(void))
{
	int status = -1, pid = sys_fork();
	if (pid == 0)
		sys(SYS_exit, body());
	if (pid < 0)
		return pid;
	if (wait4(pid, &status, 0) != pid)
		return -1000;
	return status;
}

static int exit42(void) { return 42; }
static int kill_self(void) { sys(SYS_kill, sys(SYS_getpid), SIGKILL); return 1; }

static int t_fork_wait(void)
{
	int s = in_child(exit42);
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 42, "status ", s);
	s = in_child(kill_self);
	CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL, "killed status ", s);
	int r = wait4(-1, &s, 0);
	CHECK(r == -ECHILD, "wait4 without children ", r);
	return 1;
}

static const char *self_path;

static int t_execve(void)
{
	int pid = sys_fork();
	if (pid == 0) {
		char *argv[] = { "init", "case", "exec", 0 };
		char *envp[] = { "SUITE=exec", 0 };
		long r = sys(SYS_execve, self_path, argv, envp);
		sys(SYS_exit, 100 - r);
	}
	int s = -1;
	wait4(pid, &s, 0);
	CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 7, "status ", s);
	char *argv[] = { "nonexistent", 0 }, *envp[] = { 0 };
	long r = sys(SYS_execve, "/nonexistent", argv, envp);
	CHECK(r == -ENOENT, "execve of a missing file ", r);
	return 1;
}

static int t_pipe(void)
{
	int fd[2];
	char buf[16];
	long r = sys(SYS_pipe2, fd, 0);
	CHECK(r == 0, "pipe2 ", r);
	r = sys(SYS_write, fd[1], "through", 7);
	CHECK(r == 7, "write ", r);
	r = sys(SYS_read, fd[0], buf, sizeof buf);
	CHECK(r == 7 && memcmp(buf, "through", 7) == 0, "read ", r);
	sys(SYS_close, fd[1]);
	r = sys(SYS_read, fd[0], buf, sizeof buf);
	CHECK(r == 0, "read at EOF ", r);
	sys(SYS_close, fd[0]);
	return 1;
}

static int t_pipe_processes(void)
{
	int fd[2];
	static char buf[4096];
	sys(SYS_pipe2, fd, 0);
	int pid = sys_fork();
	if (pid == 0) {
		sys(SYS_close, fd[0]);
		for (int i = 0; i < 64; i++) {	/* 256 KiB, more than a pipe holds */
			for (int j = 0; j < 4096; j++)
				buf[j] = i + j;
			if (sys(SYS_write, fd[1], buf, 4096) != 4096)
				sys(SYS_exit, 1);
		}
		sys(SYS_exit, 0);
	}
	sys(SYS_close, fd[1]);
	long total = 0, sum = 0, r;
	while ((r = sys(SYS_read, fd[0], buf, sizeof buf)) > 0) {
		for (long k = 0; k < r; k++)
			sum += (unsigned char)buf[k] * ((total + k) % 7 + 1);
		total += r;
	}
	sys(SYS_close, fd[0]);
	int s = -1;
	wait4(pid, &s, 0);
	CHECK(r == 0, "read ", r);
	CHECK(total == 64 * 4096, "bytes ", total);
	long want = 0;
	for (long k = 0; k < total; k++)
		want += (unsigned char)((k / 4096) + (k % 4096)) * (k % 7 + 1);
	CHECK(sum == want, "checksum ", sum);
	CHECK(s == 0, "writer's status ", s);
	return 1;
}

static volatile int caught, caught_sig, segv_count;

static void on_signal(int sig, void *si, void *uc)
{
	(void)si; (void)uc;
	caught++;
	caught_sig = sig;
}

static int t_signal(void)
{
	caught = 0;
	sigaction(SIGUSR1, on_signal, SA_SIGINFO);
	long r = sys(SYS_kill, sys(SYS_getpid), SIGUSR1);
	CHECK(r == 0, "kill ", r);
	CHECK(caught == 1 && caught_sig == SIGUSR1, "handler ran ", caught);
	/* blocked: pending until unblocked */
	sigmask(SIG_BLOCK, 1u << (SIGUSR1 - 1), 0);
	sys(SYS_kill, sys(SYS_getpid), SIGUSR1);
	CHECK(caught == 1, "delivered while blocked ", caught);
	sigmask(SIG_UNBLOCK, 1u << (SIGUSR1 - 1), 0);
	CHECK(caught == 2, "delivered on unblock ", caught);
	unsigned int old;
	sigmask(SIG_BLOCK, 0, &old);
	CHECK(old == 0, "mask after the handlers ", old);
	sigaction(SIGUSR1, 0, 0);
	return 1;
}

static int t_sigchld(void)
{
	caught = 0;
	sigaction(SIGCHLD, on_signal, SA_SIGINFO);
	int s = in_child(exit42);
	sigaction(SIGCHLD, 0, 0);
	CHECK(WEXITSTATUS(s) == 42, "status ", s);
	CHECK(caught == 1 && caught_sig == SIGCHLD, "SIGCHLD count ", caught);
	return 1;
}

/* SIGSEGV: resume at probe_fault, which makes the probe return -1 */
static void on_segv(int sig, void *si, void *ucp)
{
	struct ucontext *uc = ucp;
	(void)si;
	segv_count++;
	caught_sig = sig;
	uc->gregs[REG_EIP] = (int)probe_fault;
}

static int t_sigsegv(void)
{
	segv_count = 0;
	sigaction(SIGSEGV, on_segv, SA_SIGINFO);
	int r = probe_read((const int *)16);
	CHECK(r == -1 && segv_count == 1 && caught_sig == SIGSEGV, "faults caught ", segv_count);
	r = probe_write((int *)0xc0001000, 1);	/* the kernel's half */
	CHECK(r == -1 && segv_count == 2, "faults caught ", segv_count);
	static int fine = 5;
	CHECK(probe_read(&fine) == 5 && segv_count == 2, "a good read faulted ", segv_count);
	return 1;
}

/* mmap's result is an address or -errno */
static int mapped(const void *p)
{
	return (unsigned long)p < -4096ul;
}

static int t_mmap_anon(void)
{
	int *p = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
	CHECK(mapped(p), "mmap: error ", -(long)p);
	for (int i = 0; i < 3 * 1024; i++)
		CHECK(p[i] == 0, "not zero at ", i);
	for (int i = 0; i < 3 * 1024; i++)
		p[i] = i * 3;
	long sum = 0;
	for (int i = 0; i < 3 * 1024; i++)
		sum += p[i] - i * 3;
	CHECK(sum == 0, "read back ", sum);
	long r = sys(SYS_munmap, p + 1024, 4096);
	CHECK(r == 0, "munmap ", r);
	segv_count = 0;
	CHECK(probe_read(p + 1024) == -1 && segv_count == 1, "unmapped page read, faults ", segv_count);
	CHECK(probe_read(p + 2048) == 2048 * 3, "page after the hole ", p[2048]);
	sys(SYS_munmap, p, 3 * 4096);
	return 1;
}

static int t_mprotect(void)
{
	int *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
	CHECK(mapped(p), "mmap: error ", -(long)p);
	p[10] = 77;
	long r = sys(SYS_mprotect, p, 4096, PROT_READ);
	CHECK(r == 0, "mprotect ", r);
	segv_count = 0;
	CHECK(probe_write(p + 10, 5) == -1 && segv_count == 1, "write to PROT_READ, faults ", segv_count);
	CHECK(p[10] == 77, "value after the fault ", p[10]);
	sys(SYS_mprotect, p, 4096, PROT_READ | PROT_WRITE);
	CHECK(probe_write(p + 10, 5) == 0 && p[10] == 5, "write after PROT_WRITE ", p[10]);
	sys(SYS_munmap, p, 4096);
	return 1;
}

static int write_file(const char *path, const char *data, size_t n)
{
	int fd = sys(SYS_open, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	long r = sys(SYS_write, fd, data, n);
	sys(SYS_close, fd);
	return r;
}

static int t_mmap_file(const char *path)
{
	static char data[6000];
	for (int i = 0; i < 6000; i++)
		data[i] = 'a' + i % 26;
	long r = write_file(path, data, sizeof data);
	CHECK(r == 6000, "write ", r);
	int fd = sys(SYS_open, path, O_RDONLY);
	char *p = mmap(0, 6000, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(mapped(p), "mmap: error ", -(long)p);
	CHECK(memcmp(p, data, 6000) == 0, "contents", 0);
	sys(SYS_munmap, p, 6000);
	p = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);	/* at an offset */
	CHECK(memcmp(p, data + 4096, 6000 - 4096) == 0, "contents at offset 4096", 0);
	sys(SYS_munmap, p, 4096);
	sys(SYS_close, fd);
	sys(SYS_unlink, path);
	return 1;
}

static int t_mmap_ffs(void) { return t_mmap_file("/mapped"); }

/* names in dir, sorted, into out ("a b c") */
static int list_dir(const char *dir, char *out, size_t size)
{
	static char buf[4096];
	char names[16][32];
	int n = 0, fd = sys(SYS_open, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	long r;
	while ((r = sys(SYS_getdents, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < r;) {
			struct dirent *d = (struct dirent *)(buf + off);
			if (d->fileno && strcmp(d->name, ".") && strcmp(d->name, "..") && n < 16 && d->namlen < 32)
				memcpy(names[n++], d->name, d->namlen + 1);
			off += d->reclen;
		}
	sys(SYS_close, fd);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char t[32];
				memcpy(t, names[i], 32);
				memcpy(names[i], names[j], 32);
				memcpy(names[j], t, 32);
			}
	char *p = out;
	for (int i = 0; i < n && p + 34 < out + size; i++) {
		if (i)
			*p++ = ' ';
		size_t l = strlen(names[i]);
		memcpy(p, names[i], l);
		p += l;
	}
	*p = 0;
	return n;
}

static char path_buf[3][64];

static const char *in(int k, const char *dir, const char *name)
{
	char *p = path_buf[k];
	size_t a = strlen(dir), b = strlen(name);
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static int file_io(const char *dir)
{
	char buf[64], names[128];
	struct stat st;
	long r = sys(SYS_mkdir, in(0, dir, "d"), 0755);
	CHECK(r == 0, "mkdir ", r);
	r = sys(SYS_mkdir, in(0, dir, "d"), 0755);
	CHECK(r == -EEXIST, "mkdir again ", r);
	int fd = sys(SYS_open, in(0, dir, "f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "open ", fd);
	r = sys(SYS_write, fd, "0123456789", 10);
	CHECK(r == 10, "write ", r);
	r = lseek(fd, 4, 0);
	CHECK(r == 4, "lseek ", r);
	r = sys(SYS_write, fd, "xy", 2);
	r = lseek(fd, 100000, 0);		/* a hole, then a byte */
	r = sys(SYS_write, fd, "!", 1);
	r = lseek(fd, 0, 0);
	r = sys(SYS_read, fd, buf, 10);
	CHECK(r == 10 && memcmp(buf, "0123xy6789", 10) == 0, "read back ", r);
	r = lseek(fd, 50000, 0);
	r = sys(SYS_read, fd, buf, 4);
	CHECK(r == 4 && buf[0] == 0 && buf[3] == 0, "hole ", r);
	r = sys(SYS_fstat, fd, &st);
	CHECK(r == 0 && st.size == 100001 && (st.mode & S_IFMT) == S_IFREG, "size ", (long)st.size);
	sys(SYS_close, fd);
	r = sys(SYS_rename, in(0, dir, "f"), in(1, dir, "d/g"));
	CHECK(r == 0, "rename ", r);
	r = sys(SYS_stat, in(0, dir, "f"), &st);
	CHECK(r == -ENOENT, "stat of the old name ", r);
	r = sys(SYS_stat, in(0, dir, "d/g"), &st);
	CHECK(r == 0 && st.size == 100001, "stat of the new name ", r);
	for (int i = 0; i < 5; i++) {
		char name[] = "d/n0";
		name[3] += i;
		write_file(in(0, dir, name), "x", 1);
	}
	r = list_dir(in(0, dir, "d"), names, sizeof names);
	CHECK(r == 6 && strcmp(names, "g n0 n1 n2 n3 n4") == 0, "getdents: entries ", r);
	r = sys(SYS_rmdir, in(0, dir, "d"));
	CHECK(r < 0, "rmdir of a full directory ", r);
	for (int i = 0; i < 5; i++) {
		char name[] = "d/n0";
		name[3] += i;
		sys(SYS_unlink, in(0, dir, name));
	}
	r = sys(SYS_unlink, in(0, dir, "d/g"));
	CHECK(r == 0, "unlink ", r);
	r = list_dir(in(0, dir, "d"), names, sizeof names);
	CHECK(r == 0, "entries left ", r);
	r = sys(SYS_rmdir, in(0, dir, "d"));
	CHECK(r == 0, "rmdir ", r);
	return 1;
}

static int t_ffs(void) { return file_io(""); }

static int t_tmpfs(void)
{
	struct tmpfs_args a;
	struct stat st;
	memset(&a, 0, sizeof a);
	a.version = 1;
	a.root_mode = 01777;
	long r = sys(SYS_mount, "tmpfs", "/tmp", 0, &a, sizeof a);
	CHECK(r == 0, "mount ", r);
	r = sys(SYS_stat, "/tmp", &st);
	CHECK(r == 0 && (st.mode & 07777) == 01777, "mode of the root ", st.mode & 07777);
	if (!file_io("/tmp"))
		return 0;
	if (!t_mmap_file("/tmp/mapped"))
		return 0;
	write_file("/tmp/stays", "y", 1);
	r = sys(SYS_unmount, "/tmp", 0);
	CHECK(r == 0, "unmount ", r);
	r = sys(SYS_stat, "/tmp/stays", &st);
	CHECK(r == -ENOENT, "file after unmount ", r);
	return 1;
}

static int t_socketpair(void)
{
	int sv[2];
	char buf[16];
	long r = sys(SYS_socketpair, AF_LOCAL, SOCK_STREAM, 0, sv);
	CHECK(r == 0, "socketpair ", r);
	sys(SYS_write, sv[0], "ping", 4);
	r = sys(SYS_read, sv[1], buf, sizeof buf);
	CHECK(r == 4 && memcmp(buf, "ping", 4) == 0, "one way ", r);
	int pid = sys_fork();
	if (pid == 0) {
		long n = sys(SYS_read, sv[1], buf, sizeof buf);
		buf[0] ^= 0x20;
		sys(SYS_write, sv[1], buf, n);
		sys(SYS_exit, 0);
	}
	sys(SYS_write, sv[0], "pong", 4);
	r = sys(SYS_read, sv[0], buf, sizeof buf);
	CHECK(r == 4 && memcmp(buf, "Pong", 4) == 0, "through a child ", r);
	int s;
	wait4(pid, &s, 0);
	sys(SYS_close, sv[1]);
	r = sys(SYS_read, sv[0], buf, sizeof buf);
	CHECK(r == 0, "EOF ", r);
	sys(SYS_close, sv[0]);
	return 1;
}

static struct sockaddr_in inet(unsigned int addr, unsigned short port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.len = sizeof a;
	a.family = AF_INET;
	a.port = port << 8 | port >> 8;
	a.addr = addr;
	return a;
}

#define LOOPBACK 0x0100007f	/* 127.0.0.1 in network order */

static int t_inet(void)
{
	struct ifaliasreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.name, "lo0", 4);
	ifr.addr = inet(LOOPBACK, 0);
	ifr.mask = inet(0x000000ff, 0);
	int s = sys(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0, "socket ", s);
	long r = sys(SYS_ioctl, s, SIOCAIFADDR, &ifr);
	CHECK(r == 0, "SIOCAIFADDR lo0 ", r);
	struct sockaddr_in a = inet(LOOPBACK, 7777);
	r = sys(SYS_bind, s, &a, sizeof a);
	CHECK(r == 0, "bind ", r);
	r = sys(SYS_sendto, s, "datagram", 8, 0, &a, sizeof a);
	CHECK(r == 8, "sendto ", r);
	char buf[32];
	r = sys(SYS_recvfrom, s, buf, sizeof buf, 0, 0, 0);
	CHECK(r == 8 && memcmp(buf, "datagram", 8) == 0, "recvfrom ", r);
	sys(SYS_close, s);
	/* TCP: a child connects, the parent accepts and reads */
	int l = sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
	a = inet(LOOPBACK, 7778);
	r = sys(SYS_bind, l, &a, sizeof a);
	CHECK(r == 0, "tcp bind ", r);
	r = sys(SYS_listen, l, 5);
	CHECK(r == 0, "listen ", r);
	int pid = sys_fork();
	if (pid == 0) {
		int c = sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
		if (sys(SYS_connect, c, &a, sizeof a) != 0)
			sys(SYS_exit, 1);
		sys(SYS_write, c, "stream", 6);
		sys(SYS_close, c);
		sys(SYS_exit, 0);
	}
	int c = sys(SYS_accept, l, 0, 0);
	CHECK(c >= 0, "accept ", c);
	long total = 0;
	while ((r = sys(SYS_read, c, buf + total, sizeof buf - total)) > 0)
		total += r;
	CHECK(total == 6 && memcmp(buf, "stream", 6) == 0, "tcp bytes ", total);
	int st;
	wait4(pid, &st, 0);
	CHECK(st == 0, "client's status ", st);
	sys(SYS_close, c);
	sys(SYS_close, l);
	return 1;
}

static int exit_index;
static int exit_low(void) { return exit_index & 0xff; }

static int t_many_processes(void)
{
	for (exit_index = 0; exit_index < 300; exit_index++) {
		int s = in_child(exit_low);
		CHECK(WIFEXITED(s) && WEXITSTATUS(s) == (exit_index & 0xff), "process ", exit_index);
	}
	return 1;
}

static const struct { const char *name; int (*run)(void); } cases[] = {
	{ "fork, exit and wait4 statuses", t_fork_wait },
	{ "execve of init with arguments and environment", t_execve },
	{ "pipe: data through, EOF", t_pipe },
	{ "pipe between two processes (256 KiB)", t_pipe_processes },
	{ "signals: kill(self), handler, mask, sigreturn", t_signal },
	{ "SIGCHLD", t_sigchld },
	{ "SIGSEGV from bad accesses, resumed by the handler", t_sigsegv },
	{ "mmap anonymous, munmap", t_mmap_anon },
	{ "mprotect: a write to PROT_READ is SIGSEGV", t_mprotect },
	{ "mmap of an FFS file", t_mmap_ffs },
	{ "FFS: create, write, lseek, read, rename, getdents, unlink, rmdir", t_ffs },
	{ "tmpfs: mount, the same file I/O, mmap, unmount", t_tmpfs },
	{ "AF_LOCAL socketpair, across fork", t_socketpair },
	{ "INET on lo0: UDP and TCP", t_inet },
	{ "300 processes in a row", t_many_processes },
};

int suite(const char *self)
{
	int n = sizeof cases / sizeof cases[0];
	self_path = self;
	say_num("1..", n, "\n");
	for (int i = 0; i < n; i++) {
		detail[0] = 0;
		report(cases[i].name, cases[i].run());
	}
	say_num("suite: ", passed, " of ");
	say_num("", n, " passed\n");
	return passed == n;
}

/* "init case NAME": what a re-executed init does (exit status checked by its parent) */
int suite_child(const char *name)
{
	if (strcmp(name, "exec") == 0)
		return 7;
	return 99;
}
