/* localserve in the SMTP session (localserve.md §3-§5, docs/localserve.md):
 * special localparts at MAIL, RCPT and the end of data, and the mock DNS the
 * message-authentication engines get instead of the resolver.
 *
 * DESIGN: the classification and the exact texts are proto/localserve_special;
 * this file only applies them at the session's hook points (each called only
 * when localserve_active()). A `timeout` localpart answers nothing for
 * LocalserveTimeout: the session enters the SW_LOCALSERVE wait on its t_wait
 * timer, reads nothing meanwhile, and sends the prepared 451 when the timer
 * fires (the connection may be gone by then; the reply is simply lost). The
 * code 600 goes through smtp_server_reply_raw_code, the one engine call that
 * allows a code outside SMTP's classes. */
#include "actors/smtp_session_int.h"

#include <stdio.h>
#include <string.h>

#include "actors/localserve_runtime.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "core/log.h"

/* Answers with the special reply now, or starts the LocalserveTimeout wait. */
static void answer(struct smtp_session *s, const struct localserve_special *sp, enum localserve_reply_ctx ctx)
{
	char text[LOCALSERVE_SPECIAL_TEXT_MAX];
	int code = localserve_special_reply(sp, ctx, text);
	log_info("smtp", "special localpart", "cid=%s code=%d timeout=%d", s->rid, code,
	         sp->outcome == LOCALSERVE_TIMEOUT);
	if (sp->outcome != LOCALSERVE_TIMEOUT) {
		smtp_server_reply_raw_code(s->eng, code, text);
		return;
	}
	s->ls_code = code;
	snprintf(s->ls_text, sizeof s->ls_text, "%s", text);
	smtp_session_wait(s, SW_LOCALSERVE);
	timer_start(&s->t_wait, server_get()->st->localserve_timeout_ms);
}

void smtp_session_localserve_timeout(struct smtp_session *s)
{
	s->wait = SW_NONE;
	smtp_server_reply_raw_code(s->eng, s->ls_code, s->ls_text);
}

bool smtp_session_localserve_mail(struct smtp_session *s)
{
	const struct smtp_addr *from = &smtp_server_txn(s->eng)->from;
	struct localserve_special sp;
	if (from->null || !localserve_special_parse(from->local, from->local_len, LOCALSERVE_MAILFROM, &sp) ||
	    sp.stage != LOCALSERVE_AT_MAIL)
		return false;
	answer(s, &sp, LOCALSERVE_REPLY_COMMAND);
	return true;
}

bool smtp_session_localserve_rcpt(struct smtp_session *s)
{
	const struct smtp_addr *a = &smtp_server_pending_rcpt(s->eng)->addr;
	struct localserve_special sp;
	if (!localserve_special_parse(a->local, a->local_len, LOCALSERVE_RCPT, &sp) || sp.stage != LOCALSERVE_AT_RCPT)
		return false;
	answer(s, &sp, LOCALSERVE_REPLY_COMMAND);
	return true;
}

bool smtp_session_localserve_data(struct smtp_session *s)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	for (size_t i = 0; i < t->nrcpt; i++) {
		const struct smtp_addr *a = &t->rcpts[i].addr;
		struct localserve_special sp;
		if (!localserve_special_parse(a->local, a->local_len, LOCALSERVE_RCPT, &sp) || sp.stage != LOCALSERVE_AT_DATA)
			continue;
		buf_reset(&s->data);
		answer(s, &sp, s->ep->svc == SMTP_SVC_MX ? LOCALSERVE_REPLY_DELIVERY : LOCALSERVE_REPLY_SUBMISSION);
		return true;
	}
	return false;
}

void smtp_session_localserve_dns(struct smtp_session *s, const struct mailauth_dns_query *q)
{
	struct localserve_dns d;
	struct conf_domains *dc = conf_domains_acquire();
	localserve_dns_answer(dc, q, &s->peer, &d);
	conf_domains_release(dc);
	smtp_session_on_authdns_answer(s, &d.answer);
	localserve_dns_free(&d);
}
