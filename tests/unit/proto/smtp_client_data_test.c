/* SMTP client engine, message body: BDAT chunks of at most 1 MiB, pipelined and
 * lock-step, early stop, data blocks (queue.md §9, §11.4). */
#include "smtp_client_script.h"

#define MIB SMTP_CLIENT_BDAT_CHUNK_MAX
#define CMDS "MAIL FROM:<s@x.example>\r\nRCPT TO:<r0@d.example>\r\n"

/* A CRLF-only body of n octets (n >= 2). */
static char *make_body(size_t n)
{
	char *b = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		b[i] = (char)('a' + i % 26);
	for (size_t i = 70; i + 1 < n; i += 72)
		b[i] = '\r', b[i + 1] = '\n';
	b[n - 2] = '\r';
	b[n - 1] = '\n';
	b[n] = '\0';
	return b;
}

static char *cat(const char *a, const char *b, size_t blen, const char *c)
{
	struct buf x;
	buf_init(&x);
	buf_puts(&x, "C");
	buf_puts(&x, a);
	buf_append(&x, b, blen);
	buf_puts(&x, c);
	return buf_cstr(&x);
}

TEST(bdat_pipelined_chunks)
{
	size_t n = MIB + 100;
	char *data = make_body(n);
	char *c1 = cat(CMDS "BDAT 1048576\r\n", data, MIB, "");
	char *c2 = cat("BDAT 100 LAST\r\n", data + MIB, 100, "");
	const char *lines[] = {c1, c2, "S250 ok\r\n250 ok\r\n250 2.0.0 chunk ok\r\n250 2.0.0 done\r\n",
	                       "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, data);
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	CHECK_STR(rtext(&rcpts[0].result), "remote: 250 2.0.0 done");
	/* commands and the first block in one write, then blocks of at most 256 KiB */
	CHECK_INT(s.sends, (n + strlen(CMDS) + 30 + SMTP_CLIENT_BLOCK_MAX - 1) / SMTP_CLIENT_BLOCK_MAX);
	CHECK_INT(s.needs, 4); /* greeting, EHLO, the replies, QUIT */
	script_free(&s);
	free(c1);
	free(c2);
	free(data);
}

TEST(bdat_first_write_holds_commands_and_data)
{
	char *data = make_body(3 * SMTP_CLIENT_BLOCK_MAX);
	struct smtp_client_txn t = mk(1, data);
	struct script s;
	connect_idle(&s, "S250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	smtp_client_begin(s.c, &t);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_SEND);
	struct slice o = smtp_client_output(s.c);
	CHECK_INT(o.len, SMTP_CLIENT_BLOCK_MAX);
	CHECK(memcmp(o.p, CMDS "BDAT 786432 LAST\r\n", strlen(CMDS) + 18) == 0);
	smtp_client_txn_clear(&t);
	script_free(&s);
	free(data);
}

TEST(bdat_lockstep)
{
	size_t n = MIB + 10;
	char *data = make_body(n);
	char *c1 = cat("BDAT 1048576\r\n", data, MIB, "");
	char *c2 = cat("BDAT 10 LAST\r\n", data + MIB, 10, "");
	const char *lines[] = {"CMAIL FROM:<s@x.example>\r\n", "S250 ok\r\n",
	                       "CRCPT TO:<r0@d.example>\r\n", "S250 ok\r\n", c1, "S250 ok\r\n", c2,
	                       "S250 done\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, data);
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250 CHUNKING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	/* waits: chunk reply 3 min, LAST reply 10 min */
	CHECK_INT(s.waits[s.nwaits - 2], SMTP_CLIENT_T_DOT_MS);
	script_free(&s);
	free(c1);
	free(c2);
	free(data);
}

TEST(bdat_empty_message)
{
	static const char *const lines[] = {"C" CMDS "BDAT 0 LAST\r\n",
	                                    "S250 ok\r\n250 ok\r\n250 ok\r\n", "CQUIT\r\n",
	                                    "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, "");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	script_free(&s);
}

TEST(bdat_chunk_refused)
{
	size_t n = MIB + 10;
	char *data = make_body(n);
	char *c1 = cat(CMDS "BDAT 1048576\r\n", data, MIB, "");
	char *c2 = cat("BDAT 10 LAST\r\n", data + MIB, 10, "");
	const char *lines[] = {c1, c2, "S250 ok\r\n250 ok\r\n452 4.3.1 out of space\r\n503 5.5.1 no\r\n",
	                       "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct smtp_client_txn t = mk(1, data);
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.code, 452);
	CHECK_INT(rcpts[0].result.stage, SMTP_CLIENT_STAGE_DATA);
	script_free(&s);
	free(c1);
	free(c2);
	free(data);
}

TEST(bdat_pipelined_stops_when_nobody_accepted)
{
	char *data = make_body(3 * MIB);
	struct smtp_client_txn t = mk(1, data);
	struct script s;
	connect_idle(&s, "S250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	smtp_client_begin(s.c, &t);
	size_t total = 0;
	bool fed = false;
	enum smtp_client_event ev = SMTP_CLIENT_EV_READY;
	for (int i = 0; i < 100; i++) {
		ev = smtp_client_step(s.c);
		total += smtp_client_output(s.c).len;
		smtp_client_output_consumed(s.c, smtp_client_output(s.c).len);
		if (ev == SMTP_CLIENT_EV_SEND && !fed) {
			smtp_client_feed(s.c, "250 ok\r\n550 5.1.1 unknown\r\n", 27);
			fed = true;
		} else if (ev == SMTP_CLIENT_EV_NEED_INPUT) {
			smtp_client_feed(s.c, "554 5.5.1 no valid recipients\r\n", 31);
		} else if (ev != SMTP_CLIENT_EV_SEND) {
			break;
		}
	}
	CHECK_INT(ev, SMTP_CLIENT_EV_TXN_DONE);
	CHECK_INT(total, strlen(CMDS) + 14 + MIB); /* one chunk, not three */
	CHECK_INT(rcpts[0].result.code, 550);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_READY);
	/* the open transaction gets an RSET before the next MAIL */
	smtp_client_txn_clear(&t);
	struct smtp_client_txn t2 = mk(1, "m\r\n");
	smtp_client_begin(s.c, &t2);
	CHECK_INT(smtp_client_step(s.c), SMTP_CLIENT_EV_SEND);
	struct slice o = smtp_client_output(s.c);
	CHECK(o.len > 6 && memcmp(o.p, "RSET\r\nMAIL FROM:", 16) == 0);
	smtp_client_txn_clear(&t2);
	script_free(&s);
	free(data);
}

TEST(bdat_bare_lf)
{
	static const char *const lines[] = {NULL};
	struct smtp_client_txn t = mk(1, "fine\r\nbad\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, "S250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", lines, &tp, 1, NULL);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_ERR_DATA);
	CHECK_INT(s.sent.len, strlen("EHLO c.example\r\n")); /* nothing of the transaction left */
	script_free(&s);
}

TEST(data_blocks_are_bounded)
{
	/* a big DATA message goes out in blocks of at most SMTP_CLIENT_BLOCK_MAX + stuffing */
	size_t n = 5 * SMTP_CLIENT_BLOCK_MAX;
	char *data = make_body(n);
	struct smtp_client_txn t = mk(1, data);
	struct script s;
	connect_idle(&s, "S250-mx\r\n250 PIPELINING\r\n");
	smtp_client_begin(s.c, &t);
	size_t total = 0, biggest = 0;
	int sends = 0;
	enum smtp_client_event ev = SMTP_CLIENT_EV_READY;
	for (int i = 0; i < 100; i++) {
		ev = smtp_client_step(s.c);
		size_t len = smtp_client_output(s.c).len;
		if (ev == SMTP_CLIENT_EV_SEND) {
			sends++;
			total += len;
			biggest = len > biggest ? len : biggest;
		}
		smtp_client_output_consumed(s.c, len);
		if (ev == SMTP_CLIENT_EV_NEED_INPUT)
			smtp_client_feed(s.c, sends ? "250 ok\r\n" : "250 ok\r\n250 ok\r\n354 go\r\n",
			                 sends ? 8 : 24);
		else if (ev != SMTP_CLIENT_EV_SEND)
			break;
	}
	CHECK_INT(ev, SMTP_CLIENT_EV_TXN_DONE);
	CHECK_INT(rcpts[0].result.err, SMTP_CLIENT_OK);
	CHECK_INT(total, n + 3);
	CHECK(biggest <= SMTP_CLIENT_BLOCK_MAX);
	CHECK_INT(sends, 6);
	smtp_client_txn_clear(&t);
	script_free(&s);
	free(data);
}

TEST_MAIN()
