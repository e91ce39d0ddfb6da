/* console.c: the host side of COM1: the guest's output on stdout, its input from stdin.
 *
 * Output is buffered and written at each newline, when the buffer fills, before
 * the vCPU sleeps in HLT, when the guest polls for input (uart16550.c), and on every
 * way out: exit() (atexit), a fatal signal, a host bug.
 *
 * Input never blocks: a terminal, pipe or socket announces new data with SIGIO
 * (O_ASYNC), which wakes a halted vCPU and makes irq.c poll the UART; a regular
 * file never signals, so it is treated as always readable until EOF.  At EOF input
 * simply ends.  A pipe or file is read only as far as the UART can take it (the
 * rest stays in the pipe, as with a real line and flow control).  A terminal is
 * read as soon as it has bytes, whatever the UART takes, so that its Ctrl-A keys
 * act whatever the guest does (it may never read its UART, or keep it in
 * loopback); the guest's bytes wait in `held` for the UART, and beyond that buffer
 * they are lost, as typing into a line without flow control.
 *
 * A terminal is put in raw mode (as QEMU's stdio backend does, and with ISIG off so
 * that Ctrl-C and Ctrl-Z reach the guest) and restored on every exit path.  On a
 * terminal, Ctrl-A is an escape as in QEMU's -nographic console: Ctrl-A x quits
 * (status 0, like QEMU's), Ctrl-A b sends a break, Ctrl-A h prints help, Ctrl-A
 * Ctrl-A sends one Ctrl-A.  Pipes and files are passed through byte for byte, as
 * QEMU's plain `-serial stdio` does: scripts can send any byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "console.h"

enum input { IN_NONE, IN_TTY, IN_STREAM, IN_FILE };

#define ESCAPE_CHAR 0x01                 /* Ctrl-A */

static enum input input = IN_NONE;
static bool pending = true;              /* stdin may hold data we have not read */
static bool escape;                      /* the previous terminal byte was Ctrl-A */
static u8 held[4096];                    /* terminal bytes the UART has not taken yet */
static unsigned held_head, held_len;
static int break_at = -1;                /* Ctrl-A b: a break after this many held bytes */
static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;    /* the terminal is in our mode */
static int saved_flags = -1, saved_owner;
static u8 out[4096];
static volatile unsigned outlen;

static void write_all(const void *buf, size_t n)
{
	const u8 *p = buf;
	while (n) {
		ssize_t k = write(1, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;              /* stdout is gone: the output is lost, not the run */
		p += k, n -= k;
	}
}

void console_flush(void)
{
	unsigned n = outlen;
	outlen = 0;
	if (n > sizeof out)
		n = sizeof out;
	write_all(out, n);
}

void console_write(u8 c)
{
	out[outlen++] = c;
	if (c == '\n' || outlen == sizeof out)
		console_flush();
}

static void make_raw(void)
{
	struct termios t = saved_tty;
	/* QEMU's stdio settings (qemu_chr_set_echo_stdio), and no ISIG: the guest gets
	 * Ctrl-C; Ctrl-A x is the way out. */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_oflag |= OPOST;
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &t) == 0)
		tty_raw = 1;
}

/* Async-signal-safe: called from atexit, signal handlers and host_bug(). */
void console_restore(void)
{
	console_flush();
	if (tty_raw) {
		tty_raw = 0;
		tcsetattr(0, TCSANOW, &saved_tty);
	}
	if (saved_flags >= 0) {
		fcntl(0, F_SETFL, saved_flags);
		fcntl(0, F_SETOWN, saved_owner);
		saved_flags = -1;
	}
}

static void console_atexit(void)
{
	console_restore();
}

void console_fatal_signal(int sig)
{
	if (sig == SIGPIPE)
		outlen = 0;                  /* stdout is the pipe that broke */
	console_restore();
	signal(sig, SIG_DFL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);                          /* die of it, as without us */
	_exit(128 + sig);
}

void console_stop(void)
{
	bool was_raw = tty_raw;
	console_restore();
	raise(SIGSTOP);
	if (was_raw)
		console_continued();
}

/* SIGIO to this process when stdin has data.  O_ASYNC first: on a terminal it
 * makes the foreground process group the owner (all of `lvm run | tee`, whom
 * SIGIO would kill), which F_SETOWN then narrows to us. */
static bool async_input(void)
{
	return fcntl(0, F_SETFL, saved_flags | O_ASYNC) == 0 && fcntl(0, F_SETOWN, getpid()) == 0;
}

void console_continued(void)
{
	if (input == IN_TTY && !tty_raw) {
		make_raw();
		saved_flags = fcntl(0, F_GETFL);
		saved_owner = fcntl(0, F_GETOWN);
		async_input();
	}
}

void console_init(void)
{
	struct stat st;
	atexit(console_atexit);
	if (fstat(0, &st) < 0)
		return;                              /* no stdin: no input */
	if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
		input = IN_TTY;
		make_raw();
	} else if (S_ISREG(st.st_mode)) {
		input = IN_FILE;
		return;
	} else {
		input = IN_STREAM;
	}
	/* SIGIO when input arrives (signals.c routes it to irq.c). */
	int flags = fcntl(0, F_GETFL);
	if (flags < 0)
		return;
	saved_owner = fcntl(0, F_GETOWN);
	saved_flags = flags;
	if (!async_input())
		input = IN_FILE;                     /* cannot signal: poll it like a file */
}

bool console_input_open(void) { return input != IN_NONE || held_len; }
bool console_is_terminal(void) { return input == IN_TTY; }

static void help(void)
{
	static const char text[] =
		"\r\nC-a h    print this help\r\n"
		"C-a x    exit lvm\r\n"
		"C-a b    send a break to the guest\r\n"
		"C-a C-a  send C-a\r\n";
	console_flush();
	write_all(text, sizeof text - 1);
}

static void hold(u8 c)
{
	if (held_len < sizeof held)
		held[(held_head + held_len++) % sizeof held] = c;
}

/* Terminal bytes: Ctrl-A sequences act now, the rest is held for the guest. */
static void escapes(const u8 *buf, int n)
{
	for (int i = 0; i < n; i++) {
		u8 c = buf[i];
		if (!escape && c == ESCAPE_CHAR) {
			escape = true;
			continue;
		}
		if (!escape) {
			hold(c);
			continue;
		}
		escape = false;
		switch (c) {
		case ESCAPE_CHAR:
			hold(c);
			break;
		case 'x':
			console_flush();
			write_all("\r\nlvm: terminated (C-a x)\r\n", 27);
			exit(EXIT_POWEROFF);
		case 'b':
			if (break_at < 0)
				break_at = held_len;     /* the UART takes it after the bytes before it */
			break;
		case 'h': case '?':
			help();
			break;
		default:
			break;                       /* unknown: dropped, as QEMU does */
		}
	}
}

/* Up to `max` bytes that stdin has now (a single reader: once poll says so, read
 * cannot block); 0 when there is nothing, and at EOF, after which input ends. */
static int read_stdin(u8 *buf, int max)
{
	if (input == IN_NONE || !pending)
		return 0;
	pending = input == IN_FILE;
	if (input != IN_FILE) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		int k = poll(&p, 1, 0);
		if (k < 0 && errno == EINTR)
			pending = true;
		if (k <= 0)
			return 0;
	}
	ssize_t n = read(0, buf, max);
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		pending = true;
		return 0;
	}
	if (n <= 0) {                                /* EOF or a dead terminal: no more input */
		input = IN_NONE;
		return 0;
	}
	if (n == max)
		pending = true;                      /* there may be more behind it */
	return n;
}

/* Everything the terminal has, through the escapes into `held`. */
static void drain_terminal(void)
{
	u8 buf[256];
	int n;
	while (input == IN_TTY && (n = read_stdin(buf, sizeof buf)) > 0)
		escapes(buf, n);
}

/* Input may have arrived (SIGIO): a terminal is read at once, whether or not
 * the UART takes anything (Ctrl-A x must work whatever the guest does). */
void console_kick(void)
{
	pending = true;
	drain_terminal();
}

bool console_take_break(void)
{
	if (break_at != 0)
		return false;
	break_at = -1;
	return true;
}

int console_read(u8 *buf, int max)
{
	if (input != IN_TTY && !held_len)
		return read_stdin(buf, max);
	drain_terminal();
	unsigned n = held_len < (unsigned)max ? held_len : (unsigned)max;
	if (break_at >= 0 && n > (unsigned)break_at)
		n = break_at;                        /* the break comes first */
	for (unsigned i = 0; i < n; i++)
		buf[i] = held[(held_head + i) % sizeof held];
	held_head = (held_head + n) % sizeof held;
	held_len -= n;
	if (break_at > 0)
		break_at -= n;
	return n;
}
