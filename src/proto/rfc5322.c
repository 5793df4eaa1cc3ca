/* RFC 5322 header section parsing: header/body split, field iteration,
 * unfolding, counting and message-ID extraction.
 *
 * DESIGN: every function is a single forward pass over a slice with memchr for
 * line ends, so 100000 header lines or a field folded 250000 times cost linear
 * time and no allocation. The split looks at no more than RFC5322_HEADER_MAX
 * bytes plus one line ending, which bounds the work done on a 10 MB header bomb
 * (badinput.md #47). Offsets are size_t and are only ever compared against the
 * slice length before use, so no arithmetic can overflow. Malformed input
 * (`Subject : x`, lines without colon, 8-bit names, obs-fold) is reported, never
 * rewritten (badinput.md #49). */
#include "proto/rfc5322.h"

#include <string.h>

static inline bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Offset just past the line that starts at off (past its LF), or len. */
static size_t line_next(struct slice s, size_t off)
{
	const uint8_t *lf = memchr(s.p + off, '\n', s.len - off);
	return lf ? (size_t)(lf - s.p) + 1 : s.len;
}

/* Length of the line ending at the end of [start, end): 2 (CRLF), 1 (LF) or 0. */
static size_t eol_len(struct slice s, size_t start, size_t end)
{
	if (end > start && s.p[end - 1] == '\n')
		return (end - 1 > start && s.p[end - 2] == '\r') ? 2 : 1;
	return 0;
}

int rfc5322_split(struct slice msg, struct rfc5322_split *out)
{
	size_t off = 0;
	memset(out, 0, sizeof(*out));
	for (;;) {
		if (off > RFC5322_HEADER_MAX)
			return RFC5322_ETOOLARGE;
		if (off >= msg.len)
			break;
		size_t rest = msg.len - off;
		size_t sep = 0;
		if (msg.p[off] == '\n')
			sep = 1;
		else if (rest >= 2 && msg.p[off] == '\r' && msg.p[off + 1] == '\n')
			sep = 2;
		if (sep) {
			out->header = slice_of(msg.p, off);
			out->body = slice_of(msg.p + off + sep, rest - sep);
			out->has_sep = true;
			return 0;
		}
		/* Bound the memchr so a 10 MB line costs at most the cap. */
		size_t window = RFC5322_HEADER_MAX + 1 - off;
		if (window > rest)
			window = rest;
		const uint8_t *lf = memchr(msg.p + off, '\n', window);
		if (!lf) {
			off += window;
			continue; /* either the end of msg, or past the cap */
		}
		off = (size_t)(lf - msg.p) + 1;
	}
	out->header = msg;
	return 0;
}

void rfc5322_iter_init(struct rfc5322_iter *it, struct slice header)
{
	it->hdr = header;
	it->off = 0;
}

/* Whether every byte of name is ftext (printable ASCII except colon). */
static bool name_ok(struct slice name)
{
	if (!name.len)
		return false;
	for (size_t i = 0; i < name.len; i++)
		if (name.p[i] < 33 || name.p[i] > 126 || name.p[i] == ':')
			return false;
	return true;
}

bool rfc5322_iter_next(struct rfc5322_iter *it, struct rfc5322_field *f)
{
	struct slice h = it->hdr;
	size_t start = it->off;
	if (start >= h.len)
		return false;
	size_t first_end = line_next(h, start);
	size_t end = first_end;
	/* Continuation lines: start with WSP. An empty line cannot occur inside a
	 * split header, but a caller may pass any bytes: stop there too. */
	while (end < h.len && is_wsp(h.p[end]))
		end = line_next(h, end);
	it->off = end;

	memset(f, 0, sizeof(*f));
	f->raw = slice_of(h.p + start, end - start);
	size_t line_len = first_end - start - eol_len(h, start, first_end);
	const uint8_t *colon = is_wsp(h.p[start]) ? NULL : memchr(h.p + start, ':', line_len);
	if (!colon) {
		f->name = slice_of(h.p + start, line_len);
		f->malformed = true;
		return true;
	}
	size_t nlen = (size_t)(colon - (h.p + start));
	while (nlen > 0 && is_wsp(h.p[start + nlen - 1]))
		nlen--;
	f->name = slice_of(h.p + start, nlen);
	f->malformed = !name_ok(f->name);
	size_t vstart = (size_t)(colon - h.p) + 1;
	size_t vend = end - eol_len(h, start, end);
	if (vend < vstart)
		vend = vstart;
	f->value = slice_of(h.p + vstart, vend - vstart);
	return true;
}

void rfc5322_unfold(struct slice v, bool trim, struct buf *out)
{
	if (!v.len)
		return; /* v.p may be NULL */
	size_t a = 0, b = v.len;
	if (trim) {
		while (a < b && (is_wsp(v.p[a]) || v.p[a] == '\r' || v.p[a] == '\n'))
			a++;
		while (b > a && (is_wsp(v.p[b - 1]) || v.p[b - 1] == '\r' || v.p[b - 1] == '\n'))
			b--;
	}
	buf_reserve(out, b - a);
	size_t run = a;
	for (size_t i = a; i < b; i++) {
		if (v.p[i] != '\r' && v.p[i] != '\n')
			continue;
		buf_append(out, v.p + run, i - run);
		run = i + 1;
	}
	buf_append(out, v.p + run, b - run);
}

size_t rfc5322_count(struct slice header, const char *name)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t n = 0;
	rfc5322_iter_init(&it, header);
	while (rfc5322_iter_next(&it, &f))
		if (!f.malformed && slice_eq_str_nocase(f.name, name))
			n++;
	return n;
}

bool rfc5322_find(struct slice header, const char *name, struct rfc5322_field *out)
{
	struct rfc5322_iter it;
	rfc5322_iter_init(&it, header);
	while (rfc5322_iter_next(&it, out))
		if (!out->malformed && slice_eq_str_nocase(out->name, name))
			return true;
	return false;
}

/* Skips a comment starting at v.p[i] == '('; returns the offset after it. */
static size_t skip_comment(struct slice v, size_t i)
{
	size_t depth = 0;
	for (; i < v.len; i++) {
		if (v.p[i] == '\\') {
			i++;
		} else if (v.p[i] == '(') {
			depth++;
		} else if (v.p[i] == ')') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return v.len;
}

bool rfc5322_msgid_next(struct slice v, size_t *off, struct slice *id)
{
	size_t i = *off;
	while (i < v.len) {
		uint8_t c = v.p[i];
		if (c == '(') {
			i = skip_comment(v, i);
			continue;
		}
		if (c != '<') {
			i++;
			continue;
		}
		/* Scan to '>' byte by byte and restart at the first byte that cannot
		 * be in an ID, so that "<<<<...>" stays linear. */
		size_t k = i + 1;
		while (k < v.len && v.p[k] != '>' && v.p[k] > ' ' && v.p[k] != 127 && v.p[k] != '<')
			k++;
		if (k < v.len && v.p[k] == '>' && k - i > 1) {
			*id = slice_of(v.p + i, k + 1 - i);
			*off = k + 1;
			return true;
		}
		i = (k < v.len && v.p[k] == '<') ? k : k + 1;
	}
	*off = v.len;
	return false;
}

size_t rfc5322_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

bool rfc5322_utf8_valid(struct slice s)
{
	uint32_t cp;
	for (size_t i = 0; i < s.len;) {
		size_t n = rfc5322_utf8_next(s.p + i, s.len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

void rfc5322_utf8_put(struct buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12), b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | cp >> 18), b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (uint8_t)(0x80 | (cp & 0x3f)), n = 4;
	}
	buf_append(out, b, n);
}
