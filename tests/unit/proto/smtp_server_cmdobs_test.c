/* SMTP server engine: the command observer (cfg.cmd_cb) that feeds the
 * tern_smtpserver_command_duration_seconds metric — one report per command at its
 * final reply, with verb, code and enhanced code; none for the greeting, 334/354,
 * or closing replies that answer no command. */
#include <stdlib.h>

#include "check.h"
#include "proto/smtp_server_int.h"

#define EVENTS_MAX 64

struct rec {
	struct smtp_server_cmd_end ev[EVENTS_MAX];
	int n;
};

static void cmd_cb(void *ctx, const struct smtp_server_cmd_end *e)
{
	struct rec *r = ctx;
	if (r->n < EVENTS_MAX)
		r->ev[r->n++] = *e;
}

static struct smtp_server *mk(enum smtp_server_kind kind, struct rec *r)
{
	static const char *const mechs[] = {"PLAIN"};
	struct smtp_server_cfg c = {
		.kind = kind, .hostname = "mx.example.test", .receivedid = "ID00000000000000",
		.auth_mechs = mechs, .n_auth_mechs = 1, .no_require_starttls = true, .error_max = 3,
		.cmd_cb = cmd_cb, .cmd_ctx = r,
	};
	struct smtp_server *s = smtp_server_new(&c);
	smtp_server_greet(s);
	return s;
}

/* Feeds in, answering asks: RCPT to "bad@..." gets 550 5.7.1, AUTH step 0 a challenge,
 * everything else yes. Returns the last event. */
static enum smtp_server_event feed(struct smtp_server *s, const char *in)
{
	smtp_server_feed(s, in, strlen(in));
	for (;;) {
		enum smtp_server_event ev = smtp_server_step(s);
		smtp_server_output_consume(s, smtp_server_output(s).len);
		switch (ev) {
		case SMTP_SERVER_HELO:
		case SMTP_SERVER_MAIL:
		case SMTP_SERVER_MESSAGE:
			smtp_server_accept(s);
			break;
		case SMTP_SERVER_RCPT:
			if (smtp_server_pending_rcpt(s)->addr.local_len == 3 &&
			    !memcmp(smtp_server_pending_rcpt(s)->addr.local, "bad", 3))
				smtp_server_reply(s, 550, "5.7.1 not you");
			else
				smtp_server_accept(s);
			break;
		case SMTP_SERVER_AUTH:
			if (smtp_server_auth_req(s)->step == 0)
				smtp_server_auth_challenge(s, "", 0);
			else
				smtp_server_auth_success(s);
			break;
		case SMTP_SERVER_AUTH_ABORTED:
		case SMTP_SERVER_DATA_FAILED:
			break;
		default:
			return ev;
		}
	}
}

static void expect(const struct rec *r, int i, enum smtp_server_verb verb, int code, int c, int sub, int det)
{
	if (i >= r->n) {
		CHECK_FAIL("event %d missing (have %d)", i, r->n);
		return;
	}
	const struct smtp_server_cmd_end *e = &r->ev[i];
	if (e->verb != verb || e->code != code || e->ecode[0] != c || e->ecode[1] != sub || e->ecode[2] != det)
		CHECK_FAIL("event %d: %s %d %d.%d.%d, want %s %d %d.%d.%d", i, smtp_server_verb_name(e->verb), e->code,
		           e->ecode[0], e->ecode[1], e->ecode[2], smtp_server_verb_name(verb), code, c, sub, det);
	CHECK(e->ns >= 0);
}

TEST(one_report_per_command)
{
	struct rec r = {0};
	struct smtp_server *s = mk(SMTP_SERVER_MX, &r);
	CHECK_INT(r.n, 0); /* the greeting answers no command */
	feed(s, "EHLO c.example\r\nNOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@mx.example.test>\r\n"
	        "RCPT TO:<bad@mx.example.test>\r\nDATA\r\n");
	CHECK_INT(r.n, 5); /* DATA's 354 does not end it */
	feed(s, "hello\r\n.\r\nBOGUS\r\nquit\r\n");
	expect(&r, 0, SMTP_VERB_EHLO, 250, 0, 0, 0);
	expect(&r, 1, SMTP_VERB_NOOP, 250, 2, 0, 0);
	expect(&r, 2, SMTP_VERB_MAIL, 250, 2, 1, 0);
	expect(&r, 3, SMTP_VERB_RCPT, 250, 2, 1, 5);
	expect(&r, 4, SMTP_VERB_RCPT, 550, 5, 7, 1);
	expect(&r, 5, SMTP_VERB_DATA, 250, 2, 0, 0);
	expect(&r, 6, SMTP_VERB_OTHER, 500, 5, 5, 1);
	expect(&r, 7, SMTP_VERB_QUIT, 221, 2, 0, 0);
	CHECK_INT(r.n, 8);
	smtp_server_free(s);
}

TEST(auth_exchange_is_one_command)
{
	struct rec r = {0};
	struct smtp_server *s = mk(SMTP_SERVER_SUBMISSION, &r);
	feed(s, "EHLO c.example\r\nAUTH PLAIN\r\n");
	CHECK_INT(r.n, 1); /* 334 sent, AUTH still open */
	feed(s, "AGEAYg==\r\n");
	expect(&r, 1, SMTP_VERB_AUTH, 235, 2, 7, 0);
	CHECK_INT(r.n, 2);
	smtp_server_free(s);
}

TEST(closing_replies)
{
	struct rec r = {0};
	struct smtp_server *s = mk(SMTP_SERVER_MX, &r);
	smtp_server_timeout(s); /* idle: the 421 answers no command */
	CHECK_INT(r.n, 0);
	smtp_server_free(s);

	s = mk(SMTP_SERVER_MX, &r);
	feed(s, "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n");
	feed(s, "partial");
	smtp_server_timeout(s); /* during DATA: ends DATA */
	expect(&r, 3, SMTP_VERB_DATA, 421, 4, 4, 2);
	CHECK_INT(r.n, 4);
	smtp_server_free(s);

	/* error_max 3: the third error reply ends its command, the 421 after it none */
	r.n = 0;
	s = mk(SMTP_SERVER_MX, &r);
	feed(s, "X1\r\nX2\r\nX3\r\nX4\r\n");
	CHECK_INT(r.n, 3);
	expect(&r, 2, SMTP_VERB_OTHER, 500, 5, 5, 1);
	CHECK(smtp_server_closed(s));
	smtp_server_free(s);
}

TEST(long_line_and_verbs)
{
	struct rec r = {0};
	struct smtp_server *s = mk(SMTP_SERVER_MX, &r);
	char line[3000];
	memset(line, 'a', sizeof line);
	memcpy(line + sizeof line - 3, "\r\n", 3);
	feed(s, line);
	expect(&r, 0, SMTP_VERB_OTHER, 500, 5, 5, 2);
	feed(s, "HELO c.example\r\n"); /* HELO clients do not pipeline */
	feed(s, "rset\r\n");
	feed(s, "VRFY x\r\n");
	expect(&r, 1, SMTP_VERB_HELO, 250, 0, 0, 0);
	expect(&r, 2, SMTP_VERB_RSET, 250, 2, 0, 0);
	expect(&r, 3, SMTP_VERB_VRFY, 252, 2, 5, 0);
	CHECK_STR(smtp_server_verb_name(SMTP_VERB_STARTTLS), "starttls");
	CHECK_STR(smtp_server_verb_name(SMTP_VERB_N), "other");
	smtp_server_free(s);
}

TEST_MAIN()
