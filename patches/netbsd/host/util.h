/* util.h: the part of NetBSD's <util.h> config(1) uses, efun(3): allocation that
 * cannot fail (the program exits with a message instead).  Implemented in efun.c. */
#ifndef LVM_UTIL_H
#define LVM_UTIL_H
#include <stddef.h>
#include <stdarg.h>
void *emalloc(size_t);
void *ecalloc(size_t, size_t);
void *erealloc(void *, size_t);
char *estrdup(const char *);
char *estrndup(const char *, size_t);
int easprintf(char **, const char *, ...) __attribute__((__format__(__printf__, 2, 3)));
int evasprintf(char **, const char *, va_list);
#endif
