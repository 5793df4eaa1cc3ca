/* SMTP server engine: the actor's side of the contract — answers to asks,
 * connection-level events (TLS started, timeout, shutdown) and session facts.
 *
 * DESIGN: every answer leaves SMTP_ST_ASK first and then writes the reply, so
 * a reply that trips a limit (error count, bad transactions, a 421 from the
 * actor) can move straight to SMTP_ST_CLOSED without being undone. Answers
 * given after the engine closed (say, a timeout while the actor was committing)
 * are ignored; answers without a pending ask are programming errors. */
#include "proto/smtp_server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/base64.h"

/* Leaves SMTP_ST_ASK; false when the answer must be ignored. */
static bool smtp_server_answer_begin(struct smtp_server *s, const char *what)
{
	if (s->state == SMTP_ST_CLOSED)
		return false;
	if (s->state != SMTP_ST_ASK)
		panic("smtp_server %s without a pending ask (state %d)", what, (int)s->state);
	s->state = SMTP_ST_CMD;
	return true;
}

static void smtp_server_rcpt_add(struct smtp_server *s)
{
	struct smtp_server_txn *t = &s->txn;
	if (t->nrcpt == t->rcpt_cap) {
		t->rcpt_cap = t->rcpt_cap ? t->rcpt_cap * 2 : 8;
		t->rcpts = xrealloc(t->rcpts, t->rcpt_cap * sizeof(*t->rcpts));
	}
	t->rcpts[t->nrcpt++] = s->rcpt_pending;
	memset(&s->rcpt_pending, 0, sizeof(s->rcpt_pending));
	t->accepted++;
}

static void smtp_server_helo_done(struct smtp_server *s, bool ok)
{
	if (!ok) {
		free(s->helo_pending);
		s->helo_pending = NULL;
		return;
	}
	free(s->ehlo_name);
	s->ehlo_name = s->helo_pending;
	s->helo_pending = NULL;
	s->helo = true;
	s->esmtp = s->pending_esmtp;
}

/* Effects of a reply to the pending ask; err is a 4xx/5xx reply. */
static void smtp_server_answered(struct smtp_server *s, enum smtp_server_event ask, bool err)
{
	switch (ask) {
	case SMTP_SERVER_HELO:
		smtp_server_helo_done(s, !err);
		break;
	case SMTP_SERVER_MAIL:
		if (err) {
			smtp_addr_free(&s->txn.from);
			smtp_mail_params_free(&s->txn.params);
			smtp_server_txn_bad(s);
		} else {
			s->txn.mail = true;
		}
		break;
	case SMTP_SERVER_RCPT:
		if (err) {
			smtp_addr_free(&s->rcpt_pending.addr);
			smtp_rcpt_params_free(&s->rcpt_pending.params);
		} else {
			smtp_server_rcpt_add(s);
		}
		break;
	case SMTP_SERVER_MESSAGE:
		smtp_server_txn_reset(s);
		if (err) {
			smtp_server_txn_bad(s);
		} else {
			if (s->good_txn < UINT32_MAX)
				s->good_txn++;
			s->nomail = 0;
		}
		break;
	case SMTP_SERVER_AUTH:
		if (err && s->auth_failures < UINT32_MAX)
			s->auth_failures++;
		if (!err)
			s->authenticated = true;
		break;
	default:
		panic("smtp_server: answer to event %d", (int)ask);
	}
}

void smtp_server_accept(struct smtp_server *s)
{
	if (!smtp_server_answer_begin(s, "accept"))
		return;
	enum smtp_server_event ask = s->ask;
	switch (ask) {
	case SMTP_SERVER_HELO:
		smtp_server_helo_done(s, true);
		if (s->esmtp) {
			smtp_server_ehlo_reply(s);
		} else {
			buf_printf(&s->out, "250 %s\r\n", s->cfg.hostname);
			smtp_server_cmd_end(s, 250, NULL);
			/* HELO clients must not pipeline (smtp.md §1). */
			if (s->in_pos < s->in.len)
				smtp_server_close_reply(s, 554, "5.5.0 protocol synchronization error");
		}
		return;
	case SMTP_SERVER_MAIL:
		smtp_server_out(s, 250, "2.1.0 ok");
		break;
	case SMTP_SERVER_RCPT:
		smtp_server_out(s, 250, "2.1.5 ok");
		break;
	case SMTP_SERVER_MESSAGE:
		buf_printf(&s->out, "250 2.0.0 %s (%s)\r\n",
		           s->cfg.kind == SMTP_SERVER_MX ? "delivered" : "queued", s->cfg.receivedid);
		smtp_server_cmd_end(s, 250, "2.0.0");
		break;
	default:
		panic("smtp_server_accept for event %d", (int)ask);
	}
	smtp_server_answered(s, ask, false);
}

/* The answer of reply_lines and reply_raw_code; the callers checked the code range. */
static void smtp_server_reply_any(struct smtp_server *s, int code, const char *const *texts, size_t n)
{
	if (!smtp_server_answer_begin(s, "reply"))
		return;
	enum smtp_server_event ask = s->ask;
	bool err = code >= 400;
	for (size_t i = 0; i + 1 < n; i++) {
		buf_printf(&s->out, "%03d-", code);
		size_t start = s->out.len;
		buf_puts(&s->out, texts[i]);
		for (size_t k = start; k < s->out.len; k++)
			if (s->out.p[k] < 0x20 || s->out.p[k] >= 0x7F)
				s->out.p[k] = '?';
		buf_puts(&s->out, "\r\n");
	}
	if (code == 421) {
		smtp_server_answered(s, ask, true);
		smtp_server_close_reply(s, code, texts[n - 1]);
		return;
	}
	smtp_server_out(s, code, texts[n - 1]);
	smtp_server_answered(s, ask, err);
	if (err && s->state != SMTP_ST_CLOSED)
		smtp_server_count_error(s);
}

void smtp_server_reply_lines(struct smtp_server *s, int code, const char *const *texts, size_t n)
{
	if (code < 200 || code > 599 || n == 0)
		panic("smtp_server_reply: bad code %d or no text", code);
	smtp_server_reply_any(s, code, texts, n);
}

void smtp_server_reply(struct smtp_server *s, int code, const char *text)
{
	smtp_server_reply_lines(s, code, &text, 1);
}

void smtp_server_reply_raw_code(struct smtp_server *s, int code, const char *text)
{
	if (code < 200 || code > SMTP_SERVER_RAW_CODE_MAX || !text)
		panic("smtp_server_reply_raw_code: bad code %d or no text", code);
	smtp_server_reply_any(s, code, &text, 1);
}

void smtp_server_auth_challenge(struct smtp_server *s, const void *p, size_t n)
{
	if (!smtp_server_answer_begin(s, "auth_challenge"))
		return;
	if (s->ask != SMTP_SERVER_AUTH)
		panic("smtp_server_auth_challenge for event %d", (int)s->ask);
	buf_puts(&s->out, "334 ");
	base64_encode(&s->out, slice_of(p, n));
	buf_puts(&s->out, "\r\n");
	s->state = SMTP_ST_AUTH_LINE;
}

void smtp_server_auth_success(struct smtp_server *s)
{
	if (!smtp_server_answer_begin(s, "auth_success"))
		return;
	if (s->ask != SMTP_SERVER_AUTH)
		panic("smtp_server_auth_success for event %d", (int)s->ask);
	smtp_server_out(s, 235, "2.7.0 authentication successful");
	smtp_server_answered(s, SMTP_SERVER_AUTH, false);
}

void smtp_server_tls_started(struct smtp_server *s)
{
	if (s->state != SMTP_ST_TLS)
		return;
	s->tls = true;
	s->helo = s->esmtp = false;
	free(s->ehlo_name);
	s->ehlo_name = NULL;
	s->authenticated = false;
	smtp_server_txn_reset(s);
	s->in.len = s->in_pos = 0;
	s->state = SMTP_ST_CMD;
}

void smtp_server_timeout(struct smtp_server *s)
{
	smtp_server_close_reply(s, 421, "4.4.2 timeout");
}

bool smtp_server_shutdown(struct smtp_server *s)
{
	if (s->state == SMTP_ST_CLOSED)
		return true;
	bool idle = s->state == SMTP_ST_GREETING || s->state == SMTP_ST_CMD ||
	            s->state == SMTP_ST_DISCARD;
	if (idle && !s->txn.mail) {
		smtp_server_close_reply(s, 421, "4.3.2 service shutting down");
		return true;
	}
	s->shutdown = true;
	return false;
}

void smtp_server_close_with(struct smtp_server *s, int code, const char *text)
{
	smtp_server_close_reply(s, code, text);
}

void smtp_server_take_message(struct smtp_server *s, struct buf *out)
{
	if (s->data_active)
		smtp_data_take(&s->data, out);
}

void smtp_server_data_take(struct smtp_server *s, struct buf *out)
{
	if (!s->data_active)
		return;
	smtp_data_take(&s->data, out);
	s->data_taken = true;
}

const char *smtp_server_helo_pending(const struct smtp_server *s)
{
	return s->helo_pending;
}

bool smtp_server_esmtp(const struct smtp_server *s)
{
	return s->state == SMTP_ST_ASK && s->ask == SMTP_SERVER_HELO ? s->pending_esmtp : s->esmtp;
}

const char *smtp_server_ehlo_name(const struct smtp_server *s)
{
	return s->helo ? s->ehlo_name : NULL;
}

bool smtp_server_tls(const struct smtp_server *s)
{
	return s->tls;
}

bool smtp_server_authenticated(const struct smtp_server *s)
{
	return s->authenticated;
}

unsigned smtp_server_auth_failures(const struct smtp_server *s)
{
	return s->auth_failures;
}

const char *smtp_server_protocol(const struct smtp_server *s)
{
	static const char *const names[] = {
		"SMTP", "SMTPA", "SMTPS", "SMTPSA", "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA",
		"UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA",
	};
	int base = !s->esmtp ? 0 : s->txn.params.smtputf8 ? 8 : 4;
	return names[base + (s->tls ? 2 : 0) + (s->authenticated ? 1 : 0)];
}

const struct smtp_server_txn *smtp_server_txn(const struct smtp_server *s)
{
	return &s->txn;
}

const struct smtp_server_rcpt *smtp_server_pending_rcpt(const struct smtp_server *s)
{
	return &s->rcpt_pending;
}

const struct smtp_server_auth_req *smtp_server_auth_req(const struct smtp_server *s)
{
	return &s->auth;
}

bool smtp_server_partial_line(const struct smtp_server *s)
{
	return (s->state == SMTP_ST_CMD || s->state == SMTP_ST_AUTH_LINE ||
	        s->state == SMTP_ST_DISCARD) &&
	       (s->in_pos < s->in.len || s->state == SMTP_ST_DISCARD);
}

bool smtp_server_in_data(const struct smtp_server *s)
{
	return s->state == SMTP_ST_DATA || s->state == SMTP_ST_BDAT ||
	       (s->state == SMTP_ST_CMD && s->txn.bdat);
}

bool smtp_server_closed(const struct smtp_server *s)
{
	return s->state == SMTP_ST_CLOSED;
}
