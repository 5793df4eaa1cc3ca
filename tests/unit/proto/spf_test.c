/* Tests for the SPF engine: the RFC 7208 Appendix A zone and its simple
 * examples as a table of (record, client IP, result), include/redirect/exp
 * semantics, the §7.4 macro examples, syntax errors, and the DoS limits of
 * §4.6.4 / badinput.md #52. DNS answers come from a fixed lookup table. */
#include "check.h"

#include "core/xmalloc.h"
#include "mailauth_testdns.h"
#include "proto/spf.h"

/* RFC 7208 Appendix A zone (example.com's TXT is set per case). */
#define RFC7208_ZONE \
	{MAILAUTH_DNS_MX, "example.com", {"mail-a.example.com", "mail-b.example.com"}}, \
	{MAILAUTH_DNS_A, "example.com", {"192.0.2.10", "192.0.2.11"}}, \
	{MAILAUTH_DNS_A, "amy.example.com", {"192.0.2.65"}}, \
	{MAILAUTH_DNS_A, "bob.example.com", {"192.0.2.66"}}, \
	{MAILAUTH_DNS_A, "mail-a.example.com", {"192.0.2.129"}}, \
	{MAILAUTH_DNS_A, "mail-b.example.com", {"192.0.2.130"}}, \
	{MAILAUTH_DNS_MX, "example.org", {"mail-c.example.org"}}, \
	{MAILAUTH_DNS_A, "mail-c.example.org", {"192.0.2.140"}}, \
	{MAILAUTH_DNS_PTR, "10.2.0.192.in-addr.arpa", {"example.com"}}, \
	{MAILAUTH_DNS_PTR, "11.2.0.192.in-addr.arpa", {"example.com"}}, \
	{MAILAUTH_DNS_PTR, "65.2.0.192.in-addr.arpa", {"amy.example.com"}}, \
	{MAILAUTH_DNS_PTR, "66.2.0.192.in-addr.arpa", {"bob.example.com"}}, \
	{MAILAUTH_DNS_PTR, "129.2.0.192.in-addr.arpa", {"mail-a.example.com"}}, \
	{MAILAUTH_DNS_PTR, "130.2.0.192.in-addr.arpa", {"mail-b.example.com"}}, \
	{MAILAUTH_DNS_PTR, "140.2.0.192.in-addr.arpa", {"mail-c.example.org"}}

/* Most DNS round trips any case needs. */
#define SPF_TEST_STEPS_MAX 200

struct spf_outcome {
	enum spf_result r;
	unsigned queries;
	char reason[64], mech[64], exp[256];
};

static struct spf_outcome run(const struct testdns_rr *dns, const char *ip, const char *domain, const char *sender)
{
	struct spf_request req = {.domain = domain, .sender = sender, .helo = "helo.example.net",
	                          .receiver = "mx.example.com", .now = 1700000000};
	ASSERT(spf_ip_parse(ip, &req.ip) == 0);
	struct spf_eval *ev = spf_eval_new(&req);
	struct mailauth_dns_query q;
	struct mailauth_dns_answer a;
	struct testdns_state st = {0};
	int rc = spf_eval_start(ev, &q);
	for (int i = 0; rc == MAILAUTH_STEP_DNS && i < SPF_TEST_STEPS_MAX; i++) {
		ASSERT(strlen(q.name) <= SPF_DOMAIN_MAX);
		testdns_answer(dns, &q, &st, &a);
		rc = spf_eval_answer(ev, &a, &q);
	}
	ASSERT(rc == MAILAUTH_STEP_DONE);
	struct spf_outcome o = {spf_eval_result(ev), spf_eval_queries(ev)};
	snprintf(o.reason, sizeof o.reason, "%s", spf_eval_reason(ev) ? spf_eval_reason(ev) : "");
	snprintf(o.mech, sizeof o.mech, "%s", spf_eval_mechanism(ev));
	snprintf(o.exp, sizeof o.exp, "%s", spf_eval_explanation(ev) ? spf_eval_explanation(ev) : "");
	spf_eval_free(ev);
	return o;
}

/* RFC 7208 Appendix A.1: each record at example.com against the client IPs.
 * want[] is indexed like ips[]: P pass, F fail. */
static const char *const a1_ips[] = {"192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.66",
                                     "192.0.2.129", "192.0.2.130", "192.0.2.131", "192.0.2.140", "10.0.0.1"};
static const struct {
	const char *record;
	const char *want;
} a1_cases[] = {
	{"v=spf1 +all", "PPPPPPPPP"},
	{"v=spf1 a -all", "PPFFFFFFF"},
	{"v=spf1 a:example.org -all", "FFFFFFFFF"},
	{"v=spf1 mx -all", "FFFFPPFFF"},
	{"v=spf1 mx:example.org -all", "FFFFFFFPF"},
	{"v=spf1 mx mx:example.org -all", "FFFFPPFPF"},
	{"v=spf1 mx/30 mx:example.org/30 -all", "FFFFPPPPF"},
	{"v=spf1 ptr -all", "PPPPPPFFF"},
	{"v=spf1 ip4:192.0.2.128/28 -all", "FFFFPPPPF"},
};

TEST(rfc7208_appendix_a1)
{
	for (size_t c = 0; c < sizeof a1_cases / sizeof a1_cases[0]; c++) {
		const struct testdns_rr dns[] = {RFC7208_ZONE, {MAILAUTH_DNS_TXT, "example.com", {a1_cases[c].record}}, {0}};
		for (size_t i = 0; i < sizeof a1_ips / sizeof a1_ips[0]; i++) {
			struct spf_outcome o = run(dns, a1_ips[i], "example.com", "user@example.com");
			enum spf_result want = a1_cases[c].want[i] == 'P' ? SPF_PASS : SPF_FAIL;
			if (o.r != want)
				CHECK_FAIL("%s from %s: %s, want %s", a1_cases[c].record, a1_ips[i], spf_result_name(o.r),
				           spf_result_name(want));
		}
	}
}

TEST(include_redirect_exp)
{
	const struct testdns_rr dns[] = {
		RFC7208_ZONE,
		{MAILAUTH_DNS_TXT, "example.com", {"v=spf1 -include:example.org ?include:example.net mx -all exp=why.%{d}"}},
		{MAILAUTH_DNS_TXT, "example.org", {"v=spf1 mx ~all"}},
		{MAILAUTH_DNS_TXT, "example.net", {"v=spf1 ip6:2001:db8::/32 -all exp=never.example.net"}},
		{MAILAUTH_DNS_TXT, "why.example.com", {"%{i} is not one of %{d}'s servers (%{S}, %{c}, %{r}, %{t})"}},
		{MAILAUTH_DNS_TXT, "la.example.com", {"v=spf1 redirect=example.com"}},
		{MAILAUTH_DNS_TXT, "txt.example.com", {"not spf", "v=spf1 a:example.org include:nospf.example.com"}},
		{MAILAUTH_DNS_TXT, "two.example.com", {"v=spf1 +all", "v=spf1 -all"}},
		{MAILAUTH_DNS_TXT, "tmp.example.com", {"v=spf1 include:down.example.com"}},
		{MAILAUTH_DNS_TXT, "down.example.com", {0}, MAILAUTH_DNS_TEMPFAIL},
		{MAILAUTH_DNS_TXT, "nxredir.example.com", {"v=spf1 redirect=nowhere.example.com"}},
		{0},
	};
	struct spf_outcome o = run(dns, "192.0.2.140", "example.com", "a@example.com");
	CHECK_INT(o.r, SPF_FAIL);
	CHECK_STR(o.mech, "-include:example.org");
	CHECK_STR(o.exp, "192.0.2.140 is not one of example.com's servers (a%40example.com, 192.0.2.140, mx.example.com, "
	                 "1700000000)");
	o = run(dns, "2001:db8::1", "example.com", "a@example.com");
	CHECK_INT(o.r, SPF_NEUTRAL);
	CHECK_STR(o.mech, "?include:example.net");
	CHECK_STR(o.exp, "");
	o = run(dns, "192.0.2.129", "example.com", "a@example.com");
	CHECK_INT(o.r, SPF_PASS);
	o = run(dns, "192.0.2.129", "la.example.com", "a@la.example.com"); /* redirect passes the result through */
	CHECK_INT(o.r, SPF_PASS);
	o = run(dns, "192.0.2.200", "la.example.com", "a@la.example.com");
	CHECK_INT(o.r, SPF_FAIL);
	CHECK_STR(o.exp, "192.0.2.200 is not one of example.com's servers (a%40la.example.com, 192.0.2.200, "
	                 "mx.example.com, 1700000000)");
	o = run(dns, "192.0.2.200", "txt.example.com", "a@txt.example.com");
	CHECK_INT(o.r, SPF_PERMERROR);
	CHECK_STR(o.reason, "include of a domain without SPF");
	o = run(dns, "192.0.2.1", "two.example.com", "a@two.example.com");
	CHECK_INT(o.r, SPF_PERMERROR);
	o = run(dns, "192.0.2.1", "tmp.example.com", "a@tmp.example.com");
	CHECK_INT(o.r, SPF_TEMPERROR);
	o = run(dns, "192.0.2.1", "nxredir.example.com", "a@nxredir.example.com");
	CHECK_INT(o.r, SPF_PERMERROR);
	o = run(dns, "192.0.2.1", "nothing.example.com", "a@nothing.example.com");
	CHECK_INT(o.r, SPF_NONE);
	o = run(dns, "192.0.2.1", "localhost", "a@localhost");
	CHECK_INT(o.r, SPF_NONE);
	CHECK_INT(o.queries, 0);
	o = run(dns, "192.0.2.1", "example..com", "a@x");
	CHECK_INT(o.r, SPF_NONE);
}

static void expand_is(const char *in, const char *ip, bool exp, const char *want)
{
	struct spf_ip a;
	ASSERT(spf_ip_parse(ip, &a) == 0);
	struct spf_macro_env env = {"strong-bad@email.example.com", "email.example.com", &a, "mx.example.org",
	                            "rcv.example.net", 1234};
	struct buf b;
	buf_init(&b);
	int rc = spf_macro_expand(slice_str(in), &env, exp, &b);
	if (want) {
		CHECK_INT(rc, 0);
		if (rc == 0)
			CHECK_MEM(b.p, b.len, want);
	} else {
		CHECK_INT(rc, -1);
	}
	buf_free(&b);
}

/* RFC 7208 §7.4. */
TEST(macro_examples)
{
	static const char *const t[][2] = {
		{"%{s}", "strong-bad@email.example.com"}, {"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},            {"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},           {"%{d2}", "example.com"},
		{"%{d1}", "com"},                         {"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},              {"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},                  {"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},                 {"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"%{ir}.%{v}.%{lr-}.lp._spf.%{d2}", "3.2.0.192.in-addr.bad.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		expand_is(t[i][0], "192.0.2.3", false, t[i][1]);
	expand_is("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01", false,
	          "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	/* escapes, upper case URL-encoding, explanation-only macros */
	expand_is("%%%_%-%{S}", "192.0.2.3", false, "% %20strong-bad%40email.example.com");
	expand_is("%{c} %{r} %{t} %{h} %{p}", "2001:db8::cb01", true, "2001:db8::cb01 rcv.example.net 1234 mx.example.org unknown");
	expand_is("%{c}", "192.0.2.3", false, NULL);
	expand_is("%{d0}", "192.0.2.3", false, NULL);
	expand_is("%{x}", "192.0.2.3", false, NULL);
	expand_is("%{d", "192.0.2.3", false, NULL);
	expand_is("%a", "192.0.2.3", false, NULL);
	expand_is("a%", "192.0.2.3", false, NULL);
	expand_is("%{d+=}", "192.0.2.3", false, "email.example.com");
}

TEST(record_syntax)
{
	static const char *const bad[] = {
		"v=spf1 ip4:192.0.2.1/33", "v=spf1 ip4:192.0.2.01", "v=spf1 ip6:2001:db8::/129", "v=spf1 a:192.0.2.1",
		"v=spf1 foo:bar", "v=spf1 redirect=a.example redirect=b.example", "v=spf1 exp=a.example exp=b.example",
		"v=spf1 include", "v=spf1 all:x", "v=spf1 a/", "v=spf1 a//0129", "v=spf1 -exp=x.example", "v=spf1 ptr/24",
		"v=spf1 exists:%{q}.example.com", "v=spf1 mx:example.com/24//", "v=spf1 \x01",
	};
	struct spf_record r;
	const char *err;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (spf_record_parse(slice_str(bad[i]), &r, &err) == 0)
			CHECK_FAIL("accepted: %s", bad[i]);
	static const char *const good[] = {
		"v=spf1", "V=SPF1 A MX -ALL", "v=spf1 a/24//64 mx:example.com/30 ip6:::1 ?all  ",
		"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} unknown-mod=%{d} -all", "v=spf1 a:example.com. ~all",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (spf_record_parse(slice_str(good[i]), &r, &err) != 0)
			CHECK_FAIL("rejected: %s (%s)", good[i], err);
	CHECK(!spf_record_is_spf(SLICE_LIT("v=spf10")));
	/* a syntax error after a matching mechanism is still permerror (§4.6) */
	const struct testdns_rr dns[] = {{MAILAUTH_DNS_TXT, "e.example", {"v=spf1 +all ip4:1.2.3.4/40"}}, {0}};
	CHECK_INT(run(dns, "192.0.2.1", "e.example", "a@e.example").r, SPF_PERMERROR);
}

/* badinput.md #52, RFC 7208 §4.6.4. */
TEST(dos_limits)
{
	const struct testdns_rr dns[] = {
		{MAILAUTH_DNS_TXT, "chain.example", {"v=spf1 include:c1.example -all"}},
		{MAILAUTH_DNS_TXT, "c1.example", {"v=spf1 include:c2.example"}},
		{MAILAUTH_DNS_TXT, "c2.example", {"v=spf1 include:c3.example"}},
		{MAILAUTH_DNS_TXT, "c3.example", {"v=spf1 include:c4.example"}},
		{MAILAUTH_DNS_TXT, "c4.example", {"v=spf1 include:c5.example"}},
		{MAILAUTH_DNS_TXT, "c5.example", {"v=spf1 include:c6.example"}},
		{MAILAUTH_DNS_TXT, "c6.example", {"v=spf1 include:c7.example"}},
		{MAILAUTH_DNS_TXT, "c7.example", {"v=spf1 include:c8.example"}},
		{MAILAUTH_DNS_TXT, "c8.example", {"v=spf1 include:c9.example"}},
		{MAILAUTH_DNS_TXT, "c9.example", {"v=spf1 include:c10.example"}},
		{MAILAUTH_DNS_TXT, "c10.example", {"v=spf1 include:c11.example"}},
		{MAILAUTH_DNS_TXT, "c11.example", {"v=spf1 +all"}},
		{MAILAUTH_DNS_TXT, "ten.example", {"v=spf1 a a a a a a a a a a ip4:192.0.2.1 -all"}},
		{MAILAUTH_DNS_TXT, "eleven.example", {"v=spf1 a a a a a a a a a a a ip4:192.0.2.1 -all"}},
		{MAILAUTH_DNS_A, "ten.example", {"198.51.100.1"}},
		{MAILAUTH_DNS_A, "eleven.example", {"198.51.100.1"}},
		{MAILAUTH_DNS_TXT, "void.example", {"v=spf1 a:n1.example a:n2.example ip4:192.0.2.1 -all"}},
		{MAILAUTH_DNS_TXT, "void3.example", {"v=spf1 a:n1.example a:n2.example mx:n3.example ip4:192.0.2.1 -all"}},
		{MAILAUTH_DNS_TXT, "mx11.example", {"v=spf1 mx -all"}},
		{MAILAUTH_DNS_MX, "mx11.example", {"m1.example", "m2.example", "m3.example", "m4.example", "m5.example",
		                                   "m6.example", "m7.example", "m8.example"}},
		{MAILAUTH_DNS_MX, "mx11.example", {"m9.example", "m10.example", "m11.example"}},
		{MAILAUTH_DNS_TXT, "macro.example",
		 {"v=spf1 exists:%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}"
		  ".%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}"
		  ".%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}"
		  ".%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}"
		  ".example ~all"}},
		{MAILAUTH_DNS_TXT, "long.example", {"v=spf1 exists:%{l}%{l}%{l}%{l}%{l}.x.%{d} -all"}},
		{0},
	};
	struct spf_outcome o = run(dns, "192.0.2.1", "chain.example", "a@chain.example");
	CHECK_INT(o.r, SPF_PERMERROR);
	CHECK_STR(o.reason, "too many DNS-querying terms");
	o = run(dns, "192.0.2.1", "ten.example", "a@ten.example");
	CHECK_INT(o.r, SPF_PASS);
	o = run(dns, "192.0.2.1", "eleven.example", "a@eleven.example");
	CHECK_INT(o.r, SPF_PERMERROR);
	o = run(dns, "192.0.2.1", "void.example", "a@void.example");
	CHECK_INT(o.r, SPF_PASS); /* two void lookups are allowed */
	o = run(dns, "192.0.2.1", "void3.example", "a@void3.example");
	CHECK_INT(o.r, SPF_PERMERROR);
	CHECK_STR(o.reason, "too many void lookups");
	o = run(dns, "192.0.2.1", "mx11.example", "a@mx11.example");
	CHECK_INT(o.r, SPF_PERMERROR);
	CHECK_STR(o.reason, "too many MX names");
	/* expansion over SPF_EXPAND_MAX: the term cannot be evaluated, no match */
	o = run(dns, "192.0.2.1", "macro.example", "someone-with-a-long-local-part@macro.example");
	CHECK_INT(o.r, SPF_SOFTFAIL);
	/* an expanded name over 253 octets is cut on the left (the run() loop checks every query name) */
	o = run(dns, "192.0.2.1", "long.example",
	        "a-local-part-of-sixty-three-octets-abcdefghijklmnopqrstuvwxyz012@long.example");
	CHECK_INT(o.r, SPF_FAIL);
	CHECK_INT(o.queries, 2);
}

TEST(ipv6_and_mapped)
{
	const struct testdns_rr dns[] = {
		{MAILAUTH_DNS_TXT, "six.example", {"v=spf1 a//64 ip4:192.0.2.0/24 -all"}},
		{MAILAUTH_DNS_AAAA, "six.example", {"2001:db8:1:2::1"}},
		{MAILAUTH_DNS_A, "six.example", {"198.51.100.1"}},
		{0},
	};
	CHECK_INT(run(dns, "2001:db8:1:2:ffff::9", "six.example", "a@six.example").r, SPF_PASS);
	CHECK_INT(run(dns, "2001:db8:1:3::9", "six.example", "a@six.example").r, SPF_FAIL);
	CHECK_INT(run(dns, "::ffff:192.0.2.9", "six.example", "a@six.example").r, SPF_PASS);
	CHECK_INT(run(dns, "198.51.100.1", "six.example", "a@six.example").r, SPF_PASS);
	/* null sender: postmaster@helo */
	const struct testdns_rr dns2[] = {{MAILAUTH_DNS_TXT, "helo.example.net", {"v=spf1 exists:%{l}.%{o}.x.example -all"}},
	                                  {MAILAUTH_DNS_A, "postmaster.helo.example.net.x.example", {"127.0.0.2"}},
	                                  {0}};
	CHECK_INT(run(dns2, "192.0.2.1", "helo.example.net", NULL).r, SPF_PASS);
}

TEST_MAIN()
