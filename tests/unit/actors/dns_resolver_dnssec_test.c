/* DNSSEC authenticity as Tern records it: the AD bit of a validating resolver on
 * loopback (a real unbound, trust anchors for zones NSD serves signed), never
 * getdns' own validation. Signed: secure.test; signed then altered: bogus.test;
 * unsigned: example.test (see dns_zones/ and tests/integ/ternlib/dnsserver.py). */
#include "check.h"

#include "dns_test_harness.h"

static uint64_t r_unbound, r_direct;

TEST(signed_zone_answers_are_secure)
{
	struct dns_sync_result r = q_name(r_unbound, DNS_MSG_MX_REQ, "secure.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK(r.secure);
	CHECK_INT(r.n, 1);
	if (r.n == 1)
		CHECK_STR(r.items[0], "mx.secure.test");
	dns_resolver_sync_free(&r);
	struct dns_addr_req q = {.name = slice_str("mx.secure.test")};
	CHECK_INT(dns_resolver_sync(r_unbound, DNS_MSG_ADDR_REQ, &q, &r, WAIT_S * 1000), 0);
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.naddrs, 1);
	CHECK(r.secure); /* A answered and AAAA denied, both authenticated */
	dns_resolver_sync_free(&r);
	r = q_name(r_unbound, DNS_MSG_MX_REQ, "www.secure.test"); /* CNAME inside the zone */
	CHECK_INT(r.status, DNS_OK);
	CHECK_STR(r.name, "mx.secure.test");
	CHECK(r.secure);
	CHECK(r.implicit);
	dns_resolver_sync_free(&r);
}

TEST(signed_denial_is_secure)
{
	struct dns_sync_result r = q_name(r_unbound, DNS_MSG_MX_REQ, "nope.secure.test");
	CHECK_INT(r.status, DNS_NXDOMAIN);
	CHECK(r.secure);
	dns_resolver_sync_free(&r);
	r = q_name(r_unbound, DNS_MSG_TXT_REQ, "mx.secure.test");
	CHECK_INT(r.status, DNS_NODATA);
	CHECK(r.secure);
	dns_resolver_sync_free(&r);
}

TEST(unsigned_zone_and_insecure_cname_are_not_secure)
{
	struct dns_sync_result r = q_name(r_unbound, DNS_MSG_MX_REQ, "example.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK(!r.secure);
	CHECK_INT(r.n, 4);
	dns_resolver_sync_free(&r);
	r = q_name(r_unbound, DNS_MSG_MX_REQ, "insecure.secure.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK_STR(r.name, "mx1.example.test");
	CHECK(!r.secure);
	dns_resolver_sync_free(&r);
}

TEST(bogus_answer_is_a_temporary_failure)
{
	struct dns_sync_result r = q_name(r_unbound, DNS_MSG_TXT_REQ, "bogus.test");
	CHECK_INT(r.status, DNS_SERVFAIL);
	CHECK(dns_status_is_temp(r.status));
	CHECK(!r.secure);
	CHECK_INT(r.n, 0);
	dns_resolver_sync_free(&r);
	r = q_name(r_unbound, DNS_MSG_MX_REQ, "bogus.test"); /* the untouched records still validate */
	CHECK_INT(r.status, DNS_OK);
	CHECK(r.secure);
	dns_resolver_sync_free(&r);
}

TEST(authoritative_server_alone_gives_no_authenticity)
{
	/* The same signed zone straight from NSD: no AD bit, so not secure, and the
	 * altered record is served as is (Tern does not validate by itself). */
	struct dns_sync_result r = q_name(r_direct, DNS_MSG_MX_REQ, "secure.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK(!r.secure);
	dns_resolver_sync_free(&r);
	r = q_name(r_direct, DNS_MSG_TXT_REQ, "bogus.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK(!r.secure);
	if (r.n == 1)
		CHECK_STR(r.items[0], "tampered after signing");
	dns_resolver_sync_free(&r);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	static const char *const extra[] = {"--sign", "secure.test", "--bogus", "bogus.test", "--unbound", NULL};
	if (start_servers(extra) != 0 || !port_unbound) {
		fprintf(stderr, "could not start the loopback DNS servers (nsd, unbound, ldnsutils, python3-dnspython)\n");
		stop_servers();
		return 1;
	}
	worker_pool_start(2);
	char ub[64], direct[64];
	snprintf(ub, sizeof ub, "127.0.0.1:%d", port_unbound);
	snprintf(direct, sizeof direct, "127.0.0.1:%d", port_nsd);
	r_unbound = start_resolver(ub, 5000, false, 0, 0);
	r_direct = start_resolver(direct, 5000, false, 0, 0);
	int rc = 1;
	if (r_unbound && r_direct)
		rc = check_main(argc, argv);
	if (r_unbound && stop_resolver(r_unbound) != 0)
		rc = 1;
	if (r_direct && stop_resolver(r_direct) != 0)
		rc = 1;
	worker_pool_stop();
	stop_servers();
	return rc;
}
