/* suite_fs.c: the suite's cases on files, on FFS (the root) and on a tmpfs it mounts. */
#include "suite.h"

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

int t_ffs(void) { return file_io(""); }

int t_tmpfs(void)
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
