/* Strict UTF-8 decoding and validation for bytes read from the network.
 *
 * DESIGN: one table-free decoder checks each sequence against the RFC 3629
 * well-formed byte ranges, so overlongs and surrogates fail on their second
 * byte rather than after assembling a code point. Everything is length-
 * delimited; NUL is an ordinary byte here and callers reject it if needed. */
#include "proto/utf8.h"

static bool utf8_cont(uint8_t b)
{
	return (b & 0xC0) == 0x80;
}

int utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t b = p[0];
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	int len;
	uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	if (b >= 0xC2 && b <= 0xDF) {
		len = 2;
	} else if (b >= 0xE0 && b <= 0xEF) {
		len = 3;
		if (b == 0xE0)
			lo = 0xA0; /* overlong */
		else if (b == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4;
		if (b == 0xF0)
			lo = 0x90; /* overlong */
		else if (b == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return -1; /* continuation byte, C0, C1, F5..FF */
	}
	if (n < (size_t)len || p[1] < lo || p[1] > hi)
		return -1;
	uint32_t v = b & (0xFF >> (len + 1));
	for (int i = 1; i < len; i++) {
		if (!utf8_cont(p[i]))
			return -1;
		v = (v << 6) | (p[i] & 0x3F);
	}
	*cp = v;
	return len;
}

bool utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		int l = utf8_decode(p + i, n - i, &cp);
		if (l < 0)
			return false;
		i += (size_t)l;
	}
	return true;
}

bool utf8_valid_text(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		int l = utf8_decode(p + i, n - i, &cp);
		if (l < 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return false;
		i += (size_t)l;
	}
	return true;
}

bool utf8_is_ascii(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return false;
	return true;
}
