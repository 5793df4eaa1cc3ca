/* DSN assembly: top-level headers, the multipart/report structure, and part 3
 * (the original's headers or, with RET=FULL, the whole original).
 *
 * DESIGN: the three parts are written straight into the output buffer in
 * queue.md §5 order; dsn_text.c and dsn_status.c provide parts 1 and 2. The
 * choice for part 3 follows RFC 6522/6533: an ASCII DSN carries UTF-8 headers
 * base64-encoded as text/rfc822-headers (charset=utf-8), never raw, and never
 * as message/rfc822; the UTF-8 variant uses message/global(-headers). Bytes
 * copied from the original go through put_crlf, which turns any bare CR or LF
 * into CRLF, so the DSN never holds a bare line ending whatever the input.
 * The boundary is "tern-" plus 128 random bits, which cannot be guessed by
 * whoever wrote the original, so it cannot occur inside the enclosed message. */
#include "proto/dsn.h"

#include <string.h>

#include "core/clock.h"
#include "proto/base64.h"
#include "proto/msgid.h"
#include "proto/rfc5322.h"

/** Octets per base64 line: 57 give the 76 characters RFC 2045 allows. */
#define DSN_BASE64_LINE_OCTETS 57

static const char *const subjects[] = {"mail delivery failed", "mail delivery delayed",
                                       "mail delivery report", "mail delivery report"};

static bool has_8bit(struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] >= 0x80)
			return true;
	return false;
}

/* Appends s with every bare CR or LF made CRLF. */
static void put_crlf(struct buf *out, struct slice s)
{
	size_t run = 0;
	buf_reserve(out, s.len + 2);
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];
		if (c == '\r' && i + 1 < s.len && s.p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (c != '\r' && c != '\n')
			continue;
		buf_append(out, s.p + run, i - run);
		buf_puts(out, "\r\n");
		run = i + 1;
	}
	buf_append(out, s.p + run, s.len - run);
}

/* Base64 in lines of 76 characters (57 octets), each ended by CRLF (RFC 2045 §6.8). */
static void put_base64(struct buf *out, struct slice s)
{
	for (size_t i = 0; i < s.len; i += DSN_BASE64_LINE_OCTETS) {
		size_t n = s.len - i < DSN_BASE64_LINE_OCTETS ? s.len - i : DSN_BASE64_LINE_OCTETS;
		base64_encode(out, slice_of(s.p + i, n));
		buf_puts(out, "\r\n");
	}
}

/* The original's header section, with a final line ending. */
static struct slice original_header(const struct dsn_msg *m)
{
	struct rfc5322_split sp;
	if (rfc5322_split(m->original, &sp) == 0)
		return sp.header;
	/* Over the cap (not possible for mail Tern accepted): cut at a line end. */
	struct slice h = slice_of(m->original.p, RFC5322_HEADER_MAX);
	while (h.len && h.p[h.len - 1] != '\n')
		h.len--;
	return h;
}

static void put_part3(const struct dsn_msg *m, bool utf8, struct buf *out)
{
	uint64_t size = m->original_size ? m->original_size : m->original.len;
	bool full = m->ret_full && !m->requiretls && size <= DSN_FULL_MAX && m->original.len >= size;
	struct slice hdr = original_header(m);
	bool hdr8 = has_8bit(hdr);
	if (full && (utf8 || !hdr8)) {
		struct slice all = slice_of(m->original.p, (size_t)size);
		buf_printf(out, "Content-Type: %s\r\nContent-Transfer-Encoding: %s\r\n\r\n",
		           utf8 ? "message/global" : "message/rfc822", has_8bit(all) ? "8bit" : "7bit");
		put_crlf(out, all);
		return;
	}
	if (!utf8 && hdr8) {
		buf_puts(out, "Content-Type: text/rfc822-headers; charset=utf-8\r\n"
		              "Content-Transfer-Encoding: base64\r\n\r\n");
		put_base64(out, hdr);
		return;
	}
	buf_printf(out, "Content-Type: %s\r\nContent-Transfer-Encoding: %s\r\n\r\n",
	           utf8 ? "message/global-headers" : "text/rfc822-headers", hdr8 ? "8bit" : "7bit");
	put_crlf(out, hdr);
	if (hdr.len && hdr.p[hdr.len - 1] != '\n' && hdr.p[hdr.len - 1] != '\r')
		buf_puts(out, "\r\n"); /* a header section always ends its last line */
}

static void put_headers(const struct dsn_msg *m, bool utf8, const char *msgid,
                        const char *boundary, struct buf *out)
{
	char date[40];
	const char *pm = m->mx && m->mx->rcpt_domain ? m->mx->rcpt_domain : m->hostname;
	buf_puts(out, "From: <postmaster@");
	dsn_put_clean(out, slice_str(pm), utf8, 255);
	buf_puts(out, ">\r\nTo: <");
	if (m->mail_from && *m->mail_from)
		dsn_put_clean(out, slice_str(m->mail_from), utf8, 2 * 255 + 3);
	else
		buf_printf(out, "postmaster@%s", m->hostname);
	const char *subject = subjects[m->kind];
	if (m->mx && m->kind == DSN_FAILED)
		subject = "mail delivery failure";
	buf_printf(out, ">\r\nSubject: %s\r\nMessage-Id: %s\r\n", subject, msgid);
	if (m->message_id && *m->message_id) {
		buf_puts(out, "References: ");
		dsn_put_clean(out, slice_str(m->message_id), utf8, DSN_LINE_MAX);
		buf_puts(out, "\r\n");
	}
	buf_printf(out, "Date: %s\r\nMIME-Version: 1.0\r\n", clock_rfc5322(date, m->now_ms));
	buf_printf(out, "Content-Type: multipart/report; report-type=\"delivery-status\";\r\n"
	                "\tboundary=\"%s\"\r\n\r\n", boundary);
}

static void compose(const struct dsn_msg *m, bool utf8, const char *msgid, const char *boundary,
                    struct buf *out)
{
	put_headers(m, utf8, msgid, boundary, out);
	buf_puts(out, "This is a MIME-formatted delivery status notification.\r\n");
	buf_printf(out, "\r\n--%s\r\n", boundary);
	buf_printf(out, "Content-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: %s\r\n\r\n",
	           m->smtputf8 ? "utf-8" : "us-ascii", m->smtputf8 ? "8bit" : "7bit");
	dsn_text(m, out);
	buf_printf(out, "\r\n--%s\r\n", boundary);
	if (utf8)
		buf_puts(out, "Content-Type: message/global-delivery-status\r\n"
		              "Content-Transfer-Encoding: 8bit\r\n\r\n");
	else
		buf_puts(out, "Content-Type: message/delivery-status\r\n"
		              "Content-Transfer-Encoding: 7bit\r\n\r\n");
	dsn_status(m, utf8, out);
	buf_printf(out, "\r\n--%s\r\n", boundary);
	put_part3(m, utf8, out);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
}

/* Message-Id and boundary: the fixed ones of a test, or new random ones. */
static void ids(const struct dsn_msg *m, struct buf *msgid, struct buf *boundary)
{
	if (m->dsn_message_id)
		buf_puts(msgid, m->dsn_message_id);
	else
		msgid_new(m->hostname, msgid);
	if (m->boundary) {
		buf_puts(boundary, m->boundary);
	} else {
		char r[MSGID_RANDOM_LEN + 1];
		msgid_random(r);
		buf_printf(boundary, "tern-%s", r);
	}
}

int dsn_compose(const struct dsn_msg *m, bool utf8, struct buf *out)
{
	return dsn_compose_pair(m, utf8 ? NULL : out, utf8 ? out : NULL);
}

bool dsn_needs_utf8(const struct dsn_msg *m)
{
	if (m->smtputf8 || has_8bit(slice_str(m->mail_from)))
		return true;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (has_8bit(slice_str(m->rcpts[i].recipient)))
			return true;
	return false;
}

int dsn_compose_pair(const struct dsn_msg *m, struct buf *ascii, struct buf *utf8)
{
	if (!m->nrcpts || !m->rcpts || !m->hostname || !*m->hostname)
		return -1;
	struct buf msgid, boundary;
	buf_init(&msgid);
	buf_init(&boundary);
	ids(m, &msgid, &boundary);
	if (ascii)
		compose(m, false, buf_cstr(&msgid), buf_cstr(&boundary), ascii);
	/* dsn_compose(utf8=true) passes ascii == NULL and always wants the variant. */
	if (utf8 && (!ascii || dsn_needs_utf8(m)))
		compose(m, true, buf_cstr(&msgid), buf_cstr(&boundary), utf8);
	buf_free(&msgid);
	buf_free(&boundary);
	return 0;
}
