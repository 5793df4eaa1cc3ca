/* SMTP client engine, session level: greeting, EHLO, STARTTLS, AUTH, QUIT, waits,
 * protocol errors (queue.md §11.3-§11.7, §12; badinput.md #53-#56, #59). */
#include "smtp_client_script.h"

static const struct smtp_client_config plain_cfg = {.ehlo_name = "client.example"};

static struct smtp_client_txn one_txn(struct smtp_client_rcpt *r, struct body *b)
{
	struct smtp_client_txn t = {.mail_from = "a@x.example", .rcpts = r, .nrcpts = 1};
	r->addr = "b@y.example";
	txn_body(&t, b, "", "hi\r\n");
	return t;
}

TEST(new_rejects_bad_ehlo_name)
{
	CHECK(smtp_client_new(&(struct smtp_client_config){.ehlo_name = ""}) == NULL);
	CHECK(smtp_client_new(&(struct smtp_client_config){.ehlo_name = "a b"}) == NULL);
	CHECK(smtp_client_new(&(struct smtp_client_config){.ehlo_name = "a\r\nMAIL"}) == NULL);
	CHECK(smtp_client_new(&(struct smtp_client_config){.ehlo_name = NULL}) == NULL);
}

TEST(greeting_ehlo_quit_and_waits)
{
	static const char *const lines[] = {
	    "S220 mx.example ESMTP\r\n", "CEHLO client.example\r\n",
	    "S250-mx.example\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	CHECK_INT(script_run(&s), SMTP_CLIENT_EV_CLOSED);
	CHECK(smtp_client_error(s.c) == NULL);
	CHECK(smtp_client_caps(s.c)->size && smtp_client_caps(s.c)->size_max == 1000);
	CHECK_INT(s.nwaits, 3);
	CHECK_INT(s.waits[0], SMTP_CLIENT_T_COMMAND_MS);
	CHECK_INT(s.waits[1], SMTP_CLIENT_T_COMMAND_MS);
	CHECK_INT(s.waits[2], SMTP_CLIENT_T_QUIT_MS);
	script_free(&s);
}

TEST(greeting_5xx_quits_with_reply)
{
	static const char *const lines[] = {
	    "S554-5.7.1 go away\r\n554 5.7.1 really\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_REPLY && e->stage == SMTP_CLIENT_STAGE_GREETING);
	CHECK(e && e->code == 554 && strcmp(e->ecode, "5.7.1") == 0 && e->reply->nlines == 2);
	CHECK_STR(rtext(e), "remote: 554 5.7.1 go away really");
	script_free(&s);
}

TEST(greeting_421_closes_without_quit)
{
	static const char *const lines[] = {"S421 4.3.2 busy\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->code == 421 && e->stage == SMTP_CLIENT_STAGE_GREETING);
	CHECK(!smtp_client_reusable(s.c));
	script_free(&s);
}

TEST(ehlo_5xx_no_helo_fallback)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S502 5.5.1 no EHLO here\r\n", "CQUIT\r\n", "E", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->stage == SMTP_CLIENT_STAGE_EHLO && e->code == 502);
	script_free(&s);
}

TEST(bad_greeting_code_is_protocol_error)
{
	static const char *const lines[] = {"S250 hello?\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_PROTOCOL && e->code == 451);
	script_free(&s);
}

TEST(starttls_discards_injected_plaintext_and_forgets_caps)
{
	/* #55: "250 PIPELINING" style injection right after the 220 must never be read. */
	static const char *const lines[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n",
	    "S250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 STARTTLS\r\n", "CSTARTTLS\r\n",
	    "S220 2.0.0 go ahead\r\n250 injected\r\n", "CEHLO client.example\r\n",
	    "S250-mx\r\n250 SIZE\r\n",
	    /* no PIPELINING after TLS: lock-step; no CHUNKING: DATA */
	    "CMAIL FROM:<a@x.example> SIZE=4\r\n", "S250 ok\r\n", "CRCPT TO:<b@y.example>\r\n",
	    "S250 ok\r\n", "CDATA\r\n", "S354 go\r\n", "Chi\r\n.\r\n", "S250 queued\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_config cfg = {.ehlo_name = "client.example",
	                                 .tls = SMTP_CLIENT_TLS_OPPORTUNISTIC};
	struct smtp_client_rcpt r = {0};
	struct body b = {0};
	struct smtp_client_txn t = one_txn(&r, &b);
	struct script s;
	script_init(&s, &cfg, lines);
	s.tls_verified = true;
	s.txns[s.ntxn++] = &t;
	script_run(&s);
	CHECK_INT(r.result.err, SMTP_CLIENT_OK);
	struct smtp_client_tls_info ti;
	smtp_client_tls_info(s.c, &ti);
	CHECK(ti.starttls_offered && ti.active && ti.verified && !ti.starttls_refused);
	CHECK(!smtp_client_caps(s.c)->pipelining && !smtp_client_caps(s.c)->starttls);
	script_free(&s);
}

TEST(starttls_required_but_not_offered)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S250-mx\r\n250 PIPELINING\r\n", "CQUIT\r\n",
	                                    "S221 bye\r\n", NULL};
	struct smtp_client_config cfg = {.ehlo_name = "client.example",
	                                 .tls = SMTP_CLIENT_TLS_REQUIRED};
	struct script s;
	script_init(&s, &cfg, lines);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_TLS && e->code == 451);
	CHECK_STR(rtext(e), "remote does not offer STARTTLS");
	script_free(&s);
}

TEST(starttls_refused)
{
	static const char *const opp[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 STARTTLS\r\n",
	    "CSTARTTLS\r\n", "S454 4.7.0 tls not available\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_config cfg = {.ehlo_name = "client.example",
	                                 .tls = SMTP_CLIENT_TLS_OPPORTUNISTIC};
	struct script s;
	script_init(&s, &cfg, opp);
	script_run(&s);
	CHECK(smtp_client_error(s.c) == NULL); /* plaintext goes on, the session just QUITs */
	struct smtp_client_tls_info ti;
	smtp_client_tls_info(s.c, &ti);
	CHECK(ti.starttls_refused && !ti.active);
	script_free(&s);

	cfg.tls = SMTP_CLIENT_TLS_REQUIRED;
	script_init(&s, &cfg, opp);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->stage == SMTP_CLIENT_STAGE_STARTTLS && e->code == 454);
	script_free(&s);
}

TEST(tls_handshake_failure)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S250-mx\r\n250 STARTTLS\r\n", "CSTARTTLS\r\n",
	                                    "S220 go\r\n", NULL};
	struct smtp_client_config cfg = {.ehlo_name = "client.example",
	                                 .tls = SMTP_CLIENT_TLS_REQUIRED};
	struct script s;
	script_init(&s, &cfg, lines);
	s.stop_at_starttls = true;
	CHECK_INT(script_run(&s), SMTP_CLIENT_EV_STARTTLS);
	CHECK_INT(smtp_client_timeout_ms(s.c), SMTP_CLIENT_T_HANDSHAKE_MS);
	smtp_client_feed(s.c, "250 ignored\r\n", 13); /* discarded during the handshake */
	smtp_client_io_error(s.c, "handshake failed");
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_CLOSED);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_TLS && e->stage == SMTP_CLIENT_STAGE_STARTTLS);
	script_free(&s);
}

/* ---- AUTH ---- */

struct fake_sasl {
	const char *want; /* mechanism to choose if offered */
	int steps;
	bool fail_finish;
	bool offered_tls;
};

static const char *fake_choose_cb(void *ctx, const char *const *offered, size_t n, bool tls)
{
	struct fake_sasl *f = ctx;
	f->offered_tls = tls;
	for (size_t i = 0; i < n; i++)
		if (strcmp(offered[i], f->want) == 0)
			return f->want;
	return NULL;
}

/* PLAIN: initial response. LOGIN: no IR, then user and password. XFAIL: aborts on a
 * challenge. */
static int fake_step_cb(void *ctx, bool first, struct slice chal, struct buf *out)
{
	struct fake_sasl *f = ctx;
	f->steps++;
	if (strcmp(f->want, "PLAIN") == 0) {
		buf_append(out, "\0user\0pass", 10);
		return SMTP_CLIENT_SASL_OK;
	}
	if (first)
		return SMTP_CLIENT_SASL_NO_IR;
	if (strcmp(f->want, "XFAIL") == 0)
		return SMTP_CLIENT_SASL_FAIL;
	if (slice_eq(chal, SLICE_LIT("Username:")))
		buf_puts(out, "user");
	else if (slice_eq(chal, SLICE_LIT("Password:")))
		buf_puts(out, "pass");
	return SMTP_CLIENT_SASL_OK;
}

static int fake_finish_cb(void *ctx)
{
	return ((struct fake_sasl *)ctx)->fail_finish ? -1 : 0;
}

static const struct smtp_client_auth_ops fake_ops = {fake_choose_cb, fake_step_cb, fake_finish_cb};

static void run_auth(struct fake_sasl *f, const char *const *lines, struct script *s)
{
	struct smtp_client_config cfg = {.ehlo_name = "client.example", .auth = &fake_ops,
	                                 .auth_ctx = f, .tls = SMTP_CLIENT_TLS_IMPLICIT,
	                                 .implicit_verified = true};
	script_init(s, &cfg, lines);
	script_run(s);
}

TEST(auth_plain_initial_response)
{
	static const char *const lines[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 AUTH LOGIN PLAIN\r\n",
	    "CAUTH PLAIN AHVzZXIAcGFzcw==\r\n", "S235 2.7.0 ok\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct fake_sasl f = {.want = "PLAIN"};
	struct script s;
	run_auth(&f, lines, &s);
	CHECK(smtp_client_error(s.c) == NULL);
	CHECK(f.offered_tls);
	struct smtp_client_tls_info ti;
	smtp_client_tls_info(s.c, &ti);
	CHECK_STR(ti.auth_mech, "PLAIN");
	script_free(&s);
}

TEST(auth_login_challenges)
{
	static const char *const lines[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 AUTH LOGIN\r\n",
	    "CAUTH LOGIN\r\n", "S334 VXNlcm5hbWU6\r\n", "CdXNlcg==\r\n", "S334 UGFzc3dvcmQ6\r\n",
	    "CcGFzcw==\r\n", "S235 2.7.0 ok\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct fake_sasl f = {.want = "LOGIN"};
	struct script s;
	run_auth(&f, lines, &s);
	CHECK(smtp_client_error(s.c) == NULL);
	CHECK_INT(f.steps, 3);
	script_free(&s);
}

TEST(auth_rejected_and_unusable)
{
	static const char *const rej[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 AUTH PLAIN\r\n",
	    "CAUTH PLAIN AHVzZXIAcGFzcw==\r\n", "S535 5.7.8 authentication failed\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct fake_sasl f = {.want = "PLAIN"};
	struct script s;
	run_auth(&f, rej, &s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->stage == SMTP_CLIENT_STAGE_AUTH && e->code == 535);
	script_free(&s);

	static const char *const none[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                   "S250-mx\r\n250 AUTH CRAM-MD5\r\n", "CQUIT\r\n",
	                                   "S221 bye\r\n", NULL};
	run_auth(&f, none, &s);
	e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_AUTH);
	CHECK_STR(rtext(e), "remote offers no usable AUTH mechanism");
	script_free(&s);

	struct fake_sasl fin = {.want = "PLAIN", .fail_finish = true};
	static const char *const unverified[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 AUTH PLAIN\r\n",
	    "CAUTH PLAIN AHVzZXIAcGFzcw==\r\n", "S235 ok\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	run_auth(&fin, unverified, &s);
	e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_AUTH);
	script_free(&s);
}

TEST(auth_bad_challenge_aborts)
{
	static const char *const lines[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 AUTH LOGIN\r\n",
	    "CAUTH LOGIN\r\n", "S334 not*base64\r\n", "C*\r\n", "S501 5.7.0 aborted\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct fake_sasl f = {.want = "LOGIN"};
	struct script s;
	run_auth(&f, lines, &s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_AUTH);
	script_free(&s);

	/* Strict RFC 4648 decoding: non-zero padding bits ("QR==") are not base64. */
	static const char *const padbits[] = {
	    "S220 mx\r\n", "CEHLO client.example\r\n", "S250-mx\r\n250 AUTH LOGIN\r\n",
	    "CAUTH LOGIN\r\n", "S334 QR==\r\n", "C*\r\n", "S501 5.7.0 aborted\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	run_auth(&f, padbits, &s);
	e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_AUTH);
	script_free(&s);
}

TEST(auth_endless_challenges)
{
	const char *lines[3 + 2 * (SMTP_CLIENT_AUTH_STEPS_MAX + 1) + 2];
	size_t n = 0;
	lines[n++] = "S220 mx\r\n";
	lines[n++] = "CEHLO client.example\r\n";
	lines[n++] = "S250-mx\r\n250 AUTH LOGIN\r\n";
	lines[n++] = "CAUTH LOGIN\r\n";
	for (int i = 0; i < SMTP_CLIENT_AUTH_STEPS_MAX; i++) {
		lines[n++] = "S334 \r\n";
		lines[n++] = "C\r\n";
	}
	lines[n++] = "S334 \r\n";
	lines[n] = NULL;
	struct fake_sasl f = {.want = "LOGIN"};
	struct script s;
	run_auth(&f, lines, &s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_PROTOCOL);
	script_free(&s);
}

/* ---- unsolicited and malformed input ---- */

TEST(idle_421_closes)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S250 mx\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	s.no_quit = true;
	CHECK_INT(script_run(&s), SMTP_CLIENT_EV_READY);
	CHECK(smtp_client_reusable(s.c));
	smtp_client_feed(s.c, "421 4.4.2 idle timeout\r\n", 24);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_CLOSED);
	CHECK(!smtp_client_reusable(s.c));
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->code == 421 && e->stage == SMTP_CLIENT_STAGE_IDLE);
	script_free(&s);
}

TEST(idle_garbage_is_protocol_error)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S250 mx\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	s.no_quit = true;
	script_run(&s);
	smtp_client_feed(s.c, "250 spare\r\n", 11);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_CLOSED);
	CHECK(smtp_client_error(s.c)->err == SMTP_CLIENT_ERR_PROTOCOL);
	script_free(&s);
}

TEST(partial_reply_while_idle_fails_next_txn)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S250 mx\r\n", NULL};
	struct script s;
	struct smtp_client_rcpt r = {0};
	struct body b = {0};
	struct smtp_client_txn t = one_txn(&r, &b);
	script_init(&s, &plain_cfg, lines);
	s.no_quit = true;
	script_run(&s);
	smtp_client_feed(s.c, "25", 2);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_READY);
	CHECK(!smtp_client_reusable(s.c));
	smtp_client_begin(s.c, &t);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_TXN_DONE);
	CHECK_INT(smtp_client_output(s.c).len, 0); /* nothing sent */
	CHECK_INT(r.result.err, SMTP_CLIENT_ERR_PROTOCOL);
	CHECK_INT(r.result.code, 451);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_CLOSED);
	smtp_client_txn_clear(&t);
	script_free(&s);
}

TEST(malformed_ehlo_reply)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n",
	                                    "S250-mx\r\n550 mixed\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_PROTOCOL && e->stage == SMTP_CLIENT_STAGE_EHLO);
	CHECK_STR(rtext(e), "protocol error: mixed codes in multi-line reply");
	script_free(&s);
}

TEST(timeouts_end_session)
{
	static const char *const greet[] = {"T", NULL};
	struct script s;
	script_init(&s, &plain_cfg, greet);
	script_run(&s);
	const struct smtp_client_result *e = smtp_client_error(s.c);
	CHECK(e && e->err == SMTP_CLIENT_ERR_TIMEOUT && e->stage == SMTP_CLIENT_STAGE_GREETING);
	CHECK_STR(rtext(e), "timeout waiting for greeting");
	script_free(&s);

	/* no answer to QUIT: closed after its 30 s, not an error */
	static const char *const quit[] = {"S220 mx\r\n", "CEHLO client.example\r\n", "S250 mx\r\n",
	                                   "CQUIT\r\n", "T", NULL};
	script_init(&s, &plain_cfg, quit);
	script_run(&s);
	CHECK(smtp_client_error(s.c) == NULL);
	CHECK_INT(s.waits[s.nwaits - 1], SMTP_CLIENT_T_QUIT_MS);
	script_free(&s);
}

TEST(explicit_rset)
{
	static const char *const lines[] = {"S220 mx\r\n", "CEHLO client.example\r\n", "S250 mx\r\n",
	                                    "CRSET\r\n", "S250 ok\r\n", NULL};
	struct script s;
	script_init(&s, &plain_cfg, lines);
	s.no_quit = true;
	script_run(&s);
	smtp_client_rset(s.c);
	CHECK_INT(script_run(&s), SMTP_CLIENT_EV_READY);
	CHECK(smtp_client_reusable(s.c));
	script_free(&s);
}

TEST_MAIN()
