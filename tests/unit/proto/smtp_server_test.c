/* SMTP server engine: properties that dialogue scripts cannot show well —
 * bounded memory, split-invariance, 10000 pipelined RCPTs, reply hygiene.
 * (badinput #4, #5, #12, #27, #28, #31) */
#include <stdlib.h>

#include "check.h"
#include "proto/smtp_server_int.h"

static int64_t fixed_now(void *ctx)
{
	return 1767225600000LL;
}

static struct smtp_server *mk(enum smtp_server_kind kind)
{
	static const char *const mechs[] = {"PLAIN"};
	struct smtp_server_cfg c = {
		.kind = kind, .hostname = "mx.example.test", .receivedid = "ID00000000000000",
		.starttls_offered = true, .auth_mechs = mechs, .n_auth_mechs = 1,
		.no_require_starttls = true, .now_cb = fixed_now,
	};
	struct smtp_server *s = smtp_server_new(&c);
	smtp_server_greet(s);
	return s;
}

/* An actor that says yes to everything; messages are appended to *msgs. */
static enum smtp_server_event autostep(struct smtp_server *s, struct buf *out, struct buf *msgs,
                                       size_t *max_in)
{
	for (;;) {
		enum smtp_server_event ev = smtp_server_step(s);
		if (max_in && s->in.cap > *max_in)
			*max_in = s->in.cap;
		struct slice o = smtp_server_output(s);
		buf_append(out, o.p, o.len);
		smtp_server_output_consume(s, o.len);
		switch (ev) {
		case SMTP_SERVER_HELO:
		case SMTP_SERVER_MAIL:
		case SMTP_SERVER_RCPT:
			smtp_server_accept(s);
			break;
		case SMTP_SERVER_MESSAGE:
			if (msgs) {
				smtp_server_take_message(s, msgs);
				buf_puts(msgs, "<END>");
			}
			smtp_server_accept(s);
			break;
		case SMTP_SERVER_AUTH:
			smtp_server_auth_success(s);
			break;
		case SMTP_SERVER_STARTTLS:
			smtp_server_tls_started(s);
			break;
		case SMTP_SERVER_AUTH_ABORTED:
		case SMTP_SERVER_DATA_FAILED:
			break;
		default:
			return ev;
		}
	}
}

/* Feeds in[0..n) in pieces of `chunk` octets through the yes-actor. */
static void drive(struct smtp_server *s, const void *in, size_t n, size_t chunk, struct buf *out,
                  struct buf *msgs, size_t *max_in)
{
	const uint8_t *p = in;
	struct slice o = smtp_server_output(s);
	buf_append(out, o.p, o.len);
	smtp_server_output_consume(s, o.len);
	for (size_t i = 0; i < n; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk;
		smtp_server_feed(s, p + i, k);
		if (autostep(s, out, msgs, max_in) == SMTP_SERVER_CLOSE)
			break;
	}
}

static size_t count(const struct buf *b, const char *needle)
{
	size_t n = 0, l = strlen(needle);
	for (size_t i = 0; i + l <= b->len; i++)
		if (!memcmp(b->p + i, needle, l))
			n++;
	return n;
}

/* Client turns: each is sent only once the engine waits for input (no
 * pipelining across DATA, as RFC 2920 requires). */
static const char *const session[] = {
	"EHLO c.example\r\nNOOP\r\nMAIL FROM:<a@example.org> BODY=8BITMIME\r\n"
	"RCPT TO:<b@mx.example.test> NOTIFY=SUCCESS\r\nRCPT TO:<c@mx.example.test>\r\nDATA\r\n",
	"Subject: x\r\n\r\n..one\r\ntwo\r\n.\r\n"
	"MAIL FROM:<>\r\nRCPT TO:<d@mx.example.test>\r\nBDAT 5\r\nab\r\nc"
	"BDAT 3 LAST\r\nd\r\n"
	"BOGUS\r\nVRFY x\r\nDATA\r\n",
	"QUIT\r\n",
};

static void drive_session(size_t chunk, struct buf *out, struct buf *msgs)
{
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	for (size_t t = 0; t < sizeof(session) / sizeof(session[0]); t++) {
		size_t n = strlen(session[t]);
		drive(s, session[t], n, chunk ? chunk : n, out, msgs, NULL);
	}
	CHECK(smtp_server_closed(s));
	smtp_server_free(s);
}

TEST(split_invariance)
{
	struct buf ref, refmsg;
	buf_init(&ref);
	buf_init(&refmsg);
	drive_session(0, &ref, &refmsg);
	CHECK_INT(count(&ref, "250 2.0.0 delivered (ID00000000000000)\r\n"), 2);
	CHECK_INT(count(&ref, "500 5.5.1 unknown command"), 1);
	CHECK_INT(count(&ref, "503 5.5.1 missing MAIL FROM"), 1);
	CHECK_INT(count(&ref, "221 2.0.0 bye\r\n"), 1);
	CHECK_MEM(refmsg.p, refmsg.len, "Subject: x\r\n\r\n.one\r\ntwo\r\n<END>ab\r\ncd\r\n<END>");
	/* Every split gives the same transcript and messages. */
	for (size_t chunk = 1; chunk < 40; chunk++) {
		struct buf out, msg;
		buf_init(&out);
		buf_init(&msg);
		drive_session(chunk, &out, &msg);
		if (!slice_eq(buf_slice(&out), buf_slice(&ref)) || !slice_eq(buf_slice(&msg), buf_slice(&refmsg)))
			CHECK_FAIL("chunk %zu differs", chunk);
		buf_free(&out);
		buf_free(&msg);
	}
	buf_free(&ref);
	buf_free(&refmsg);
}

TEST(ten_thousand_rcpts)
{
	/* badinput #27: 1000 accepted, 1000 free 452s, then 20 counted ones end in 421. */
	struct buf in, out;
	buf_init(&in);
	buf_init(&out);
	buf_puts(&in, "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n");
	for (int i = 0; i < 10000; i++)
		buf_printf(&in, "RCPT TO:<r%d@mx.example.test>\r\n", i);
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	drive(s, in.p, in.len, in.len, &out, NULL, NULL);
	CHECK_INT(count(&out, "250 2.1.5 ok"), 1000);
	CHECK_INT(count(&out, "452 4.5.3 max of 1000 recipients reached"), 1020);
	CHECK_INT(count(&out, "421 4.7.0 too many errors"), 1);
	CHECK(smtp_server_closed(s));
	smtp_server_free(s);
	buf_free(&in);
	buf_free(&out);
}

TEST(same_rcpt_500_times)
{
	/* badinput #28 */
	struct buf in, out;
	buf_init(&in);
	buf_init(&out);
	buf_puts(&in, "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n");
	for (int i = 0; i < 500; i++)
		buf_puts(&in, "RCPT TO:<same@mx.example.test>\r\n");
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	drive(s, in.p, in.len, 700, &out, NULL, NULL);
	CHECK_INT(count(&out, "250 2.1.5 ok"), 500);
	CHECK_INT(smtp_server_txn(s)->nrcpt, 1);
	CHECK_INT(smtp_server_txn(s)->accepted, 500);
	smtp_server_free(s);
	buf_free(&in);
	buf_free(&out);
}

TEST(long_line_bounded_memory)
{
	/* badinput #4: 1 MB of command line, fed in 4 KiB reads, keeps the input buffer small. */
	struct buf out;
	buf_init(&out);
	size_t n = 1 << 20;
	char *in = malloc(n + 32);
	memcpy(in, "EHLO ", 5);
	memset(in + 5, 'a', n - 5);
	memcpy(in + n, "\r\nNOOP\r\n", 8);
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	size_t max_in = 0;
	drive(s, in, n + 8, 4096, &out, NULL, &max_in);
	CHECK(max_in <= 16384);
	CHECK_INT(count(&out, "500 5.5.2 line too long"), 1);
	CHECK_INT(count(&out, "250 2.0.0 ok"), 1);
	smtp_server_free(s);
	free(in);
	buf_free(&out);
}

TEST(big_message_and_limit)
{
	/* badinput #5 and #31: a 1 MB line is stored byte-exact; over the limit nothing is kept. */
	size_t n = 1 << 20;
	struct buf in, out, msg;
	buf_init(&in);
	buf_init(&out);
	buf_init(&msg);
	buf_puts(&in, "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n");
	size_t hdr = in.len;
	buf_puts(&in, "Subject: big\r\n\r\n");
	for (size_t i = 0; i < n; i++)
		buf_putc(&in, (uint8_t)('a' + i % 26));
	buf_puts(&in, "\r\n.\r\n");
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	drive(s, in.p, hdr, hdr, &out, &msg, NULL);
	drive(s, in.p + hdr, in.len - hdr, 65536, &out, &msg, NULL);
	CHECK_INT(msg.len, in.len - hdr - 3 + 5);
	CHECK(msg.len >= 5 && memcmp(msg.p, in.p + hdr, msg.len - 5) == 0);
	smtp_server_free(s);
	/* The same with a 64 KiB limit: read to the end, 552, data buffer stays small. */
	static const char *const mechs[] = {"PLAIN"};
	struct smtp_server_cfg c = {.kind = SMTP_SERVER_MX, .hostname = "h", .receivedid = "ID00000000000000",
	                            .max_message_size = 65536, .auth_mechs = mechs};
	s = smtp_server_new(&c);
	smtp_server_greet(s);
	buf_reset(&out);
	buf_reset(&msg);
	drive(s, in.p, hdr, hdr, &out, &msg, NULL);
	drive(s, in.p + hdr, in.len - hdr, 65536, &out, &msg, NULL);
	CHECK(s->data.msg.cap == 0 || !s->data_active);
	CHECK_INT(count(&out, "552 5.3.4 message too large (ID00000000000000)"), 1);
	CHECK_INT(msg.len, 0);
	smtp_server_feed(s, "NOOP\r\n", 6);
	autostep(s, &out, NULL, NULL);
	CHECK_INT(count(&out, "250 2.0.0 ok"), 1);
	smtp_server_free(s);
	buf_free(&in);
	buf_free(&out);
	buf_free(&msg);
}

TEST(starttls_injection_one_segment)
{
	/* badinput #12: nothing after STARTTLS in the same segment runs, nor anything fed before the handshake. */
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	static const char in[] = "EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<x@y.z>\r\n";
	smtp_server_feed(s, in, sizeof(in) - 1);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_HELO);
	smtp_server_accept(s);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_STARTTLS);
	CHECK_INT(smtp_server_feed(s, "NOOP\r\n", 6), 0);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_STARTTLS);
	smtp_server_tls_started(s);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_NEED_INPUT);
	struct slice o = smtp_server_output(s);
	struct buf b;
	buf_init(&b);
	buf_append(&b, o.p, o.len);
	const char *tail = "250 SMTPUTF8\r\n220 2.0.0 ready to start TLS\r\n";
	CHECK(b.len > strlen(tail) && !memcmp(b.p + b.len - strlen(tail), tail, strlen(tail)));
	CHECK_INT(count(&b, "2.1.0"), 0);
	CHECK(!smtp_server_txn(s)->mail);
	CHECK(smtp_server_ehlo_name(s) == NULL);
	buf_free(&b);
	smtp_server_free(s);
}

TEST(reply_hygiene)
{
	/* Actor text never produces a bare CR or LF (badinput #1: Tern never emits one). */
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	smtp_server_feed(s, "EHLO c\r\n", 8);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_HELO);
	smtp_server_reply(s, 550, "5.0.0 bad\r\nMAIL FROM:<x>\x01\xc3\xa9");
	struct slice o = smtp_server_output(s);
	const char *want = "550 5.0.0 bad??MAIL FROM:<x>??? (ID00000000000000)\r\n";
	CHECK(o.len >= strlen(want) && !memcmp(o.p + o.len - strlen(want), want, strlen(want)));
	for (size_t i = 0; i < o.len; i++) {
		if (o.p[i] == '\r')
			CHECK(i + 1 < o.len && o.p[i + 1] == '\n');
		if (o.p[i] == '\n')
			CHECK(i > 0 && o.p[i - 1] == '\r');
	}
	smtp_server_free(s);
}

TEST(protocol_names)
{
	struct smtp_server *s = mk(SMTP_SERVER_SUBMISSION);
	struct buf out;
	buf_init(&out);
	drive(s, "EHLO c\r\n", 8, 8, &out, NULL, NULL);
	CHECK_STR(smtp_server_protocol(s), "ESMTP");
	drive(s, "AUTH PLAIN AHUAcA==\r\n", 21, 21, &out, NULL, NULL);
	CHECK(smtp_server_authenticated(s));
	CHECK_STR(smtp_server_protocol(s), "ESMTPA");
	drive(s, "MAIL FROM:<u@example.test> SMTPUTF8\r\n", 37, 37, &out, NULL, NULL);
	CHECK_STR(smtp_server_protocol(s), "UTF8SMTPA");
	drive(s, "RSET\r\nSTARTTLS\r\nEHLO c\r\n", 24, 24, &out, NULL, NULL);
	CHECK(smtp_server_tls(s));
	CHECK_STR(smtp_server_protocol(s), "SMTPS"); /* the pipelined EHLO was discarded */
	drive(s, "EHLO c\r\n", 8, 8, &out, NULL, NULL);
	CHECK(smtp_server_tls(s));
	CHECK(!smtp_server_authenticated(s));
	CHECK_STR(smtp_server_protocol(s), "ESMTPS");
	smtp_server_free(s);
	buf_free(&out);
}

/* Appends the engine's pending output to out. */
static void take_out(struct smtp_server *s, struct buf *out)
{
	struct slice o = smtp_server_output(s);
	buf_append(out, o.p, o.len);
	smtp_server_output_consume(s, o.len);
}

/* Feeds in, steps once without answering and returns the event. */
static enum smtp_server_event feed_step(struct smtp_server *s, const char *in, struct buf *out)
{
	smtp_server_feed(s, in, strlen(in));
	enum smtp_server_event ev = smtp_server_step(s);
	take_out(s, out);
	return ev;
}

/* A submission engine after EHLO, with out emptied. */
static struct smtp_server *mk_ehloed(struct buf *out)
{
	struct smtp_server *s = mk(SMTP_SERVER_SUBMISSION);
	drive(s, "EHLO c\r\n", 8, 8, out, NULL, NULL);
	buf_reset(out);
	return s;
}

TEST(auth_base64_vectors)
{
	/* RFC 4648 §10 vectors: challenges go out encoded, responses come in decoded. */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	struct buf out;
	buf_init(&out);
	for (int i = 0; i < 7; i++) {
		char want[32];
		struct smtp_server *s = mk_ehloed(&out);
		CHECK_INT(feed_step(s, "AUTH PLAIN\r\n", &out), SMTP_SERVER_AUTH);
		smtp_server_auth_challenge(s, plain[i], strlen(plain[i]));
		take_out(s, &out);
		snprintf(want, sizeof want, "334 %s\r\n", enc[i]);
		CHECK_MEM(out.p, out.len, want);
		snprintf(want, sizeof want, "%s\r\n", enc[i]);
		CHECK_INT(feed_step(s, want, &out), SMTP_SERVER_AUTH);
		const struct smtp_server_auth_req *r = smtp_server_auth_req(s);
		CHECK_INT(r->step, 1);
		CHECK_INT(r->data.len, strlen(plain[i]));
		CHECK(r->data.len == 0 || !memcmp(r->data.p, plain[i], r->data.len));
		smtp_server_free(s);
	}
	buf_free(&out);
}

TEST(auth_bad_base64)
{
	/* badinput #39, as initial response and as a response line. */
	static const char *const bad[] = {"QQ=", "====", "Q===", "QR==", "Zm9=", "Zg", "Zm9vY", "Zm 9v",
	                                  "Zm9v\r", "Zg==Zg==", "Z=g=", "Zm9*"};
	struct buf out;
	buf_init(&out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[64];
		struct smtp_server *s = mk_ehloed(&out);
		if (!strchr(bad[i], '\r')) { /* a CR in a command line is a syntax error first */
			snprintf(line, sizeof line, "AUTH PLAIN %s\r\n", bad[i]);
			feed_step(s, line, &out);
			CHECK_MEM(out.p, out.len, "501 5.5.2 invalid base64 (ID00000000000000)\r\n");
			buf_reset(&out);
		}
		CHECK_INT(feed_step(s, "AUTH PLAIN\r\n", &out), SMTP_SERVER_AUTH);
		smtp_server_auth_challenge(s, "", 0);
		snprintf(line, sizeof line, "%s\r\n", bad[i]);
		CHECK_INT(feed_step(s, line, &out), SMTP_SERVER_AUTH_ABORTED);
		CHECK_MEM(out.p, out.len, "334 \r\n501 5.5.2 invalid base64 (ID00000000000000)\r\n");
		CHECK_INT(smtp_server_auth_failures(s), 1);
		smtp_server_free(s);
	}
	buf_free(&out);
}

TEST(reply_raw_code)
{
	/* localserve's `...600` special localpart: a code outside SMTP's classes, as an error
	 * (the RCPT fails, the error is counted) with the receivedid like any error reply. */
	struct smtp_server *s = mk(SMTP_SERVER_MX);
	struct buf out;
	buf_init(&out);
	drive(s, "EHLO c\r\nMAIL FROM:<a@example.org>\r\n", 35, 35, &out, NULL, NULL);
	smtp_server_output_consume(s, smtp_server_output(s).len);
	smtp_server_feed(s, "RCPT TO:<rcptto600@x.test>\r\n", 28);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_RCPT);
	unsigned errors = s->errors;
	smtp_server_reply_raw_code(s, 600, "6.0.0 failure with code 600 due to special localpart");
	struct slice o = smtp_server_output(s);
	const char *want = "600 6.0.0 failure with code 600 due to special localpart (ID00000000000000)\r\n";
	CHECK_MEM(o.p, o.len, want);
	CHECK_INT(s->errors, errors + 1);
	CHECK_INT(smtp_server_txn(s)->nrcpt, 0);
	smtp_server_output_consume(s, o.len);
	/* The session goes on: a normal recipient after it. */
	smtp_server_feed(s, "RCPT TO:<b@x.test>\r\n", 20);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_RCPT);
	smtp_server_accept(s);
	CHECK_INT(smtp_server_txn(s)->nrcpt, 1);
	/* Ordinary codes work through it too. */
	smtp_server_feed(s, "RCPT TO:<c@x.test>\r\n", 20);
	CHECK_INT(smtp_server_step(s), SMTP_SERVER_RCPT);
	smtp_server_reply_raw_code(s, 451, "4.0.0 x");
	CHECK_INT(smtp_server_txn(s)->nrcpt, 1);
	buf_free(&out);
	smtp_server_free(s);
}

TEST_MAIN()
