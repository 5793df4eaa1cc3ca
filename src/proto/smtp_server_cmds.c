/* SMTP server engine: the command table and one handler per command.
 *
 * DESIGN: a command line is checked as bytes first (CRLF ending, no NUL or bare
 * CR, valid UTF-8), then looked up in smtp_server_cmds[], whose flags carry the
 * ordering rules shared by many verbs (EHLO first, no argument, counts as a
 * command without mail). Handlers check what is specific to them in the order
 * the spec lists, reply through smtp_server_err()/smtp_server_out(), and hand
 * decisions that need lookups to the actor by returning an ask. */
#include "proto/smtp_server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/utf8.h"

enum smtp_cmd_flags {
	SMTP_CMD_NEED_HELO = 1, /* 503 5.5.1 send EHLO first before HELO/EHLO */
	SMTP_CMD_NO_ARG = 2,    /* 501 5.5.4 syntax: VERB when an argument is given */
	SMTP_CMD_NOMAIL = 4,    /* counts toward "too many commands without mail" */
};

struct smtp_server_cmd {
	const char *verb;
	enum smtp_server_verb id;
	unsigned flags;
	int (*fn)(struct smtp_server *s, struct slice arg, bool has_arg);
};

static int smtp_cmd_helo(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_ehlo(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_mail(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_rcpt(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_data(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_bdat(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_rset(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_noop(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_help(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_vrfy(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_quit(struct smtp_server *s, struct slice arg, bool has_arg);
static int smtp_cmd_starttls(struct smtp_server *s, struct slice arg, bool has_arg);

static const struct smtp_server_cmd smtp_server_cmds[] = {
	{"EHLO", SMTP_VERB_EHLO, 0, smtp_cmd_ehlo},
	{"HELO", SMTP_VERB_HELO, 0, smtp_cmd_helo},
	{"MAIL", SMTP_VERB_MAIL, SMTP_CMD_NEED_HELO, smtp_cmd_mail},
	{"RCPT", SMTP_VERB_RCPT, SMTP_CMD_NEED_HELO, smtp_cmd_rcpt},
	{"DATA", SMTP_VERB_DATA, SMTP_CMD_NEED_HELO | SMTP_CMD_NO_ARG, smtp_cmd_data},
	{"BDAT", SMTP_VERB_BDAT, 0, smtp_cmd_bdat}, /* must read its chunk even when out of order */
	{"RSET", SMTP_VERB_RSET, SMTP_CMD_NO_ARG | SMTP_CMD_NOMAIL, smtp_cmd_rset},
	{"NOOP", SMTP_VERB_NOOP, SMTP_CMD_NOMAIL, smtp_cmd_noop},
	{"HELP", SMTP_VERB_HELP, SMTP_CMD_NOMAIL, smtp_cmd_help},
	{"VRFY", SMTP_VERB_VRFY, SMTP_CMD_NEED_HELO | SMTP_CMD_NOMAIL, smtp_cmd_vrfy},
	{"EXPN", SMTP_VERB_EXPN, SMTP_CMD_NEED_HELO | SMTP_CMD_NOMAIL, smtp_cmd_vrfy},
	{"QUIT", SMTP_VERB_QUIT, SMTP_CMD_NO_ARG, smtp_cmd_quit},
	{"STARTTLS", SMTP_VERB_STARTTLS, SMTP_CMD_NEED_HELO, smtp_cmd_starttls},
	{"AUTH", SMTP_VERB_AUTH, 0, smtp_server_cmd_auth}, /* smtp_server_auth.c */
};

/* Strips CR LF; false for a bare LF ending. */
static bool smtp_server_strip_crlf(struct slice *line)
{
	if (line->len < 2 || line->p[line->len - 2] != '\r')
		return false;
	line->len -= 2;
	return true;
}

int smtp_server_dispatch(struct smtp_server *s, struct slice line)
{
	if (!smtp_server_strip_crlf(&line) || memchr(line.p, 0, line.len) ||
	    memchr(line.p, '\r', line.len))
		return smtp_server_err(s, 500, "5.5.2 bad syntax");
	if (!utf8_valid(line.p, line.len))
		return smtp_server_err(s, 500, "5.5.2 invalid utf-8 in command");
	if (s->helo && !s->esmtp && s->in_pos < s->in.len)
		return smtp_server_close_reply(s, 554, "5.5.0 protocol synchronization error");
	size_t vl = 0;
	while (vl < line.len && line.p[vl] != ' ')
		vl++;
	struct slice verb = slice_of(line.p, vl);
	bool has_arg = vl < line.len;
	struct slice arg = has_arg ? slice_of(line.p + vl + 1, line.len - vl - 1) : slice_of(NULL, 0);
	const struct smtp_server_cmd *c = NULL;
	for (size_t i = 0; i < sizeof(smtp_server_cmds) / sizeof(smtp_server_cmds[0]); i++)
		if (slice_eq_str_nocase(verb, smtp_server_cmds[i].verb))
			c = &smtp_server_cmds[i];
	if (!c)
		return smtp_server_err(s, 500, "5.5.1 unknown command");
	s->cmd_verb = c->id;
	int ev;
	if ((c->flags & SMTP_CMD_NEED_HELO) && !s->helo) {
		ev = smtp_server_err(s, 503, "5.5.1 send EHLO first");
	} else if ((c->flags & SMTP_CMD_NO_ARG) && has_arg) {
		char t[48];
		snprintf(t, sizeof(t), "5.5.4 syntax: %s", c->verb);
		ev = smtp_server_err(s, 501, t);
	} else {
		ev = c->fn(s, arg, has_arg);
	}
	if ((c->flags & SMTP_CMD_NOMAIL) && s->state != SMTP_ST_CLOSED &&
	    ++s->nomail >= s->cfg.nomail_max)
		smtp_server_close_reply(s, 421, "4.7.0 too many commands without mail");
	return ev;
}

/* ---- HELO / EHLO ---- */

static int smtp_cmd_hello(struct smtp_server *s, struct slice arg, bool esmtp)
{
	if (arg.len == 0)
		return smtp_server_err(s, 501, esmtp ? "5.5.4 syntax: EHLO <hostname>"
		                                     : "5.5.4 syntax: HELO <hostname>");
	if (s->cfg.kind == SMTP_SERVER_MX) {
		bool ok = arg.p[0] == '[' ? smtp_addr_literal_valid(arg)
		                          : smtp_addr_domain_valid(arg, SMTP_ADDR_ALLOW_UNDERSCORE);
		if (!ok)
			return smtp_server_err(s, 501, "5.5.4 invalid hostname");
	}
	smtp_server_txn_reset(s); /* EHLO and HELO reset the transaction */
	free(s->helo_pending);
	s->helo_pending = slice_strdup(arg);
	s->pending_esmtp = esmtp;
	smtp_server_ask(s, SMTP_SERVER_HELO);
	return SMTP_SERVER_HELO;
}

static int smtp_cmd_helo(struct smtp_server *s, struct slice arg, bool has_arg)
{
	return smtp_cmd_hello(s, arg, false);
}

static int smtp_cmd_ehlo(struct smtp_server *s, struct slice arg, bool has_arg)
{
	return smtp_cmd_hello(s, arg, true);
}

static bool smtp_server_requiretls_announced(const struct smtp_server *s)
{
	return s->tls && (s->cfg.kind == SMTP_SERVER_SUBMISSION || !s->cfg.no_requiretls);
}

static bool smtp_server_auth_announced(const struct smtp_server *s)
{
	return s->cfg.kind == SMTP_SERVER_SUBMISSION && s->cfg.n_auth_mechs > 0 &&
	       (s->tls || s->cfg.no_require_starttls);
}

void smtp_server_ehlo_reply(struct smtp_server *s)
{
	struct buf *o = &s->out;
	bool sub = s->cfg.kind == SMTP_SERVER_SUBMISSION;
	buf_printf(o, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n", s->cfg.hostname,
	           (unsigned long long)s->cfg.max_message_size);
	if (!s->tls && s->cfg.starttls_offered)
		buf_puts(o, "250-STARTTLS\r\n");
	if (smtp_server_requiretls_announced(s))
		buf_puts(o, "250-REQUIRETLS\r\n");
	if (smtp_server_auth_announced(s)) {
		buf_puts(o, "250-AUTH");
		for (size_t i = 0; i < s->cfg.n_auth_mechs; i++)
			buf_printf(o, " %s", s->cfg.auth_mechs[i]);
		buf_puts(o, "\r\n");
	}
	if (sub) {
		char t[32];
		clock_rfc3339(t, smtp_server_now(s) + (int64_t)SMTP_PARAMS_HOLD_MAX_S * 1000);
		buf_printf(o, "250-FUTURERELEASE %d %s\r\n", SMTP_PARAMS_HOLD_MAX_S, t);
	}
	buf_printf(o, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-CHUNKING\r\n"
	              "250-LIMITS RCPTMAX=%zu\r\n250 SMTPUTF8\r\n", s->cfg.rcpt_max);
	smtp_server_cmd_end(s, 250, NULL);
}

/* ---- MAIL / RCPT ---- */

/* Parses "<keyword>[ ]<path>[ params]"; returns 0 or replies. */
static int smtp_server_path(struct smtp_server *s, struct slice arg, const char *kw,
                            unsigned flags, struct smtp_addr *a, struct slice *params)
{
	bool mail = flags & SMTP_ADDR_ALLOW_NULL;
	const char *syn = mail ? "5.5.4 syntax: MAIL FROM:<address>" : "5.5.4 syntax: RCPT TO:<address>";
	size_t kl = strlen(kw);
	if (!slice_prefix_nocase(arg, kw)) {
		smtp_server_err(s, 501, syn);
		return -1;
	}
	struct slice rest = slice_of(arg.p + kl, arg.len - kl);
	if (rest.len && rest.p[0] == ' ')
		rest = slice_of(rest.p + 1, rest.len - 1);
	size_t used = 0;
	int r = smtp_addr_parse_path(rest, flags, a, &used);
	if (r == 0 && used < rest.len && rest.p[used] != ' ') {
		smtp_addr_free(a);
		r = SMTP_ADDR_ESYNTAX; /* trailing garbage such as <a@b>> */
	}
	if (r == SMTP_ADDR_ESYNTAX)
		smtp_server_err(s, 501, syn);
	else if (r == SMTP_ADDR_EBAD)
		smtp_server_err(s, 501, mail ? "5.1.7 bad sender address syntax"
		                             : "5.1.3 bad recipient address syntax");
	else if (r == SMTP_ADDR_ELONG)
		smtp_server_err(s, 501, mail ? "5.1.7 address too long" : "5.1.3 address too long");
	if (r)
		return -1;
	*params = slice_of(rest.p + used, rest.len - used);
	return 0;
}

static int smtp_cmd_mail(struct smtp_server *s, struct slice arg, bool has_arg)
{
	if (s->txn.mail)
		return smtp_server_err(s, 503, "5.5.1 already have MAIL");
	if (s->cfg.kind == SMTP_SERVER_SUBMISSION && !s->authenticated) {
		if (!s->cfg.relay_client)
			return smtp_server_err(s, 530, "5.7.0 authentication required");
		if (!s->tls && !s->cfg.no_require_starttls)
			return smtp_server_err(s, 530, "5.7.0 STARTTLS required");
	}
	struct smtp_server_txn *t = &s->txn;
	struct slice ptext;
	if (smtp_server_path(s, arg, "FROM:", SMTP_ADDR_ALLOW_NULL, &t->from, &ptext) != 0)
		goto bad;
	struct smtp_params_ctx ctx = {
		.submission = s->cfg.kind == SMTP_SERVER_SUBMISSION,
		.tls = s->tls,
		.requiretls_announced = smtp_server_requiretls_announced(s),
		.max_size = s->cfg.max_message_size,
		.now_ms = smtp_server_now(s),
	};
	struct smtp_params_err perr;
	if (smtp_params_mail(ptext, &ctx, &t->params, &perr) != 0) {
		smtp_server_err(s, perr.code, perr.text);
		goto bad;
	}
	if (t->from.utf8 && !t->params.smtputf8) {
		smtp_server_err(s, 553, "5.6.7 must declare SMTPUTF8 to send unicode address");
		goto bad;
	}
	if (s->cfg.kind == SMTP_SERVER_MX && t->from.literal) {
		smtp_server_err(s, 550, "5.7.0 domain name required");
		goto bad;
	}
	smtp_server_ask(s, SMTP_SERVER_MAIL);
	return SMTP_SERVER_MAIL;
bad:
	smtp_addr_free(&t->from);
	smtp_mail_params_free(&t->params);
	smtp_server_txn_bad(s);
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_rcpt_limit(struct smtp_server *s)
{
	char t[80];
	snprintf(t, sizeof(t), "4.5.3 max of %zu recipients reached", s->cfg.rcpt_max);
	smtp_server_out(s, 452, t);
	if (s->txn.excess < SIZE_MAX)
		s->txn.excess++;
	if (s->txn.excess > s->cfg.rcpt_excess_free)
		smtp_server_count_error(s);
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_rcpt(struct smtp_server *s, struct slice arg, bool has_arg)
{
	struct smtp_server_txn *t = &s->txn;
	if (!t->mail)
		return smtp_server_err(s, 503, "5.5.1 missing MAIL FROM");
	if (t->accepted >= s->cfg.rcpt_max)
		return smtp_cmd_rcpt_limit(s);
	bool mx = s->cfg.kind == SMTP_SERVER_MX;
	struct smtp_server_rcpt *r = &s->rcpt_pending;
	struct slice ptext;
	if (smtp_server_path(s, arg, "TO:", mx ? SMTP_ADDR_ALLOW_POSTMASTER : 0, &r->addr, &ptext))
		return SMTP_SERVER_CONTINUE;
	struct smtp_params_err perr;
	const char *etext = NULL;
	int ecode = 0;
	if (smtp_params_rcpt(ptext, &r->params, &perr) != 0)
		ecode = perr.code, etext = perr.text;
	else if (r->addr.utf8 && !t->params.smtputf8)
		ecode = 553, etext = "5.6.7 must declare SMTPUTF8 to send unicode address";
	else if (mx && t->from.null && t->accepted >= 1)
		ecode = 452, etext = "4.5.3 only one recipient allowed with null reverse address";
	else if (mx && r->addr.literal)
		ecode = 550, etext = "5.1.1 not accepting email for ip";
	if (etext) {
		smtp_addr_free(&r->addr);
		smtp_rcpt_params_free(&r->params);
		return smtp_server_err(s, ecode, etext);
	}
	for (size_t i = 0; i < t->nrcpt; i++) {
		if (smtp_addr_same(&t->rcpts[i].addr, &r->addr)) {
			/* Duplicate: accepted, counted, delivered once. */
			smtp_addr_free(&r->addr);
			smtp_rcpt_params_free(&r->params);
			t->accepted++;
			smtp_server_out(s, 250, "2.1.5 ok");
			return SMTP_SERVER_CONTINUE;
		}
	}
	smtp_server_ask(s, SMTP_SERVER_RCPT);
	return SMTP_SERVER_RCPT;
}

/* ---- DATA / BDAT ---- */

static int smtp_cmd_data(struct smtp_server *s, struct slice arg, bool has_arg)
{
	if (!s->txn.mail)
		return smtp_server_err(s, 503, "5.5.1 missing MAIL FROM");
	if (s->txn.bdat) {
		smtp_server_txn_reset(s);
		return smtp_server_err(s, 503, "5.5.1 DATA not allowed after BDAT");
	}
	if (s->txn.accepted == 0)
		return smtp_server_err(s, 503, "5.5.1 missing RCPT TO");
	if (s->in_pos < s->in.len)
		return smtp_server_close_reply(s, 554, "5.5.0 protocol synchronization error");
	smtp_server_out(s, 354, "end data with <CR><LF>.<CR><LF>");
	smtp_server_data_start(s);
	s->state = SMTP_ST_DATA;
	return SMTP_SERVER_CONTINUE;
}

/* "n" or "n LAST": n is 1-20 digits and fits in 63 bits. */
static int smtp_cmd_bdat_parse(struct slice arg, uint64_t *n, bool *last)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < arg.len && arg.p[i] >= '0' && arg.p[i] <= '9') {
		if (i >= 20 || v > (UINT64_MAX >> 1) / 10)
			return -1;
		v = v * 10 + (arg.p[i] - '0');
		i++;
	}
	if (i == 0 || v > (UINT64_MAX >> 1))
		return -1;
	*n = v;
	*last = false;
	if (i == arg.len)
		return 0;
	if (!slice_eq_str_nocase(slice_of(arg.p + i, arg.len - i), " LAST"))
		return -1;
	*last = true;
	return 0;
}

static int smtp_cmd_bdat(struct smtp_server *s, struct slice arg, bool has_arg)
{
	uint64_t n;
	bool last;
	if (smtp_cmd_bdat_parse(arg, &n, &last) != 0)
		return smtp_server_close_reply(s, 501, "5.5.4 bad BDAT syntax");
	s->bdat_left = s->bdat_size = n;
	s->bdat_last = last;
	s->bdat_mode = SMTP_BDAT_REJECT;
	s->bdat_code = 503;
	struct smtp_server_txn *t = &s->txn;
	if (!s->helo) {
		s->bdat_text = "5.5.1 send EHLO first";
	} else if (!t->mail) {
		s->bdat_text = "5.5.1 missing MAIL FROM";
	} else if (t->accepted == 0) {
		s->bdat_text = "5.5.1 missing RCPT TO";
	} else if (t->failed) {
		s->bdat_mode = SMTP_BDAT_FAILED;
	} else {
		t->bdat = true;
		smtp_server_data_start(s);
		s->bdat_mode = SMTP_BDAT_KEEP;
		if (smtp_data_would_exceed(&s->data, n)) {
			smtp_data_set_too_big(&s->data);
			t->failed = true;
			t->fail_code = 552;
			t->fail_text = "5.3.4 message too large";
			s->bdat_mode = SMTP_BDAT_REJECT;
			s->bdat_code = t->fail_code;
			s->bdat_text = t->fail_text;
		}
	}
	s->state = SMTP_ST_BDAT;
	return SMTP_SERVER_CONTINUE;
}

int smtp_server_bdat_done(struct smtp_server *s)
{
	struct smtp_server_txn *t = &s->txn;
	s->state = SMTP_ST_CMD;
	if (s->bdat_mode == SMTP_BDAT_KEEP) {
		if (s->bdat_last)
			return smtp_server_data_end(s);
		char m[64];
		snprintf(m, sizeof(m), "2.0.0 %llu octets received", (unsigned long long)s->bdat_size);
		smtp_server_out(s, 250, m);
		return SMTP_SERVER_CONTINUE;
	}
	if (s->bdat_mode == SMTP_BDAT_FAILED) {
		smtp_server_out(s, t->fail_code, t->fail_text); /* repeated, not counted again */
		if (s->bdat_last)
			smtp_server_txn_reset(s);
		return SMTP_SERVER_CONTINUE;
	}
	bool first_failure = t->failed, taken = s->data_taken;
	smtp_server_err(s, s->bdat_code, s->bdat_text);
	if (first_failure && s->state != SMTP_ST_CLOSED) {
		smtp_server_txn_bad(s);
		s->data_taken = false;
		if (s->bdat_last)
			smtp_server_txn_reset(s);
		if (taken)
			return SMTP_SERVER_DATA_FAILED;
	}
	return SMTP_SERVER_CONTINUE;
}

/* ---- simple commands ---- */

static int smtp_cmd_rset(struct smtp_server *s, struct slice arg, bool has_arg)
{
	smtp_server_txn_reset(s);
	smtp_server_out(s, 250, "2.0.0 ok");
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_noop(struct smtp_server *s, struct slice arg, bool has_arg)
{
	smtp_server_out(s, 250, "2.0.0 ok");
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_help(struct smtp_server *s, struct slice arg, bool has_arg)
{
	smtp_server_out(s, 214, "2.0.0 see rfc 5321");
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_vrfy(struct smtp_server *s, struct slice arg, bool has_arg)
{
	smtp_server_out(s, 252, "2.5.0 not verifying");
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_quit(struct smtp_server *s, struct slice arg, bool has_arg)
{
	smtp_server_out(s, 221, "2.0.0 bye");
	smtp_server_txn_reset(s);
	s->state = SMTP_ST_CLOSED;
	s->in.len = s->in_pos = 0;
	return SMTP_SERVER_CONTINUE;
}

static int smtp_cmd_starttls(struct smtp_server *s, struct slice arg, bool has_arg)
{
	if (s->tls)
		return smtp_server_err(s, 503, "5.5.1 tls already active");
	if (has_arg)
		return smtp_server_err(s, 501, "5.5.4 syntax: STARTTLS");
	if (!s->cfg.starttls_offered)
		return smtp_server_err(s, 502, "5.5.1 STARTTLS not supported");
	smtp_server_out(s, 220, "2.0.0 ready to start TLS");
	s->in.len = s->in_pos = 0; /* pipelined plaintext is never run (badinput #12) */
	smtp_server_txn_reset(s);
	s->state = SMTP_ST_TLS;
	return SMTP_SERVER_STARTTLS;
}
