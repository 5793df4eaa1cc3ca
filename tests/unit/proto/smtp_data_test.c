/* DATA/BDAT reader (smtp.md §5; badinput #1, #2, #5-#7, #31, #47, #50). */
#include <stdlib.h>

#include "check.h"
#include "proto/smtp_data.h"

static const struct smtp_data_limits lim = {.max_size = 1 << 20, .header_max = 4096, .hops_max = 49};

/* Feeds in as DATA in pieces of `step` octets; returns the verdict, or -1 if
 * the end was not found. *rest gets the octets after the end. */
static int run_dot(const char *in, size_t n, size_t step, const struct smtp_data_limits *l,
                   struct buf *msg, size_t *rest)
{
	struct smtp_data d;
	smtp_data_init(&d, l);
	size_t i = 0;
	bool done = false;
	while (i < n && !done) {
		size_t k = n - i < step ? n - i : step;
		size_t used = smtp_data_dot(&d, (const uint8_t *)in + i, k, &done);
		CHECK(used <= k);
		if (!done)
			CHECK_INT(used, k);
		i += used;
	}
	*rest = n - i;
	int v = done ? (int)smtp_data_finish(&d) : -1;
	if (msg) {
		buf_reset(msg);
		smtp_data_take(&d, msg);
	}
	smtp_data_free(&d);
	return v;
}

#define DOT(s, step, msg, rest) run_dot(s, sizeof(s) - 1, step, &lim, msg, rest)

TEST(plain_message_any_split)
{
	static const char in[] = "Subject: x\r\n\r\nline 1\r\n..dot\r\n.x\r\n\r\n.\r\nQUIT\r\n";
	struct buf m;
	buf_init(&m);
	for (size_t step = 1; step <= sizeof(in); step++) {
		size_t rest;
		CHECK_INT(DOT(in, step, &m, &rest), SMTP_DATA_OK);
		CHECK_MEM(m.p, m.len, "Subject: x\r\n\r\nline 1\r\n.dot\r\nx\r\n\r\n");
		CHECK_INT(rest, 6);
	}
	buf_free(&m);
}

TEST(empty_and_dot_space)
{
	struct buf m;
	size_t rest;
	buf_init(&m);
	CHECK_INT(DOT(".\r\n", 1, &m, &rest), SMTP_DATA_OK);
	CHECK_INT(m.len, 0);
	CHECK_INT(DOT(". \r\n.\r\n", 3, &m, &rest), SMTP_DATA_OK);
	CHECK_MEM(m.p, m.len, " \r\n");
	buf_free(&m);
}

TEST(smuggling_endings)
{
	/* badinput #1: none of these ends DATA; the real end then gives a rejection. */
	static const char *ends[] = {
		"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\n", "\n.\r", "\r.\r\n", "\r\n.\r",
	};
	for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
		char in[128];
		int n = snprintf(in, sizeof(in), "Subject: a\r\n\r\nbody%sMAIL FROM:<x@y>\r\nmore\r\n.\r\n", ends[e]);
		for (size_t step = 1; step <= 7; step += 3) {
			size_t rest;
			int v = run_dot(in, (size_t)n, step, &lim, NULL, &rest);
			if (v != SMTP_DATA_BARE_EOL || rest != 0)
				CHECK_FAIL("ending %zu step %zu: verdict %d rest %zu", e, step, v, rest);
		}
	}
	size_t rest;
	CHECK_INT(DOT("a\r\n\0.\r\nb\r\n.\r\n", 2, NULL, &rest), SMTP_DATA_NUL);
	CHECK_INT(rest, 0);
	/* A message with only the smuggled ending never completes. */
	CHECK_INT(DOT("body\n.\nQUIT\n", 1, NULL, &rest), -1);
}

TEST(bare_cr_lf_inside_lines)
{
	size_t rest;
	CHECK_INT(DOT("a\rb\r\n.\r\n", 1, NULL, &rest), SMTP_DATA_BARE_EOL);
	CHECK_INT(DOT("a\nb\r\n.\r\n", 1, NULL, &rest), SMTP_DATA_BARE_EOL);
	CHECK_INT(DOT("\n\r\n.\r\n", 1, NULL, &rest), SMTP_DATA_BARE_EOL);
	CHECK_INT(DOT("a\r\r\n.\r\n", 2, NULL, &rest), SMTP_DATA_BARE_EOL);
	CHECK_INT(DOT(".\rx\r\n.\r\n", 1, NULL, &rest), SMTP_DATA_BARE_EOL);
}

TEST(long_lines_byte_exact)
{
	/* badinput #5: 100 kB without a newline is stored as is. */
	size_t n = 100000;
	char *in = malloc(n + 8);
	memset(in, 'x', n);
	memcpy(in, "Subject: x\r\n\r\n", 14);
	memcpy(in + n, "\r\n.\r\n", 5);
	struct buf m;
	buf_init(&m);
	size_t rest;
	CHECK_INT(run_dot(in, n + 5, 4096, &lim, &m, &rest), SMTP_DATA_OK);
	CHECK_INT(m.len, n + 2);
	CHECK(m.len == n + 2 && memcmp(m.p, in, n + 2) == 0);
	buf_free(&m);
	free(in);
}

TEST(size_limit_reads_to_end)
{
	/* badinput #31: data past the limit is read and discarded to the end. */
	struct smtp_data_limits l = lim;
	l.max_size = 10;
	struct buf m;
	buf_init(&m);
	size_t rest;
	CHECK_INT(run_dot("0123456789\r\nabc\r\n.\r\nNOOP\r\n", 26, 3, &l, &m, &rest), SMTP_DATA_TOO_BIG);
	CHECK_INT(rest, 6);
	CHECK_INT(m.len, 0);
	CHECK_INT(run_dot("01234567\r\n.\r\n", 13, 3, &l, NULL, &rest), SMTP_DATA_OK);
	/* Too big wins over bare LF and NUL. */
	CHECK_INT(run_dot("\n\0" "0123456789abc\r\n.\r\n", 20, 5, &l, NULL, &rest), SMTP_DATA_TOO_BIG);
	/* The end is still found when CR LF straddles a read after the limit. */
	CHECK_INT(run_dot("0123456789abcdef\r\n.\r\n", 21, 1, &l, NULL, &rest), SMTP_DATA_TOO_BIG);
	CHECK_INT(rest, 0);
	buf_free(&m);
}

TEST(header_section)
{
	/* badinput #47 */
	struct smtp_data_limits l = lim;
	l.header_max = 64;
	size_t rest;
	char in[512];
	int n = snprintf(in, sizeof(in), "Subject: %0100d\r\n\r\nbody\r\n.\r\n", 0);
	CHECK_INT(run_dot(in, (size_t)n, 7, &l, NULL, &rest), SMTP_DATA_HEADER_BIG);
	/* A big body after a small header is fine. */
	n = snprintf(in, sizeof(in), "Subject: x\r\n\r\n%0300d\r\n.\r\n", 0);
	CHECK_INT(run_dot(in, (size_t)n, 7, &l, NULL, &rest), SMTP_DATA_OK);
	/* No blank line: the whole message is header. */
	n = snprintf(in, sizeof(in), "Subject: x\r\nX: %0100d\r\n.\r\n", 0);
	CHECK_INT(run_dot(in, (size_t)n, 7, &l, NULL, &rest), SMTP_DATA_HEADER_BIG);
}

static int hops(int count, const char *name, size_t step)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < count; i++)
		buf_printf(&b, "%s from x by y; date\r\n\tfolded Received: no\r\n", name);
	buf_puts(&b, "Subject: t\r\n\r\nReceived: in body\r\n.\r\n");
	size_t rest;
	int v = run_dot((const char *)b.p, b.len, step, &lim, NULL, &rest);
	buf_free(&b);
	return v;
}

TEST(received_hops)
{
	/* badinput #50: 50 or more Received headers is a loop. */
	CHECK_INT(hops(49, "Received:", 5), SMTP_DATA_OK);
	CHECK_INT(hops(50, "Received:", 5), SMTP_DATA_HOPS);
	CHECK_INT(hops(50, "rEcEiVeD:", 1), SMTP_DATA_HOPS);
	CHECK_INT(hops(50, "Received :", 3), SMTP_DATA_HOPS);
	CHECK_INT(hops(60, "Received-SPF:", 3), SMTP_DATA_OK);
	CHECK_INT(hops(60, "X-Received:", 3), SMTP_DATA_OK);
}

TEST(bdat_content)
{
	struct smtp_data d;
	smtp_data_init(&d, &lim);
	smtp_data_content(&d, (const uint8_t *)"Subject: a\r", 11);
	smtp_data_content(&d, (const uint8_t *)"\n\r\n.body\r\n", 10);
	CHECK_INT(smtp_data_finish(&d), SMTP_DATA_OK);
	struct buf m;
	buf_init(&m);
	smtp_data_take(&d, &m);
	CHECK_MEM(m.p, m.len, "Subject: a\r\n\r\n.body\r\n");
	smtp_data_free(&d);
	/* BDAT data ending in a lone CR is a bare CR. */
	smtp_data_init(&d, &lim);
	smtp_data_content(&d, (const uint8_t *)"a\r", 2);
	CHECK_INT(smtp_data_finish(&d), SMTP_DATA_BARE_EOL);
	smtp_data_free(&d);
	smtp_data_init(&d, &lim);
	smtp_data_content(&d, (const uint8_t *)"a\nb\r\n", 5);
	CHECK_INT(smtp_data_finish(&d), SMTP_DATA_BARE_EOL);
	smtp_data_free(&d);
	/* Size overflow checks. */
	smtp_data_init(&d, &lim);
	CHECK(!smtp_data_would_exceed(&d, 1 << 20));
	CHECK(smtp_data_would_exceed(&d, (1 << 20) + 1));
	CHECK(smtp_data_would_exceed(&d, UINT64_MAX));
	smtp_data_content(&d, (const uint8_t *)"abc", 3);
	CHECK(smtp_data_would_exceed(&d, (1 << 20) - 2));
	CHECK(!smtp_data_would_exceed(&d, (1 << 20) - 3));
	smtp_data_free(&d);
	buf_free(&m);
}

TEST(take_while_streaming)
{
	struct smtp_data d;
	bool done;
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	smtp_data_init(&d, &lim);
	smtp_data_dot(&d, (const uint8_t *)"part1\r\n", 7, &done);
	smtp_data_take(&d, &a);
	smtp_data_dot(&d, (const uint8_t *)"part2\r\n.\r\n", 10, &done);
	CHECK(done);
	CHECK_INT(smtp_data_finish(&d), SMTP_DATA_OK);
	smtp_data_take(&d, &b);
	CHECK_MEM(a.p, a.len, "part1\r\n");
	CHECK_MEM(b.p, b.len, "part2\r\n");
	smtp_data_take(&d, &a); /* appends nothing more */
	CHECK_MEM(a.p, a.len, "part1\r\n");
	smtp_data_free(&d);
	buf_free(&a);
	buf_free(&b);
}

TEST(verdict_texts)
{
	int code;
	CHECK_STR(smtp_data_verdict_reply(SMTP_DATA_BARE_EOL, &code),
	          "5.5.2 invalid bare \\r or \\n, may be smtp smuggling");
	CHECK_INT(code, 500);
	CHECK_STR(smtp_data_verdict_reply(SMTP_DATA_TOO_BIG, &code), "5.3.4 message too large");
	CHECK_INT(code, 552);
	CHECK_STR(smtp_data_verdict_reply(SMTP_DATA_HOPS, &code), "5.4.0 too many hops");
	CHECK_INT(code, 554);
}

TEST_MAIN()
