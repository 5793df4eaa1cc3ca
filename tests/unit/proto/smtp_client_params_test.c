/* SMTP client engine: MAIL/RCPT parameters and the checks made before sending
 * (queue.md §11.4-§11.5, §12, smtp.md §9; badinput.md #60, #91). */
#include "smtp_client_script.h"

#define DSN_EHLO "S250-mx\r\n250-PIPELINING\r\n250-DSN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"

TEST(dsn_parameters_xtext)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example> BODY=8BITMIME RET=HDRS ENVID=id+2B1+3Dx+20y\r\n"
	    "RCPT TO:<r0@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;r0+2Bt@d.example\r\n"
	    "RCPT TO:<r1@d.example> NOTIFY=NEVER\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "C\xc3\xa9\r\n.\r\n", "S250 ok\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(2, "\xc3\xa9\r\n");
	t.has8bit = true;
	t.ret = "hdrs";
	t.envid = "id+1=x y";
	rcpts[0].notify = "success,failure";
	rcpts[0].orcpt = "rfc822;r0+t@d.example";
	rcpts[1].notify = "NEVER";
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, DSN_EHLO, lines, &tp, 1, NULL);
	CHECK_INT(rcpts[1].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(no_dsn_no_8bitmime_no_params)
{
	/* #60: an 8-bit message goes without BODY when 8BITMIME is not offered */
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "C\xff\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "\xff\r\n");
	t.has8bit = true;
	t.ret = "FULL";
	t.envid = "x";
	rcpts[0].notify = "DELAY";
	rcpts[0].orcpt = "rfc822;a@b";
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(smtputf8)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<j\xc3\xb6@d.example>\r\n"
	    "DATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	rcpts[0].addr = "j\xc3\xb6@d.example"; /* 8-bit address: SMTPUTF8 even if not flagged */
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, DSN_EHLO, lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	script_free(&s);

	/* not offered: fails before anything is sent, the connection stays usable */
	static const char *const none[] = {"CQUIT\r\n", "S221 bye\r\n", NULL};
	t = mk(2, "m\r\n");
	t.smtputf8 = true;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", none, &tp, 1, NULL);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(rcpts[i].result.err, SMTP_CLIENT_ERR_SMTPUTF8);
		CHECK_INT(rcpts[i].result.code, 554);
		CHECK_STR(rcpts[i].result.ecode, "5.6.7");
		CHECK_STR(rtext(&rcpts[i].result), "remote does not support SMTPUTF8");
	}
	CHECK(smtp_client_error(s.c) == NULL);
	script_free(&s);
}

TEST(size_too_small_is_permanent_without_sending)
{
	static const char *const lines[] = {"CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "0123456789\r\n");
	t.prefix = SLICE_LIT("Received: x\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 SIZE 20\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_SIZE);
	CHECK_INT(rcpts[0].result.code, 554);
	CHECK_STR(rcpts[0].result.ecode, "5.3.4");
	CHECK_STR(rtext(&rcpts[0].result), "message too large for remote (25 > 20 octets)");
	CHECK_INT(t.transactions, 0);
	script_free(&s);
}

TEST(prefix_then_shared_data)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example> SIZE=25\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "CReceived: x\r\n0123456789\r\n.\r\n", "S250 ok\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "0123456789\r\n");
	t.prefix = SLICE_LIT("Received: x\r\n");
	body.piece = 1; /* the data arrives one byte per read */
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 SIZE 25\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	CHECK_INT(body.reads, 12);
	script_free(&s);
}

TEST(requiretls)
{
	static const char *const lines[] = {"CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	t.requiretls = true;
	struct smtp_client_txn *tp = &t;
	struct script s;
	/* plaintext: no verified TLS */
	run(&s, "S250-mx\r\n250 REQUIRETLS\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_REQUIRETLS);
	CHECK_STR(rcpts[0].result.ecode, "5.7.30");
	script_free(&s);

	/* verified TLS, extension not announced */
	struct smtp_client_config tls = {.ehlo_name = "c.example", .tls = SMTP_CLIENT_TLS_IMPLICIT,
	                                 .implicit_verified = true};
	t = mk(1, "m\r\n");
	t.requiretls = true;
	run(&s, "S250 mx\r\n", lines, &tp, 1, &tls);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_REQUIRETLS);
	CHECK_STR(rtext(&rcpts[0].result), "remote does not support requiretls");
	script_free(&s);

	/* unverified TLS */
	tls.implicit_verified = false;
	t = mk(1, "m\r\n");
	t.requiretls = true;
	run(&s, "S250-mx\r\n250 REQUIRETLS\r\n", lines, &tp, 1, &tls);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_REQUIRETLS);
	script_free(&s);

	/* verified and announced */
	static const char *const ok[] = {
	    "CMAIL FROM:<s@x.example> REQUIRETLS\r\n", "S250 ok\r\n", "CRCPT TO:<r0@d.example>\r\n",
	    "S250 ok\r\n", "CDATA\r\n", "S354 go\r\n", "Cm\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	tls.implicit_verified = true;
	t = mk(1, "m\r\n");
	t.requiretls = true;
	run(&s, "S250-mx\r\n250 REQUIRETLS\r\n", ok, &tp, 1, &tls);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(injection_refused)
{
	/* #91: CR/LF in a recipient fails that recipient only, in MAIL FROM everyone */
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example> BODY=7BIT\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r2@d.example>\r\n"
	    "DATA\r\n",
	    "S250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(4, "m\r\n");
	rcpts[1].addr = "x@y\r\nRCPT TO:<evil@z>";
	rcpts[3].notify = "SUCCESS\r\nRSET";
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, DSN_EHLO, lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	CHECK_INT(rcpts[1].result.err, SMTP_CLIENT_ERR_ARG);
	CHECK_INT(rcpts[1].result.code, 554);
	CHECK_INT(rcpts[2].result.err, SMTP_CLIENT_OK);
	CHECK_INT(rcpts[3].result.err, SMTP_CLIENT_ERR_ARG);
	script_free(&s);

	static const char *const none[] = {"CQUIT\r\n", "S221 bye\r\n", NULL};
	static const char *const bad_from[] = {"a@b\rx", "a@b\n"};
	for (int k = 0; k < 2; k++) {
		t = mk(2, "m\r\n");
		t.mail_from = bad_from[k];
		run(&s, DSN_EHLO, none, &tp, 1, NULL);
		CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_ARG);
		CHECK_INT(rcpts[1].result.err, SMTP_CLIENT_ERR_ARG);
		script_free(&s);
	}
	t = mk(1, "m\r\n");
	t.envid = "e\r\nx";
	run(&s, DSN_EHLO, none, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_ARG);
	script_free(&s);
	t = mk(1, "m\r\n");
	t.ret = "ALL";
	run(&s, DSN_EHLO, none, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_ARG);
	script_free(&s);
	t = mk(1, "m\r\n");
	rcpts[0].orcpt = "no-semicolon";
	run(&s, DSN_EHLO, none, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_ARG);
	script_free(&s);
}

TEST(null_sender)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<>\r\n", "S250 ok\r\n", "CRCPT TO:<r0@d.example>\r\n", "S250 ok\r\n",
	    "CDATA\r\n", "S354 go\r\n", "Cm\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n", "S221 bye\r\n",
	    NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	t.mail_from = "";
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250 mx\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(long_command_refused)
{
	static const char *const none[] = {"CQUIT\r\n", "S221 bye\r\n", NULL};
	char *big = xmalloc(SMTP_CLIENT_CMD_MAX + 10);
	memset(big, 'a', SMTP_CLIENT_CMD_MAX + 9);
	big[SMTP_CLIENT_CMD_MAX + 9] = '\0';
	struct smtp_client_txn t = mk(1, "m\r\n");
	t.mail_from = big;
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250 mx\r\n", none, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_ARG);
	CHECK_STR(rtext(&rcpts[0].result), "MAIL FROM command too long");
	script_free(&s);
	free(big);
}

TEST_MAIN()
