/* fpu.c: the guest's x87/SSE registers while the monitor runs, saved only if needed.
 *
 * Saving them on every entry (FXSAVE + FXRSTOR) costs ~85 ns here, a third of a
 * port access.  The monitor is compiled with -mgeneral-regs-only, and the libc
 * functions its hot paths need (memcpy, memset, memmove) are replaced below by
 * general-register versions, so the guest's FPU state stays live in the registers
 * through most entries.  Anything that may run libc code using SSE (printf and
 * friends: the reports) calls fpu_protect() first; the next entry into the guest
 * restores from the save area only then (switch.S).  Signal handlers need none of
 * this: the kernel saves and restores the FPU around them.
 */
#include <string.h>
#include "monitor.h"

u8 guest_fpu[512] __attribute__((aligned(16)));
u8 guest_fpu_saved;                    /* read by switch.S */

void fpu_protect(void)
{
	if (!guest_fpu_saved) {
		asm volatile("fxsave64 %0" : "=m"(guest_fpu));
		guest_fpu_saved = 1;
	}
}

/* The guest's state is live again (sigreturn restored it): forget the copy. */
void fpu_forget(void)
{
	guest_fpu_saved = 0;
}

/* The guest's x87/SSE state as user code gets or leaves it (userproc.c): in the
 * frame of the signal being handled for guest code (trap mode: sigreturn loads it),
 * else the saved copy or the live registers.  Images are FXSAVE64's first 464
 * bytes (the rest of a signal frame's are the kernel's). */
u8 *guest_frame_fpu;

void fpu_guest_get(u8 *img)
{
	if (guest_frame_fpu)
		memcpy(img, guest_frame_fpu, 464);
	else if (guest_fpu_saved)
		memcpy(img, guest_fpu, 464);
	else
		asm volatile("fxsave64 %0" : "=m"(*(u8 (*)[512])img));
}

void fpu_guest_set(const u8 *img)
{
	if (guest_frame_fpu) {
		memcpy(guest_frame_fpu, img, 464);
		if (*(u32 *)(guest_frame_fpu + 464) == 0x46505853u)   /* FP_XSTATE_MAGIC1 */
			*(u64 *)(guest_frame_fpu + 512) |= 3;         /* x87 and SSE present */
		return;
	}
	memcpy(guest_fpu, img, 464);
	guest_fpu_saved = 1;                 /* switch.S loads it at the next entry */
}

/* General-register memcpy/memset/memmove: these interpose libc's (SSE/AVX) for
 * the monitor's own calls. */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	if ((uintptr_t)dst - (uintptr_t)src >= n)
		return memcpy(dst, src, n);
	const u8 *s = (const u8 *)src + n - 1;
	u8 *d = (u8 *)dst + n - 1;
	asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}
