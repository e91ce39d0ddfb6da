/* gdbconn.c: the debugger's connection: QEMU's options, the socket, the packets.
 *
 * `-gdb tcp::PORT` (`-s` is tcp::1234) listens on 127.0.0.1 only, `-gdb unix:PATH`
 * on a Unix socket (tests).  One debugger at a time: a second connection is told
 * so and closed.  The sockets are non-blocking with O_ASYNC, so a connection or a
 * byte from gdb while the guest runs is a SIGIO, the same host event as console
 * input (irq.c's poll_sources calls gdb_poll): that is how Ctrl-C (0x03) stops a
 * guest that spins natively or sleeps in HLT.  While the guest is stopped the
 * monitor blocks here in poll(2), reading packets: `$payload#cs`, acknowledged
 * with `+` until gdb asks for QStartNoAckMode.  The guest's exit (any exit(): port
 * 0xf4, reset, a guest error) is reported to a connected debugger as `Wxx`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "gdb.h"

static const char *spec;            /* the -gdb option as given */
static bool wait_start;
static int listen_fd = -1, conn = -1;
static bool noack;
static char unix_path[108];
static u8 in[4096];
static unsigned in_head, in_len;

void gdb_option(const char *s)
{
	spec = s;
}

void gdb_wait_at_start(void)
{
	wait_start = true;
}

bool gdb_wanted(void)
{
	return spec != NULL;
}

bool gdb_connected(void)
{
	return conn >= 0;
}

static void make_async(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK | O_ASYNC);
	fcntl(fd, F_SETOWN, getpid());
}

static void write_all(const char *p, size_t n)
{
	while (n && conn >= 0) {
		ssize_t k = send(conn, p, n, MSG_NOSIGNAL);
		if (k < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pf = { conn, POLLOUT, 0 };
			poll(&pf, 1, 1000);
			continue;
		}
		if (k <= 0)
			return;
		p += k, n -= k;
	}
}

void gdb_send(const char *payload)
{
	static char buf[8192];
	u8 sum = 0;
	size_t n = strlen(payload);
	if (n + 4 > sizeof buf)
		host_bug("gdb reply of %zu bytes", n);
	buf[0] = '$';
	for (size_t i = 0; i < n; i++)
		sum += (u8)payload[i], buf[i + 1] = payload[i];
	snprintf(buf + n + 1, 4, "#%02x", sum);
	write_all(buf, n + 4);
}

void gdb_set_noack(void)
{
	noack = true;
}

void gdb_disconnect(void)
{
	if (conn >= 0)
		close(conn);
	conn = -1;
	noack = false;
	in_head = in_len = 0;
}

static void refuse_or_take(int fd)
{
	if (conn >= 0) {
		static const char msg[] = "lvm: a debugger is connected already\n";
		send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		fpu_protect();
		fprintf(stderr, "lvm: gdb: refused a second connection (%s has one)\n", spec);
		return;
	}
	conn = fd;
	make_async(conn);
	gdb_interrupt(false);                  /* gdb expects a stopped target */
}

static void accept_pending(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		refuse_or_take(fd);
	}
}

bool gdb_accept_wait(void)
{
	if (!wait_start || listen_fd < 0)
		return false;
	wait_start = false;
	fpu_protect();
	fprintf(stderr, "lvm: waiting for gdb on %s\n", spec);
	while (conn < 0) {
		struct pollfd pf = { listen_fd, POLLIN, 0 };
		poll(&pf, 1, -1);
		accept_pending();
	}
	return true;
}

/* Bytes while the guest runs: 0x03 stops it; acks are dropped; EOF detaches. */
void gdb_poll(void)
{
	if (listen_fd < 0)
		return;
	accept_pending();
	while (conn >= 0 && !gdb_stop_requested()) {   /* a new debugger's packets wait */
		u8 b[256];
		ssize_t k = recv(conn, b, sizeof b, MSG_DONTWAIT);
		if (k == 0) {
			gdb_detached();
			return;
		}
		if (k < 0)
			return;
		for (ssize_t i = 0; i < k; i++)      /* not memchr: libc's uses the guest's SSE registers */
			if (b[i] == 0x03)
				gdb_interrupt(true);
	}
}

/* One byte, blocking; -1 when the connection is gone. */
static int next_byte(void)
{
	while (in_head == in_len) {
		if (conn < 0)
			return -1;
		struct pollfd pf[2] = { { conn, POLLIN, 0 }, { listen_fd, POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0)
			continue;                        /* EINTR: a timer's signal */
		if (pf[1].revents)
			accept_pending();
		if (!pf[0].revents)
			continue;
		ssize_t k = recv(conn, in, sizeof in, MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (k > 0)
			in_head = 0, in_len = k;
	}
	return in[in_head++];
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int gdb_read_packet(char *buf, int max)
{
	for (;;) {
		int c = next_byte();
		if (c < 0)
			return -1;
		if (c != '$')
			continue;                        /* acks, a late 0x03 */
		int n = 0;
		u8 sum = 0;
		while ((c = next_byte()) >= 0 && c != '#') {
			sum += (u8)c;
			if (n < max - 1)
				buf[n++] = c;
		}
		int h = next_byte(), l = next_byte();
		if (c < 0 || h < 0 || l < 0)
			return -1;
		buf[n] = 0;
		if (noack)
			return n;
		if (hexval(h) * 16 + hexval(l) != sum || n == max - 1) {
			write_all("-", 1);
			continue;
		}
		write_all("+", 1);
		return n;
	}
}

/* The guest's exit, whatever ended it. */
static void report_exit(int status, void *arg)
{
	(void)arg;
	if (conn >= 0) {
		char w[8];
		snprintf(w, sizeof w, "W%02x", status & 0xff);
		gdb_send(w);
		gdb_disconnect();
	}
	if (unix_path[0])
		unlink(unix_path);
}

static int listen_on(const char *s)
{
	int fd;
	if (!strncmp(s, "unix:", 5)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		size_t n = strcspn(s + 5, ",");          /* QEMU's ,server,nowait may follow */
		if (n == 0 || n >= sizeof a.sun_path) {
			fprintf(stderr, "lvm: -gdb %s: expected unix:PATH (at most %zu bytes)\n", s,
				sizeof a.sun_path - 1);
			exit(EXIT_USAGE);
		}
		memcpy(unix_path, s + 5, n);
		struct stat st;
		if (lstat(unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(unix_path);               /* a previous run's */
		/* The path appears only once it listens (a client that waits for the file
		 * to connect is not refused): bound under another name, then renamed. */
		bool tmp = n + 5 < sizeof a.sun_path;
		memcpy(a.sun_path, unix_path, n);
		memcpy(a.sun_path + n, tmp ? ".tmp" : "", tmp ? 5 : 1);
		unlink(a.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
		    (tmp && rename(a.sun_path, unix_path) < 0))
			goto fail;
		return fd;
	} else if (!strncmp(s, "tcp:", 4)) {
		const char *host = s + 4, *colon = strchr(host, ':');
		char *end;
		long port = colon ? strtol(colon + 1, &end, 10) : -1;
		size_t hl = colon ? (size_t)(colon - host) : 0;
		if (!colon || *end || port <= 0 || port > 65535 || colon[1] == 0) {
			fprintf(stderr, "lvm: -gdb %s: expected tcp::PORT\n", s);
			exit(EXIT_USAGE);
		}
		if (hl && (hl != 9 || (strncmp(host, "localhost", 9) && strncmp(host, "127.0.0.1", 9)))) {
			fprintf(stderr, "lvm: -gdb %s: lvm listens on localhost only (tcp::%ld)\n", s, port);
			exit(EXIT_USAGE);
		}
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
			goto fail;
	} else {
		fprintf(stderr, "lvm: -gdb %s: expected tcp::PORT or unix:PATH\n", s);
		exit(EXIT_USAGE);
	}
	if (listen(fd, 1) < 0)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "lvm: -gdb %s: %s\n", s, strerror(errno));
	exit(EXIT_USAGE);
}

int gdb_init(void)
{
	if (wait_start && !spec) {
		fprintf(stderr, "lvm: -S waits for a debugger: give -s or -gdb tcp::PORT too\n");
		exit(EXIT_USAGE);
	}
	if (!spec)
		return 0;
	listen_fd = listen_on(spec);
	make_async(listen_fd);
	on_exit(report_exit, NULL);
	return 0;
}
