/* Tests for DMARC: record parsing, organisational domains (a small inline
 * list and Debian's publicsuffix file), alignment and policy-selection
 * tables, record discovery with fallback, pct sampling, and the outcome
 * fields an aggregate report needs. DNS answers come from a lookup table. */
#include "check.h"

#include <unistd.h>

#include "core/xmalloc.h"
#include "mailauth_testdns.h"
#include "proto/dmarc.h"

TEST(record_parse)
{
	struct dmarc_record r;
	const char *err;
	CHECK_INT(dmarc_record_parse(SLICE_LIT("v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=20; ri=3600; "
	                                       "fo=1; rua=mailto:a@example.com!10m, mailto:b@example.net; "
	                                       "ruf=mailto:f@example.com; future=1"),
	                            &r, &err),
	          0);
	CHECK_INT(r.p, DMARC_POLICY_REJECT);
	CHECK_INT(r.sp, DMARC_POLICY_QUARANTINE);
	CHECK(r.adkim_strict && !r.aspf_strict);
	CHECK_INT(r.pct, 20);
	CHECK_INT(r.ri, 3600);
	CHECK_STR(r.fo, "1");
	CHECK_INT(r.nrua, 2);
	CHECK_STR(r.rua[0].uri, "mailto:a@example.com");
	CHECK_INT(r.rua[0].max_size, 10u << 20);
	CHECK_STR(r.rua[1].uri, "mailto:b@example.net");
	CHECK_INT(r.nruf, 1);
	CHECK_INT(dmarc_record_parse(SLICE_LIT("v=DMARC1;p=none"), &r, &err), 0);
	CHECK(r.sp == DMARC_POLICY_NONE && r.pct == 100 && r.ri == 86400 && r.nrua == 0);
	/* §6.6.3: bad p= with a valid rua is p=none */
	CHECK_INT(dmarc_record_parse(SLICE_LIT("v=DMARC1; p=bogus; rua=mailto:x@example.com"), &r, &err), 0);
	CHECK_INT(r.p, DMARC_POLICY_NONE);
	static const char *const bad[] = {
		"v=DMARC1; p=bogus", "v=DMARC1", "p=none; v=DMARC1", "v=DMARC2; p=none", "v=DMARC1; p=none; pct=101",
		"v=DMARC1; p=none; adkim=x", "v=DMARC1; p=none; sp=maybe", "v=DMARC1; p=none; p=reject",
		"v=DMARC1; p=none; ri=-1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dmarc_record_parse(slice_str(bad[i]), &r, &err) == 0)
			CHECK_FAIL("accepted: %s", bad[i]);
	CHECK(dmarc_record_is_dmarc(SLICE_LIT("v=DMARC1; p=none")));
	CHECK(!dmarc_record_is_dmarc(SLICE_LIT("v=DMARC10; p=none")));
}

static void org_is(const struct dmarc_psl *psl, const char *d, const char *want)
{
	char out[MAILAUTH_NAME_MAX + 1];
	dmarc_psl_orgdomain(psl, d, out, sizeof out);
	CHECK_STR(out, want);
}

TEST(orgdomain_small_list)
{
	struct dmarc_psl *psl = dmarc_psl_parse(SLICE_LIT("// comment\ncom\nuk\nco.uk\n*.ck\n!www.ck\n\nexample.test // x\n"));
	CHECK_INT(dmarc_psl_count(psl), 6);
	org_is(psl, "mail.Example.COM", "example.com");
	org_is(psl, "example.com.", "example.com");
	org_is(psl, "a.b.example.co.uk", "example.co.uk");
	org_is(psl, "co.uk", "co.uk");
	org_is(psl, "a.b.foo.ck", "b.foo.ck");
	org_is(psl, "a.www.ck", "www.ck");
	org_is(psl, "x.y.unlisted", "y.unlisted");
	org_is(psl, "a.b.example.test", "b.example.test");
	org_is(NULL, "a.b.example.co.uk", "co.uk"); /* fallback: last two labels */
	dmarc_psl_free(psl);
}

TEST(orgdomain_debian_list)
{
	if (access(DMARC_PSL_DEFAULT_PATH, R_OK) != 0) {
		fprintf(stderr, "SKIP: %s not installed (apt-get install publicsuffix)\n", DMARC_PSL_DEFAULT_PATH);
		return;
	}
	struct dmarc_psl *psl = dmarc_psl_load(DMARC_PSL_DEFAULT_PATH);
	CHECK(dmarc_psl_count(psl) > 5000);
	org_is(psl, "mail.example.co.uk", "example.co.uk");
	org_is(psl, "a.b.example.com", "example.com");
	org_is(psl, "foo.bar.kawasaki.jp", "foo.bar.kawasaki.jp"); /* *.kawasaki.jp */
	org_is(psl, "x.city.kawasaki.jp", "city.kawasaki.jp");    /* !city.kawasaki.jp */
	dmarc_psl_free(psl);
}

struct dmarc_case {
	const char *name;
	const char *from;
	const char *dkim_d;   /* a passing DKIM signature's d=, or NULL */
	const char *spf_dom;  /* SPF pass for this domain, or NULL */
	unsigned roll;
	enum dmarc_status want;
	enum dmarc_policy policy, disposition;
	const char *policy_domain;
	bool adkim, aspf, sampled;
};

static const struct testdns_rr dmarc_dns[] = {
	{MAILAUTH_DNS_TXT, "_dmarc.example.com", {"v=DMARC1; p=reject; sp=quarantine; rua=mailto:r@example.com"}},
	{MAILAUTH_DNS_TXT, "_dmarc.strict.example", {"v=DMARC1; p=quarantine; adkim=s; aspf=s; pct=50"}},
	{MAILAUTH_DNS_TXT, "_dmarc.none.example", {"v=spf1 -all", "some text"}},
	{MAILAUTH_DNS_TXT, "_dmarc.two.example", {"v=DMARC1; p=none", "v=DMARC1; p=reject"}},
	{MAILAUTH_DNS_TXT, "_dmarc.bad.example", {"v=DMARC1; p=sometimes"}},
	{MAILAUTH_DNS_TXT, "_dmarc.temp.example", {0}, MAILAUTH_DNS_TEMPFAIL},
	{0},
};

static const struct dmarc_case dmarc_cases[] = {
	{"dkim aligned relaxed", "example.com", "mail.example.com", NULL, 0, DMARC_PASS, DMARC_POLICY_REJECT,
	 DMARC_POLICY_NONE, "example.com", true, false},
	{"spf aligned relaxed", "news.example.com", NULL, "bounce.example.com", 0, DMARC_PASS, DMARC_POLICY_QUARANTINE,
	 DMARC_POLICY_NONE, "example.com", false, true},
	{"unaligned fails with p", "example.com", "other.example", "other.example", 0, DMARC_FAIL, DMARC_POLICY_REJECT,
	 DMARC_POLICY_REJECT, "example.com"},
	{"subdomain takes sp", "a.b.example.com", NULL, NULL, 0, DMARC_FAIL, DMARC_POLICY_QUARANTINE,
	 DMARC_POLICY_QUARANTINE, "example.com"},
	{"strict dkim needs equal", "strict.example", "sub.strict.example", NULL, 0, DMARC_FAIL,
	 DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, "strict.example"},
	{"strict spf equal", "strict.example", NULL, "strict.example", 0, DMARC_PASS, DMARC_POLICY_QUARANTINE,
	 DMARC_POLICY_NONE, "strict.example", false, true},
	{"pct sampled out", "strict.example", NULL, NULL, 50, DMARC_FAIL, DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE,
	 "strict.example", false, false, true},
	{"pct sampled in", "strict.example", NULL, NULL, 49, DMARC_FAIL, DMARC_POLICY_QUARANTINE,
	 DMARC_POLICY_QUARANTINE, "strict.example"},
	{"no record", "none.example", "none.example", NULL, 0, DMARC_NONE, DMARC_POLICY_NONE, DMARC_POLICY_NONE, ""},
	{"two records", "two.example", NULL, NULL, 0, DMARC_PERMERROR, DMARC_POLICY_NONE, DMARC_POLICY_NONE,
	 "two.example"},
	{"bad record", "bad.example", NULL, NULL, 0, DMARC_PERMERROR, DMARC_POLICY_NONE, DMARC_POLICY_NONE,
	 "bad.example"},
	{"dns error", "temp.example", NULL, NULL, 0, DMARC_TEMPERROR, DMARC_POLICY_NONE, DMARC_POLICY_NONE, ""},
	{"several From", NULL, "example.com", NULL, 0, DMARC_FAIL, DMARC_POLICY_NONE, DMARC_POLICY_NONE, ""},
};

TEST(policy_table)
{
	struct dmarc_psl *psl = dmarc_psl_parse(SLICE_LIT("com\nexample\n"));
	for (size_t i = 0; i < sizeof dmarc_cases / sizeof dmarc_cases[0]; i++) {
		const struct dmarc_case *c = &dmarc_cases[i];
		struct dkim_result dk[2] = {{.status = DKIM_FAIL}, {.status = DKIM_PASS}};
		snprintf(dk[0].domain, sizeof dk[0].domain, "%s", c->from ? c->from : "x.example");
		snprintf(dk[1].domain, sizeof dk[1].domain, "%s", c->dkim_d ? c->dkim_d : "");
		struct dmarc_input in = {.from_domain = c->from, .dkim = dk, .ndkim = c->dkim_d ? 2 : 1,
		                         .spf = c->spf_dom ? SPF_PASS : SPF_FAIL, .spf_domain = c->spf_dom,
		                         .pct_roll = c->roll, .psl = psl};
		struct dmarc_eval *ev = dmarc_eval_new(&in);
		struct mailauth_dns_query q;
		struct mailauth_dns_answer a;
		struct testdns_state st = {0};
		int rc = dmarc_eval_start(ev, &q);
		for (int k = 0; rc == MAILAUTH_STEP_DNS && k < 4; k++) {
			testdns_answer(dmarc_dns, &q, &st, &a);
			rc = dmarc_eval_answer(ev, &a, &q);
		}
		CHECK_INT(rc, MAILAUTH_STEP_DONE);
		CHECK(st.queries <= 2);
		const struct dmarc_outcome *o = dmarc_eval_outcome(ev);
		if (o->status != c->want || o->policy != c->policy || o->disposition != c->disposition ||
		    strcmp(o->policy_domain, c->policy_domain) != 0 || o->aligned_dkim_pass != c->adkim ||
		    o->aligned_spf_pass != c->aspf || o->sampled_out != c->sampled)
			CHECK_FAIL("%s: %s policy=%s disposition=%s domain=%s dkim=%d spf=%d sampled=%d (%s)", c->name,
			           dmarc_status_name(o->status), dmarc_policy_name(o->policy),
			           dmarc_policy_name(o->disposition), o->policy_domain, o->aligned_dkim_pass,
			           o->aligned_spf_pass, o->sampled_out, o->reason ? o->reason : "");
		dmarc_eval_free(ev);
	}
	dmarc_psl_free(psl);
}

TEST(report_fields)
{
	struct dkim_result dk = {.status = DKIM_PASS};
	snprintf(dk.domain, sizeof dk.domain, "example.com");
	struct dmarc_input in = {.from_domain = "Sub.Example.COM", .dkim = &dk, .ndkim = 1, .spf = SPF_NONE};
	struct dmarc_eval *ev = dmarc_eval_new(&in);
	struct mailauth_dns_query q;
	struct mailauth_dns_answer a;
	struct testdns_state st = {0};
	CHECK_INT(dmarc_eval_start(ev, &q), MAILAUTH_STEP_DNS);
	CHECK_STR(q.name, "_dmarc.sub.example.com");
	testdns_answer(dmarc_dns, &q, &st, &a);
	CHECK_INT(dmarc_eval_answer(ev, &a, &q), MAILAUTH_STEP_DNS);
	CHECK_STR(q.name, "_dmarc.example.com");
	testdns_answer(dmarc_dns, &q, &st, &a);
	CHECK_INT(dmarc_eval_answer(ev, &a, &q), MAILAUTH_STEP_DONE);
	const struct dmarc_outcome *o = dmarc_eval_outcome(ev);
	CHECK_INT(o->status, DMARC_PASS);
	CHECK_STR(o->from_domain, "sub.example.com");
	CHECK_STR(o->org_domain, "example.com");
	CHECK_STR(o->dkim_domain, "example.com");
	CHECK(o->record_found && o->record.nrua == 1);
	CHECK_STR(o->record.rua[0].uri, "mailto:r@example.com");
	CHECK_INT(dmarc_eval_answer(ev, &a, &q), MAILAUTH_STEP_DONE); /* a late answer changes nothing */
	dmarc_eval_free(ev);
	CHECK(dmarc_aligned(NULL, "a.example.com", "B.example.com", false));
	CHECK(!dmarc_aligned(NULL, "a.example.com", "example.com", true));
	CHECK(!dmarc_aligned(NULL, "example.com", "example.net", false));
	CHECK(!dmarc_aligned(NULL, "", "example.net", false));
}

TEST_MAIN()
