/* RFC 5321 paths (badinput #18-#26). */
#include <stdlib.h>

#include "check.h"
#include "proto/smtp_addr.h"

static int parse(const char *in, unsigned flags, struct smtp_addr *a, size_t *used)
{
	return smtp_addr_parse_path(slice_str(in), flags, a, used);
}

static int perr(const char *in, unsigned flags)
{
	struct smtp_addr a;
	size_t used;
	int r = parse(in, flags, &a, &used);
	smtp_addr_free(&a);
	return r;
}

/* Parses, checks success, and returns the formatted address in a static buffer. */
static const char *fmt(const char *in, unsigned flags)
{
	static char out[1024];
	struct smtp_addr a;
	size_t used;
	out[0] = 0;
	if (parse(in, flags, &a, &used) != 0)
		return "(error)";
	struct buf b;
	buf_init(&b);
	smtp_addr_format(&a, &b);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (const char *)b.p);
	buf_free(&b);
	smtp_addr_free(&a);
	return out;
}

TEST(simple_and_null)
{
	struct smtp_addr a;
	size_t used;
	CHECK_INT(parse("<User.Name+tag@Example.COM> SIZE=1", 0, &a, &used), 0);
	CHECK_INT(used, 27);
	CHECK_MEM(a.local, a.local_len, "User.Name+tag");
	CHECK_MEM(a.domain, a.domain_len, "Example.COM");
	CHECK(!a.null && !a.literal && !a.utf8 && !a.quoted);
	smtp_addr_free(&a);
	CHECK_INT(parse("<>", SMTP_ADDR_ALLOW_NULL, &a, &used), 0);
	CHECK(a.null);
	CHECK_INT(used, 2);
	smtp_addr_free(&a);
	CHECK_INT(perr("<>", 0), SMTP_ADDR_EBAD); /* RCPT TO:<> */
}

TEST(malformed_paths)
{
	/* badinput #19: framing errors vs bad addresses. */
	CHECK_INT(perr("a@b", 0), SMTP_ADDR_ESYNTAX);
	CHECK_INT(perr("<a@b", 0), SMTP_ADDR_ESYNTAX);
	CHECK_INT(perr("", 0), SMTP_ADDR_ESYNTAX);
	CHECK_INT(perr("<", 0), SMTP_ADDR_ESYNTAX);
	CHECK_INT(perr("<<a@b>>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<\"a@b>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@@b>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<@>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@b..c>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@.b>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@b.>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@-b.c>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@b-.c>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a b@c>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@b c>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<.a@b>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a.@b>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a..b@c>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<user>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a@b_c.d>", 0), SMTP_ADDR_EBAD);
	/* <a@b>> parses one path; the caller sees the trailing '>'. */
	struct smtp_addr a;
	size_t used;
	CHECK_INT(parse("<a@b>>", 0, &a, &used), 0);
	CHECK_INT(used, 5);
	smtp_addr_free(&a);
}

TEST(metacharacters_are_data)
{
	/* badinput #18: invalid syntax fails closed, valid quoted strings are kept verbatim. */
	CHECK_INT(perr("<;sleep 66;>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<${run{id}}@x>", 0), SMTP_ADDR_OK); /* '$', '{', '}' are atext */
	CHECK_INT(perr("<`id`@x>", 0), SMTP_ADDR_OK); /* backquote is atext */
	CHECK_INT(perr("<|cmd@x>", 0), SMTP_ADDR_OK); /* so is '|' */
	CHECK_INT(perr("</etc/passwd>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<a%n%s@x>", 0), SMTP_ADDR_OK);
	CHECK_STR(fmt("<\";sleep 66;\"@x.example>", 0), "\";sleep 66;\"@x.example");
	CHECK_STR(fmt("<\"${run{id}}\"@x.example>", 0), "${run{id}}@x.example");
	CHECK_STR(fmt("<\"a;b\"@x.example>", 0), "\"a;b\"@x.example");
}

TEST(quoted_localparts)
{
	/* badinput #20 */
	struct smtp_addr a;
	size_t used;
	CHECK_INT(parse("<\"a b\\\"c\"@Ex.org>", 0, &a, &used), 0);
	CHECK_MEM(a.local, a.local_len, "a b\"c");
	CHECK(a.quoted);
	smtp_addr_free(&a);
	CHECK_STR(fmt("<\"john..doe\"@example.org>", 0), "\"john..doe\"@example.org");
	CHECK_STR(fmt("<\"a b\\\"c\"@example.org>", 0), "\"a b\\\"c\"@example.org");
	CHECK_STR(fmt("<\"a@b\"@example.org>", 0), "\"a@b\"@example.org");
	CHECK_STR(fmt("<\"\\\\\"@example.org>", 0), "\"\\\\\"@example.org");
	CHECK_STR(fmt("<\"JohnDoe\"@example.org>", 0), "JohnDoe@example.org");
	CHECK_STR(fmt("<\"\"@example.org>", 0), "\"\"@example.org");
	CHECK_INT(perr("<\"a\rb\"@x>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<\"a\\\rb\"@x>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<\"a\\", 0), SMTP_ADDR_EBAD);
	/* "a@b"@c re-parses to the same address, never to a@b. */
	struct smtp_addr b;
	CHECK_INT(parse("<\"a@b\"@c.example>", 0, &a, &used), 0);
	struct buf f;
	buf_init(&f);
	buf_putc(&f, '<');
	smtp_addr_format(&a, &f);
	buf_putc(&f, '>');
	CHECK_INT(smtp_addr_parse_path(buf_slice(&f), 0, &b, &used), 0);
	CHECK(smtp_addr_same(&a, &b));
	CHECK_MEM(b.domain, b.domain_len, "c.example");
	buf_free(&f);
	smtp_addr_free(&a);
	smtp_addr_free(&b);
}

TEST(source_route)
{
	/* badinput #21 */
	CHECK_STR(fmt("<@a.example,@b.example:user@d.example>", 0), "user@d.example");
	CHECK_STR(fmt("<@a.example:user@d.example>", 0), "user@d.example");
	CHECK_INT(perr("<@a.example,user@d.example>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<@:user@d.example>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<@a.example", 0), SMTP_ADDR_ESYNTAX);
}

TEST(address_literals)
{
	/* badinput #22 */
	struct smtp_addr a;
	size_t used;
	CHECK_INT(parse("<u@[192.0.2.1]>", 0, &a, &used), 0);
	CHECK(a.literal);
	CHECK_MEM(a.domain, a.domain_len, "[192.0.2.1]");
	smtp_addr_free(&a);
	CHECK_INT(perr("<u@[IPv6:2001:db8::1]>", 0), 0);
	CHECK_INT(perr("<u@[ipv6:::ffff:192.0.2.1]>", 0), 0);
	CHECK_INT(perr("<u@[300.1.1.1]>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[IPv6:zz::]>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[192.0.2.1>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[Unknown:x]>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[1.2.3]>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[1.2.3.4.5]>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[0001.2.3.4]>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<u@[IPv6:1:2:3:4:5:6:7:8:9]>", 0), SMTP_ADDR_EBAD);
	CHECK(smtp_addr_literal_valid(SLICE_LIT("[127.0.0.1]")));
	CHECK(!smtp_addr_literal_valid(SLICE_LIT("[]")));
	CHECK(!smtp_addr_literal_valid(SLICE_LIT("[IPv6:]")));
}

TEST(lengths)
{
	/* badinput #23: 65..255 octets accepted, 256 refused; labels up to 63. */
	char in[1200];
	for (int n = 64; n < 256; n += 95) {
		int k = snprintf(in, sizeof(in), "<");
		for (int i = 0; i < n; i++)
			in[k++] = 'x';
		snprintf(in + k, sizeof(in) - k, "@example.org>");
		CHECK_INT(perr(in, 0), 0);
	}
	int k = snprintf(in, sizeof(in), "<");
	for (int i = 0; i < 255; i++)
		in[k++] = 'x';
	snprintf(in + k, sizeof(in) - k, "@example.org>");
	CHECK_INT(perr(in, 0), 0);
	k = snprintf(in, sizeof(in), "<");
	for (int i = 0; i < 256; i++)
		in[k++] = 'x';
	snprintf(in + k, sizeof(in) - k, "@example.org>");
	CHECK_INT(perr(in, 0), SMTP_ADDR_ELONG);
	/* quoted localpart of 257 octets on the wire */
	k = snprintf(in, sizeof(in), "<\"");
	for (int i = 0; i < 255; i++)
		in[k++] = 'q';
	snprintf(in + k, sizeof(in) - k, "\"@example.org>");
	CHECK_INT(perr(in, 0), SMTP_ADDR_ELONG);
	/* domain: 4 labels of 63 = 255 octets ok, one more octet too long */
	k = snprintf(in, sizeof(in), "<u@");
	for (int l = 0; l < 4; l++) {
		for (int i = 0; i < (l == 3 ? 62 : 63); i++)
			in[k++] = 'a';
		if (l < 3)
			in[k++] = '.';
	}
	snprintf(in + k, sizeof(in) - k, ">");
	CHECK_INT(perr(in, 0), 0);
	snprintf(in + k, sizeof(in) - k, ".b>");
	CHECK_INT(perr(in, 0), SMTP_ADDR_ELONG);
	k = snprintf(in, sizeof(in), "<u@");
	for (int i = 0; i < 64; i++)
		in[k++] = 'a';
	snprintf(in + k, sizeof(in) - k, ".org>");
	CHECK_INT(perr(in, 0), SMTP_ADDR_ELONG);
}

TEST(postmaster)
{
	/* badinput #25 */
	struct smtp_addr a;
	size_t used;
	CHECK_INT(parse("<PostMaster>", SMTP_ADDR_ALLOW_POSTMASTER, &a, &used), 0);
	CHECK_MEM(a.local, a.local_len, "PostMaster");
	CHECK_INT(a.domain_len, 0);
	smtp_addr_free(&a);
	CHECK_INT(perr("<postmaster>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<\"postmaster\">", SMTP_ADDR_ALLOW_POSTMASTER), SMTP_ADDR_EBAD);
	CHECK_STR(fmt("<postmaster>", SMTP_ADDR_ALLOW_POSTMASTER), "postmaster");
}

TEST(utf8_addresses)
{
	/* badinput #26: flagged, validated (no controls, no overlongs). */
	struct smtp_addr a;
	size_t used;
	CHECK_INT(parse("<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", 0, &a, &used), 0);
	CHECK(a.utf8);
	smtp_addr_free(&a);
	CHECK_INT(parse("<jorg@b\xc3\xbc" "cher.example>", 0, &a, &used), 0);
	CHECK(a.utf8);
	smtp_addr_free(&a);
	CHECK_INT(perr("<j\xc0\xafrg@x.example>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<j\xc2\x85rg@x.example>", 0), SMTP_ADDR_EBAD); /* C1 NEL */
	CHECK_INT(perr("<j\xed\xa0\x80@x.example>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<\"j\xc2\x85\"@x.example>", 0), SMTP_ADDR_EBAD);
	CHECK_INT(perr("<j@x\xc2\x85y.example>", 0), SMTP_ADDR_EBAD);
	CHECK(!smtp_addr_domain_valid(SLICE_LIT("b\xc3\xbc" "cher.example"), SMTP_ADDR_ASCII_ONLY));
}

TEST(same_and_copy)
{
	struct smtp_addr a, b, c;
	size_t used;
	CHECK_INT(parse("<Joe@Example.ORG>", 0, &a, &used), 0);
	CHECK_INT(parse("<Joe@example.org>", 0, &b, &used), 0);
	CHECK(smtp_addr_same(&a, &b));
	smtp_addr_free(&b);
	CHECK_INT(parse("<joe@example.org>", 0, &b, &used), 0);
	CHECK(!smtp_addr_same(&a, &b)); /* localparts are byte-exact */
	smtp_addr_copy(&c, &a);
	CHECK(smtp_addr_same(&a, &c));
	smtp_addr_free(&a);
	smtp_addr_free(&b);
	smtp_addr_free(&c);
}

TEST(domain_validation)
{
	CHECK(smtp_addr_domain_valid(SLICE_LIT("mail.example.org"), 0));
	CHECK(smtp_addr_domain_valid(SLICE_LIT("localhost"), 0));
	CHECK(!smtp_addr_domain_valid(SLICE_LIT("host_1.example"), 0));
	CHECK(smtp_addr_domain_valid(SLICE_LIT("host_1.example"), SMTP_ADDR_ALLOW_UNDERSCORE));
	CHECK(!smtp_addr_domain_valid(SLICE_LIT(""), 0));
	CHECK(!smtp_addr_domain_valid(SLICE_LIT("a..b"), 0));
	CHECK(!smtp_addr_domain_valid(SLICE_LIT("a.b."), 0));
	CHECK(!smtp_addr_domain_valid(SLICE_LIT("a b"), 0));
}

TEST_MAIN()
