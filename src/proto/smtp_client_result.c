/* Results of the outbound SMTP client: local codes, copies, the MsgResult.Error text.
 *
 * DESIGN: a result is either a remote reply (kept whole, reference counted, for DSN
 * Diagnostic-Code) or a local failure with a fixed code per kind (the table below),
 * or both (a protocol error that quotes the offending reply). Text goes out
 * sanitised: reply lines are already printable (smtp_reply.c), local text is
 * filtered here. */
#include "proto/smtp_client_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

static const struct {
	int code;
	const char *ecode;
} local_codes[] = {
	[SMTP_CLIENT_OK] = {250, "2.0.0"},
	[SMTP_CLIENT_ERR_REPLY] = {451, "4.0.0"},
	[SMTP_CLIENT_ERR_SIZE] = {554, "5.3.4"},
	[SMTP_CLIENT_ERR_SMTPUTF8] = {554, "5.6.7"},
	[SMTP_CLIENT_ERR_REQUIRETLS] = {554, "5.7.30"},
	[SMTP_CLIENT_ERR_ARG] = {554, "5.5.4"},
	[SMTP_CLIENT_ERR_DATA] = {451, "4.3.0"},
	[SMTP_CLIENT_ERR_TLS] = {451, "4.7.0"},
	[SMTP_CLIENT_ERR_AUTH] = {451, "4.7.0"},
	[SMTP_CLIENT_ERR_PROTOCOL] = {451, "4.5.0"},
	[SMTP_CLIENT_ERR_TIMEOUT] = {451, "4.4.2"},
	[SMTP_CLIENT_ERR_IO] = {451, "4.4.2"},
};

static const char *const stage_names[] = {
	[SMTP_CLIENT_STAGE_CONNECT] = "connect", [SMTP_CLIENT_STAGE_GREETING] = "greeting",
	[SMTP_CLIENT_STAGE_EHLO] = "EHLO", [SMTP_CLIENT_STAGE_STARTTLS] = "STARTTLS",
	[SMTP_CLIENT_STAGE_AUTH] = "AUTH", [SMTP_CLIENT_STAGE_IDLE] = "idle",
	[SMTP_CLIENT_STAGE_RSET] = "RSET", [SMTP_CLIENT_STAGE_MAIL] = "MAIL FROM",
	[SMTP_CLIENT_STAGE_RCPT] = "RCPT TO", [SMTP_CLIENT_STAGE_DATA] = "DATA",
	[SMTP_CLIENT_STAGE_DOT] = "end of data", [SMTP_CLIENT_STAGE_QUIT] = "QUIT",
};

const char *smtp_client_result_stage_name(enum smtp_client_stage st)
{
	return stage_names[st];
}

void smtp_client_result_local(struct smtp_client_result *res, enum smtp_client_err err,
                              enum smtp_client_stage stage, char *text)
{
	memset(res, 0, sizeof *res);
	res->err = err;
	res->stage = stage;
	res->code = local_codes[err].code;
	snprintf(res->ecode, sizeof res->ecode, "%s", local_codes[err].ecode);
	res->text = text;
}

void smtp_client_result_copy(struct smtp_client_result *dst, const struct smtp_client_result *src)
{
	*dst = *src;
	if (src->reply)
		smtp_reply_ref(src->reply);
	if (src->text)
		dst->text = xstrdup(src->text);
}

void smtp_client_result_free(struct smtp_client_result *r)
{
	smtp_reply_unref(r->reply);
	free(r->text);
	memset(r, 0, sizeof *r);
}

void smtp_client_result_text(const struct smtp_client_result *r, struct buf *out)
{
	if (r->text) {
		size_t start = out->len;
		buf_puts(out, r->text);
		for (size_t i = start; i < out->len; i++)
			if (out->p[i] < 0x20 || out->p[i] > 0x7e)
				out->p[i] = '?';
		if (r->reply)
			buf_puts(out, ": ");
	}
	if (r->reply) {
		buf_puts(out, "remote: ");
		smtp_reply_summary(r->reply, out);
	}
}
