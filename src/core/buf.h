/* Byte buffers: struct buf owns and grows, struct slice is a borrowed view.
 *
 * Ownership is in the type: a function taking `struct slice` never frees or
 * keeps the bytes past the call unless its contract says so; one taking
 * `struct buf *` may grow it. */
#ifndef TERN_CORE_BUF_H
#define TERN_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/** A borrowed, length-delimited view of bytes (not NUL-terminated). */
struct slice {
	const uint8_t *p;
	size_t len;
};

/** An owned, growable byte buffer. `p` may be NULL while `cap` is 0. */
struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

#define SLICE_LIT(s) ((struct slice){(const uint8_t *)(s), sizeof(s) - 1})

/** View of a NUL-terminated string (NULL gives an empty slice). */
static inline struct slice slice_str(const char *s)
{
	return (struct slice){(const uint8_t *)s, s ? strlen(s) : 0};
}
/** View of n bytes at p. */
static inline struct slice slice_of(const void *p, size_t n)
{
	return (struct slice){(const uint8_t *)p, n};
}
/** View of a buffer's current contents. */
static inline struct slice buf_slice(const struct buf *b)
{
	return (struct slice){b->p, b->len};
}
/** Byte-equal comparison. */
bool slice_eq(struct slice a, struct slice b);
/** ASCII case-insensitive comparison. */
bool slice_eq_nocase(struct slice a, struct slice b);
/** ASCII case-insensitive comparison with a C string. */
bool slice_eq_str_nocase(struct slice a, const char *s);
/** Whether a starts with prefix, ASCII case-insensitively. */
bool slice_prefix_nocase(struct slice a, const char *prefix);
/** A new NUL-terminated copy; caller frees. */
char *slice_strdup(struct slice s);

/** Initialises an empty buffer (no allocation). */
void buf_init(struct buf *b);
/** Frees the storage and leaves an empty buffer. */
void buf_free(struct buf *b);
/** Ensures room for n more bytes; dies on exhaustion or size_t overflow. */
void buf_reserve(struct buf *b, size_t n);
/** Appends n bytes. */
void buf_append(struct buf *b, const void *p, size_t n);
/** Appends a C string (without its NUL). */
void buf_puts(struct buf *b, const char *s);
/** Appends one byte. */
void buf_putc(struct buf *b, uint8_t c);
/** Appends printf output. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends vprintf output. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/** Appends what f yields until end of file, stopping once len reaches max (so at most one
 * read of 4 KiB past it). Returns 0, or -1 when fread reported an error. f stays open. */
int buf_read_stream(struct buf *b, FILE *f, size_t max);
/** Drops the first n bytes (n <= len), moving the rest down. */
void buf_consume(struct buf *b, size_t n);
/** Sets len to 0, keeping the storage. */
static inline void buf_reset(struct buf *b) { b->len = 0; }
/** Ensures p[len] == 0 (not counted in len) and returns p as a C string. */
char *buf_cstr(struct buf *b);
/** Moves ownership of the storage out; the buffer becomes empty. */
uint8_t *buf_steal(struct buf *b, size_t *len);

/** Appends a big-endian u64 (for RocksDB keys that sort by number). */
void buf_put_be64(struct buf *b, uint64_t v);
/** Appends a big-endian u32. */
void buf_put_be32(struct buf *b, uint32_t v);
/** Reads a big-endian u64 at p. */
static inline uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}
/** Writes v big-endian at p. */
static inline void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

#endif
