/* efun.c: NetBSD's efun(3) on glibc: each call succeeds or ends the program with err(3). */
#define _GNU_SOURCE 1
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

void *emalloc(size_t n) { void *p = malloc(n); if (!p) err(1, "malloc %zu", n); return p; }
void *ecalloc(size_t n, size_t s) { void *p = calloc(n, s); if (!p) err(1, "calloc"); return p; }
void *erealloc(void *q, size_t n) { void *p = realloc(q, n); if (!p) err(1, "realloc %zu", n); return p; }
char *estrdup(const char *s) { char *p = strdup(s); if (!p) err(1, "strdup"); return p; }
char *estrndup(const char *s, size_t n) { char *p = strndup(s, n); if (!p) err(1, "strndup"); return p; }

int evasprintf(char **out, const char *fmt, va_list ap)
{
	int n = vasprintf(out, fmt, ap);
	if (n < 0)
		err(1, "vasprintf");
	return n;
}

int easprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = evasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}
