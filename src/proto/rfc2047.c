/* RFC 2047 encoded-words: decoding to UTF-8 for Subject and display names
 * (webhooks, address parsing), and Q-encoding for composed headers.
 *
 * DESIGN: one forward pass. An encoded-word is recognised only when it parses
 * completely (`=?charset[*lang]?Q|B?text?=`, no whitespace inside, at most
 * RFC2047_WORD_MAX bytes); its text scan stops at the first '?', so the
 * attempts at the positions of a hostile run of `=?` stay linear overall.
 * Decoded bytes of adjacent words in the same charset are collected before
 * conversion, so a UTF-8 character split across two B-words survives.
 * Decoded CR, LF and NUL become spaces: a decoded Subject must never be able
 * to start a new header line wherever it is written again. */
#include "proto/rfc2047.h"

#include <string.h>

#include "proto/rfc5322.h"

enum cs { CS_NONE, CS_UTF8, CS_ASCII, CS_LATIN1, CS_CP1252 };

struct word {
	enum cs cs;
	size_t end;         /* offset after `?=` */
	struct slice text;  /* the encoded text */
	bool b;             /* B (base64) rather than Q */
};

static const struct {
	const char *name;
	enum cs cs;
} charsets[] = {
	{"utf-8", CS_UTF8}, {"utf8", CS_UTF8}, {"us-ascii", CS_ASCII}, {"ascii", CS_ASCII},
	{"iso-8859-1", CS_LATIN1}, {"iso8859-1", CS_LATIN1}, {"latin1", CS_LATIN1},
	{"iso_8859-1", CS_LATIN1}, {"windows-1252", CS_CP1252}, {"cp1252", CS_CP1252},
};

/* windows-1252 0x80..0x9f; 0 marks the five undefined bytes. */
static const uint16_t cp1252_hi[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
	0x2039, 0x0152, 0, 0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013,
	0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static enum cs charset_lookup(struct slice name)
{
	const uint8_t *star = memchr(name.p, '*', name.len); /* RFC 2231 language */
	if (star)
		name.len = (size_t)(star - name.p);
	for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		if (slice_eq_str_nocase(name, charsets[i].name))
			return charsets[i].cs;
	return CS_NONE;
}

/* Parses an encoded-word at in.p[i]; on success fills *w (cs may be CS_NONE). */
static bool word_parse(struct slice in, size_t i, struct word *w)
{
	size_t n = in.len;
	if (n - i < 8 || in.p[i] != '=' || in.p[i + 1] != '?')
		return false;
	size_t cs0 = i + 2, k = cs0;
	while (k < n && in.p[k] != '?' && !is_space(in.p[k]) && k - i < 80)
		k++;
	if (k == cs0 || k + 3 >= n || in.p[k] != '?' || in.p[k + 2] != '?')
		return false;
	uint8_t enc = in.p[k + 1] | 0x20;
	if (enc != 'q' && enc != 'b')
		return false;
	size_t t0 = k + 3, t = t0;
	while (t < n && in.p[t] != '?' && in.p[t] > ' ' && in.p[t] < 127 && t - i < RFC2047_WORD_MAX)
		t++;
	if (t + 1 >= n || in.p[t] != '?' || in.p[t + 1] != '=')
		return false;
	w->cs = charset_lookup(slice_of(in.p + cs0, k - cs0));
	w->b = enc == 'b';
	w->text = slice_of(in.p + t0, t - t0);
	w->end = t + 2;
	return true;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Appends the decoded bytes of w to raw; false (raw unchanged) if malformed. */
static bool word_decode(const struct word *w, struct buf *raw)
{
	size_t mark = raw->len;
	struct slice t = w->text;
	if (w->b) {
		uint32_t acc = 0;
		int bits = 0;
		size_t i = 0;
		for (; i < t.len && t.p[i] != '='; i++) {
			int v = b64val(t.p[i]);
			if (v < 0)
				goto bad;
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				buf_putc(raw, (uint8_t)(acc >> bits));
			}
		}
		for (; i < t.len; i++)
			if (t.p[i] != '=')
				goto bad;
		return true;
	}
	for (size_t i = 0; i < t.len; i++) {
		uint8_t c = t.p[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=') {
			int hi = i + 2 < t.len ? hexval(t.p[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(t.p[i + 2]) : -1;
			if (lo < 0)
				goto bad;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		buf_putc(raw, c);
	}
	return true;
bad:
	raw->len = mark;
	return false;
}

static void put_cp(struct buf *out, uint32_t cp)
{
	if (cp == '\r' || cp == '\n' || cp == 0)
		cp = ' ';
	rfc5322_utf8_put(out, cp);
}

/* Converts the collected raw bytes from cs to UTF-8 and empties raw. */
static void flush(struct buf *raw, enum cs cs, struct buf *out)
{
	for (size_t i = 0; i < raw->len;) {
		uint8_t c = raw->p[i];
		uint32_t cp = 0xfffd;
		size_t n = 1;
		if (cs == CS_UTF8) {
			n = rfc5322_utf8_next(raw->p + i, raw->len - i, &cp);
			if (!n)
				n = 1, cp = 0xfffd;
		} else if (c < 0x80) {
			cp = c;
		} else if (cs == CS_LATIN1 || (cs == CS_CP1252 && c >= 0xa0)) {
			cp = c;
		} else if (cs == CS_CP1252 && cp1252_hi[c - 0x80]) {
			cp = cp1252_hi[c - 0x80];
		}
		put_cp(out, cp);
		i += n;
	}
	buf_reset(raw);
}

/* Offset of the next "=?" at or after i (or in.len). */
static size_t next_start(struct slice in, size_t i)
{
	while (i < in.len) {
		const uint8_t *eq = memchr(in.p + i, '=', in.len - i);
		if (!eq)
			return in.len;
		i = (size_t)(eq - in.p);
		if (i + 1 < in.len && in.p[i + 1] == '?')
			return i;
		i++;
	}
	return in.len;
}

void rfc2047_decode(struct slice in, struct buf *out)
{
	struct buf raw;
	enum cs raw_cs = CS_NONE;
	bool after_word = false;
	struct word w;
	buf_init(&raw);
	for (size_t i = 0; i < in.len;) {
		size_t j = i;
		if (after_word)
			while (j < in.len && is_space(in.p[j]))
				j++;
		if (word_parse(in, j, &w) && w.cs != CS_NONE) {
			if (raw.len && raw_cs != w.cs)
				flush(&raw, raw_cs, out);
			size_t mark = raw.len;
			if (word_decode(&w, &raw)) {
				raw_cs = w.cs;
				after_word = true;
				i = w.end;
				continue;
			}
			raw.len = mark;
		}
		/* Literal text, up to the next possible encoded-word. */
		flush(&raw, raw_cs, out);
		after_word = false;
		size_t k = next_start(in, i + 1);
		buf_append(out, in.p + i, k - i);
		i = k;
	}
	flush(&raw, raw_cs, out);
	buf_free(&raw);
}

static bool q_literal(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

void rfc2047_encode(struct slice text, struct buf *out)
{
	bool plain = true;
	for (size_t i = 0; i < text.len && plain; i++)
		if (text.p[i] < ' ' || text.p[i] > '~')
			plain = false;
	if (plain) {
		buf_append(out, text.p, text.len);
		return;
	}
	static const char hex[] = "0123456789ABCDEF";
	const size_t room = 75 - 12; /* "=?utf-8?q?" + "?=" */
	size_t used = 0;
	buf_puts(out, "=?utf-8?q?");
	for (size_t i = 0; i < text.len;) {
		uint32_t cp;
		size_t n = rfc5322_utf8_next(text.p + i, text.len - i, &cp);
		uint8_t one[4] = {0xef, 0xbf, 0xbd}; /* U+FFFD for invalid bytes */
		const uint8_t *src = n ? text.p + i : one;
		size_t srcn = n ? n : 3;
		size_t need = 0;
		for (size_t k = 0; k < srcn; k++)
			need += (q_literal(src[k]) || src[k] == ' ') ? 1 : 3;
		if (used + need > room) {
			buf_puts(out, "?=\r\n =?utf-8?q?");
			used = 0;
		}
		for (size_t k = 0; k < srcn; k++) {
			uint8_t c = src[k];
			if (c == ' ')
				buf_putc(out, '_');
			else if (q_literal(c))
				buf_putc(out, c);
			else
				buf_printf(out, "=%c%c", hex[c >> 4], hex[c & 15]);
		}
		used += need;
		i += n ? n : 1;
	}
	buf_puts(out, "?=");
}
