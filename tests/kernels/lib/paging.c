/* paging.c: the identity maps and the switch to paging that paging.h declares. */
#include "paging.h"

void identity_tables(u32 pt[][1024], int n, u32 flags)
{
	for (int t = 0; t < n; t++)
		for (int i = 0; i < 1024; i++)
			pt[t][i] = (t * 0x400000u + i * 0x1000u) | flags;
}

void map_tables(u32 *pd, u32 pt[][1024], int n, u32 flags)
{
	for (int t = 0; t < n; t++)
		pd[t] = (u32)pt[t] | flags;
}

void identity_4m(u32 *pd, int first, int n, u32 flags)
{
	for (int t = first; t < first + n; t++)
		pd[t] = (u32)t << 22 | PS | flags;
}

/* Code and stack must be identity-mapped in pd: the next fetch is translated. */
void paging_on(const void *pd, u32 cr0)
{
	set_cr3(pd);
	set_cr0(get_cr0() | CR0_PG | cr0);
}
