/* nbtool_config.h: what NetBSD's config(1) expects of its host, on glibc + libbsd.
 * NetBSD builds its host tools ("nbtools") with such a header; this is lvm's, for the one
 * tool it builds (scripts/netbsd-build.py).  BSD functions come from libbsd's overlay
 * (-isystem /usr/include/bsd -DLIBBSD_OVERLAY), efun(3) from efun.c here. */
#ifndef LVM_NBTOOL_CONFIG_H
#define LVM_NBTOOL_CONFIG_H
#define _GNU_SOURCE 1
#include <sys/types.h>
#include <sys/cdefs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <sys/sysmacros.h>     /* major, minor, makedev */

typedef int32_t devmajor_t;        /* <sys/types.h> of NetBSD */
typedef int32_t devminor_t;
#define NODEVMAJOR (-1)

#ifndef __RCSID
#define __RCSID(s) struct __lvm_rcsid_unused
#endif
#ifndef __COPYRIGHT
#define __COPYRIGHT(s) struct __lvm_copyright_unused
#endif
#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef __printflike
#define __printflike(f, a) __attribute__((__format__(__printf__, f, a)))
#endif
#ifndef __UNCONST
#define __UNCONST(a) ((void *)(unsigned long)(const void *)(a))
#endif
#ifndef __arraycount
#define __arraycount(a) (sizeof(a) / sizeof((a)[0]))
#endif
#endif
