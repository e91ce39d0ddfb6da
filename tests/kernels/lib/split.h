/* split.h: the split address space the hostile test kernels attack: identity-mapped
 * 0-8 MiB for the kernel, 0x400000-0x41ffff also for user code, and the kernel's
 * own half at 0xc0000000 (16 pages at 0x600000), with PG and WP on.  A header (its
 * tables in the kernels that include it, not in every test kernel's lib). */
#ifndef SPLIT_H
#define SPLIT_H
#include "desc.h"
#include "paging.h"

static u32 split_pd[1024] __attribute__((aligned(4096)));
static u32 split_low[2][1024] __attribute__((aligned(4096)));
static u32 split_high[1024] __attribute__((aligned(4096)));

static u32 paging_split(void)
{
	identity_tables(split_low, 2, P | W);
	for (int i = 0; i < 0x20; i++)
		split_low[1][i] |= U;                          /* 0x400000-0x41ffff: the user part */
	for (int i = 0; i < 16; i++)
		split_high[i] = (0x600000 + i * 0x1000) | P | W;   /* the kernel's half */
	split_pd[0] = (u32)split_low[0] | P | W;
	split_pd[1] = (u32)split_low[1] | P | W | U;
	split_pd[0x300] = (u32)split_high | P | W;
	paging_on(split_pd, CR0_WP);
	return (u32)split_pd;
}
#endif
