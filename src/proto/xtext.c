/* RFC 3461 xtext decode/encode (badinput.md #32, #33, #36).
 *
 * DESIGN: a single forward scan with explicit bounds; the decoder never looks
 * past in.len, so "+", "+2" and "+ZZ" at the end fail instead of reading on.
 * Lower-case hex digits are rejected as RFC 3461 requires upper case. */
#include "proto/xtext.h"

static int xtext_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool xtext_xchar(uint8_t c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

/* Scans in; when out is non-NULL appends the decoded bytes. */
static int xtext_scan(struct slice in, struct buf *out)
{
	size_t i = 0;
	while (i < in.len) {
		uint8_t c = in.p[i];
		if (xtext_xchar(c)) {
			if (out)
				buf_putc(out, c);
			i++;
			continue;
		}
		if (c != '+' || in.len - i < 3)
			return -1;
		int h = xtext_hex(in.p[i + 1]), l = xtext_hex(in.p[i + 2]);
		if (h < 0 || l < 0)
			return -1;
		if (out)
			buf_putc(out, (uint8_t)(h * 16 + l));
		i += 3;
	}
	return 0;
}

bool xtext_valid(struct slice in)
{
	return xtext_scan(in, NULL) == 0;
}

int xtext_decode(struct slice in, struct buf *out)
{
	return xtext_scan(in, out);
}

void xtext_encode(struct slice in, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < in.len; i++) {
		uint8_t c = in.p[i];
		if (xtext_xchar(c)) {
			buf_putc(out, c);
		} else {
			buf_putc(out, '+');
			buf_putc(out, (uint8_t)hex[c >> 4]);
			buf_putc(out, (uint8_t)hex[c & 15]);
		}
	}
}
