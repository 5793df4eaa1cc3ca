/* Tests for the header section parser: split, iteration, unfolding, counting,
 * message IDs, UTF-8, and the header bombs of badinput.md #47, #49 and #50. */
#include "check.h"

#include "core/xmalloc.h"
#include "proto/rfc5322.h"

static struct slice S(const char *s)
{
	return slice_str(s);
}

TEST(split_basic)
{
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(S("A: 1\r\nB: 2\r\n\r\nbody\r\n"), &sp), 0);
	CHECK_MEM(sp.header.p, sp.header.len, "A: 1\r\nB: 2\r\n");
	CHECK_MEM(sp.body.p, sp.body.len, "body\r\n");
	CHECK(sp.has_sep);
}

TEST(split_no_body)
{
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(S("A: 1\r\nB: 2\r\n"), &sp), 0);
	CHECK_MEM(sp.header.p, sp.header.len, "A: 1\r\nB: 2\r\n");
	CHECK_INT(sp.body.len, 0);
	CHECK(!sp.has_sep);
	/* Separator at the very end: empty body. */
	CHECK_INT(rfc5322_split(S("A: 1\r\n\r\n"), &sp), 0);
	CHECK(sp.has_sep);
	CHECK_INT(sp.body.len, 0);
	/* Last line without line ending. */
	CHECK_INT(rfc5322_split(S("A: 1"), &sp), 0);
	CHECK_MEM(sp.header.p, sp.header.len, "A: 1");
}

TEST(split_empty_header_and_message)
{
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(S("\r\nonly body"), &sp), 0);
	CHECK_INT(sp.header.len, 0);
	CHECK_MEM(sp.body.p, sp.body.len, "only body");
	CHECK_INT(rfc5322_split(S(""), &sp), 0);
	CHECK_INT(sp.header.len, 0);
	CHECK(!sp.has_sep);
	/* LF-only line endings are accepted too. */
	CHECK_INT(rfc5322_split(S("A: 1\nB: 2\n\nbody"), &sp), 0);
	CHECK_MEM(sp.header.p, sp.header.len, "A: 1\nB: 2\n");
	CHECK_MEM(sp.body.p, sp.body.len, "body");
}

/* #47: one 10 MB header line, and a 10 MB message without any line ending. */
TEST(split_bomb_one_huge_header)
{
	size_t n = 10 * 1024 * 1024;
	char *m = xmalloc(n);
	memcpy(m, "X-Big: ", 7);
	memset(m + 7, 'a', n - 7 - 4);
	memcpy(m + n - 4, "\r\n\r\n", 4);
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(slice_of(m, n), &sp), RFC5322_ETOOLARGE);
	memset(m, 'a', n);
	CHECK_INT(rfc5322_split(slice_of(m, n), &sp), RFC5322_ETOOLARGE);
	free(m);
}

TEST(split_cap_boundary)
{
	/* A header section of exactly RFC5322_HEADER_MAX bytes is fine, one more is not. */
	size_t hn = RFC5322_HEADER_MAX;
	char *m = xmalloc(hn + 1 + 4);
	memcpy(m, "X: ", 3);
	memset(m + 3, 'b', hn - 3 - 2);
	memcpy(m + hn - 2, "\r\n\r\nx", 5);
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(slice_of(m, hn + 3), &sp), 0);
	CHECK_INT(sp.header.len, hn);
	CHECK_MEM(sp.body.p, sp.body.len, "x");
	memcpy(m + hn - 2, "b\r\n\r\n", 5);
	CHECK_INT(rfc5322_split(slice_of(m, hn + 3), &sp), RFC5322_ETOOLARGE);
	/* Without an empty line, a message of exactly the cap is all header. */
	memset(m, 'c', hn);
	CHECK_INT(rfc5322_split(slice_of(m, hn), &sp), 0);
	CHECK_INT(rfc5322_split(slice_of(m, hn + 1), &sp), RFC5322_ETOOLARGE);
	free(m);
}

TEST(iter_fields)
{
	struct slice h = S("Subject : hello\r\n"
	                   "From: a@b\r\n"
	                   "To: x@y,\r\n\tz@w\r\n"
	                   "no colon here\r\n"
	                   "X-8bit: caf\xc3\xa9\r\n");
	struct rfc5322_iter it;
	struct rfc5322_field f;
	rfc5322_iter_init(&it, h);
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK_MEM(f.name.p, f.name.len, "Subject");
	CHECK_MEM(f.value.p, f.value.len, " hello");
	CHECK(!f.malformed);
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK_MEM(f.raw.p, f.raw.len, "From: a@b\r\n");
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK_MEM(f.name.p, f.name.len, "To");
	CHECK_MEM(f.value.p, f.value.len, " x@y,\r\n\tz@w");
	CHECK_MEM(f.raw.p, f.raw.len, "To: x@y,\r\n\tz@w\r\n");
	struct buf b;
	buf_init(&b);
	rfc5322_unfold(f.value, false, &b);
	CHECK_MEM(b.p, b.len, " x@y,\tz@w");
	buf_reset(&b);
	rfc5322_unfold(f.value, true, &b);
	CHECK_MEM(b.p, b.len, "x@y,\tz@w");
	buf_free(&b);
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK(f.malformed);
	CHECK_MEM(f.name.p, f.name.len, "no colon here");
	CHECK_INT(f.value.len, 0);
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK(!f.malformed);
	CHECK_MEM(f.value.p, f.value.len, " caf\xc3\xa9");
	CHECK(!rfc5322_iter_next(&it, &f));
}

TEST(iter_odd_lines)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	/* Continuation lines before any field; 8-bit name; empty name; no final CRLF. */
	rfc5322_iter_init(&it, S(" lead\r\n\tmore\r\nN\xe9me: v\r\n: empty\r\nLast: x"));
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK(f.malformed);
	CHECK_MEM(f.raw.p, f.raw.len, " lead\r\n\tmore\r\n");
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK(f.malformed);
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK(f.malformed);
	CHECK_INT(f.name.len, 0);
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK(!f.malformed);
	CHECK_MEM(f.value.p, f.value.len, " x");
	CHECK(!rfc5322_iter_next(&it, &f));
	/* obs-fold: a fold line with only whitespace, and LF endings. */
	rfc5322_iter_init(&it, S("Subject: a\n \n b\n"));
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK_MEM(f.value.p, f.value.len, " a\n \n b");
	struct buf b;
	buf_init(&b);
	rfc5322_unfold(f.value, true, &b);
	CHECK_MEM(b.p, b.len, "a  b");
	buf_free(&b);
}

TEST(count_find)
{
	struct slice h = S("Received: a\r\nreceived: b\r\nRECEIVED : c\r\nX: y\r\nReceived-SPF: p\r\n");
	CHECK_INT(rfc5322_count(h, "Received"), 3);
	CHECK_INT(rfc5322_count(h, "Return-Path"), 0);
	struct rfc5322_field f;
	CHECK(rfc5322_find(h, "x", &f));
	CHECK_MEM(f.value.p, f.value.len, " y");
	CHECK(!rfc5322_find(h, "Return-Path", &f));
}

/* #50: the hop count of a message with 50 Received headers. */
TEST(count_received_hops)
{
	struct buf m;
	buf_init(&m);
	for (int i = 0; i < 50; i++)
		buf_printf(&m, "Received: from h%d by x; Tue, 24 Nov 2026 22:44:47 +0000\r\n", i);
	buf_puts(&m, "Subject: loop\r\n\r\nbody\r\n");
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(buf_slice(&m), &sp), 0);
	CHECK_INT(rfc5322_count(sp.header, "Received"), 50);
	buf_free(&m);
}

/* #47: 100000 header lines and 1000000 folded lines: linear and bounded. */
TEST(bomb_many_lines)
{
	struct buf m;
	buf_init(&m);
	for (int i = 0; i < 100000; i++)
		buf_puts(&m, "X: y\r\n");
	buf_puts(&m, "\r\nbody");
	struct rfc5322_split sp;
	CHECK_INT(rfc5322_split(buf_slice(&m), &sp), 0);
	size_t n = 0;
	struct rfc5322_iter it;
	struct rfc5322_field f;
	rfc5322_iter_init(&it, sp.header);
	while (rfc5322_iter_next(&it, &f))
		n++;
	CHECK_INT(n, 100000);
	CHECK_INT(rfc5322_count(sp.header, "x"), 100000);

	buf_reset(&m);
	buf_puts(&m, "Subject: a\r\n");
	for (int i = 0; i < 1000000; i++)
		buf_puts(&m, " b\r\n");
	buf_puts(&m, "\r\nbody");
	CHECK_INT(rfc5322_split(buf_slice(&m), &sp), RFC5322_ETOOLARGE);
	/* The iterator itself is linear even on an over-long section. */
	rfc5322_iter_init(&it, buf_slice(&m));
	CHECK(rfc5322_iter_next(&it, &f));
	CHECK_INT(f.raw.len, 12 + 4 * 1000000);
	struct buf u;
	buf_init(&u);
	rfc5322_unfold(f.value, true, &u);
	CHECK_INT(u.len, 1 + 2 * 1000000);
	buf_free(&u);
	buf_free(&m);
}

/* #49: 50 From headers are all seen, nothing is rewritten. */
TEST(fifty_from)
{
	struct buf m;
	buf_init(&m);
	for (int i = 0; i < 50; i++)
		buf_printf(&m, "From: u%d@example.org\r\n", i);
	CHECK_INT(rfc5322_count(buf_slice(&m), "From"), 50);
	buf_free(&m);
}

TEST(msgids)
{
	struct slice v = S(" <a@b> (comment <no@no>) <c@d>\r\n\t<bad id@x> <e@f> junk <> <<g@h>");
	size_t off = 0;
	struct slice id;
	const char *want[] = {"<a@b>", "<c@d>", "<e@f>", "<g@h>"};
	for (int i = 0; i < 4; i++) {
		CHECK(rfc5322_msgid_next(v, &off, &id));
		CHECK_MEM(id.p, id.len, want[i]);
	}
	CHECK(!rfc5322_msgid_next(v, &off, &id));
	/* A long run of '<' with one '>' at the end finds the ID and stays linear. */
	size_t n = 1000000;
	char *s = xmalloc(n);
	memset(s, '<', n);
	memcpy(s + n - 4, "x@y>", 4);
	off = 0;
	CHECK(rfc5322_msgid_next(slice_of(s, n), &off, &id));
	CHECK_MEM(id.p, id.len, "<x@y>");
	free(s);
}

TEST(utf8)
{
	CHECK(rfc5322_utf8_valid(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
	CHECK(!rfc5322_utf8_valid(S("\xc0\xaf")));         /* overlong */
	CHECK(!rfc5322_utf8_valid(S("\xed\xa0\x80")));     /* surrogate */
	CHECK(!rfc5322_utf8_valid(S("\xe2\x82")));         /* truncated */
	CHECK(!rfc5322_utf8_valid(S("\xf5\x80\x80\x80"))); /* above U+10FFFF */
	CHECK(!rfc5322_utf8_valid(S("\x80")));
	struct buf b;
	buf_init(&b);
	rfc5322_utf8_put(&b, 0xe9);
	rfc5322_utf8_put(&b, 0x20ac);
	rfc5322_utf8_put(&b, 0x1f600);
	CHECK_MEM(b.p, b.len, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	buf_free(&b);
}

static int64_t date(const char *s)
{
	int64_t ms = -1;
	return rfc5322_date_parse(slice_str(s), &ms) == 0 ? ms : -1;
}

TEST(dates)
{
	int64_t want = 1795560287000LL; /* Tue, 24 Nov 2026 22:44:47 +0000 */
	CHECK_INT(date("Tue, 24 Nov 2026 22:44:47 +0000"), want);
	CHECK_INT(date(" 24 Nov 2026 22:44:47 +0000"), want);
	CHECK_INT(date("Wed, 25 Nov 2026 00:14:47 +0130"), want);
	CHECK_INT(date("Tue, 24 Nov 2026 17:44:47 EST"), want);
	CHECK_INT(date("Tue, 24 nov 26 22:44:47 GMT (comment)"), want);
	CHECK_INT(date("Tue,\r\n 24 Nov 2026 22:44:47 Z"), want);
	CHECK_INT(date("24 Nov 2026 22:44 +0000"), want - 47000);
	CHECK_INT(date("1 Jan 1970 00:00:00 +0000"), 0);
	CHECK_INT(date("29 Feb 2024 00:00:00 +0000"), 1709164800000LL);
	CHECK_INT(date("29 Feb 2023 00:00:00 +0000"), -1);
	CHECK_INT(date("31 Apr 2026 00:00:00 +0000"), -1);
	CHECK_INT(date("24 Nov 2026 24:00:00 +0000"), -1);
	CHECK_INT(date("24 Nov 2026 22:44:47"), -1);
	CHECK_INT(date("24 Nov 2026 22:44:47 +0000 junk"), -1);
	CHECK_INT(date("24 Foo 2026 22:44:47 +0000"), -1);
	CHECK_INT(date("2026-11-24T22:44:47Z"), -1);
	CHECK_INT(date("24 Nov 99999999999999 22:44:47 +0000"), -1);
	CHECK_INT(date("24 Nov 999999999 22:44:47 +0000"), -1);
	CHECK_INT(date("31 Dec 9999 23:59:60 -2359"), 253402387140000LL);
	CHECK_INT(date(""), -1);
}

TEST_MAIN()
