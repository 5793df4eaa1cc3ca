/* Allocation that does not fail, and the two fatal tiers (style.md "Errors").
 *
 * panic(): a broken invariant inside Tern. fatal(): a start-up or config error.
 * Everything that comes from the network is a returned error instead. */
#ifndef TERN_CORE_XMALLOC_H
#define TERN_CORE_XMALLOC_H

#include <stddef.h>
#include <stdarg.h>

/** Allocates n bytes; dies on exhaustion. Caller owns the result. */
void *xmalloc(size_t n);
/** Allocates n*size zeroed bytes, overflow-checked; dies on exhaustion. */
void *xcalloc(size_t n, size_t size);
/** Resizes p to n bytes; dies on exhaustion. */
void *xrealloc(void *p, size_t n);
/** Copies a NUL-terminated string. Caller owns the result. */
char *xstrdup(const char *s);
/** Copies n bytes and appends a NUL. Caller owns the result. */
char *xstrndup(const char *s, size_t n);
/** Copies n bytes. Caller owns the result. */
void *xmemdup(const void *p, size_t n);
/** printf into a new string. Caller owns the result. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Reports a broken invariant with file/line and aborts (core dump). */
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
void panic_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/** Reports a start-up/config error on stderr and exits with status 1. */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/** Checks an invariant; panics with the expression text when it does not hold. */
#define ASSERT(e) ((e) ? (void)0 : panic("assertion failed: %s", #e))

#endif
