/* Tests for Authentication-Results composition (RFC 8601): the exact field
 * for a typical MX evaluation, quoting and escaping of hostile values,
 * folding, the "none" form, and recognising our own authserv-id. */
#include "check.h"

#include "proto/authres.h"

TEST(typical_field)
{
	struct dkim_result d = {.status = DKIM_PASS, .key_bits = 2048, .l = -1};
	snprintf(d.domain, sizeof d.domain, "example.org");
	snprintf(d.selector, sizeof d.selector, "sel");
	snprintf(d.auid, sizeof d.auid, "@example.org");
	snprintf(d.algo, sizeof d.algo, "rsa-sha256");
	snprintf(d.b_prefix, sizeof d.b_prefix, "AbCdEfGh+/12");
	struct dkim_result bad = {.status = DKIM_PERMERROR, .reason = "bad tag list", .l = -1};
	struct dmarc_outcome o = {.status = DMARC_PASS, .record_found = true, .policy = DMARC_POLICY_REJECT};
	snprintf(o.from_domain, sizeof o.from_domain, "example.org");
	struct authres ar;
	authres_init(&ar, "mx.example.com");
	authres_add_iprev(&ar, "pass", "192.0.2.7", "mail.example.org");
	authres_add_spf(&ar, SPF_PASS, "bounce@example.org", "mail.example.org", NULL);
	authres_add_dkim(&ar, &d);
	authres_add_dkim(&ar, &bad);
	authres_add_dmarc(&ar, &o);
	struct buf out;
	buf_init(&out);
	authres_finish(&ar, &out);
	CHECK_MEM(out.p, out.len,
	          "Authentication-Results: mx.example.com;\r\n"
	          "\tiprev=pass (mail.example.org) policy.iprev=192.0.2.7;\r\n"
	          "\tspf=pass smtp.mailfrom=bounce@example.org;\r\n"
	          "\tdkim=pass (2048-bit rsa key) header.d=example.org header.s=sel\r\n"
	          "\theader.i=@example.org header.a=rsa-sha256 header.b=\"AbCdEfGh+/12\";\r\n"
	          "\tdkim=permerror (bad tag list);\r\n"
	          "\tdmarc=pass (p=reject dis=none) header.from=example.org\r\n");
	buf_free(&out);
}

TEST(none_and_helo)
{
	struct authres ar;
	struct buf out;
	buf_init(&out);
	authres_init(&ar, "mx.example.com");
	authres_finish(&ar, &out);
	CHECK_MEM(out.p, out.len, "Authentication-Results: mx.example.com; none\r\n");
	buf_reset(&out);
	authres_init(&ar, "mx.example.com");
	authres_add_spf(&ar, SPF_SOFTFAIL, "", "helo.example.net", "matched ~all");
	authres_finish(&ar, &out);
	CHECK_MEM(out.p, out.len,
	          "Authentication-Results: mx.example.com;\r\n\tspf=softfail (matched ~all) smtp.helo=helo.example.net\r\n");
	buf_free(&out);
}

/* Values from the network are quoted; comments escaped; l= noted; lines folded. */
TEST(hostile_values_and_l)
{
	struct dkim_result d = {.status = DKIM_PASS, .key_bits = 256, .l = 10, .body_len = 500};
	snprintf(d.domain, sizeof d.domain, "example.org");
	snprintf(d.algo, sizeof d.algo, "ed25519-sha256");
	struct authres ar;
	authres_init(&ar, "mx.example.com");
	authres_add_dkim(&ar, &d);
	authres_add_spf(&ar, SPF_FAIL, "\"a b\"@x.example", NULL, "evil) (comment\\ \r\n");
	const struct authres_prop p = {"smtp", "x", "v;al\"ue"};
	authres_add(&ar, "x-test", "pass", NULL, &p, 1);
	struct buf out;
	buf_init(&out);
	authres_finish(&ar, &out);
	buf_cstr(&out);
	CHECK(strstr((char *)out.p, "dkim=pass\r\n\t(256-bit ed25519 key; body signed only up to l=10 of 500 octets)"));
	CHECK(strstr((char *)out.p, "(evil\\) \\(comment\\\\ )"));
	CHECK(strstr((char *)out.p, "smtp.mailfrom=\"\\\"a b\\\"@x.example\""));
	CHECK(strstr((char *)out.p, "smtp.x=\"v;al\\\"ue\""));
	/* no line longer than 78 + CRLF */
	const char *line = (const char *)out.p;
	for (const char *nl; (nl = strstr(line, "\r\n")); line = nl + 2)
		CHECK(nl - line <= 78);
	buf_free(&out);
}

TEST(is_ours)
{
	CHECK(authres_is_ours(SLICE_LIT(" mx.example.com; spf=pass"), "mx.example.com"));
	CHECK(authres_is_ours(SLICE_LIT(" (c) MX.Example.Com 1; none"), "mx.example.com"));
	CHECK(authres_is_ours(SLICE_LIT("\r\n\t\"mx.example.com\"; none"), "mx.example.com"));
	CHECK(!authres_is_ours(SLICE_LIT(" mx.example.com.evil; none"), "mx.example.com"));
	CHECK(!authres_is_ours(SLICE_LIT(" other.example; none"), "mx.example.com"));
	CHECK(!authres_is_ours(SLICE_LIT(" (unterminated"), "mx.example.com"));
	CHECK(!authres_is_ours(SLICE_LIT(""), "mx.example.com"));
}

TEST_MAIN()
