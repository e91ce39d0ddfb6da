/* sparse.c: user memory scattered over more pages than the host lets a process map.
 *
 * lvm maps each guest page user code touches into a host process, one host mapping
 * (VMA) per run of pages whose frames follow each other, and the host bounds a
 * process's mappings (vm.max_map_count).  Touching every other page of a large
 * region makes one mapping per page: past the bound lvm must drop and refill, never
 * fail or keep a stale page.  Each page holds its own index; three passes (write,
 * read, write again) check every page each time.  The size comes from the kernel
 * command line (lvm.sparse_mib=N), which the test sets from the host's bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static long mib_from_cmdline(void)
{
	char line[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
	}
	char *p = strstr(line, "lvm.sparse_mib=");
	return p ? atol(p + strlen("lvm.sparse_mib=")) : 64;
}

int main(void)
{
	long mib = mib_from_cmdline(), pages = (mib << 20) / 8192;
	char *m = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (int pass = 0; pass < 3; pass++) {
		long wrong = 0, first = -1;
		for (long i = 0; i < pages; i++) {
			long *w = (long *)(m + i * 8192);
			if (pass == 1 && *w != i) {
				wrong++;
				first = first < 0 ? i : first;
			}
			if (pass != 1)
				*w = pass == 0 ? i : ~i;
		}
		if (pass == 2)
			for (long i = 0; i < pages; i++)
				if (*(long *)(m + i * 8192) != ~i) {
					wrong++;
					first = first < 0 ? i : first;
				}
		printf("T sparse pass %d: %ld pages, %ld wrong (first %ld)\n", pass, pages, wrong, first);
	}
	return 0;
}
