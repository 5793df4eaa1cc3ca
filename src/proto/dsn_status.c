/* The machine-readable part of a DSN: message/delivery-status (RFC 3464) or
 * message/global-delivery-status (RFC 6533) fields, per message and per
 * recipient, in the order of queue.md §5.
 *
 * DESIGN: every value is written on one header line, except Diagnostic-Code,
 * which is folded one remote reply line per header line with a single space
 * as the fold, so that unfolding yields the reply lines joined by one space.
 * Lengths are capped (DSN_LINE_MAX per line) so no line nears the 998-octet
 * limit. In the ASCII variant a non-ASCII address uses the utf-8 address type
 * with RFC 6533 `\x{HEX}` escapes; the UTF-8 variant writes addresses as they
 * are. ENVID and ORCPT addresses are re-encoded as xtext (smtp.md §9). */
#include "proto/dsn.h"

#include <string.h>

#include "core/clock.h"
#include "proto/rfc5322.h"
#include "proto/xtext.h"

static bool is_ascii(const char *s)
{
	for (; s && *s; s++)
		if ((uint8_t)*s >= 0x80)
			return false;
	return true;
}

/* utf-8-addr-xtext (RFC 6533 §3): QCHAR kept, all else as \x{HEX}; at most
 * DSN_LINE_MAX octets written. */
static void put_utf8_xtext(struct buf *out, struct slice s)
{
	size_t start = out->len;
	for (size_t i = 0; i < s.len && out->len - start + 10 <= DSN_LINE_MAX;) {
		uint32_t cp;
		size_t n = rfc5322_utf8_next(s.p + i, s.len - i, &cp);
		if (!n)
			cp = 0xfffd, n = 1;
		if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' && cp != '\\')
			buf_putc(out, (uint8_t)cp);
		else
			buf_printf(out, "\\x{%X}", (unsigned)cp);
		i += n;
	}
}

/* "<type>; <address>" for Final-Recipient. */
static void put_final(struct buf *out, const char *addr, bool utf8)
{
	struct slice a = slice_str(addr);
	if (utf8) {
		buf_puts(out, "utf-8; ");
		dsn_put_clean(out, a, true, DSN_LINE_MAX);
	} else if (is_ascii(addr)) {
		buf_puts(out, "rfc822; ");
		dsn_put_clean(out, a, false, DSN_LINE_MAX);
	} else {
		buf_puts(out, "utf-8; ");
		put_utf8_xtext(out, a);
	}
}

/* "<addr-type>; <xtext>" from a stored ORCPT "<addr-type>;<decoded>". */
static void put_orcpt(struct buf *out, const char *orcpt)
{
	struct slice o = slice_str(orcpt);
	const uint8_t *semi = memchr(o.p, ';', o.len);
	struct slice type = semi ? slice_of(o.p, (size_t)(semi - o.p)) : SLICE_LIT("rfc822");
	struct slice addr = semi ? slice_of(semi + 1, o.len - (size_t)(semi + 1 - o.p)) : o;
	dsn_put_clean(out, type, false, 64);
	buf_puts(out, "; ");
	if (addr.len > DSN_LINE_MAX / 3)
		addr.len = DSN_LINE_MAX / 3; /* xtext triples at most */
	xtext_encode(addr, out);
}

static bool secode_ok(const char *s)
{
	/* subject "." detail: 1-3 digits each (RFC 3463). */
	size_t a = strspn(s, "0123456789");
	if (a < 1 || a > 3 || s[a] != '.')
		return false;
	size_t b = strspn(s + a + 1, "0123456789");
	return b >= 1 && b <= 3 && s[a + 1 + b] == 0;
}

static void put_status(struct buf *out, enum dsn_kind kind, const struct dsn_rcpt *r, bool utf8)
{
	int cls = r->code >= 200 && r->code < 600 ? r->code / 100 : 0;
	if (cls == 3 || cls == 0)
		cls = kind == DSN_FAILED ? 5 : kind == DSN_DELAYED ? 4 : 2;
	buf_printf(out, "Status: %d.%s", cls, r->secode && secode_ok(r->secode) ? r->secode : "0.0");
	if (r->error && *r->error) {
		/* A comment: escape the characters that would end or nest it. */
		struct buf clean;
		buf_init(&clean);
		dsn_put_clean(&clean, slice_str(r->error), utf8, DSN_LINE_MAX / 2); /* escapes double */
		buf_puts(out, " (");
		for (size_t i = 0; i < clean.len; i++) {
			if (clean.p[i] == '(' || clean.p[i] == ')' || clean.p[i] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, clean.p[i]);
		}
		buf_putc(out, ')');
		buf_free(&clean);
	}
	buf_puts(out, "\r\n");
}

static void put_date_field(struct buf *out, const char *name, int64_t ms)
{
	char d[40];
	buf_printf(out, "%s: %s\r\n", name, clock_rfc5322(d, ms));
}

static void put_mta(struct buf *out, const char *field, const char *host, const char *ip, bool utf8)
{
	buf_printf(out, "%s: dns; ", field);
	if (host && *host) {
		dsn_put_clean(out, slice_str(host), utf8, 255);
		if (ip && *ip) {
			buf_puts(out, " ([");
			dsn_put_clean(out, slice_str(ip), false, 64);
			buf_puts(out, "])");
		}
	} else {
		buf_putc(out, '[');
		dsn_put_clean(out, slice_str(ip), false, 64);
		buf_putc(out, ']');
	}
	buf_puts(out, "\r\n");
}

static void put_recipient(const struct dsn_msg *m, const struct dsn_rcpt *r, bool utf8,
                          struct buf *out)
{
	static const char *const actions[] = {"failed", "delayed", "relayed", "delivered"};
	if (r->orcpt && *r->orcpt) {
		buf_puts(out, "Original-Recipient: ");
		put_orcpt(out, r->orcpt);
		buf_puts(out, "\r\n");
	}
	buf_puts(out, "Final-Recipient: ");
	put_final(out, r->recipient ? r->recipient : "", utf8);
	buf_printf(out, "\r\nAction: %s\r\n", actions[m->kind]);
	put_status(out, m->kind, r, utf8);
	if ((r->remote_host && *r->remote_host) || (r->remote_ip && *r->remote_ip))
		put_mta(out, "Remote-MTA", r->remote_host, r->remote_ip, utf8);
	if (r->nreply) {
		buf_puts(out, "Diagnostic-Code: smtp; ");
		for (size_t k = 0; k < r->nreply && k < DSN_REPLY_LINES_MAX; k++) {
			if (k)
				buf_puts(out, "\r\n ");
			dsn_put_clean(out, r->reply[k], utf8, DSN_LINE_MAX);
		}
		buf_puts(out, "\r\n");
	}
	if (r->last_attempt_ms)
		put_date_field(out, "Last-Attempt-Date", r->last_attempt_ms);
	if (m->kind == DSN_DELAYED && m->nnext)
		put_date_field(out, "Will-Retry-Until", m->next_attempts_ms[m->nnext - 1]);
}

void dsn_status(const struct dsn_msg *m, bool utf8, struct buf *out)
{
	if (m->envid && *m->envid) {
		buf_puts(out, "Original-Envelope-Id: ");
		struct slice e = slice_str(m->envid);
		xtext_encode(slice_of(e.p, e.len > DSN_LINE_MAX / 3 ? DSN_LINE_MAX / 3 : e.len), out);
		buf_puts(out, "\r\n");
	}
	buf_puts(out, "Reporting-MTA: dns; ");
	dsn_put_clean(out, slice_str(m->hostname), false, 255);
	buf_puts(out, "\r\n");
	if (m->mx && m->mx->client_ehlo)
		put_mta(out, "Received-From-MTA", m->mx->client_ehlo, m->mx->client_ip, utf8);
	if (m->arrival_ms)
		put_date_field(out, "Arrival-Date", m->arrival_ms);
	if (m->future_release && *m->future_release) {
		buf_puts(out, "Future-Release-Request: ");
		dsn_put_clean(out, slice_str(m->future_release), false, 128);
		buf_puts(out, "\r\n");
	}
	for (size_t i = 0; i < m->nrcpts; i++) {
		buf_puts(out, "\r\n");
		put_recipient(m, &m->rcpts[i], utf8, out);
	}
}
