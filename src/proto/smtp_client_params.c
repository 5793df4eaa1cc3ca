/* MAIL and RCPT command lines of the outbound client, with their ESMTP parameters
 * (queue.md §11.4, smtp.md §9).
 *
 * DESIGN: the rules of which parameter goes out when live here and only here:
 *   SIZE=<n> if SIZE is offered; BODY=8BITMIME/7BIT only if 8BITMIME is offered (an
 *   8-bit message to a server without it goes without BODY); SMTPUTF8 if needed (the
 *   caller checked it is offered); REQUIRETLS if asked (checked likewise); RET, ENVID,
 *   NOTIFY and ORCPT only if DSN is offered. DSN values are stored decoded and are
 *   xtext-encoded here with xtext_encode (RFC 3461 §4): every octet outside
 *   33..126, '+' and '=' becomes "+HH". Nothing with CR, LF or NUL ever reaches a command line (badinput.md #91):
 *   the checks below run before any line is built. */
#include "proto/smtp_client_priv.h"

#include <string.h>
#include <strings.h>

#include "proto/xtext.h"

bool smtp_client_params_clean(const char *s)
{
	for (; s && *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true; /* a NUL ends a C string: an embedded one cannot be passed */
}

bool smtp_client_params_8bit(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* NOTIFY: NEVER, or a comma list of SUCCESS, FAILURE, DELAY (RFC 3461 §4.1). */
static bool notify_ok(const char *s)
{
	static const char *const words[] = {"NEVER", "SUCCESS", "FAILURE", "DELAY"};
	while (*s) {
		size_t n = strcspn(s, ",");
		bool known = false;
		for (size_t i = 0; i < 4; i++)
			known |= strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0;
		if (!known)
			return false;
		s += n;
		if (*s == ',' && *++s == '\0')
			return false;
	}
	return true;
}

/* ORCPT "<addr-type>;<address>": addr-type is an atom (RFC 3461 §4.2). */
static bool orcpt_ok(const char *s)
{
	const char *semi = strchr(s, ';');
	if (!semi || semi == s || semi[1] == '\0')
		return false;
	for (const char *p = s; p < semi; p++) {
		bool atom = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || *p == '-';
		if (!atom)
			return false;
	}
	return true;
}

const char *smtp_client_params_mail_bad(const struct smtp_client_txn *t)
{
	if (!smtp_client_params_clean(t->mail_from) || !smtp_client_params_clean(t->envid))
		return "refusing CR or LF in MAIL FROM argument";
	if (!empty(t->ret) && strcasecmp(t->ret, "FULL") != 0 && strcasecmp(t->ret, "HDRS") != 0)
		return "invalid RET value";
	return NULL;
}

const char *smtp_client_params_rcpt_bad(const struct smtp_client_rcpt *r)
{
	if (!r->addr || !smtp_client_params_clean(r->addr) || !smtp_client_params_clean(r->notify) ||
	    !smtp_client_params_clean(r->orcpt))
		return "refusing CR or LF in RCPT TO argument";
	if (!empty(r->notify) && !notify_ok(r->notify))
		return "invalid NOTIFY value";
	if (!empty(r->orcpt) && !orcpt_ok(r->orcpt))
		return "invalid ORCPT value";
	return NULL;
}

static int finish_line(struct buf *out, size_t start)
{
	buf_puts(out, "\r\n");
	if (out->len - start > SMTP_CLIENT_CMD_MAX) {
		out->len = start;
		return -1;
	}
	return 0;
}

int smtp_client_params_mail(const struct smtp_client *c, const struct smtp_client_txn *t,
                            bool utf8, struct buf *out)
{
	const struct smtp_caps *caps = &c->caps;
	size_t start = out->len;
	buf_printf(out, "MAIL FROM:<%s>", t->mail_from ? t->mail_from : "");
	if (caps->size)
		buf_printf(out, " SIZE=%llu", (unsigned long long)(t->prefix.len + t->data_size));
	if (caps->eightbitmime)
		buf_puts(out, t->has8bit || utf8 ? " BODY=8BITMIME" : " BODY=7BIT");
	if (utf8)
		buf_puts(out, " SMTPUTF8");
	if (t->requiretls)
		buf_puts(out, " REQUIRETLS");
	if (caps->dsn && !empty(t->ret))
		buf_puts(out, strcasecmp(t->ret, "FULL") == 0 ? " RET=FULL" : " RET=HDRS");
	if (caps->dsn && !empty(t->envid)) {
		buf_puts(out, " ENVID=");
		xtext_encode(slice_str(t->envid), out);
	}
	return finish_line(out, start);
}

int smtp_client_params_rcpt(const struct smtp_client *c, const struct smtp_client_rcpt *r,
                            struct buf *out)
{
	size_t start = out->len;
	buf_printf(out, "RCPT TO:<%s>", r->addr);
	if (c->caps.dsn && !empty(r->notify)) {
		buf_puts(out, " NOTIFY=");
		for (const char *p = r->notify; *p; p++)
			buf_putc(out, (uint8_t)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p));
	}
	if (c->caps.dsn && !empty(r->orcpt)) {
		const char *semi = strchr(r->orcpt, ';');
		buf_puts(out, " ORCPT=");
		buf_append(out, r->orcpt, (size_t)(semi - r->orcpt) + 1);
		xtext_encode(slice_str(semi + 1), out);
	}
	return finish_line(out, start);
}
