/* Transactions of the outbound client: pre-flight checks, rounds of MAIL/RCPT/DATA,
 * and per-recipient results (queue.md §9, §11.4-§11.5, §12).
 *
 * DESIGN: smtp_client_begin() checks everything that can be decided without the
 * network (argument characters, REQUIRETLS, SMTPUTF8, SIZE) and then runs rounds.
 * A round is one SMTP transaction over up to RCPTMAX unsettled recipients, in order.
 * Recipient states: PENDING -> ROUND -> ACCEPTED / DEFERRED / DONE. A 452 or 552 for
 * a recipient other than the round's first is DEFERRED; if the round accepted
 * someone, the deferred go back to PENDING for the next round, otherwise they keep
 * that reply (so a server refusing everyone with 452 costs one round, not n). Each
 * round settles at least its first recipient, so the loop ends. A whole-transaction
 * error (MAIL, DATA, BDAT, end of data) settles every unsettled recipient of the
 * begin(), including ones not sent yet: the caller moves to the next host. RSET goes
 * first whenever the last transaction did not end with an end-of-data reply. */
#include "proto/smtp_client_priv.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

static void set_reply(struct smtp_client_result *res, enum smtp_client_err err,
                      enum smtp_client_stage stage, struct smtp_reply *r)
{
	smtp_client_result_free(res);
	res->err = err;
	res->stage = stage;
	res->code = r->code;
	memcpy(res->ecode, r->ecode, sizeof res->ecode);
	res->reply = smtp_reply_ref(r);
}

static void settle_local(struct smtp_client *c, size_t i, enum smtp_client_err err,
                         enum smtp_client_stage stage, const char *text)
{
	struct smtp_client_result *res = &c->txn->rcpts[i].result;
	smtp_client_result_free(res);
	smtp_client_result_local(res, err, stage, xstrdup(text));
	c->rst[i] = R_DONE;
}

static void finish(struct smtp_client *c)
{
	smtp_client_result_free(&c->round.fail);
	free(c->rst);
	c->rst = NULL;
	c->txn = NULL;
	c->ev_txn_done = true;
	if (c->state == SC_TXN)
		c->state = SC_IDLE;
}

void smtp_client_txn_abort(struct smtp_client *c, const struct smtp_client_result *res)
{
	struct smtp_client_txn *t = c->txn;
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (c->rst[i] == R_DONE)
			continue;
		smtp_client_result_free(&t->rcpts[i].result);
		smtp_client_result_copy(&t->rcpts[i].result, res);
		t->rcpts[i].result.data_sent = c->rst[i] == R_ACCEPTED && c->round.dot_sent;
		c->rst[i] = R_DONE;
	}
	finish(c);
}

/* Records the first whole-transaction error of the round. */
static void round_fail(struct smtp_client *c, enum smtp_client_stage stage, struct smtp_reply *r)
{
	if (c->round.failed)
		return;
	c->round.failed = true;
	set_reply(&c->round.fail, SMTP_CLIENT_ERR_REPLY, stage, r);
}

static bool pending_empty(struct smtp_client *c)
{
	return c->pend_head == c->npend;
}

static void start_round(struct smtp_client *c);

static void send_mail(struct smtp_client *c)
{
	smtp_client_params_mail(c, c->txn, c->txn_utf8, &c->out); /* length checked at begin() */
	smtp_client_push(c, P_MAIL, 0, false);
}

static void round_end(struct smtp_client *c)
{
	struct smtp_client_txn *t = c->txn;
	struct sc_round *rd = &c->round;
	if (rd->failed) {
		smtp_client_txn_abort(c, &rd->fail);
		return;
	}
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (c->rst[i] == R_DEFERRED) {
			c->rst[i] = rd->accepted ? R_PENDING : R_DONE;
			if (rd->accepted)
				smtp_client_result_free(&t->rcpts[i].result);
		}
	}
	start_round(c);
}

void smtp_client_txn_round_check(struct smtp_client *c)
{
	if (c->txn && pending_empty(c) && !c->round.streaming)
		round_end(c);
}

/* Lock-step: sends the next RCPT, or after the last one DATA/BDAT or the round's end. */
static void lockstep_next(struct smtp_client *c)
{
	struct smtp_client_txn *t = c->txn;
	struct sc_round *rd = &c->round;
	while (rd->left > 0) {
		size_t i = rd->next_rcpt++;
		if (c->rst[i] != R_ROUND)
			continue;
		rd->left--;
		smtp_client_params_rcpt(c, &t->rcpts[i], &c->out); /* checked at begin() */
		smtp_client_push(c, P_RCPT, i, false);
		return;
	}
	if (rd->accepted == 0) {
		round_end(c);
	} else if (rd->bdat) {
		smtp_client_data_start(c, true);
	} else {
		smtp_client_cmd(c, P_DATA, "DATA");
	}
}

static void on_mail(struct smtp_client *c, struct smtp_reply *r)
{
	if (r->code / 100 == 2) {
		c->round.mail_ok = true;
		if (!c->caps.pipelining)
			lockstep_next(c);
		return;
	}
	round_fail(c, SMTP_CLIENT_STAGE_MAIL, r);
	c->round.stop = true;
	if (!c->caps.pipelining)
		round_end(c);
}

static void on_rcpt(struct smtp_client *c, size_t i, struct smtp_reply *r)
{
	struct sc_round *rd = &c->round;
	if (rd->mail_ok && !rd->failed) {
		if (r->code / 100 == 2) {
			c->rst[i] = R_ACCEPTED;
			rd->accepted++;
		} else if ((r->code == 452 || r->code == 552) && i != rd->first) {
			set_reply(&c->txn->rcpts[i].result, SMTP_CLIENT_ERR_REPLY, SMTP_CLIENT_STAGE_RCPT, r);
			c->txn->rcpts[i].result.code = 452; /* 552 is read as 452 (RFC 5321 §4.5.3.1.10) */
			c->rst[i] = R_DEFERRED;
		} else {
			set_reply(&c->txn->rcpts[i].result, SMTP_CLIENT_ERR_REPLY, SMTP_CLIENT_STAGE_RCPT, r);
			c->rst[i] = R_DONE;
		}
	}
	if (!c->caps.pipelining) {
		lockstep_next(c);
		return;
	}
	/* Pipelined BDAT: once every RCPT reply is in, stop the chunks if nobody was taken. */
	bool more_rcpts = false;
	for (size_t k = c->pend_head; k < c->npend; k++)
		more_rcpts |= c->pend[k].kind == P_RCPT;
	if (!more_rcpts && rd->accepted == 0)
		rd->stop = rd->ignore_data = true;
}

static void on_data(struct smtp_client *c, struct smtp_reply *r)
{
	struct sc_round *rd = &c->round;
	bool useful = rd->mail_ok && !rd->failed && rd->accepted > 0;
	if (r->code == 354) {
		if (useful) {
			smtp_client_data_start(c, false);
		} else {
			rd->ignore_data = true; /* queue.md §9.5: 354 with nobody accepted gets "." */
			buf_puts(&c->out, ".\r\n");
			smtp_client_push(c, P_DOT, 0, false);
		}
		return;
	}
	if (useful)
		round_fail(c, SMTP_CLIENT_STAGE_DATA, r);
}

static void settle_accepted(struct smtp_client *c, struct smtp_reply *r)
{
	struct smtp_client_txn *t = c->txn;
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (c->rst[i] != R_ACCEPTED)
			continue;
		set_reply(&t->rcpts[i].result, SMTP_CLIENT_OK, SMTP_CLIENT_STAGE_DOT, r);
		t->rcpts[i].result.data_sent = true;
		c->rst[i] = R_DONE;
	}
}

static void on_end_of_data(struct smtp_client *c, struct smtp_reply *r)
{
	struct sc_round *rd = &c->round;
	if (rd->ignore_data || rd->failed)
		return;
	if (r->code / 100 == 2) {
		settle_accepted(c, r);
	} else {
		round_fail(c, SMTP_CLIENT_STAGE_DOT, r);
		c->round.fail.data_sent = true;
	}
}

static void on_bdat(struct smtp_client *c, bool last, struct smtp_reply *r)
{
	struct sc_round *rd = &c->round;
	bool ok = r->code / 100 == 2;
	if (last) {
		c->need_rset = !ok;
		on_end_of_data(c, r);
		return;
	}
	if (!ok) {
		if (!rd->ignore_data && rd->mail_ok)
			round_fail(c, SMTP_CLIENT_STAGE_DATA, r);
		rd->stop = true;
	}
	if (!c->caps.pipelining) {
		rd->bdat_wait = false;
		if (!ok)
			rd->streaming = false;
	}
}

void smtp_client_txn_reply(struct smtp_client *c, const struct sc_pending *p, struct smtp_reply *r)
{
	int cls = r->code / 100;
	bool fits = p->kind == P_DATA ? (r->code == 354 || cls >= 4) : (cls == 2 || cls >= 4);
	if (!fits) { /* e.g. a spare 250 read as the answer to DATA (#54) */
		smtp_client_protocol_error(c, "reply does not fit the command", r);
		return;
	}
	switch (p->kind) {
	case P_RSET:
		if (cls != 2) {
			smtp_client_protocol_error(c, "RSET refused", r);
			return;
		}
		if (!c->caps.pipelining)
			send_mail(c);
		return;
	case P_MAIL: on_mail(c, r); break;
	case P_RCPT: on_rcpt(c, p->rcpt, r); break;
	case P_DATA: on_data(c, r); break;
	case P_DOT:
		c->need_rset = false; /* the end-of-data reply ends the transaction, any code */
		on_end_of_data(c, r);
		break;
	case P_BDAT: on_bdat(c, p->last, r); break;
	default: panic("smtp_client_txn: unexpected kind %d", p->kind);
	}
	if (c->txn && c->state == SC_TXN)
		smtp_client_txn_round_check(c);
}

/* Recipients per transaction: the server's RCPTMAX and the local cap, 0 = no limit. */
static size_t round_max(const struct smtp_client *c)
{
	size_t max = SIZE_MAX;
	if (c->caps.rcptmax)
		max = c->caps.rcptmax;
	if (c->cfg.rcpt_max && c->cfg.rcpt_max < max)
		max = c->cfg.rcpt_max;
	return max;
}

static void start_round(struct smtp_client *c)
{
	struct smtp_client_txn *t = c->txn;
	struct sc_round *rd = &c->round;
	size_t max = round_max(c);
	smtp_client_result_free(&rd->fail);
	memset(rd, 0, sizeof *rd);
	for (size_t i = 0; i < t->nrcpts && rd->nround < max; i++) {
		if (c->rst[i] != R_PENDING)
			continue;
		if (rd->nround++ == 0)
			rd->first = i;
		c->rst[i] = R_ROUND;
	}
	if (rd->nround == 0) {
		finish(c);
		return;
	}
	t->transactions++;
	rd->bdat = c->caps.chunking;
	rd->left = rd->nround;
	rd->next_rcpt = rd->first;
	rd->total = t->prefix.len + t->data_size;
	bool rset = c->need_rset;
	c->need_rset = true; /* until an end-of-data reply closes this transaction */
	if (rset)
		smtp_client_cmd(c, P_RSET, "RSET");
	if (!c->caps.pipelining) {
		if (!rset)
			send_mail(c);
		return;
	}
	send_mail(c);
	for (size_t i = rd->first; i < t->nrcpts; i++) {
		if (c->rst[i] != R_ROUND)
			continue;
		smtp_client_params_rcpt(c, &t->rcpts[i], &c->out);
		smtp_client_push(c, P_RCPT, i, false);
	}
	rd->left = 0;
	if (rd->bdat)
		smtp_client_data_start(c, true);
	else
		smtp_client_cmd(c, P_DATA, "DATA");
}

/* Settles everyone not yet settled with one local error; false if there was one. */
static bool preflight_all(struct smtp_client *c, enum smtp_client_err err,
                          enum smtp_client_stage stage, const char *text)
{
	for (size_t i = 0; i < c->txn->nrcpts; i++)
		if (c->rst[i] != R_DONE)
			settle_local(c, i, err, stage, text);
	finish(c);
	return false;
}

/* Everything decidable before sending: returns true to go ahead. */
static bool preflight(struct smtp_client *c)
{
	struct smtp_client_txn *t = c->txn;
	struct buf tmp;
	char *text = NULL;
	buf_init(&tmp);
	const char *bad = smtp_client_params_mail_bad(t);
	c->txn_utf8 = t->smtputf8 || smtp_client_params_8bit(t->mail_from);
	for (size_t i = 0; i < t->nrcpts; i++)
		c->txn_utf8 |= smtp_client_params_8bit(t->rcpts[i].addr);
	if (!bad && smtp_client_params_mail(c, t, c->txn_utf8, &tmp) < 0)
		bad = "MAIL FROM command too long";
	uint64_t total = t->prefix.len + t->data_size;
	bool ok = false;
	if (bad)
		preflight_all(c, SMTP_CLIENT_ERR_ARG, SMTP_CLIENT_STAGE_MAIL, bad);
	else if (t->requiretls && !(c->tls_active && c->tls_verified))
		preflight_all(c, SMTP_CLIENT_ERR_REQUIRETLS, SMTP_CLIENT_STAGE_MAIL,
		              "requiretls: tls connection to remote not verified");
	else if (t->requiretls && !c->caps.requiretls)
		preflight_all(c, SMTP_CLIENT_ERR_REQUIRETLS, SMTP_CLIENT_STAGE_MAIL,
		              "remote does not support requiretls");
	else if (c->txn_utf8 && !c->caps.smtputf8)
		preflight_all(c, SMTP_CLIENT_ERR_SMTPUTF8, SMTP_CLIENT_STAGE_MAIL,
		              "remote does not support SMTPUTF8");
	else if (c->caps.size && c->caps.size_max && total > c->caps.size_max)
		preflight_all(c, SMTP_CLIENT_ERR_SIZE, SMTP_CLIENT_STAGE_MAIL,
		              (text = xasprintf("message too large for remote (%llu > %llu octets)",
		                                (unsigned long long)total,
		                                (unsigned long long)c->caps.size_max)));
	else
		ok = true;
	for (size_t i = 0; ok && i < t->nrcpts; i++) {
		const char *why = smtp_client_params_rcpt_bad(&t->rcpts[i]);
		buf_reset(&tmp);
		if (!why && smtp_client_params_rcpt(c, &t->rcpts[i], &tmp) < 0)
			why = "RCPT TO command too long";
		if (why)
			settle_local(c, i, SMTP_CLIENT_ERR_ARG, SMTP_CLIENT_STAGE_RCPT, why);
	}
	free(text);
	buf_free(&tmp);
	return ok;
}

void smtp_client_begin(struct smtp_client *c, struct smtp_client_txn *t)
{
	ASSERT(c->state == SC_IDLE && !c->txn);
	c->txn = t;
	t->transactions = 0;
	c->rst = xcalloc(t->nrcpts ? t->nrcpts : 1, 1);
	smtp_client_result_free(&c->round.fail);
	memset(&c->round, 0, sizeof c->round);
	c->state = SC_TXN;
	if (c->in.len || !smtp_reply_parser_idle(&c->parser)) {
		smtp_client_fail_local(c, SMTP_CLIENT_ERR_PROTOCOL, SMTP_CLIENT_STAGE_IDLE, false,
		                       "protocol error: data from server while idle");
		return;
	}
	if (preflight(c))
		start_round(c);
}

void smtp_client_txn_clear(struct smtp_client_txn *txn)
{
	for (size_t i = 0; i < txn->nrcpts; i++)
		smtp_client_result_free(&txn->rcpts[i].result);
	txn->transactions = 0;
}
