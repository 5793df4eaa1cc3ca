/* Message preparation for `tern sendmail` (see sendmail_msg.h).
 *
 * DESIGN: scripts and cron hand sendmail LF text with or without a header,
 * while submission wants CRLF and one parseable From: that belongs to the
 * authenticated account. So the text is first normalised to CRLF, then
 * split the way classic sendmail does (a header ends at the first line that
 * is not a field), and the header is rebuilt: the configured From: first, the
 * original fields in their order without From: (and without TLS-Required: when
 * one is added), then the added TLS-Required. The body is never touched. */
#include "actors/sendmail_msg.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/rfc2047.h"
#include "proto/rfc5322.h"

static void crlf(struct slice in, struct buf *out)
{
	buf_reserve(out, in.len + in.len / 16 + 2);
	for (size_t i = 0; i < in.len; i++) {
		uint8_t c = in.p[i];
		if (c == '\r') {
			buf_puts(out, "\r\n");
			if (i + 1 < in.len && in.p[i + 1] == '\n')
				i++;
		} else if (c == '\n') {
			buf_puts(out, "\r\n");
		} else {
			buf_putc(out, (char)c);
		}
	}
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static void put_from(const struct sendmail_msg_opts *o, struct buf *out)
{
	buf_puts(out, "From: ");
	const char *name = o->from_name ? o->from_name : "";
	if (*name && printable_ascii(name)) {
		buf_putc(out, '"');
		for (const char *p = name; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(out, '\\');
			buf_putc(out, *p);
		}
		buf_puts(out, "\" ");
	} else if (*name) {
		rfc2047_encode(slice_str(name), out);
		buf_putc(out, ' ');
	}
	buf_printf(out, "<%s>\r\n", o->from);
}

static bool local_name(const uint8_t *p, size_t n)
{
	if (n == 0 || n > RFC5322_ADDR_PART_MAX)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!isalnum(p[k]) && !strchr("._+-", p[k]))
			return false;
	return true;
}

static void add_local_name(struct rfc5322_addr_list *to, const uint8_t *p, size_t n)
{
	if (to->n == to->cap) {
		to->cap = to->cap ? 2 * to->cap : 4;
		to->v = xrealloc(to->v, to->cap * sizeof *to->v);
	}
	struct rfc5322_addr *e = &to->v[to->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup("");
	e->localpart = xstrndup((const char *)p, n);
	e->domain = xstrdup("");
	e->address = xstrdup(e->localpart);
}

static bool wsp(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* `To: root, dev@example.org`: cron and scripts write local names without a
 * domain, which an address-list parser refuses. Used when the strict parse
 * failed: each comma-separated part is a local name or a mailbox list of its
 * own. Appends them and returns 0, or -1 (to unchanged) when a part is neither. */
static int lenient_to(struct slice value, struct rfc5322_addr_list *to)
{
	size_t start = to->n;
	for (size_t i = 0; i <= value.len;) {
		size_t j = i;
		while (j < value.len && value.p[j] != ',')
			j++;
		size_t a = i, b = j;
		while (a < b && wsp(value.p[a]))
			a++;
		while (b > a && wsp(value.p[b - 1]))
			b--;
		if (local_name(value.p + a, b - a)) {
			add_local_name(to, value.p + a, b - a);
		} else if (rfc5322_addr_list_parse(slice_of(value.p + a, b - a), RFC5322_ADDR_UTF8, to) <= 0) {
			while (to->n > start)
				rfc5322_addr_free(&to->v[--to->n]);
			return -1;
		}
		i = j + 1;
	}
	return 0;
}

static bool named(const struct rfc5322_field *f, const char *name)
{
	return f->name.len == strlen(name) && strncasecmp((const char *)f->name.p, name, f->name.len) == 0;
}

int sendmail_msg_prepare(struct slice in, const struct sendmail_msg_opts *o, struct buf *out,
                         struct rfc5322_addr_list *to, bool *has8bit, struct buf *err)
{
	struct buf m;
	buf_init(&m);
	if (in.len >= 5 && memcmp(in.p, "From ", 5) == 0) { /* mbox separator line */
		const uint8_t *nl = memchr(in.p, '\n', in.len);
		size_t skip = nl ? (size_t)(nl - in.p) + 1 : in.len;
		in.p += skip;
		in.len -= skip;
	}
	crlf(in, &m);
	struct rfc5322_split sp;
	if (rfc5322_split(buf_slice(&m), &sp) != 0) {
		buf_free(&m);
		buf_puts(err, "message header too large");
		return -1;
	}
	/* The header is the run of well-formed fields at the start. */
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t hdr_end = 0;
	rfc5322_iter_init(&it, sp.header);
	while (rfc5322_iter_next(&it, &f) && !f.malformed)
		hdr_end = (size_t)(f.raw.p + f.raw.len - sp.header.p);
	struct slice header = slice_of(sp.header.p, hdr_end);
	struct slice body = hdr_end < sp.header.len || !sp.has_sep
	                        ? slice_of(m.p + hdr_end, m.len - hdr_end)
	                        : sp.body;
	int r = 0;
	put_from(o, out);
	rfc5322_iter_init(&it, header);
	while (rfc5322_iter_next(&it, &f)) {
		if (named(&f, "From") || (o->tls_required_no && named(&f, "TLS-Required")))
			continue;
		if (o->collect_to && named(&f, "To") && rfc5322_addr_list_parse(f.value, RFC5322_ADDR_UTF8, to) < 0 &&
		    lenient_to(f.value, to) < 0) {
			buf_printf(err, "cannot parse the To: field");
			r = -1;
		}
		buf_append(out, f.raw.p, f.raw.len);
	}
	if (o->tls_required_no)
		buf_puts(out, "TLS-Required: No\r\n");
	buf_puts(out, "\r\n");
	buf_append(out, body.p, body.len);
	buf_free(&m);
	if (has8bit) {
		*has8bit = false;
		for (size_t i = 0; i < out->len && !*has8bit; i++)
			*has8bit = out->p[i] >= 0x80;
	}
	return r;
}
