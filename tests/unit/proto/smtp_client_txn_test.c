/* SMTP client engine, transactions: MAIL/RCPT parameters, pipelining, RCPTMAX,
 * 452/552 retries, whole-transaction errors, per-recipient results
 * (queue.md §9, §11.4-§11.5; badinput.md #54, #57, #60, #91). */
#include "smtp_client_script.h"

TEST(pipelined_one_write_and_dot_stuffing)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example> SIZE=12 BODY=7BIT\r\nRCPT TO:<r0@d.example>\r\n"
	    "RCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go\r\n",
	    "C..\r\n..x\r\nend\r\n.\r\n", "S250 2.0.0 queued as 1\r\n", "CQUIT\r\n", "S221 bye\r\n",
	    NULL};
	struct smtp_client_txn t = mk(2, ".\r\n.x\r\nend\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE, lines, &tp, 1, NULL);
	CHECK_INT(s.done, 1);
	CHECK_INT(t.transactions, 1);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	CHECK(rcpts[0].result.data_sent);
	CHECK_STR(rtext(&rcpts[0].result), "remote: 250 2.0.0 queued as 1");
	CHECK_INT(rcpts[1].result.err, SMTP_CLIENT_ERR_REPLY);
	CHECK_INT(rcpts[1].result.stage, SMTP_CLIENT_STAGE_RCPT);
	CHECK_INT(rcpts[1].result.code, 550);
	CHECK_STR(rcpts[1].result.ecode, "5.1.1");
	CHECK(!rcpts[1].result.data_sent);
	/* waits: greeting, EHLO, MAIL (the replies came in one read), block, dot, QUIT */
	CHECK_INT(s.nwaits, 6);
	CHECK_INT(s.waits[2], SMTP_CLIENT_T_COMMAND_MS);
	CHECK_INT(s.waits[3], SMTP_CLIENT_T_BLOCK_MS);
	CHECK_INT(s.waits[4], SMTP_CLIENT_T_DOT_MS);
	CHECK_INT(s.waits[5], SMTP_CLIENT_T_QUIT_MS);
	script_free(&s);
}

TEST(one_wait_per_reply_and_trickling_does_not_extend)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S2", "S50 ok\r", "S\n", "S250 ok\r\n", "S354 go\r\n", "Cm\r\n.\r\n", "S250 done\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	/* greeting, EHLO, MAIL (one wait over three pieces), RCPT, DATA, block, dot, QUIT */
	CHECK_INT(s.nwaits, 8);
	CHECK_INT(s.waits[2], SMTP_CLIENT_T_COMMAND_MS);
	CHECK_INT(s.waits[3], SMTP_CLIENT_T_COMMAND_MS);
	CHECK_INT(s.waits[4], SMTP_CLIENT_T_DATA_MS);
	CHECK_INT(s.waits[5], SMTP_CLIENT_T_BLOCK_MS);
	CHECK_INT(s.waits[6], SMTP_CLIENT_T_DOT_MS);
	script_free(&s);
}

TEST(lockstep_without_pipelining)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\n", "S250 ok\r\n", "CRCPT TO:<r0@d.example>\r\n",
	    "S451 4.3.0 later\r\n", "CRCPT TO:<r1@d.example>\r\n", "S250 ok\r\n", "CDATA\r\n",
	    "S354 go\r\n", "Cbody\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(2, "body\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250 mx.example\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.code, 451);
	CHECK_INT(rcpts[1].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(rcptmax_splits_into_transactions)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 one\r\n",
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r2@d.example>\r\nRCPT TO:<r3@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 two\r\n",
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r4@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 three\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(5, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 LIMITS RCPTMAX=2 MAILMAX=1\r\n", lines, &tp, 1,
	    NULL);
	CHECK_INT(t.transactions, 3);
	CHECK_STR(rtext(&rcpts[1].result), "remote: 250 one");
	CHECK_STR(rtext(&rcpts[3].result), "remote: 250 two");
	CHECK_STR(rtext(&rcpts[4].result), "remote: 250 three");
	script_free(&s);
}

TEST(local_rcpt_cap)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 one\r\n",
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 two\r\n", "CQUIT\r\n",
	    "S221 bye\r\n", NULL};
	struct smtp_client_config one = {.ehlo_name = "c.example", .rcpt_max = 1};
	struct smtp_client_txn t = mk(2, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 LIMITS RCPTMAX=5\r\n", lines, &tp, 1, &one);
	CHECK_INT(t.transactions, 2);
	script_free(&s);
}

TEST(rcpt_452_after_first_retried_on_same_connection)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\n"
	    "RCPT TO:<r2@d.example>\r\nRCPT TO:<r3@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n"
	    "552 5.5.3 too many recipients\r\n354 go\r\n",
	    "Cm\r\n.\r\n", "S250 first\r\n",
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r2@d.example>\r\nRCPT TO:<r3@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n452 4.2.2 mailbox full\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n",
	    "S250 second\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(4, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(t.transactions, 2);
	CHECK_STR(rtext(&rcpts[0].result), "remote: 250 first");
	CHECK_STR(rtext(&rcpts[1].result), "remote: 250 first");
	/* 452 for the first recipient of a transaction is its result */
	CHECK_INT(rcpts[2].result.err, SMTP_CLIENT_ERR_REPLY);
	CHECK_STR(rtext(&rcpts[2].result), "remote: 452 4.2.2 mailbox full");
	CHECK_STR(rtext(&rcpts[3].result), "remote: 250 second");
	script_free(&s);
}

TEST(all_452_costs_one_round)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\n"
	    "RCPT TO:<r2@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n452 4.3.1 out of space\r\n552 5.3.1 out\r\n452 4.3.1 out of space\r\n"
	    "554 5.5.1 no valid recipients\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(3, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(t.transactions, 1);
	CHECK_INT(rcpts[0].result.code, 452);
	CHECK_INT(rcpts[1].result.code, 452); /* 552 read as 452 */
	CHECK_INT(rcpts[1].result.reply->code, 552);
	CHECK_INT(rcpts[2].result.code, 452);
	script_free(&s);
}

TEST(refused_data_with_nobody_accepted_needs_rset)
{
	struct script s;
	/* A DATA refused with nobody accepted leaves the transaction open: RSET first. */
	static const char *const l2[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients\r\n",
	    "CRSET\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S250 done\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t1 = mk(1, "m\r\n");
	struct smtp_client_rcpt r2 = {.addr = "r0@d.example"};
	struct smtp_client_txn t2 = t1;
	t2.rcpts = &r2;
	struct smtp_client_txn *tps[2] = {&t1, &t2};
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", l2, tps, 2, NULL);
	CHECK_INT(rcpts[0].result.code, 550);
	CHECK_INT(r2.result.err, SMTP_CLIENT_OK);
	CHECK(smtp_client_error(s.c) == NULL);
	smtp_client_txn_clear(&t2);
	script_free(&s);
}

TEST(dot_after_354_with_nobody_sends_only_dot)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n550 5.1.1 unknown\r\n354 go anyway\r\n", "C.\r\n", "S250 whatever\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "secret body\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.code, 550);
	CHECK(smtp_client_error(s.c) == NULL);
	script_free(&s);
}

TEST(mail_refused_covers_everyone)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S550 5.7.1 sender rejected\r\n503 5.5.1 no mail\r\n503 5.5.1 no mail\r\n"
	    "503 5.5.1 no mail\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(4, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 LIMITS RCPTMAX=2\r\n", lines, &tp, 1, NULL);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(rcpts[i].result.stage, SMTP_CLIENT_STAGE_MAIL);
		CHECK_STR(rtext(&rcpts[i].result), "remote: 550 5.7.1 sender rejected");
	}
	CHECK(smtp_client_error(s.c) == NULL);
	script_free(&s);
}

TEST(data_and_end_of_data_errors)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n550 no\r\n451 4.3.0 try later\r\n", "CQUIT\r\n", "S221 bye\r\n",
	    NULL};
	struct smtp_client_txn t = mk(2, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.stage, SMTP_CLIENT_STAGE_DATA);
	CHECK_INT(rcpts[0].result.code, 451);
	CHECK_INT(rcpts[1].result.code, 550);
	script_free(&s);

	static const char *const dot[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n354 go\r\n", "Cm\r\n.\r\n", "S554-5.7.1 spam\r\n554 5.7.1 go away\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	t = mk(1, "m\r\n");
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", dot, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.stage, SMTP_CLIENT_STAGE_DOT);
	CHECK(rcpts[0].result.data_sent);
	CHECK_INT(rcpts[0].result.reply->nlines, 2);
	CHECK_STR(rtext(&rcpts[0].result), "remote: 554 5.7.1 spam go away");
	script_free(&s);
}

TEST(rcpt_421_closes_and_covers_everyone)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S250 ok\r\n250 ok\r\n421 4.7.0 bye now\r\n", NULL};
	struct smtp_client_txn t = mk(2, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(s.done, 1);
	CHECK_INT(rcpts[0].result.code, 421);
	CHECK_INT(rcpts[1].result.code, 421);
	CHECK(!smtp_client_reusable(s.c));
	script_free(&s);
}

TEST(lockstep_rset_before_next_mail)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\n", "S250 ok\r\n", "CRCPT TO:<r0@d.example>\r\n",
	    "S550 5.1.1 unknown\r\n", "CRSET\r\n", "S250 ok\r\n", "CMAIL FROM:<s@x.example>\r\n",
	    "S250 ok\r\n", "CRCPT TO:<r0@d.example>\r\n", "S250 ok\r\n", "CDATA\r\n",
	    "S354 go\r\n", "Cm\r\n.\r\n", "S250 ok\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t1 = mk(1, "m\r\n");
	struct smtp_client_rcpt r2 = {.addr = "r0@d.example"};
	struct smtp_client_txn t2 = t1;
	t2.rcpts = &r2;
	struct smtp_client_txn *tps[2] = {&t1, &t2};
	struct script s;
	run(&s, "S250 mx\r\n", lines, tps, 2, NULL);
	CHECK_INT(rcpts[0].result.code, 550);
	CHECK_INT(r2.result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(lockstep_rset_refused_is_protocol_error)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\n", "S250 ok\r\n", "CRCPT TO:<r0@d.example>\r\n",
	    "S550 5.1.1 unknown\r\n", "CRSET\r\n", "S500 what\r\n", NULL};
	struct smtp_client_txn t1 = mk(1, "m\r\n");
	struct smtp_client_rcpt r2 = {.addr = "r0@d.example"};
	struct smtp_client_txn t2 = t1;
	t2.rcpts = &r2;
	struct smtp_client_txn *tps[2] = {&t1, &t2};
	struct script s;
	run(&s, "S250 mx\r\n", lines, tps, 2, NULL);
	CHECK_INT(r2.result.err, SMTP_CLIENT_ERR_PROTOCOL);
	CHECK_INT(r2.result.stage, SMTP_CLIENT_STAGE_RSET);
	CHECK_INT(s.done, 2);
	script_free(&s);
}

TEST(mail_refused_then_354_gets_dot)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\nDATA\r\n",
	    "S451 4.3.0 not now\r\n250 odd\r\n354 odd\r\n", "C.\r\n", "S250 odd\r\n",
	    "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "secret\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 PIPELINING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.code, 451);
	CHECK_INT(rcpts[0].result.stage, SMTP_CLIENT_STAGE_MAIL);
	script_free(&s);
}

TEST(lockstep_bdat_chunk_refused)
{
	char *data = xmalloc(SMTP_CLIENT_BDAT_CHUNK_MAX + 3);
	memset(data, 'x', SMTP_CLIENT_BDAT_CHUNK_MAX + 2);
	memcpy(data + SMTP_CLIENT_BDAT_CHUNK_MAX, "\r\n", 3);
	struct buf c1;
	buf_init(&c1);
	buf_puts(&c1, "CBDAT 1048576\r\n");
	buf_append(&c1, data, SMTP_CLIENT_BDAT_CHUNK_MAX);
	const char *lines[] = {"CMAIL FROM:<s@x.example>\r\n", "S250 ok\r\n",
	                       "CRCPT TO:<r0@d.example>\r\n", "S250 ok\r\n", buf_cstr(&c1),
	                       "S552 5.3.4 too big after all\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, data);
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 CHUNKING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.code, 552);
	CHECK_INT(rcpts[0].result.stage, SMTP_CLIENT_STAGE_DATA);
	CHECK(!rcpts[0].result.data_sent);
	script_free(&s);
	buf_free(&c1);
	free(data);
}

TEST_MAIN()
