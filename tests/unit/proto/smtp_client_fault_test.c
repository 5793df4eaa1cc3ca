/* SMTP client engine against a hostile or broken server: premature and spare
 * replies, garbage while pipelining, timeouts and lost connections around the data,
 * broken stored data (badinput.md #53, #54, #58, #59; queue.md §11.6). */
#include "smtp_client_script.h"

#define PIPE_EHLO "S250-mx\r\n250 PIPELINING\r\n"
#define BATCH1 "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n"

static void check_temp(const struct smtp_client_result *r, enum smtp_client_err err)
{
	CHECK_INT(r->err, err);
	CHECK_INT(r->code / 100, 4);
}

TEST(reply_before_command_lockstep)
{
	/* two replies to MAIL: the second arrives before RCPT was sent */
	static const char *const lines[] = {"CMAIL FROM:<s@x.example>\r\n", "S250 ok\r\n250 ok\r\n",
	                                    NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250 mx\r\n", lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_PROTOCOL);
	CHECK_STR(rtext(&rcpts[0].result), "protocol error: reply before its command");
	CHECK(!smtp_client_reusable(s.c));
	script_free(&s);
}

TEST(reply_during_data_is_never_end_of_data)
{
	/* #54: a reply that arrives while the body is going out is premature; the
	 * recipients fail temporarily even though a 250 came after the dot */
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n250 early\r\n",
	                                    NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_PROTOCOL);
	CHECK(!rcpts[0].result.data_sent);
	script_free(&s);

	/* fed while a block is being written (between SEND events) */
	char *big = xmalloc(3 * SMTP_CLIENT_BLOCK_MAX + 1);
	for (size_t i = 0; i < 3 * SMTP_CLIENT_BLOCK_MAX; i++)
		big[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : 'x';
	big[3 * SMTP_CLIENT_BLOCK_MAX] = '\0';
	t = mk(1, big);
	connect_idle(&s, PIPE_EHLO);
	smtp_client_begin(s.c, &t);
	enum smtp_client_event ev = SMTP_CLIENT_EV_READY;
	int sends = 0;
	for (int i = 0; i < 100; i++) {
		ev = smtp_client_step(s.c);
		smtp_client_output_consumed(s.c, smtp_client_output(s.c).len);
		if (ev == SMTP_CLIENT_EV_NEED_INPUT && sends == 0)
			smtp_client_feed(s.c, "250 ok\r\n250 ok\r\n354 go\r\n", 24);
		else if (ev == SMTP_CLIENT_EV_SEND && ++sends == 2)
			smtp_client_feed(s.c, "250 ok\r\n", 8);
		else if (ev != SMTP_CLIENT_EV_SEND)
			break;
	}
	CHECK_INT(ev, SMTP_CLIENT_EV_TXN_DONE);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_CLOSED);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_PROTOCOL);
	smtp_client_txn_clear(&t);
	script_free(&s);
	free(big);
}

TEST(spare_reply_read_as_data_answer)
{
	/* MAIL 250, RCPT 250, a spare 250 where the 354 belongs */
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n250 spare\r\n354 go\r\n",
	                                    NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_PROTOCOL);
	CHECK_STR(rtext(&rcpts[0].result),
	          "protocol error: reply does not fit the command: remote: 250 spare");
	script_free(&s);
}

TEST(spare_reply_after_end_of_data)
{
	/* the delivery stands; the connection is dropped */
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n",
	                                    "S250 queued\r\n250 spare\r\n", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	CHECK(smtp_client_error(s.c) && smtp_client_error(s.c)->err == SMTP_CLIENT_ERR_PROTOCOL);
	script_free(&s);
}

TEST(garbage_while_pipelining)
{
	static const char *const lines[] = {BATCH1, "S250 ok\r\nHTTP/1.1 400 Bad Request\r\n", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_PROTOCOL);
	CHECK_STR(rtext(&rcpts[0].result), "protocol error: malformed reply code");
	CHECK_INT(rcpts[0].result.stage, SMTP_CLIENT_STAGE_RCPT);
	script_free(&s);
}

TEST(wrong_class_replies)
{
	static const char *const rcpt354[] = {BATCH1, "S250 ok\r\n354 what\r\n", NULL};
	static const char *const dot354[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n",
	                                     "S354 again\r\n", NULL};
	const char *const *scripts[] = {rcpt354, dot354};
	for (int k = 0; k < 2; k++) {
		struct smtp_client_txn t = mk(1, "m\r\n");
		struct smtp_client_txn *tp = &t;
		struct script s;
		run(&s, PIPE_EHLO, scripts[k], &tp, 1, NULL);
		check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_PROTOCOL);
		script_free(&s);
	}
}

TEST(timeout_after_dot_is_temporary_never_success)
{
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n",
	                                    "T", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_TIMEOUT);
	CHECK(rcpts[0].result.data_sent);
	CHECK_STR(rtext(&rcpts[0].result), "timeout waiting for end of data");
	CHECK_INT(s.waits[s.nwaits - 1], SMTP_CLIENT_T_DOT_MS);
	script_free(&s);
}

TEST(connection_lost_after_dot)
{
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n",
	                                    "E", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_IO);
	CHECK(rcpts[0].result.data_sent);
	script_free(&s);
}

TEST(timeout_waiting_for_354_and_writing_block)
{
	static const char *const l354[] = {BATCH1, "S250 ok\r\n", "S250 ok\r\n", "T", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, l354, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_TIMEOUT);
	CHECK(!rcpts[0].result.data_sent);
	CHECK_INT(s.waits[s.nwaits - 1], SMTP_CLIENT_T_DATA_MS);
	CHECK_STR(rtext(&rcpts[0].result), "timeout waiting for DATA");
	script_free(&s);

	/* #59: the server stops reading mid-data */
	static const char *const lblock[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n",
	                                     "Cm\r\n.\r\n", "t", NULL};
	t = mk(1, "m\r\n");
	run(&s, PIPE_EHLO, lblock, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_TIMEOUT);
	CHECK_STR(rtext(&rcpts[0].result), "timeout sending DATA");
	CHECK_INT(s.waits[s.nwaits - 1], SMTP_CLIENT_T_BLOCK_MS);
	script_free(&s);
}

TEST(bare_lf_in_stored_data)
{
	/* the body goes out up to the bad line at most, never the final dot */
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", NULL};
	struct smtp_client_txn t = mk(1, "ok\r\nbad\nline\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_DATA);
	CHECK_STR(rcpts[0].result.ecode, "4.3.0");
	CHECK(!rcpts[0].result.data_sent);
	CHECK(!smtp_client_reusable(s.c));
	script_free(&s);
}

TEST(read_error)
{
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	body.fail_at = 1;
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	check_temp(&rcpts[0].result, SMTP_CLIENT_ERR_DATA);
	CHECK_STR(rtext(&rcpts[0].result), "local error sending message: cannot read message data");
	script_free(&s);
}

TEST(missing_final_crlf_gets_one)
{
	static const char *const lines[] = {BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n",
	                                    "Cno newline\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n",
	                                    "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "no newline");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE_EHLO, lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(reuse_across_begins)
{
	/* second begin() on the same connection, no RSET after a finished transaction */
	static const char *const lines[] = {
	    BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 one\r\n",
	    BATCH1, "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 two\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct smtp_client_txn t1 = mk(1, "m\r\n");
	struct smtp_client_rcpt r2 = {.addr = "r0@d.example"};
	struct smtp_client_txn t2 = t1;
	t2.rcpts = &r2;
	struct smtp_client_txn *tps[] = {&t1, &t2};
	struct script s;
	run(&s, PIPE_EHLO, lines, tps, 2, NULL);
	CHECK_STR(rtext(&rcpts[0].result), "remote: 250 one");
	CHECK_STR(rtext(&r2.result), "remote: 250 two");
	smtp_client_txn_clear(&t2);
	script_free(&s);
}

TEST_MAIN()
