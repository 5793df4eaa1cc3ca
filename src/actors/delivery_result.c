/* Engine results as queue outcomes (see delivery_result.h).
 *
 * DESIGN: one table-like function decides per (err, stage, code) whether a result
 * settles the recipient or sends the job to the next host; the error text is the
 * engine's own (smtp_client_result_text: "remote: <code> <ecode> <text>" for remote
 * replies, sanitised and capped), and the reply lines are copied so the result can
 * move to another thread without sharing the engine's reference-counted reply. */
#include "actors/delivery_result.h"

#include <stdio.h>
#include <string.h>

#include "core/xmalloc.h"

void delivery_result_fill(const struct smtp_client_result *r, struct delivery_res *res)
{
	delivery_res_free(res);
	res->code = r->code;
	if (r->err == SMTP_CLIENT_OK)
		res->outcome = DELIVERY_DELIVERED;
	else
		res->outcome = r->code / 100 == 5 ? DELIVERY_PERMANENT : DELIVERY_TEMPORARY;
	const char *dot = strchr(r->ecode, '.');
	snprintf(res->secode, sizeof res->secode, "%s", dot ? dot + 1 : "");
	res->fail = r->err == SMTP_CLIENT_ERR_TIMEOUT ? DELIVERY_FAIL_TIMEOUT
	            : r->err == SMTP_CLIENT_ERR_DATA  ? DELIVERY_FAIL_LOCAL
	                                              : DELIVERY_FAIL_REMOTE;
	struct buf b;
	buf_init(&b);
	smtp_client_result_text(r, &b);
	res->error = buf_cstr(&b);
	if (r->reply && r->reply->nlines) {
		res->nreply = r->reply->nlines;
		res->reply = xcalloc(res->nreply, sizeof *res->reply);
		for (size_t i = 0; i < res->nreply; i++)
			res->reply[i] = xstrdup(r->reply->lines[i]);
	}
}

enum delivery_verdict delivery_result_verdict(const struct smtp_client_result *r, bool direct, bool *temp,
                                              bool *utf8)
{
	*temp = r->code / 100 != 5;
	*utf8 = false;
	switch (r->err) {
	case SMTP_CLIENT_OK:
	case SMTP_CLIENT_ERR_ARG:
	case SMTP_CLIENT_ERR_SIZE:
	case SMTP_CLIENT_ERR_DATA:
		return DELIVERY_V_FINAL;
	case SMTP_CLIENT_ERR_SMTPUTF8:
		*utf8 = true;
		*temp = false;
		return DELIVERY_V_NEXT_HOST;
	case SMTP_CLIENT_ERR_REQUIRETLS:
		*temp = false;
		return direct ? DELIVERY_V_NEXT_HOST : DELIVERY_V_FINAL;
	case SMTP_CLIENT_ERR_REPLY:
		if (r->code == 421)
			return DELIVERY_V_NEXT_HOST;
		if (r->stage == SMTP_CLIENT_STAGE_RCPT)
			return DELIVERY_V_FINAL;
		if (r->code / 100 == 5 && (r->stage == SMTP_CLIENT_STAGE_MAIL || r->stage == SMTP_CLIENT_STAGE_DATA ||
		                           r->stage == SMTP_CLIENT_STAGE_DOT))
			return DELIVERY_V_FINAL;
		*temp = true; /* 4xx to MAIL or the data; anything odd at RSET */
		return DELIVERY_V_NEXT_HOST;
	default:
		*temp = true;
		return r->data_sent ? DELIVERY_V_FINAL : DELIVERY_V_NEXT_HOST;
	}
}

bool delivery_result_session_temp(const struct smtp_client_result *r)
{
	return !(r->err == SMTP_CLIENT_ERR_REPLY && r->code / 100 == 5);
}

bool delivery_result_before_mail(const struct smtp_client_result *r)
{
	bool stage = r->stage == SMTP_CLIENT_STAGE_RSET || r->stage == SMTP_CLIENT_STAGE_MAIL ||
	             r->stage == SMTP_CLIENT_STAGE_IDLE;
	bool kind = r->err == SMTP_CLIENT_ERR_IO || r->err == SMTP_CLIENT_ERR_TIMEOUT ||
	            (r->err == SMTP_CLIENT_ERR_REPLY && r->code == 421);
	return stage && kind && !r->data_sent;
}
