/*
 * NetBSD/i386 user ABI for the guest's /sbin/init (no libc, no NetBSD headers): the
 * system-call numbers of sys/kern/syscalls.master (7.99.4) and the few constants and
 * structures the suite and the shell pass to the kernel, laid out as the kernel's.
 * gcc -m32 aligns 64-bit members to 4 bytes in structures, as NetBSD/i386 does.
 */
#ifndef NB_H
#define NB_H

typedef unsigned int size_t;
typedef long long off_t;

enum {
	SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6,
	SYS_unlink = 10, SYS_chdir = 12, SYS_getpid = 20, SYS_unmount = 22, SYS_kill = 37,
	SYS_dup = 41, SYS_ioctl = 54, SYS_execve = 59, SYS_munmap = 73, SYS_mprotect = 74,
	SYS_dup2 = 90, SYS_connect = 98, SYS_bind = 104, SYS_listen = 106, SYS_rename = 128,
	SYS_sendto = 133, SYS_socketpair = 135, SYS_mkdir = 136, SYS_rmdir = 137,
	SYS_mmap = 197, SYS_lseek = 199, SYS_reboot = 208, SYS_sigprocmask = 293,
	SYS_sigsuspend = 294, SYS_setcontext = 308, SYS_sigaction_sigtramp = 340,
	SYS_getdents = 390, SYS_socket = 394, SYS_mount = 410, SYS_stat = 439,
	SYS_fstat = 440, SYS_wait4 = 449, SYS_pipe2 = 453, SYS_accept = 30,
	SYS_recvfrom = 29, SYS_fsync = 95, SYS_nanosleep = 430,
};

#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_APPEND 0x8
#define O_CREAT 0x200
#define O_TRUNC 0x400
#define O_DIRECTORY 0x200000
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_ANON 0x1000
#define MAP_FAILED ((void *)-1)
#define MNT_RDONLY 1
#define MNT_UPDATE 0x10000
#define RB_AUTOBOOT 0
#define SIGKILL 9
#define SIGSEGV 11
#define SIGCHLD 20
#define SIGUSR1 30
#define SA_SIGINFO 0x40
#define SIG_BLOCK 1
#define SIG_UNBLOCK 2
#define SIG_SETMASK 3
#define AF_LOCAL 1
#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define ENOENT 2
#define EINTR 4
#define ECHILD 10
#define EEXIST 17
#define ENOTDIR 20
#define ENOSYS 78
#define WNOHANG 1
#define SIOCAIFADDR 0x8040691a		/* _IOW('i', 26, struct ifaliasreq) */

struct sigset { unsigned int bits[4]; };
struct sigaction {
	void (*handler)(int, void *, void *);
	struct sigset mask;
	int flags;
};
/* ucontext_t: uc_flags, uc_link, uc_sigmask, uc_stack (12 bytes), then mcontext's
 * 19 general registers (sys/arch/i386/include/mcontext.h: _REG_EIP is 14). */
struct ucontext {
	unsigned int flags;
	void *link;
	struct sigset sigmask;
	int stack[3];
	int gregs[19];
};
#define REG_EIP 14
struct timespec { long long sec; long nsec; };
struct stat {
	unsigned long long dev;
	unsigned int mode;
	unsigned long long ino;
	unsigned int nlink, uid, gid;
	unsigned long long rdev;
	struct timespec atim, mtim, ctim, birthtim;
	off_t size;
	long long blocks;
	unsigned int blksize, flags, gen, spare[2];
};
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
struct dirent {			/* sys/dirent.h; d_reclen gives the next */
	unsigned long long fileno;
	unsigned short reclen, namlen;
	unsigned char type;
	char name[512];
};
struct tmpfs_args {		/* sys/fs/tmpfs/tmpfs_args.h, version 1 */
	int version;
	unsigned long long nodes_max;
	off_t size_max;
	unsigned int root_uid, root_gid, root_mode;
};
struct sockaddr_in {
	unsigned char len, family;
	unsigned short port;
	unsigned int addr;
	char zero[8];
};
struct ifaliasreq {
	char name[16];
	struct sockaddr_in addr, dstaddr, mask;
};

/* start.S */
long sys(int number, ...);
int sys_fork(void);
void sigtramp(void);
int probe_read(const int *p);
int probe_write(int *p, int v);
void probe_fault(void);

/* lib.c */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long lseek(int fd, off_t off, int whence);
int sigaction(int sig, void (*handler)(int, void *, void *), int flags);
int sigmask(int how, unsigned int bits, unsigned int *old);
int wait4(int pid, int *status, int options);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int memcmp(const void *a, const void *b, size_t n);
void *memset(void *p, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void puts_fd(int fd, const char *s);
void say(const char *s);
void say_num(const char *prefix, long n, const char *suffix);
char *fmt_num(char *buf, long n);
void fatal(const char *what, long err);

#define WIFEXITED(s) (((s) & 0177) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s) & 0177) != 0177 && ((s) & 0177) != 0)
#define WTERMSIG(s) ((s) & 0177)

/* suite.c, shell.c */
int suite(const char *self);
int suite_child(const char *name);
int shell(void);
#endif
