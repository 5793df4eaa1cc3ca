/* Strict SMTP reply parsing (queue.md §11.7, badinput.md #53, #61). */
#include "check.h"

#include "core/xmalloc.h"
#include "proto/smtp_reply.h"

/* Parses s fed in pieces of `step` bytes; returns the reply or NULL, *err the error. */
static struct smtp_reply *parse_pieces(const char *s, size_t step, const char **err)
{
	struct smtp_reply_parser p;
	struct smtp_reply *r = NULL;
	size_t n = strlen(s), off = 0;
	smtp_reply_parser_init(&p);
	*err = NULL;
	while (off < n) {
		size_t len = n - off < step ? n - off : step, used = 0;
		int rc = smtp_reply_parse(&p, (const uint8_t *)s + off, len, &used, &r);
		if (rc < 0) {
			*err = p.err;
			break;
		}
		off += used;
		if (rc == 1)
			break;
	}
	smtp_reply_parser_free(&p);
	return r;
}

static char *summary(const struct smtp_reply *r)
{
	struct buf b;
	buf_init(&b);
	smtp_reply_summary(r, &b);
	return buf_cstr(&b);
}

TEST(single_line)
{
	struct smtp_reply *r = smtp_reply_parse_str("250 2.1.0 ok sender\r\n");
	CHECK(r != NULL);
	CHECK_INT(r->code, 250);
	CHECK_STR(r->ecode, "2.1.0");
	CHECK_INT(r->nlines, 1);
	CHECK_STR(r->lines[0], "250 2.1.0 ok sender");
	CHECK_STR(smtp_reply_text(r, 0), "2.1.0 ok sender");
	char *s = summary(r);
	CHECK_STR(s, "250 2.1.0 ok sender");
	free(s);
	smtp_reply_unref(r);
}

TEST(multi_line_summary_drops_repeated_ecode)
{
	struct smtp_reply *r =
	    smtp_reply_parse_str("550-5.1.1 no such user\r\n550-5.1.1 here\r\n550 5.1.1 at all\r\n");
	CHECK(r != NULL);
	CHECK_INT(r->nlines, 3);
	CHECK_STR(r->lines[1], "550-5.1.1 here");
	char *s = summary(r);
	CHECK_STR(s, "550 5.1.1 no such user here at all");
	free(s);
	smtp_reply_unref(r);
}

TEST(bare_code_and_no_ecode)
{
	struct smtp_reply *r = smtp_reply_parse_str("250\r\n");
	CHECK(r && r->code == 250 && r->ecode[0] == '\0');
	CHECK_STR(smtp_reply_text(r, 0), "");
	smtp_reply_unref(r);
	/* an ecode of the wrong class is just text */
	r = smtp_reply_parse_str("550 2.0.0 odd\r\n");
	CHECK(r && r->ecode[0] == '\0');
	smtp_reply_unref(r);
	r = smtp_reply_parse_str("451 4.7.30x not an ecode\r\n");
	CHECK(r && r->ecode[0] == '\0');
	smtp_reply_unref(r);
	r = smtp_reply_parse_str("554 5.7.30 requiretls\r\n");
	CHECK(r && strcmp(r->ecode, "5.7.30") == 0);
	smtp_reply_unref(r);
}

TEST(malformed_replies)
{
	static const char *const bad[] = {
	    "250-a\r\n550 b\r\n", /* mixed codes */
	    "25\r\n", "2x0 x\r\n", "250x\r\n", "150 x\r\n", "260 x\r\n", "650 x\r\n",
	    "250 ok\n",           /* bare LF */
	    "\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *err;
		struct smtp_reply *r = parse_pieces(bad[i], 1000, &err);
		if (r || !err)
			CHECK_FAIL("accepted: %s", bad[i]);
		smtp_reply_unref(r);
	}
}

TEST(continuation_then_eof_is_incomplete)
{
	const char *err;
	struct smtp_reply *r = parse_pieces("250-first\r\n250-second\r\n", 7, &err);
	CHECK(r == NULL && err == NULL);
}

TEST(long_line_truncated)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "250-");
	for (int i = 0; i < 10000; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\r\n250 end\r\n");
	const char *err;
	struct smtp_reply *r = parse_pieces(buf_cstr(&b), 333, &err);
	CHECK(r != NULL);
	CHECK_INT(strlen(r->lines[0]), SMTP_REPLY_LINE_MAX);
	CHECK_STR(r->lines[1], "250 end");
	char *s = summary(r);
	CHECK(strlen(s) <= SMTP_REPLY_SUMMARY_MAX);
	CHECK(strcmp(s + strlen(s) - 3, "...") == 0);
	free(s);
	smtp_reply_unref(r);
	buf_free(&b);
}

TEST(endless_line_is_error)
{
	struct smtp_reply_parser p;
	struct smtp_reply *r = NULL;
	uint8_t chunk[4096];
	memset(chunk, 'y', sizeof chunk);
	memcpy(chunk, "250 ", 4);
	smtp_reply_parser_init(&p);
	int rc = 0;
	for (int i = 0; i < 1000 && rc == 0; i++) { /* 4 MB at most */
		size_t used;
		rc = smtp_reply_parse(&p, chunk, sizeof chunk, &used, &r);
		chunk[0] = 'y';
	}
	CHECK_INT(rc, -1);
	CHECK_STR(p.err, "reply line too long");
	smtp_reply_parser_free(&p);
}

TEST(line_count_limit)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
		buf_puts(&b, "250-x\r\n");
	buf_puts(&b, "250 last\r\n");
	const char *err;
	struct smtp_reply *r = parse_pieces(buf_cstr(&b), 50, &err);
	CHECK(r && r->nlines == SMTP_REPLY_LINES_MAX);
	smtp_reply_unref(r);
	buf_reset(&b);
	for (int i = 0; i < 100000; i++)
		buf_puts(&b, "250-x\r\n");
	r = parse_pieces(buf_cstr(&b), 4096, &err);
	CHECK(r == NULL);
	CHECK_STR(err, "too many lines in reply");
	buf_free(&b);
}

TEST(non_printables_become_question_marks)
{
	static const char in[] = "550 bad\0x\x1b[31m\xff\xc3\xa9\rz\r\n";
	struct smtp_reply_parser p;
	struct smtp_reply *r = NULL;
	size_t used;
	smtp_reply_parser_init(&p);
	CHECK_INT(smtp_reply_parse(&p, (const uint8_t *)in, sizeof in - 1, &used, &r), 1);
	CHECK_INT(used, sizeof in - 1);
	CHECK_STR(r->lines[0], "550 bad?x?[31m????z");
	smtp_reply_unref(r);
	smtp_reply_parser_free(&p);
}

TEST(byte_by_byte_and_two_replies)
{
	static const char in[] = "250-a\r\n250 b\r\n354 go\r\n";
	struct smtp_reply_parser p;
	struct smtp_reply *r = NULL;
	size_t used, off = 0;
	int got = 0;
	smtp_reply_parser_init(&p);
	while (off < sizeof in - 1) {
		int rc = smtp_reply_parse(&p, (const uint8_t *)in + off, 1, &used, &r);
		CHECK(rc >= 0);
		off += used;
		if (rc == 1) {
			got++;
			CHECK_INT(r->code, got == 1 ? 250 : 354);
			smtp_reply_unref(r);
		}
	}
	CHECK_INT(got, 2);
	CHECK(smtp_reply_parser_idle(&p));
	/* both at once: the first call stops after the first reply */
	CHECK_INT(smtp_reply_parse(&p, (const uint8_t *)in, sizeof in - 1, &used, &r), 1);
	CHECK_INT(used, 14);
	smtp_reply_unref(r);
	smtp_reply_parser_free(&p);
}

TEST(refcount)
{
	struct smtp_reply *r = smtp_reply_parse_str("250 ok\r\n");
	smtp_reply_ref(r);
	smtp_reply_unref(r);
	CHECK_INT(r->refs, 1);
	smtp_reply_unref(r);
	smtp_reply_unref(NULL);
}

TEST_MAIN()
