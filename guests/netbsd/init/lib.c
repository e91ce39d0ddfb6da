/*
 * The little of a C library the guest's /sbin/init needs: wrappers for the system calls
 * whose arguments the generic stub cannot pass as they come (64-bit offsets after a pad
 * word, sigaction's trampoline), strings, and printing to the console (fd 1).
 */
#include "nb.h"

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* mmap(addr, len, prot, flags, fd, PAD, pos): pos a 64-bit word after a pad */
	return (void *)sys(SYS_mmap, addr, len, prot, flags, fd, 0, off);
}

long lseek(int fd, off_t off, int whence)
{
	return sys(SYS_lseek, fd, 0, off, whence);
}

int sigaction(int sig, void (*handler)(int, void *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.handler = handler;
	sa.flags = flags;
	/* __sigaction_sigtramp(sig, new, old, trampoline, version 2) */
	return sys(SYS_sigaction_sigtramp, sig, &sa, 0, sigtramp, 2);
}

int sigmask(int how, unsigned int bits, unsigned int *old)
{
	struct sigset set, prev;
	memset(&set, 0, sizeof set);
	set.bits[0] = bits;
	int r = sys(SYS_sigprocmask, how, &set, &prev);
	if (old)
		*old = prev.bits[0];
	return r;
}

int wait4(int pid, int *status, int options)
{
	int r;
	do
		r = sys(SYS_wait4, pid, status, options, 0);
	while (r == -EINTR);
	return r;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

void *memset(void *p, int c, size_t n)
{
	unsigned char *d = p;
	while (n--)
		*d++ = c;
	return p;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

void puts_fd(int fd, const char *s)
{
	sys(SYS_write, fd, s, strlen(s));
}

void say(const char *s)
{
	puts_fd(1, s);
}

char *fmt_num(char *buf, long n)
{
	char tmp[16];
	int i = 0, neg = n < 0;
	unsigned long u = neg ? -(unsigned long)n : (unsigned long)n;
	do
		tmp[i++] = '0' + u % 10;
	while (u /= 10);
	char *p = buf;
	if (neg)
		*p++ = '-';
	while (i)
		*p++ = tmp[--i];
	*p = 0;
	return buf;
}

void say_num(const char *prefix, long n, const char *suffix)
{
	char buf[16];
	say(prefix);
	say(fmt_num(buf, n));
	say(suffix);
}

void fatal(const char *what, long err)
{
	say("init: ");
	say_num(what, -err, "\n");
	sys(SYS_exit, 1);
}
