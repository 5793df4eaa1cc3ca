/* Tests for the RFC 5322 address-list parser and the submission From check
 * (smtp.md §13 step 2, badinput.md #49), with the examples of RFC 5322 §A.1. */
#include "check.h"

#include "core/xmalloc.h"
#include "proto/rfc5322_addr.h"

/* Parses value and checks "name|address" pairs joined by newlines. */
static void parse_ok(const char *value, unsigned flags, const char *want)
{
	struct rfc5322_addr_list l = {0};
	int rc = rfc5322_addr_list_parse(slice_str(value), flags, &l);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < l.n; i++)
		buf_printf(&b, "%s%s|%s", i ? "\n" : "", l.v[i].name, l.v[i].address);
	if (rc < 0)
		CHECK_FAIL("parse of [%s] failed: %d", value, rc);
	else
		CHECK_INT(rc, l.n);
	CHECK_STR(buf_cstr(&b), want);
	buf_free(&b);
	rfc5322_addr_list_free(&l);
}

static void parse_bad(const char *value, unsigned flags)
{
	struct rfc5322_addr_list l = {0};
	int rc = rfc5322_addr_list_parse(slice_str(value), flags, &l);
	if (rc >= 0)
		CHECK_FAIL("parse of [%s] succeeded, want error", value);
	CHECK_INT(l.n, 0);
	rfc5322_addr_list_free(&l);
}

TEST(rfc5322_appendix_a1)
{
	parse_ok(" John Doe <jdoe@machine.example>", 0, "John Doe|jdoe@machine.example");
	parse_ok(" Mary Smith <mary@example.net>", 0, "Mary Smith|mary@example.net");
	parse_ok(" \"Joe Q. Public\" <john.q.public@example.com>", 0,
	         "Joe Q. Public|john.q.public@example.com");
	parse_ok(" Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0,
	         "Mary Smith|mary@x.test\n|jdoe@example.org\nWho?|one@y.test");
	parse_ok(" <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 0,
	         "|boss@nil.test\nGiant; \"Big\" Box|sysservices@example.net");
	parse_ok(" A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", 0,
	         "Ed Jones|c@a.test\n|joe@where.test\nJohn|jdoe@one.test");
	parse_ok(" Undisclosed recipients:;", 0, "");
	/* §A.5: white space and comments. */
	parse_ok("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 0,
	         "Pete|pete@silly.test");
	parse_ok("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	         "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
	         0, "Chris Jones|c@public.example\n|joe@example.org\nJohn|jdoe@one.test");
}

TEST(obsolete_forms)
{
	/* obs-phrase with a dot, obs-route, empty list elements, obs-local-part. */
	parse_ok("John Q. Public <jqp@example.com>", 0, "John Q. Public|jqp@example.com");
	parse_ok("<@a.example,@b.example:user@d.example>", 0, "|user@d.example");
	parse_ok("a@b.example, , c@d.example,", 0, "|a@b.example\n|c@d.example");
	parse_ok("john . \"q d\" . public@example.com", 0, "|\"john.q d.public\"@example.com");
	parse_ok("x@[192.0.2.1]", 0, "|x@[192.0.2.1]");
	parse_ok("Mixed@EXAMPLE.Org", 0, "|Mixed@example.org");
}

TEST(quoted_localparts)
{
	parse_ok("\"john..doe\"@example.com", 0, "|\"john..doe\"@example.com");
	parse_ok("\"a b\\\"c\"@example.com", 0, "|\"a b\\\"c\"@example.com");
	parse_ok("\"a@b\"@example.com", 0, "|\"a@b\"@example.com");
	parse_ok("\"\\\\\"@example.com", 0, "|\"\\\\\"@example.com");
	parse_ok("\"plain\"@example.com", 0, "|plain@example.com");
	struct rfc5322_addr_list l = {0};
	CHECK_INT(rfc5322_addr_list_parse(slice_str("\"a b\"@x.org"), 0, &l), 1);
	CHECK_STR(l.v[0].localpart, "a b");
	CHECK_STR(l.v[0].domain, "x.org");
	rfc5322_addr_list_free(&l);
}

TEST(encoded_display_names)
{
	parse_ok("=?utf-8?q?Andr=C3=A9?= <a@b.example>", 0, "Andr\xc3\xa9|a@b.example");
	parse_ok("=?iso-8859-1?q?J=F8rn?= =?iso-8859-1?q?_S?= <j@x.example>", 0,
	         "J\xc3\xb8rn S|j@x.example");
	/* Raw UTF-8 in a name is kept; raw latin1 becomes U+FFFD. */
	parse_ok("Andr\xc3\xa9 <a@b.example>", 0, "Andr\xc3\xa9|a@b.example");
	parse_ok("Andr\xe9 <a@b.example>", 0, "Andr\xef\xbf\xbd|a@b.example");
}

TEST(utf8_addresses)
{
	parse_bad("j\xc3\xb8rn@example.com", 0);
	parse_bad("jorn@\xc3\xa9xample.com", 0);
	parse_ok("j\xc3\xb8rn@\xc3\xa9xample.com", RFC5322_ADDR_UTF8,
	         "|j\xc3\xb8rn@\xc3\xa9xample.com");
	parse_bad("j\xc0\xafrn@example.com", RFC5322_ADDR_UTF8);
	struct rfc5322_addr_list l = {0};
	CHECK_INT(rfc5322_addr_list_parse(slice_str("a@b.c, j\xc3\xb8@x.y"), RFC5322_ADDR_UTF8, &l), 2);
	CHECK(!l.v[0].utf8);
	CHECK(l.v[1].utf8);
	rfc5322_addr_list_free(&l);
}

TEST(bad_syntax)
{
	const char *bad[] = {
	    "", "a", "a@", "@b", "a@b..c", "a@b.", "a..b@c", ".a@c", "a.@c", "<a@b", "a@b>",
	    "<<a@b>>", "<a@@b>", "<>", "\"unterminated@x", "(open comment a@b", "a b@c",
	    "Name <a@b> junk", "a@b c@d", "g: a@b", "g: h: a@b;;", "a@[x", "a\x01@b",
	    "a@b\\c", "x@-\x7f", "a@[1 2]", "a@[a\\]]", ")", "a@b,, ;",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rfc5322_addr_list l = {0};
		int rc = rfc5322_addr_list_parse(slice_str(bad[i]), 0, &l);
		/* "" parses as an empty list; everything else must fail. */
		if (i == 0)
			CHECK_INT(rc, 0);
		else if (rc >= 0)
			CHECK_FAIL("[%s] parsed to %d addresses", bad[i], rc);
		rfc5322_addr_list_free(&l);
	}
	/* Group syntax is refused in mailbox lists. */
	parse_bad("g: a@b;", RFC5322_ADDR_NOGROUP);
}

TEST(too_long_and_too_many)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 256; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "@x.org");
	parse_bad(buf_cstr(&b), 0);
	buf_reset(&b);
	for (int i = 0; i < RFC5322_ADDR_MAX + 1; i++)
		buf_printf(&b, "%sa%d@x.org", i ? "," : "", i);
	struct rfc5322_addr_list l = {0};
	CHECK_INT(rfc5322_addr_list_parse(buf_slice(&b), 0, &l), RFC5322_ADDR_ETOOMANY);
	CHECK_INT(l.n, 0);
	rfc5322_addr_list_free(&l);
	buf_free(&b);
	/* Deeply nested comment: a counter, not recursion. */
	buf_init(&b);
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, '(');
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, ')');
	buf_puts(&b, "a@b.org");
	parse_ok(buf_cstr(&b), 0, "|a@b.org");
	buf_free(&b);
}

TEST(from_check)
{
	struct rfc5322_addr a;
	CHECK_INT(rfc5322_addr_from(slice_str("Subject: x\r\nFrom: Ann <ann@example.org>\r\n"), 0, &a), 0);
	CHECK_STR(a.name, "Ann");
	CHECK_STR(a.address, "ann@example.org");
	rfc5322_addr_free(&a);
	/* `From : x` is obsolete but valid. */
	CHECK_INT(rfc5322_addr_from(slice_str("From : b@example.org\r\n"), 0, &a), 0);
	rfc5322_addr_free(&a);
	CHECK_INT(rfc5322_addr_from(slice_str("Subject: x\r\n"), 0, &a), RFC5322_ADDR_ECOUNT);
	CHECK_INT(rfc5322_addr_from(slice_str("From: a@b.c, d@e.f\r\n"), 0, &a), RFC5322_ADDR_ECOUNT);
	CHECK_INT(rfc5322_addr_from(slice_str("From: a@b.c\r\nFrom: d@e.f\r\n"), 0, &a),
	          RFC5322_ADDR_ECOUNT);
	CHECK_INT(rfc5322_addr_from(slice_str("From: g: a@b.c;\r\n"), 0, &a), RFC5322_ADDR_ESYNTAX);
	CHECK_INT(rfc5322_addr_from(slice_str("From: a@\r\n"), 0, &a), RFC5322_ADDR_ESYNTAX);
	/* A syntax error after a good mailbox (the list had grown: no leak). */
	CHECK_INT(rfc5322_addr_from(slice_str("From: a@b.c, d@\r\n"), 0, &a), RFC5322_ADDR_ESYNTAX);
	CHECK_INT(rfc5322_addr_from(slice_str("From: a@b.c\r\nno colon\r\n"), 0, &a),
	          RFC5322_ADDR_ESYNTAX);
	CHECK_INT(rfc5322_addr_from(slice_str("From: j\xc3\xb8@b.c\r\n"), 0, &a), RFC5322_ADDR_ESYNTAX);
	CHECK_INT(rfc5322_addr_from(slice_str("From: j\xc3\xb8@b.c\r\n"), RFC5322_ADDR_UTF8, &a), 0);
	rfc5322_addr_free(&a);
	/* #49: 50 From headers. */
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 50; i++)
		buf_printf(&b, "From: u%d@example.org\r\n", i);
	CHECK_INT(rfc5322_addr_from(buf_slice(&b), 0, &a), RFC5322_ADDR_ECOUNT);
	buf_free(&b);
}

TEST(put_localpart)
{
	struct buf b;
	buf_init(&b);
	const char *in[] = {"a.b", "a..b", ".a", "a.", "a b", "", "q\"x", "b\\s", "caf\xc3\xa9"};
	const char *out[] = {"a.b", "\"a..b\"", "\".a\"", "\"a.\"", "\"a b\"", "\"\"", "\"q\\\"x\"",
	                     "\"b\\\\s\"", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		buf_reset(&b);
		rfc5322_addr_put_localpart(&b, in[i]);
		CHECK_STR(buf_cstr(&b), out[i]);
	}
	buf_free(&b);
}

TEST_MAIN()
