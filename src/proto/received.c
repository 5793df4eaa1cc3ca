/* Composition of Tern's Received header (smtp.md §15).
 *
 * DESIGN: one function per clause, appended in order into a buf. The layout is
 * fixed: line 1 names the hosts, line 2 carries "via tcp with <protocol> id",
 * line 3 the TLS comment, the for clause and the date; every continuation line
 * starts with a TAB. A clause that is absent leaves no stray space, and when
 * line 3 would hold only the date, the date ends line 2. Names come from the
 * network (EHLO) so every byte that could end a token or the field is replaced;
 * the SMTP layer has already validated them, this is a second fence. */
#include "proto/received.h"

#include <string.h>
#include <strings.h>

#include "core/clock.h"

/* Writes s, replacing bytes that could end the token or the field. A path
 * (the recipient, inside <>) may hold a quoted local part with spaces and
 * specials, so there only controls and unexpected 8-bit bytes go. */
static void put_any(struct buf *out, const char *s, bool utf8, bool path)
{
	for (; s && *s; s++) {
		uint8_t c = (uint8_t)*s;
		bool bad = c < ' ' || c == 0x7f || (c >= 0x80 && !utf8) ||
		           (!path && (c == ' ' || c == '(' || c == ')' || c == ';' || c == '\\'));
		buf_putc(out, bad ? '?' : c);
	}
}

static void put_safe(struct buf *out, const char *s, bool utf8)
{
	put_any(out, s, utf8, false);
}

/* A name, as unicode with the ASCII form in a comment when SMTPUTF8 is used. */
static void put_name(struct buf *out, const struct received_name *n, bool smtputf8)
{
	if (smtputf8 && n->unicode && strcmp(n->unicode, n->ascii) != 0) {
		put_safe(out, n->unicode, true);
		buf_puts(out, " (");
		put_safe(out, n->ascii, false);
		buf_putc(out, ')');
	} else {
		put_safe(out, n->ascii, false);
	}
}

static void put_literal(struct buf *out, const char *ip)
{
	buf_puts(out, strchr(ip, ':') ? "[IPv6:" : "[");
	put_safe(out, ip, false);
	buf_putc(out, ']');
}

void received_protocol(const struct received_info *ri, struct buf *out)
{
	buf_puts(out, ri->smtputf8 ? "UTF8SMTP" : ri->helo ? "SMTP" : "ESMTP");
	if (ri->tls)
		buf_putc(out, 'S');
	if (ri->auth)
		buf_putc(out, 'A');
}

static void put_tls(struct buf *out, const struct received_info *ri)
{
	buf_putc(out, '(');
	put_safe(out, ri->tls_version ? ri->tls_version : "TLS", false);
	if (ri->tls_cipher) {
		buf_putc(out, ' ');
		put_safe(out, ri->tls_cipher, false);
	}
	buf_putc(out, ')');
}

static void put_rcpt(struct buf *out, const struct received_info *ri)
{
	buf_puts(out, "for <");
	put_any(out, ri->rcpt, ri->smtputf8, true);
	buf_putc(out, '>');
}

static void put_date(struct buf *out, int64_t now_ms)
{
	char date[40];
	buf_printf(out, "; %s\r\n", clock_rfc5322(date, now_ms));
}

static void compose_webapi(const struct received_info *ri, struct buf *out)
{
	buf_puts(out, "Received: from ");
	put_name(out, &ri->hostname, ri->smtputf8);
	buf_puts(out, " by ");
	put_name(out, &ri->hostname, ri->smtputf8);
	buf_puts(out, " id ");
	put_safe(out, ri->id, false);
	if (ri->tls) {
		buf_putc(out, ' ');
		put_tls(out, ri);
	}
	if (ri->rcpt) {
		buf_putc(out, ' ');
		put_rcpt(out, ri);
	}
	put_date(out, ri->now_ms);
}

void received_compose(const struct received_info *ri, struct buf *out)
{
	if (ri->kind == RECEIVED_WEBAPI) {
		compose_webapi(ri, out);
		return;
	}
	buf_puts(out, "Received: from ");
	if (ri->kind == RECEIVED_MX) {
		put_name(out, &ri->ehlo, ri->smtputf8);
		buf_puts(out, " (");
		if (ri->ptr && *ri->ptr && !(ri->ehlo.ascii && strcasecmp(ri->ptr, ri->ehlo.ascii) == 0)) {
			put_safe(out, ri->ptr, false);
			buf_putc(out, ' ');
		}
		put_literal(out, ri->client_ip ? ri->client_ip : "");
		buf_putc(out, ')');
	} else {
		put_name(out, &ri->hostname, ri->smtputf8);
	}
	buf_puts(out, " by ");
	put_name(out, &ri->hostname, ri->smtputf8);
	if (ri->local_ip) {
		buf_puts(out, " (");
		put_literal(out, ri->local_ip);
		buf_putc(out, ')');
	}
	buf_puts(out, "\r\n\tvia tcp with ");
	received_protocol(ri, out);
	if (ri->requiretls)
		buf_puts(out, " (requiretls)");
	buf_puts(out, " id ");
	put_safe(out, ri->id, false);
	if (!ri->tls && !ri->rcpt) {
		put_date(out, ri->now_ms);
		return;
	}
	buf_puts(out, "\r\n\t");
	if (ri->tls)
		put_tls(out, ri);
	if (ri->rcpt) {
		if (ri->tls)
			buf_putc(out, ' ');
		put_rcpt(out, ri);
	}
	put_date(out, ri->now_ms);
}
