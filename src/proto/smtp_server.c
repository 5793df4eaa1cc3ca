/* SMTP server engine core: input buffering, the state loop, reply output,
 * counters and the actor's answer API (commands live in smtp_server_cmds.c).
 *
 * DESIGN: the engine is a state enum plus buffers; smtp_server_step() runs the
 * state loop over buffered input until it needs input or the actor's decision,
 * so one read with many pipelined commands yields one batch of replies. Input
 * is consumed by advancing in_pos (compacted only when new input is fed), so a
 * burst of 10000 RCPT lines costs no quadratic copying. Memory is bounded: a
 * command line never grows past line_max (the rest is discarded), and message
 * data stops being kept once it exceeds the size limit. Closing replies (421,
 * the 554 synchronisation error, 550 too many failures) move to SMTP_ST_CLOSED,
 * where all further input is ignored. */
#include "proto/smtp_server_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"

static void smtp_server_cfg_defaults(struct smtp_server_cfg *c)
{
#define SMTP_DEF(f, v) if (!c->f) c->f = v
	SMTP_DEF(max_message_size, SMTP_SERVER_MAX_MESSAGE_SIZE);
	SMTP_DEF(rcpt_max, SMTP_SERVER_RCPT_MAX);
	SMTP_DEF(rcpt_excess_free, SMTP_SERVER_RCPT_EXCESS_FREE);
	SMTP_DEF(line_max, SMTP_SERVER_LINE_MAX);
	SMTP_DEF(auth_line_max, SMTP_SERVER_AUTH_LINE_MAX);
	SMTP_DEF(error_max, SMTP_SERVER_ERROR_MAX);
	SMTP_DEF(bad_txn_max, SMTP_SERVER_BAD_TXN_MAX);
	SMTP_DEF(nomail_max, SMTP_SERVER_NOMAIL_MAX);
	SMTP_DEF(header_max, SMTP_DATA_HEADER_MAX);
	SMTP_DEF(hops_max, SMTP_DATA_HOPS_MAX);
	SMTP_DEF(hostname, "localhost");
	SMTP_DEF(receivedid, "AAAAAAAAAAAAAAAA");
#undef SMTP_DEF
	if (c->line_max < 16)
		c->line_max = 16;
	if (c->auth_line_max < 16)
		c->auth_line_max = 16;
}

struct smtp_server *smtp_server_new(const struct smtp_server_cfg *cfg)
{
	struct smtp_server *s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	smtp_server_cfg_defaults(&s->cfg);
	s->tls = s->cfg.tls_active;
	s->state = SMTP_ST_GREETING;
	return s;
}

void smtp_server_free(struct smtp_server *s)
{
	if (!s)
		return;
	smtp_server_txn_reset(s);
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->auth_data);
	free(s->ehlo_name);
	free(s->helo_pending);
	free(s);
}

int64_t smtp_server_now(const struct smtp_server *s)
{
	return s->cfg.now_cb ? s->cfg.now_cb(s->cfg.now_ctx) : clock_wall_ms();
}

const char *smtp_server_verb_name(enum smtp_server_verb v)
{
	static const char *const names[SMTP_VERB_N] = {
		"other", "ehlo", "helo", "mail", "rcpt", "data", "bdat", "rset",
		"noop", "help", "vrfy", "expn", "quit", "starttls", "auth",
	};
	return v >= 0 && v < SMTP_VERB_N ? names[v] : "other";
}

void smtp_server_cmd_begin(struct smtp_server *s, enum smtp_server_verb verb)
{
	if (!s->cfg.cmd_cb)
		return;
	s->cmd_open = true;
	s->cmd_verb = verb;
	s->cmd_start_ns = clock_mono_ns();
}

/* "c.s.d" (class 2, 4 or 5; 1-3 digit subject and detail) at the start of text, followed
 * by a space or the end; false when text does not start with one. */
static bool smtp_server_ecode(const char *p, int e[3])
{
	static const int digits[3] = {1, 3, 3};
	for (int i = 0; i < 3; i++) {
		int v = 0, n = 0;
		while (p[n] >= '0' && p[n] <= '9') {
			if (++n > digits[i])
				return false;
			v = v * 10 + (p[n - 1] - '0');
		}
		p += n;
		if (n == 0 || (i < 2 ? *p != '.' : *p != ' ' && *p != 0))
			return false;
		e[i] = v;
		p++;
	}
	return e[0] == 2 || e[0] == 4 || e[0] == 5;
}

void smtp_server_cmd_end(struct smtp_server *s, int code, const char *text)
{
	if (!s->cmd_open || code == 334 || code == 354)
		return;
	s->cmd_open = false;
	struct smtp_server_cmd_end e = {.verb = s->cmd_verb, .code = code, .ns = clock_mono_ns() - s->cmd_start_ns};
	if (!text || !smtp_server_ecode(text, e.ecode))
		e.ecode[0] = e.ecode[1] = e.ecode[2] = 0;
	s->cfg.cmd_cb(s->cfg.cmd_ctx, &e);
}

/* Appends "<code><sep><text>[ (<id>)]\r\n" with non-printables made '?'. */
static void smtp_server_out_line(struct smtp_server *s, int code, char sep, const char *text,
                                 bool id)
{
	buf_printf(&s->out, "%03d%c", code, sep);
	size_t start = s->out.len;
	buf_puts(&s->out, text);
	for (size_t i = start; i < s->out.len; i++)
		if (s->out.p[i] < 0x20 || s->out.p[i] >= 0x7F)
			s->out.p[i] = '?';
	if (id)
		buf_printf(&s->out, " (%s)", s->cfg.receivedid);
	buf_puts(&s->out, "\r\n");
	if (sep == ' ')
		smtp_server_cmd_end(s, code, text);
}

void smtp_server_out(struct smtp_server *s, int code, const char *text)
{
	smtp_server_out_line(s, code, ' ', text, code >= 400);
}

int smtp_server_close_reply(struct smtp_server *s, int code, const char *text)
{
	if (s->state == SMTP_ST_CLOSED)
		return SMTP_SERVER_CONTINUE;
	smtp_server_out_line(s, code, ' ', text, true);
	smtp_server_txn_reset(s);
	s->state = SMTP_ST_CLOSED;
	s->in.len = s->in_pos = 0;
	return SMTP_SERVER_CONTINUE;
}

/* Counts one error reply; the error_max-th closes the connection. */
void smtp_server_count_error(struct smtp_server *s)
{
	if (s->errors < UINT32_MAX)
		s->errors++;
	if (s->errors >= s->cfg.error_max)
		smtp_server_close_reply(s, 421, "4.7.0 too many errors");
}

int smtp_server_err(struct smtp_server *s, int code, const char *text)
{
	smtp_server_out(s, code, text);
	if (code >= 400)
		smtp_server_count_error(s);
	return SMTP_SERVER_CONTINUE;
}

void smtp_server_ask(struct smtp_server *s, enum smtp_server_event ev)
{
	s->state = SMTP_ST_ASK;
	s->ask = ev;
}

void smtp_server_txn_bad(struct smtp_server *s)
{
	if (s->bad_txn < UINT32_MAX)
		s->bad_txn++;
	if (s->good_txn == 0 && s->bad_txn >= s->cfg.bad_txn_max)
		smtp_server_close_reply(s, 550, "5.1.0 too many failures");
}

void smtp_server_txn_reset(struct smtp_server *s)
{
	struct smtp_server_txn *t = &s->txn;
	smtp_addr_free(&t->from);
	smtp_mail_params_free(&t->params);
	for (size_t i = 0; i < t->nrcpt; i++) {
		smtp_addr_free(&t->rcpts[i].addr);
		smtp_rcpt_params_free(&t->rcpts[i].params);
	}
	free(t->rcpts);
	memset(t, 0, sizeof(*t));
	smtp_addr_free(&s->rcpt_pending.addr);
	smtp_rcpt_params_free(&s->rcpt_pending.params);
	if (s->data_active)
		smtp_data_free(&s->data);
	s->data_active = false;
	s->data_taken = false;
}

void smtp_server_data_start(struct smtp_server *s)
{
	if (s->data_active)
		return;
	struct smtp_data_limits lim = {
		.max_size = s->cfg.max_message_size,
		.header_max = s->cfg.header_max,
		.hops_max = s->cfg.hops_max,
	};
	smtp_data_init(&s->data, &lim);
	s->data_active = true;
	s->data_taken = false;
}

int smtp_server_data_end(struct smtp_server *s)
{
	enum smtp_data_verdict v = smtp_data_finish(&s->data);
	if (v == SMTP_DATA_OK) {
		smtp_server_ask(s, SMTP_SERVER_MESSAGE);
		return SMTP_SERVER_MESSAGE;
	}
	int code;
	const char *text = smtp_data_verdict_reply(v, &code);
	bool taken = s->data_taken;
	s->state = SMTP_ST_CMD;
	smtp_server_txn_reset(s);
	smtp_server_err(s, code, text);
	if (s->state != SMTP_ST_CLOSED)
		smtp_server_txn_bad(s);
	return taken ? SMTP_SERVER_DATA_FAILED : SMTP_SERVER_CONTINUE;
}

void smtp_server_greet(struct smtp_server *s)
{
	if (s->state != SMTP_ST_GREETING)
		return;
	if (s->early_talker) {
		smtp_server_close_reply(s, 554, "5.5.0 protocol synchronization error");
		return;
	}
	buf_printf(&s->out, "220 %s ESMTP tern\r\n", s->cfg.hostname);
	s->state = SMTP_ST_CMD;
}

size_t smtp_server_feed(struct smtp_server *s, const void *p, size_t n)
{
	if (s->state == SMTP_ST_CLOSED || s->state == SMTP_ST_TLS)
		return 0;
	if (n && s->state == SMTP_ST_GREETING)
		s->early_talker = true;
	if (s->in_pos > 0) {
		buf_consume(&s->in, s->in_pos);
		s->in_pos = 0;
	}
	buf_append(&s->in, p, n);
	return s->in.len;
}

enum smtp_server_line smtp_server_read_line(struct smtp_server *s, size_t max, struct slice *line)
{
	size_t avail = s->in.len - s->in_pos;
	if (avail == 0)
		return SMTP_LINE_NONE;
	const uint8_t *p = s->in.p + s->in_pos;
	const uint8_t *lf = memchr(p, '\n', avail);
	if (!lf) {
		if (avail < max)
			return SMTP_LINE_NONE;
		s->in_pos = s->in.len;
		return SMTP_LINE_LONG_PARTIAL;
	}
	size_t n = (size_t)(lf - p) + 1;
	s->in_pos += n;
	if (n > max)
		return SMTP_LINE_LONG;
	*line = slice_of(p, n);
	return SMTP_LINE_OK;
}

/* One SMTP_ST_CMD round: the next command line, if complete. */
static int smtp_server_step_cmd(struct smtp_server *s)
{
	if (s->shutdown && !s->txn.mail)
		return smtp_server_close_reply(s, 421, "4.3.2 service shutting down");
	struct slice line;
	enum smtp_server_line r = smtp_server_read_line(s, s->cfg.line_max, &line);
	if (r != SMTP_LINE_NONE)
		smtp_server_cmd_begin(s, SMTP_VERB_OTHER); /* dispatch names the verb once known */
	switch (r) {
	case SMTP_LINE_OK:
		return smtp_server_dispatch(s, line);
	case SMTP_LINE_NONE:
		return SMTP_SERVER_NEED_INPUT;
	case SMTP_LINE_LONG_PARTIAL:
		s->state = SMTP_ST_DISCARD;
		s->discard_auth = false;
		break;
	case SMTP_LINE_LONG:
		break;
	}
	return smtp_server_err(s, 500, "5.5.2 line too long");
}

static int smtp_server_step_auth(struct smtp_server *s)
{
	struct slice line;
	enum smtp_server_line r = smtp_server_read_line(s, s->cfg.auth_line_max, &line);
	if (r == SMTP_LINE_OK)
		return smtp_server_auth_line(s, line);
	if (r == SMTP_LINE_NONE)
		return SMTP_SERVER_NEED_INPUT;
	bool partial = r == SMTP_LINE_LONG_PARTIAL;
	s->auth_failures++;
	s->state = partial ? SMTP_ST_DISCARD : SMTP_ST_CMD;
	s->discard_auth = partial;
	smtp_server_err(s, 500, "5.5.6 authentication line too long");
	return partial ? SMTP_SERVER_CONTINUE : SMTP_SERVER_AUTH_ABORTED;
}

static int smtp_server_step_discard(struct smtp_server *s)
{
	size_t avail = s->in.len - s->in_pos;
	if (avail == 0)
		return SMTP_SERVER_NEED_INPUT;
	const uint8_t *p = s->in.p + s->in_pos;
	const uint8_t *lf = memchr(p, '\n', avail);
	if (!lf) {
		s->in_pos = s->in.len;
		return SMTP_SERVER_NEED_INPUT;
	}
	s->in_pos += (size_t)(lf - p) + 1;
	s->state = SMTP_ST_CMD;
	if (s->discard_auth) {
		s->discard_auth = false;
		return SMTP_SERVER_AUTH_ABORTED;
	}
	return SMTP_SERVER_CONTINUE;
}

static int smtp_server_step_data(struct smtp_server *s)
{
	bool done;
	if (s->in_pos == s->in.len)
		return SMTP_SERVER_NEED_INPUT;
	size_t used = smtp_data_dot(&s->data, s->in.p + s->in_pos, s->in.len - s->in_pos, &done);
	s->in_pos += used;
	return done ? smtp_server_data_end(s) : SMTP_SERVER_NEED_INPUT;
}

static int smtp_server_step_bdat(struct smtp_server *s)
{
	size_t avail = s->in.len - s->in_pos;
	size_t k = s->bdat_left < avail ? (size_t)s->bdat_left : avail;
	if (k && s->bdat_mode == SMTP_BDAT_KEEP)
		smtp_data_content(&s->data, s->in.p + s->in_pos, k);
	s->in_pos += k;
	s->bdat_left -= k;
	return s->bdat_left ? SMTP_SERVER_NEED_INPUT : smtp_server_bdat_done(s);
}

enum smtp_server_event smtp_server_step(struct smtp_server *s)
{
	for (;;) {
		int ev;
		switch (s->state) {
		case SMTP_ST_GREETING:
			return SMTP_SERVER_NEED_INPUT;
		case SMTP_ST_CLOSED:
			return SMTP_SERVER_CLOSE;
		case SMTP_ST_TLS:
			return SMTP_SERVER_STARTTLS;
		case SMTP_ST_ASK:
			panic("smtp_server_step with an unanswered ask %d", (int)s->ask);
		case SMTP_ST_CMD:
			ev = smtp_server_step_cmd(s);
			break;
		case SMTP_ST_DISCARD:
			ev = smtp_server_step_discard(s);
			break;
		case SMTP_ST_AUTH_LINE:
			ev = smtp_server_step_auth(s);
			break;
		case SMTP_ST_DATA:
			ev = smtp_server_step_data(s);
			break;
		case SMTP_ST_BDAT:
			ev = smtp_server_step_bdat(s);
			break;
		default:
			panic("smtp_server state %d", (int)s->state);
		}
		if (s->state == SMTP_ST_CLOSED)
			return SMTP_SERVER_CLOSE;
		if (ev != SMTP_SERVER_CONTINUE)
			return (enum smtp_server_event)ev;
	}
}

struct slice smtp_server_output(const struct smtp_server *s)
{
	return buf_slice(&s->out);
}

void smtp_server_output_consume(struct smtp_server *s, size_t n)
{
	buf_consume(&s->out, n < s->out.len ? n : s->out.len);
}
