/* crc_extern.h: the declarations of cksum(1)'s crc.c that config(1) links (NetBSD keeps
 * them in usr.bin/cksum/extern.h, which the source tree here does not carry). */
#ifndef LVM_CRC_EXTERN_H
#define LVM_CRC_EXTERN_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
int crc(int, uint32_t *, off_t *);
uint32_t crc_buf(uint32_t, const void *, size_t);
uint32_t crc_byte(uint32_t, unsigned int);
#endif
