/* Base64 and base64url encoding, and a strict decoder for network input.
 *
 * DESIGN: one decoder serves both alphabets. It runs twice over the input: a
 * validating pass that also yields the exact output length, then a writing
 * pass, so callers never see partial output and a fixed-size target is never
 * overrun. Strictness follows RFC 4648 §3.3/§3.5: no characters outside the
 * alphabet, padding only where the length requires it, and zero padding bits,
 * so every byte string has exactly one accepted encoding (badinput.md #39). */
#include "proto/base64.h"

static const char base64_std_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t base64_decoded_max(size_t n)
{
	return (n + 3) / 4 * 3;
}

static void base64_encode_with(struct buf *out, struct slice in, const char *chars, bool pad)
{
	buf_reserve(out, base64_encoded_len(in.len));
	uint8_t *o = out->p + out->len;
	size_t i = 0;
	for (; i + 3 <= in.len; i += 3) {
		uint32_t v = (uint32_t)in.p[i] << 16 | (uint32_t)in.p[i + 1] << 8 | in.p[i + 2];
		*o++ = (uint8_t)chars[v >> 18];
		*o++ = (uint8_t)chars[(v >> 12) & 63];
		*o++ = (uint8_t)chars[(v >> 6) & 63];
		*o++ = (uint8_t)chars[v & 63];
	}
	size_t rest = in.len - i;
	if (rest > 0) {
		uint32_t v = (uint32_t)in.p[i] << 16;
		if (rest == 2)
			v |= (uint32_t)in.p[i + 1] << 8;
		*o++ = (uint8_t)chars[v >> 18];
		*o++ = (uint8_t)chars[(v >> 12) & 63];
		if (rest == 2)
			*o++ = (uint8_t)chars[(v >> 6) & 63];
		else if (pad)
			*o++ = '=';
		if (pad)
			*o++ = '=';
	}
	out->len = (size_t)(o - out->p);
}

void base64_encode(struct buf *out, struct slice in)
{
	base64_encode_with(out, in, base64_std_chars, true);
}

void base64url_encode(struct buf *out, struct slice in)
{
	base64_encode_with(out, in, base64_url_chars, false);
}

/* The 6-bit value of c in the chosen alphabet, or -1. */
static int base64_value(uint8_t c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* Validates in (and writes to dst when not NULL). Returns the decoded length
 * or a BASE64_ERR_*. */
static long base64_run(struct slice in, bool url, uint8_t *dst)
{
	size_t n = in.len, syms = n;
	if (!url) {
		if (n % 4 != 0)
			return BASE64_ERR_LENGTH;
		/* '=' may only close the last quantum: "xx==" or "xxx=". */
		if (n >= 1 && in.p[n - 1] == '=') {
			syms = n - 1;
			if (n >= 2 && in.p[n - 2] == '=')
				syms = n - 2;
			if (syms % 4 < 2)
				return BASE64_ERR_PADDING;
		}
	} else if (n % 4 == 1) {
		return BASE64_ERR_LENGTH;
	}
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < syms; i++) {
		int v = base64_value(in.p[i], url);
		if (v < 0)
			return in.p[i] == '=' ? BASE64_ERR_PADDING : BASE64_ERR_CHAR;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (dst)
				dst[o] = (uint8_t)(acc >> bits);
			o++;
		}
	}
	/* Leftover bits (2 or 4) belong to no byte and must be zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return BASE64_ERR_BITS;
	return (long)o;
}

static int base64_decode_buf(struct buf *out, struct slice in, bool url)
{
	long n = base64_run(in, url, NULL);
	if (n < 0)
		return (int)n;
	buf_reserve(out, (size_t)n);
	base64_run(in, url, out->p + out->len);
	out->len += (size_t)n;
	return 0;
}

int base64_decode(struct buf *out, struct slice in)
{
	return base64_decode_buf(out, in, false);
}

int base64url_decode(struct buf *out, struct slice in)
{
	return base64_decode_buf(out, in, true);
}

int base64_decode_to(uint8_t *out, size_t cap, size_t *outlen, struct slice in)
{
	long n = base64_run(in, false, NULL);
	if (n < 0)
		return (int)n;
	if ((size_t)n > cap)
		return BASE64_ERR_SPACE;
	base64_run(in, false, out);
	*outlen = (size_t)n;
	return 0;
}
