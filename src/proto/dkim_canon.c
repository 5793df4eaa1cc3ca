/* Message splitting, header selection and canonicalisation for DKIM
 * (RFC 6376 §3.4, §5.4.2).
 *
 * DESIGN: the header index is an array of borrowed slices into the message,
 * built once per message and shared by all its signatures. Body
 * canonicalisation is a single pass that emits into the hash lazily: line
 * endings and (relaxed) whitespace runs are held back as counters and only
 * written when later content proves they are not trailing, so "remove empty
 * lines at the end" and "remove WSP at end of line" need no lookahead and no
 * copy of the body. */
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/dkim_canon.h"

static bool dkim_canon_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* End of the line starting at i: index after its LF (or len). */
static size_t dkim_canon_line_end(struct slice s, size_t i)
{
	const uint8_t *nl = memchr(s.p + i, '\n', s.len - i);
	return nl ? (size_t)(nl - s.p) + 1 : s.len;
}

/* Length of the line ending at the end of raw (CRLF 2, LF 1, none 0). */
static size_t dkim_canon_eol_len(struct slice raw)
{
	if (raw.len >= 1 && raw.p[raw.len - 1] == '\n')
		return raw.len >= 2 && raw.p[raw.len - 2] == '\r' ? 2 : 1;
	return 0;
}

static void dkim_msg_add(struct dkim_msg *m, size_t *cap, struct slice raw)
{
	if (m->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		m->f = xrealloc(m->f, *cap * sizeof *m->f);
	}
	struct slice line = slice_of(raw.p, raw.len - dkim_canon_eol_len(raw));
	const uint8_t *colon = memchr(line.p, ':', line.len);
	struct dkim_field *f = &m->f[m->n++];
	f->raw = raw;
	if (!colon) {
		f->name = line;
		f->value = slice_of(line.p + line.len, 0);
		return;
	}
	size_t nl = (size_t)(colon - line.p);
	while (nl > 0 && dkim_canon_wsp(line.p[nl - 1]))
		nl--;
	f->name = slice_of(line.p, nl);
	f->value = slice_of(colon + 1, line.len - (size_t)(colon + 1 - line.p));
}

/* Why not rfc5322_split + rfc5322_iter: the field boundaries (raw, folds
 * included) and the body they give are the same as here, but
 * - rfc5322_split refuses a header section over RFC5322_HEADER_MAX, and the
 *   signer sees the submitted header plus the Message-Id/Date Tern adds, which
 *   may pass 1 MiB where the message itself did not; this index is bounded by
 *   DKIM_MSG_FIELDS_MAX instead;
 * - for malformed fields the name and value differ: rfc5322 looks for the
 *   colon on the first line only and gives a colon-less field the first line as
 *   name and a NULL value, while here the colon may be on a continuation line
 *   and the name/value slices always lie in the field, as
 *   dkim_canon_header_simple requires (it panics otherwise). Changing which
 *   malformed fields an h= name selects would change signatures and
 *   verification results, so the two stay separate. */
int dkim_msg_parse(struct slice msg, struct dkim_msg *m)
{
	size_t cap = 0, i = 0;
	memset(m, 0, sizeof *m);
	while (i < msg.len) {
		size_t e = dkim_canon_line_end(msg, i);
		struct slice line = slice_of(msg.p + i, e - i);
		if (line.len == dkim_canon_eol_len(line)) { /* empty line: body follows */
			m->body = slice_of(msg.p + e, msg.len - e);
			return 0;
		}
		/* Continuation lines (starting with WSP) belong to this field; a
		 * continuation before any field becomes a field of its own. */
		while (e < msg.len && dkim_canon_wsp(msg.p[e]))
			e = dkim_canon_line_end(msg, e);
		if (m->n == DKIM_MSG_FIELDS_MAX) {
			dkim_msg_free(m);
			return -1;
		}
		dkim_msg_add(m, &cap, slice_of(msg.p + i, e - i));
		i = e;
	}
	m->body = slice_of(msg.p + msg.len, 0);
	return 0;
}

void dkim_msg_free(struct dkim_msg *m)
{
	free(m->f);
	memset(m, 0, sizeof *m);
}

void dkim_msg_select(const struct dkim_msg *m, const struct slice *names, size_t n, long *sel, bool *used)
{
	for (size_t i = 0; i < n; i++) {
		sel[i] = -1;
		for (size_t k = m->n; k-- > 0;) {
			if (!used[k] && slice_eq_nocase(m->f[k].name, names[i])) {
				used[k] = true;
				sel[i] = (long)k;
				break;
			}
		}
	}
}

/* Simple header canonicalisation keeps the bytes; bare LFs become CRLF so
 * the output is the same as for the CRLF form of the message. */
static void dkim_canon_header_simple(struct slice name, struct slice value, struct buf *out)
{
	/* name and value are contiguous in the message except for the colon and
	 * any WSP before it, which lie between them. */
	struct slice whole = slice_of(name.p, (size_t)(value.p + value.len - name.p));
	if (value.p < name.p || whole.len < name.len)
		panic("dkim_canon_header_simple: value before name");
	for (size_t i = 0; i < whole.len; i++) {
		if (whole.p[i] == '\n' && (i == 0 || whole.p[i - 1] != '\r'))
			buf_putc(out, '\r');
		buf_putc(out, whole.p[i]);
	}
}

static void dkim_canon_header_relaxed(struct slice name, struct slice value, struct buf *out)
{
	for (size_t i = 0; i < name.len; i++) {
		uint8_t c = name.p[i];
		buf_putc(out, c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c);
	}
	buf_putc(out, ':');
	bool space = false, any = false;
	for (size_t i = 0; i < value.len; i++) {
		uint8_t c = value.p[i];
		if (c == '\r' || c == '\n')
			continue; /* unfold */
		if (dkim_canon_wsp(c)) {
			space = true;
			continue;
		}
		if (space && any)
			buf_putc(out, ' ');
		space = false;
		any = true;
		buf_putc(out, c);
	}
}

void dkim_canon_header(bool relaxed, struct slice name, struct slice value, bool crlf, struct buf *out)
{
	if (relaxed)
		dkim_canon_header_relaxed(name, value, out);
	else
		dkim_canon_header_simple(name, value, out);
	if (crlf)
		buf_puts(out, "\r\n");
}

/* Output side of body canonicalisation: counts everything, hashes up to limit. */
struct dkim_canon_out {
	struct dkim_hash *h;
	int64_t limit;
	uint64_t total;
};

static void dkim_canon_emit(struct dkim_canon_out *o, const void *p, size_t n)
{
	if (o->limit < 0 || o->total < (uint64_t)o->limit) {
		size_t take = n;
		if (o->limit >= 0 && (uint64_t)o->limit - o->total < take)
			take = (size_t)((uint64_t)o->limit - o->total);
		dkim_hash_update(o->h, p, take);
	}
	o->total += n;
}

static void dkim_canon_emit_crlfs(struct dkim_canon_out *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dkim_canon_emit(o, "\r\n", 2);
}

void dkim_canon_body(bool relaxed, struct slice body, int64_t limit, struct dkim_hash *h, uint64_t *total)
{
	struct dkim_canon_out o = {h, limit, 0};
	size_t pending_eol = 0, i = 0;
	bool any = false;
	while (i < body.len) {
		size_t e = dkim_canon_line_end(body, i);
		struct slice line = slice_of(body.p + i, e - i);
		bool has_eol = dkim_canon_eol_len(line) > 0;
		line.len -= dkim_canon_eol_len(line);
		size_t run = 0, start = 0;
		for (size_t k = 0; k < line.len; k++) {
			uint8_t c = line.p[k];
			if (relaxed && dkim_canon_wsp(c)) {
				if (run++ == 0 && k > start) {
					dkim_canon_emit_crlfs(&o, pending_eol);
					pending_eol = 0;
					dkim_canon_emit(&o, line.p + start, k - start);
					any = true;
				}
				continue;
			}
			if (run > 0) {
				dkim_canon_emit_crlfs(&o, pending_eol);
				pending_eol = 0;
				dkim_canon_emit(&o, " ", 1);
				any = true;
				run = 0;
				start = k;
			}
		}
		if (run == 0 && line.len > start) {
			dkim_canon_emit_crlfs(&o, pending_eol);
			pending_eol = 0;
			dkim_canon_emit(&o, line.p + start, line.len - start);
			any = true;
		}
		if (has_eol)
			pending_eol++;
		i = e;
	}
	/* Trailing empty lines are dropped; a non-empty body ends with one CRLF;
	 * an empty body is CRLF for simple and nothing for relaxed. */
	if (any || !relaxed)
		dkim_canon_emit(&o, "\r\n", 2);
	*total = o.total;
}
