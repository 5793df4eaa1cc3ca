/* The human-readable part of a DSN (queue.md §5 templates), the remaining
 * schedule wording ("in 2h, 6h and 14h"), and text cleaning shared by the DSN
 * parts.
 *
 * DESIGN: the templates are written line by line exactly as queue.md shows
 * them, with CRLF; everything that comes from outside (addresses, Tern's error
 * text, the remote reply) goes through dsn_put_clean, which caps the length
 * and replaces controls, so no input can add a line or break a line limit.
 * With several recipients, each error block names its recipient, so the
 * reader can tell the blocks apart. */
#include "proto/dsn.h"

#include <string.h>

#include "proto/rfc5322.h"

void dsn_put_clean(struct buf *out, struct slice s, bool utf8, size_t max)
{
	size_t used = 0;
	for (size_t i = 0; i < s.len;) {
		uint32_t cp;
		size_t n = rfc5322_utf8_next(s.p + i, s.len - i, &cp);
		bool keep = n && (cp >= 0x80 ? utf8 : (cp >= 0x20 && cp != 0x7f));
		size_t w = keep ? n : 1;
		if (used + w > max)
			break;
		if (keep)
			buf_append(out, s.p + i, n);
		else
			buf_putc(out, '?');
		used += w;
		i += n ? n : 1;
	}
}

void dsn_duration(int64_t ms, struct buf *out)
{
	if (ms < 0)
		ms = 0;
	int64_t s = (ms + 500) / 1000;
	if (s >= 600) {
		int64_t m = (s + 30) / 60;
		if (m / 60)
			buf_printf(out, "%lldh", (long long)(m / 60));
		if (m % 60)
			buf_printf(out, "%lldm", (long long)(m % 60));
		return;
	}
	if (s >= 60)
		buf_printf(out, "%lldm", (long long)(s / 60));
	if (s % 60 || s == 0)
		buf_printf(out, "%llds", (long long)(s % 60));
}

static void put_line(struct buf *out, const char *s)
{
	buf_puts(out, s);
	buf_puts(out, "\r\n");
}

/* "\t<text>\r\n" with the text cleaned. */
static void put_indented(struct buf *out, struct slice s, bool utf8)
{
	buf_putc(out, '\t');
	dsn_put_clean(out, s, utf8, DSN_LINE_MAX);
	buf_puts(out, "\r\n");
}

static void put_recipients(const struct dsn_msg *m, struct buf *out)
{
	for (size_t i = 0; i < m->nrcpts; i++)
		put_indented(out, slice_str(m->rcpts[i].recipient), m->smtputf8);
	buf_puts(out, "\r\n");
}

static void put_error_blocks(const struct dsn_msg *m, struct buf *out)
{
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct dsn_rcpt *r = &m->rcpts[i];
		if (!(r->error && *r->error) && !r->nreply)
			continue;
		if (m->nrcpts > 1) {
			buf_puts(out, "\r\nError during the last delivery attempt for ");
			dsn_put_clean(out, slice_str(r->recipient), m->smtputf8, DSN_LINE_MAX);
			buf_puts(out, ":\r\n\r\n");
		} else {
			buf_puts(out, "\r\nError during the last delivery attempt:\r\n\r\n");
		}
		put_indented(out, slice_str(r->error), m->smtputf8);
		if (!r->nreply)
			continue;
		buf_puts(out, "\r\nFull SMTP response:\r\n\r\n");
		for (size_t k = 0; k < r->nreply && k < DSN_REPLY_LINES_MAX; k++)
			put_indented(out, r->reply[k], m->smtputf8);
	}
}

/* "Next attempts to deliver: in a, b and c." */
static void put_schedule(const struct dsn_msg *m, struct buf *out)
{
	buf_puts(out, "Next attempts to deliver: in ");
	for (size_t i = 0; i < m->nnext; i++) {
		if (i > 0)
			buf_puts(out, i + 1 == m->nnext ? " and " : ", ");
		dsn_duration(m->next_attempts_ms[i] - m->now_ms, out);
	}
	buf_puts(out, ".\r\n");
}

void dsn_text(const struct dsn_msg *m, struct buf *out)
{
	const struct dsn_rcpt *r0 = &m->rcpts[0];
	switch (m->kind) {
	case DSN_FAILED:
		put_line(out, "Delivery has failed permanently for your email to:");
		buf_puts(out, "\r\n");
		put_recipients(m, out);
		put_line(out, "No further deliveries will be attempted.");
		put_error_blocks(m, out);
		break;
	case DSN_DELAYED:
		put_line(out, "Delivery has been delayed of your email to:");
		buf_puts(out, "\r\n");
		put_recipients(m, out);
		if (m->nnext) {
			put_schedule(m, out);
			put_line(out, "If these attempts all fail, you will receive a notice.");
		}
		put_error_blocks(m, out);
		break;
	case DSN_RELAYED:
		put_line(out, "Your email to:");
		buf_puts(out, "\r\n");
		put_recipients(m, out);
		buf_puts(out, "was delivered to ");
		const char *host = r0->remote_host ? r0->remote_host : r0->remote_ip;
		dsn_put_clean(out, slice_str(host ? host : "the next server"), m->smtputf8, DSN_LINE_MAX);
		put_line(out, ", which does not send delivery status");
		put_line(out, "notifications. No further notifications will be sent.");
		break;
	case DSN_DELIVERED:
		put_line(out, "Your email to:");
		buf_puts(out, "\r\n");
		put_recipients(m, out);
		buf_puts(out, "was delivered to the recipient's mailbox at ");
		dsn_put_clean(out, slice_str(m->hostname), m->smtputf8, DSN_LINE_MAX);
		put_line(out, ".");
		put_line(out, "No further notifications will be sent.");
		break;
	}
}
