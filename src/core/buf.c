/* Growable owned buffers and borrowed slices.
 *
 * DESIGN: growth doubles, with overflow checks; nothing here enforces protocol
 * limits (the parsers do), so a buf can only grow as far as its caller lets it. */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/xmalloc.h"

static inline int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool slice_eq(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool slice_eq_nocase(struct slice a, struct slice b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return false;
	return true;
}

bool slice_eq_str_nocase(struct slice a, const char *s)
{
	return slice_eq_nocase(a, slice_str(s));
}

bool slice_prefix_nocase(struct slice a, const char *prefix)
{
	size_t n = strlen(prefix);
	if (a.len < n)
		return false;
	return slice_eq_nocase(slice_of(a.p, n), slice_of(prefix, n));
}

char *slice_strdup(struct slice s)
{
	return xstrndup((const char *)s.p, s.len);
}

void buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len > n)
		return;
	if (n > SIZE_MAX / 2 - b->len)
		panic("buf_reserve overflow");
	size_t want = b->len + n + 1, cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

int buf_read_stream(struct buf *b, FILE *f, size_t max)
{
	char tmp[4096];
	size_t n;
	while (b->len < max && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(b, tmp, n);
	return ferror(f) ? -1 : 0;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, uint8_t c)
{
	buf_reserve(b, 1);
	b->p[b->len++] = c;
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n + 1);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

char *buf_cstr(struct buf *b)
{
	buf_reserve(b, 1);
	b->p[b->len] = 0;
	return (char *)b->p;
}

uint8_t *buf_steal(struct buf *b, size_t *len)
{
	uint8_t *p = b->p;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

void buf_put_be64(struct buf *b, uint64_t v)
{
	uint8_t t[8];
	be64_put(t, v);
	buf_append(b, t, 8);
}

void buf_put_be32(struct buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	buf_append(b, t, 4);
}
