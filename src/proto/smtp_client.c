/* Outbound SMTP client engine: session life cycle, reply dispatch, waits and errors.
 *
 * DESIGN: commands whose replies are awaited sit in a FIFO of `struct sc_pending`,
 * each marked `sent` once step() has handed the output holding it to the actor.
 * Input is parsed reply by reply; a reply is matched with the FIFO head, and a reply
 * whose head is missing or not yet sent is a protocol error (badinput.md #54). A 421
 * anywhere but QUIT means the server is going away: the open transaction fails with
 * it and the session closes without QUIT. Set-up rejections (5xx/4xx greeting or EHLO,
 * STARTTLS required but missing, AUTH failure) end with a polite QUIT. Transactions
 * live in smtp_client_txn.c, set-up replies in smtp_client_session.c, AUTH in
 * smtp_client_auth.c. */
#include "proto/smtp_client_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"

const char *smtp_client_cmd_name(enum smtp_client_cmd cmd)
{
	static const char *const names[SMTP_CLIENT_NCMDS] = {
		"greeting", "ehlo", "starttls", "auth", "rset", "mail", "rcpt", "data", "dot", "bdat", "quit",
	};
	return cmd >= 0 && cmd < SMTP_CLIENT_NCMDS ? names[cmd] : "other";
}

static const enum smtp_client_stage kind_stage[] = {
	[P_GREETING] = SMTP_CLIENT_STAGE_GREETING, [P_EHLO] = SMTP_CLIENT_STAGE_EHLO,
	[P_STARTTLS] = SMTP_CLIENT_STAGE_STARTTLS, [P_AUTH] = SMTP_CLIENT_STAGE_AUTH,
	[P_RSET] = SMTP_CLIENT_STAGE_RSET, [P_MAIL] = SMTP_CLIENT_STAGE_MAIL,
	[P_RCPT] = SMTP_CLIENT_STAGE_RCPT, [P_DATA] = SMTP_CLIENT_STAGE_DATA,
	[P_DOT] = SMTP_CLIENT_STAGE_DOT, [P_BDAT] = SMTP_CLIENT_STAGE_DATA,
	[P_QUIT] = SMTP_CLIENT_STAGE_QUIT,
};

/* ---- life cycle ---- */

struct smtp_client *smtp_client_new(const struct smtp_client_config *cfg)
{
	const char *n = cfg->ehlo_name;
	if (!n || !*n || strpbrk(n, " \r\n\t"))
		return NULL;
	struct smtp_client *c = xcalloc(1, sizeof *c);
	c->cfg = *cfg;
	c->ehlo_name = xstrdup(n);
	c->cfg.ehlo_name = c->ehlo_name;
	smtp_reply_parser_init(&c->parser);
	c->state = SC_GREETING;
	c->next_id = 1;
	c->cur_kind = -1;
	if (cfg->tls == SMTP_CLIENT_TLS_IMPLICIT) {
		c->tls_active = true;
		c->tls_verified = cfg->implicit_verified;
	}
	smtp_client_push(c, P_GREETING, 0, false);
	c->pend[0].sent = true; /* the greeting is due without a command */
	c->pend[0].sent_ns = cfg->reply_cb ? clock_mono_ns() : 0;
	return c;
}

void smtp_client_free(struct smtp_client *c)
{
	if (!c)
		return;
	smtp_client_result_free(&c->round.fail);
	free(c->rst);
	smtp_client_result_free(&c->error);
	smtp_reply_parser_free(&c->parser);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->auth_ir);
	free(c->pend);
	free(c->ehlo_name);
	free(c);
}

/* ---- pending FIFO and output ---- */

void smtp_client_push(struct smtp_client *c, enum sc_kind kind, size_t rcpt, bool last)
{
	if (c->pend_head == c->npend)
		c->pend_head = c->npend = 0;
	if (c->npend == c->pend_cap) {
		c->pend_cap = c->pend_cap ? c->pend_cap * 2 : 16;
		c->pend = xrealloc(c->pend, c->pend_cap * sizeof *c->pend);
	}
	c->pend[c->npend++] = (struct sc_pending){
	    .kind = (uint8_t)kind, .rcpt = rcpt, .last = last, .id = c->next_id++};
}

void smtp_client_cmd(struct smtp_client *c, enum sc_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	buf_puts(&c->out, "\r\n");
	smtp_client_push(c, kind, 0, false);
}

static struct sc_pending *head(struct smtp_client *c)
{
	return c->pend_head < c->npend ? &c->pend[c->pend_head] : NULL;
}

struct slice smtp_client_output(const struct smtp_client *c)
{
	return buf_slice(&c->out);
}

void smtp_client_output_consumed(struct smtp_client *c, size_t n)
{
	ASSERT(n <= c->out.len);
	buf_consume(&c->out, n);
}

void smtp_client_feed(struct smtp_client *c, const void *p, size_t n)
{
	if (c->state == SC_HANDSHAKE || c->state == SC_CLOSED)
		return; /* plaintext after "220 ready to start TLS" is never run (#55) */
	buf_append(&c->in, p, n);
}

/* ---- waits ---- */

uint32_t smtp_client_timeout_ms(const struct smtp_client *c)
{
	return c->wait_ms;
}

uint64_t smtp_client_wait_seq(const struct smtp_client *c)
{
	return c->wait_seq;
}

static uint32_t kind_limit(const struct sc_pending *p)
{
	switch (p->kind) {
	case P_STARTTLS: return SMTP_CLIENT_T_STARTTLS_MS;
	case P_DATA: return SMTP_CLIENT_T_DATA_MS;
	case P_DOT: return SMTP_CLIENT_T_DOT_MS;
	case P_BDAT: return p->last ? SMTP_CLIENT_T_DOT_MS : SMTP_CLIENT_T_BLOCK_MS;
	case P_QUIT: return SMTP_CLIENT_T_QUIT_MS;
	default: return SMTP_CLIENT_T_COMMAND_MS;
	}
}

static void new_wait(struct smtp_client *c, uint32_t ms, uint64_t for_id)
{
	c->wait_ms = ms;
	c->wait_seq++;
	c->wait_for = for_id;
}

static void mark_sent(struct smtp_client *c)
{
	int64_t now = 0;
	for (size_t i = c->pend_head; i < c->npend; i++) {
		if (c->pend[i].sent)
			continue;
		c->pend[i].sent = true;
		if (c->cfg.reply_cb)
			c->pend[i].sent_ns = now ? now : (now = clock_mono_ns());
	}
}

static enum smtp_client_stage stage_now(struct smtp_client *c)
{
	struct sc_pending *h = head(c);
	if (c->cur_kind >= 0)
		return kind_stage[c->cur_kind]; /* failing while handling this command's reply */
	if (c->txn && c->round.streaming)
		return SMTP_CLIENT_STAGE_DATA;
	if (c->state == SC_HANDSHAKE)
		return SMTP_CLIENT_STAGE_STARTTLS;
	if (h)
		return kind_stage[h->kind];
	return c->state == SC_IDLE ? SMTP_CLIENT_STAGE_IDLE : SMTP_CLIENT_STAGE_CONNECT;
}

/* ---- failures ---- */

void smtp_client_fail(struct smtp_client *c, const struct smtp_client_result *r, bool quit)
{
	if (c->state == SC_CLOSED)
		return;
	if (c->state == SC_QUIT) { /* whatever goes wrong after QUIT only ends the session */
		c->state = SC_CLOSED;
		return;
	}
	if (c->txn)
		smtp_client_txn_abort(c, r);
	if (!c->has_error) {
		smtp_client_result_copy(&c->error, r);
		c->has_error = true;
	}
	c->pend_head = c->npend = 0;
	buf_reset(&c->out);
	buf_reset(&c->in);
	smtp_reply_parser_reset(&c->parser);
	c->ev_starttls = false;
	if (quit) {
		c->state = SC_QUIT;
		smtp_client_cmd(c, P_QUIT, "QUIT");
	} else {
		c->state = SC_CLOSED;
	}
}

void smtp_client_fail_local(struct smtp_client *c, enum smtp_client_err err,
                            enum smtp_client_stage stage, bool quit, const char *fmt, ...)
{
	struct smtp_client_result r;
	va_list ap;
	char *text;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		panic("out of memory");
	va_end(ap);
	smtp_client_result_local(&r, err, stage, text);
	smtp_client_fail(c, &r, quit);
	smtp_client_result_free(&r);
}

void smtp_client_fail_reply(struct smtp_client *c, enum smtp_client_stage stage,
                            struct smtp_reply *reply, bool quit)
{
	struct smtp_client_result r = {.err = SMTP_CLIENT_ERR_REPLY, .stage = stage,
	                               .code = reply->code, .reply = reply};
	memcpy(r.ecode, reply->ecode, sizeof r.ecode);
	smtp_client_fail(c, &r, quit);
}

void smtp_client_protocol_error(struct smtp_client *c, const char *why, struct smtp_reply *reply)
{
	struct smtp_client_result r;
	smtp_client_result_local(&r, SMTP_CLIENT_ERR_PROTOCOL, stage_now(c),
	                         xasprintf("protocol error: %s", why));
	r.reply = reply ? smtp_reply_ref(reply) : NULL;
	smtp_client_fail(c, &r, false);
	smtp_client_result_free(&r);
}

void smtp_client_timeout(struct smtp_client *c)
{
	if (c->state == SC_CLOSED)
		return;
	if (c->state == SC_QUIT) {
		c->state = SC_CLOSED;
		return;
	}
	bool sending = c->last_ev == SMTP_CLIENT_EV_SEND;
	enum smtp_client_stage st = sending ? SMTP_CLIENT_STAGE_DATA : stage_now(c);
	smtp_client_fail_local(c, SMTP_CLIENT_ERR_TIMEOUT, st, false, "timeout %s %s",
	                       sending ? "sending" : "waiting for", smtp_client_result_stage_name(st));
}

void smtp_client_io_error(struct smtp_client *c, const char *desc)
{
	if (c->state == SC_CLOSED)
		return;
	if (c->state == SC_QUIT) {
		c->state = SC_CLOSED;
		return;
	}
	enum smtp_client_stage st = c->last_ev == SMTP_CLIENT_EV_SEND ? SMTP_CLIENT_STAGE_DATA : stage_now(c);
	smtp_client_fail_local(c, c->state == SC_HANDSHAKE ? SMTP_CLIENT_ERR_TLS : SMTP_CLIENT_ERR_IO,
	                       st, false, "%s (%s)",
	                       desc ? desc : "connection error", smtp_client_result_stage_name(st));
}

void smtp_client_tls_started(struct smtp_client *c, bool verified)
{
	ASSERT(c->state == SC_HANDSHAKE);
	c->tls_active = true;
	c->tls_verified = verified;
	memset(&c->caps, 0, sizeof c->caps); /* pre-TLS capabilities are forgotten (#55) */
	buf_reset(&c->in);
	smtp_reply_parser_reset(&c->parser);
	smtp_client_session_ehlo_send(c);
}

void smtp_client_rset(struct smtp_client *c)
{
	ASSERT(c->state == SC_IDLE && !c->txn);
	c->state = SC_RSET;
	smtp_client_cmd(c, P_RSET, "RSET");
}

void smtp_client_quit(struct smtp_client *c)
{
	ASSERT(c->state == SC_IDLE && !c->txn);
	c->state = SC_QUIT;
	smtp_client_cmd(c, P_QUIT, "QUIT");
}

/* ---- input ---- */

static void dispatch(struct smtp_client *c, struct sc_pending p, struct smtp_reply *r)
{
	if (r->code == 421 && p.kind != P_QUIT) {
		smtp_client_fail_reply(c, kind_stage[p.kind], r, false);
		return;
	}
	switch (p.kind) {
	case P_GREETING: smtp_client_session_greeting(c, r); break;
	case P_EHLO: smtp_client_session_ehlo_reply(c, r); break;
	case P_STARTTLS: smtp_client_session_starttls(c, r); break;
	case P_AUTH: smtp_client_auth_reply(c, r); break;
	case P_QUIT: c->state = SC_CLOSED; break;
	case P_RSET:
		if (!c->txn) {
			smtp_client_session_rset(c, r);
			break;
		}
		/* fall through */
	default: smtp_client_txn_reply(c, &p, r); break;
	}
}

/* A reply while nothing was asked: a 421 is the server closing an idle connection. */
static void unsolicited(struct smtp_client *c, struct smtp_reply *r)
{
	if (r->code == 421 && c->state == SC_IDLE)
		smtp_client_fail_reply(c, SMTP_CLIENT_STAGE_IDLE, r, false);
	else
		smtp_client_protocol_error(c, "reply without a command", r);
}

static void process_input(struct smtp_client *c)
{
	size_t off = 0;
	while (off < c->in.len && c->state != SC_CLOSED && c->state != SC_HANDSHAKE) {
		struct sc_pending *h = head(c);
		bool expected = h && h->sent;
		if (!expected && c->state != SC_IDLE && smtp_reply_parser_idle(&c->parser)) {
			smtp_client_protocol_error(c, "reply before its command", NULL);
			break;
		}
		struct smtp_reply *r = NULL;
		size_t used = 0;
		int rc = smtp_reply_parse(&c->parser, c->in.p + off, c->in.len - off, &used, &r);
		if (rc < 0) {
			smtp_client_protocol_error(c, c->parser.err, NULL);
			break;
		}
		off += used;
		if (rc == 0)
			break;
		if (!expected) {
			unsolicited(c, r);
		} else {
			struct sc_pending p = *h;
			c->pend_head++;
			if (c->cfg.reply_cb)
				c->cfg.reply_cb(c->cfg.reply_ctx, (enum smtp_client_cmd)p.kind, r, clock_mono_ns() - p.sent_ns);
			c->cur_kind = p.kind;
			dispatch(c, p, r);
			c->cur_kind = -1;
		}
		smtp_reply_unref(r);
	}
	buf_reset(&c->in); /* consumed, or discarded at STARTTLS / close */
	if (c->state == SC_HANDSHAKE)
		smtp_reply_parser_reset(&c->parser);
}

/* Hands out the next data block: true when there is one to SEND. */
static bool stream(struct smtp_client *c)
{
	struct sc_round *rd = &c->round;
	if (!c->txn || !rd->streaming)
		return false;
	if (!rd->bdat_wait && c->out.len < SMTP_CLIENT_BLOCK_MAX) {
		size_t before = c->out.len;
		if (smtp_client_data_fill(c) < 0)
			return false;
		if (c->out.len > before)
			new_wait(c, SMTP_CLIENT_T_BLOCK_MS, 0);
		if (!rd->streaming)
			smtp_client_txn_round_check(c); /* stopped with every reply already in */
	}
	return c->out.len > 0;
}

static enum smtp_client_event step(struct smtp_client *c);

enum smtp_client_event smtp_client_step(struct smtp_client *c)
{
	c->last_ev = step(c);
	return c->last_ev;
}

static enum smtp_client_event step(struct smtp_client *c)
{
	if (c->in.len)
		process_input(c);
	/* Each pass either returns or changes state (a stopped stream ends its round);
	 * the bound only turns an engine bug into a panic instead of a hang. */
	for (int pass = 0; pass < 4; pass++) {
		if (c->ev_txn_done) {
			c->ev_txn_done = false;
			return SMTP_CLIENT_EV_TXN_DONE;
		}
		if (c->state == SC_CLOSED)
			return SMTP_CLIENT_EV_CLOSED;
		if (c->state == SC_HANDSHAKE) {
			if (c->ev_starttls) {
				c->ev_starttls = false;
				new_wait(c, SMTP_CLIENT_T_HANDSHAKE_MS, 0);
			}
			return SMTP_CLIENT_EV_STARTTLS;
		}
		if (stream(c)) {
			mark_sent(c);
			return SMTP_CLIENT_EV_SEND;
		}
		if (c->ev_txn_done || c->state == SC_CLOSED)
			continue;
		struct sc_pending *h = head(c);
		if (h) {
			mark_sent(c);
			if (c->wait_for != h->id)
				new_wait(c, kind_limit(h), h->id);
			return SMTP_CLIENT_EV_NEED_INPUT;
		}
		if (c->state == SC_IDLE)
			return SMTP_CLIENT_EV_READY;
	}
	panic("smtp_client: no event in state %d", (int)c->state);
}

/* ---- queries ---- */

bool smtp_client_reusable(const struct smtp_client *c)
{
	return c->state == SC_IDLE && !c->txn && !c->has_error && smtp_reply_parser_idle(&c->parser) &&
	       c->in.len == 0;
}

const struct smtp_client_result *smtp_client_error(const struct smtp_client *c)
{
	return c->has_error ? &c->error : NULL;
}

const struct smtp_caps *smtp_client_caps(const struct smtp_client *c)
{
	return &c->caps;
}

void smtp_client_tls_info(const struct smtp_client *c, struct smtp_client_tls_info *out)
{
	out->starttls_offered = c->starttls_offered;
	out->starttls_refused = c->starttls_refused;
	out->active = c->tls_active;
	out->verified = c->tls_verified;
	out->auth_mech = c->auth_mech;
}
