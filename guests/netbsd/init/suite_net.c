/* suite_net.c: the suite's cases on sockets: AF_LOCAL, and UDP and TCP on lo0. */
#include "suite.h"

int t_socketpair(void)
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

int t_inet(void)
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
