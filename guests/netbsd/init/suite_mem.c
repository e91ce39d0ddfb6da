/* suite_mem.c: the suite's cases on memory: anonymous and file mappings, mprotect. */
#include "suite.h"

/* mmap's result is an address or -errno */
int mapped(const void *p)
{
	return (unsigned long)p < -4096ul;
}

int t_mmap_anon(void)
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
	catch_segv();
	CHECK(probe_read(p + 1024) == -1 && segv_count == 1, "unmapped page read, faults ", segv_count);
	CHECK(probe_read(p + 2048) == 2048 * 3, "page after the hole ", p[2048]);
	sys(SYS_munmap, p, 3 * 4096);
	return 1;
}

int t_mprotect(void)
{
	int *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
	CHECK(mapped(p), "mmap: error ", -(long)p);
	p[10] = 77;
	long r = sys(SYS_mprotect, p, 4096, PROT_READ);
	CHECK(r == 0, "mprotect ", r);
	catch_segv();
	CHECK(probe_write(p + 10, 5) == -1 && segv_count == 1, "write to PROT_READ, faults ", segv_count);
	CHECK(p[10] == 77, "value after the fault ", p[10]);
	sys(SYS_mprotect, p, 4096, PROT_READ | PROT_WRITE);
	CHECK(probe_write(p + 10, 5) == 0 && p[10] == 5, "write after PROT_WRITE ", p[10]);
	sys(SYS_munmap, p, 4096);
	return 1;
}

int write_file(const char *path, const char *data, size_t n)
{
	int fd = sys(SYS_open, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	long r = sys(SYS_write, fd, data, n);
	sys(SYS_close, fd);
	return r;
}

int t_mmap_file(const char *path)
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

int t_mmap_ffs(void) { return t_mmap_file("/mapped"); }
