/* Strict streaming parser for SMTP replies read by the outbound client.
 *
 * DESIGN: the parser walks bytes one by one (replies are small; the per-byte loop is
 * not a hot path) and keeps only the current line, capped, plus the finished lines of
 * the reply being assembled. Sanitising happens as bytes are stored, so nothing
 * unprintable ever leaves this file. A line is "NNN" / "NNN-text" / "NNN text" with
 * NNN in 200..559 (RFC 5321 §4.2: first digit 2-5, second 0-5), the same code on
 * every line, ending in CRLF. A CR not followed by LF is kept as '?' (a
 * non-printable); a LF without CR is malformed (badinput.md #53): a server that
 * cannot frame lines cannot be trusted to frame pipelined replies either. */
#include "proto/smtp_reply.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

void smtp_reply_parser_init(struct smtp_reply_parser *p)
{
	p->cur = NULL;
	p->linelen = 0;
	p->rawlen = 0;
	p->cr = false;
	p->err = NULL;
}

void smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	smtp_reply_parser_free(p);
	smtp_reply_parser_init(p);
}

void smtp_reply_parser_free(struct smtp_reply_parser *p)
{
	smtp_reply_unref(p->cur);
	p->cur = NULL;
}

bool smtp_reply_parser_idle(const struct smtp_reply_parser *p)
{
	return !p->cur && p->rawlen == 0 && !p->cr;
}

static int fail(struct smtp_reply_parser *p, const char *err)
{
	p->err = err;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool smtp_reply_ecode_at(const char *s, char cls, size_t *n)
{
	size_t i = 0;
	if (s[i] != cls || s[i + 1] != '.')
		return false;
	i += 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (d < 3 && is_digit(s[i + d]))
			d++;
		if (d == 0 || is_digit(s[i + d]))
			return false;
		i += d;
		if (part == 0) {
			if (s[i] != '.')
				return false;
			i++;
		}
	}
	if (s[i] != '\0' && s[i] != ' ')
		return false;
	*n = i;
	return true;
}

/* Validates the finished line in p->line and appends it to p->cur.
 * Returns 1 when it was the last line of the reply, 0 for a continuation, -1 on error. */
static int end_line(struct smtp_reply_parser *p)
{
	const char *l = p->line;
	size_t n = p->linelen;
	p->line[n] = '\0';
	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' || !is_digit(l[2]))
		return fail(p, "malformed reply code");
	if (n > 3 && l[3] != '-' && l[3] != ' ')
		return fail(p, "malformed reply line");
	int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (!p->cur) {
		p->cur = xcalloc(1, sizeof *p->cur);
		p->cur->code = code;
		p->cur->refs = 1;
	} else if (p->cur->code != code) {
		return fail(p, "mixed codes in multi-line reply");
	}
	struct smtp_reply *r = p->cur;
	if (r->nlines == SMTP_REPLY_LINES_MAX)
		return fail(p, "too many lines in reply");
	r->lines = xrealloc(r->lines, (r->nlines + 1) * sizeof *r->lines);
	r->lines[r->nlines++] = xstrndup(l, n);
	p->linelen = 0;
	p->rawlen = 0;
	if (n > 3 && l[3] == '-')
		return 0;
	size_t en;
	const char *t = smtp_reply_text(r, 0);
	if (smtp_reply_ecode_at(t, l[0], &en))
		memcpy(r->ecode, t, en), r->ecode[en] = '\0';
	return 1;
}

static int put_byte(struct smtp_reply_parser *p, uint8_t b)
{
	if (++p->rawlen > SMTP_REPLY_RAW_LINE_MAX)
		return fail(p, "reply line too long");
	if (p->linelen < SMTP_REPLY_LINE_MAX)
		p->line[p->linelen++] = (b >= 0x20 && b <= 0x7e) ? (char)b : '?';
	return 0;
}

int smtp_reply_parse(struct smtp_reply_parser *p, const uint8_t *in, size_t len, size_t *used,
                     struct smtp_reply **out)
{
	if (p->err)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];
		if (p->cr) {
			p->cr = false;
			if (b == '\n') {
				int rc = end_line(p);
				if (rc < 0)
					return -1;
				if (rc == 1) {
					*out = p->cur;
					p->cur = NULL;
					*used = i + 1;
					return 1;
				}
				continue;
			}
			if (put_byte(p, '\r') < 0)
				return -1;
		}
		if (b == '\r') {
			p->cr = true;
			continue;
		}
		if (b == '\n')
			return fail(p, "bare LF in reply");
		if (put_byte(p, b) < 0)
			return -1;
	}
	*used = len;
	return 0;
}

struct smtp_reply *smtp_reply_parse_str(const char *s)
{
	struct smtp_reply_parser p;
	struct smtp_reply *r = NULL;
	size_t n = strlen(s), used = 0;
	smtp_reply_parser_init(&p);
	int rc = smtp_reply_parse(&p, (const uint8_t *)s, n, &used, &r);
	smtp_reply_parser_free(&p);
	if (rc == 1 && used == n)
		return r;
	smtp_reply_unref(r);
	return NULL;
}

struct smtp_reply *smtp_reply_ref(struct smtp_reply *r)
{
	r->refs++;
	return r;
}

void smtp_reply_unref(struct smtp_reply *r)
{
	if (!r)
		return;
	ASSERT(r->refs > 0);
	if (--r->refs > 0)
		return;
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	free(r);
}

const char *smtp_reply_text(const struct smtp_reply *r, size_t i)
{
	const char *l = r->lines[i];
	return strlen(l) > 4 ? l + 4 : "";
}

void smtp_reply_summary(const struct smtp_reply *r, struct buf *out)
{
	size_t start = out->len;
	buf_printf(out, "%03d", r->code);
	if (r->ecode[0])
		buf_printf(out, " %s", r->ecode);
	size_t elen = strlen(r->ecode);
	for (size_t i = 0; i < r->nlines; i++) {
		const char *t = smtp_reply_text(r, i);
		if (elen && strncmp(t, r->ecode, elen) == 0 && (t[elen] == ' ' || t[elen] == '\0'))
			t += elen + (t[elen] == ' ');
		if (*t)
			buf_printf(out, " %s", t);
		if (out->len - start > SMTP_REPLY_SUMMARY_MAX) {
			out->len = start + SMTP_REPLY_SUMMARY_MAX - 3;
			buf_puts(out, "...");
			break;
		}
	}
}
