/* The resolver actor against real servers on loopback, one lookup at a time:
 * MX (order, shuffling, null MX, implicit MX, IP targets, CNAME chains and loops),
 * A/AAAA, PTR, TXT, NXDOMAIN, SERVFAIL, timeouts, an IPv6 upstream, the cache.
 * Zones: tests/unit/actors/dns_zones/. Real NSD and getdns, no mocks. */
#include "check.h"

#include "dns_test_harness.h"

static uint64_t r_main, r_servfail, r_silent, r_v6;

static struct dns_sync_result q_addr(uint64_t r, const char *name, uint64_t families)
{
	struct dns_sync_result res;
	struct dns_addr_req req = {.name = slice_str(name), .families = families};
	int rc = dns_resolver_sync(r, DNS_MSG_ADDR_REQ, &req, &res, WAIT_S * 1000);
	if (rc != 0)
		CHECK_FAIL("sync addr %s: %d", name, rc);
	return res;
}

static struct dns_sync_result q_ptr(uint64_t r, const char *ip)
{
	uint8_t b[16];
	size_t len = strchr(ip, ':') ? 16 : 4;
	inet_pton(len == 16 ? AF_INET6 : AF_INET, ip, b);
	struct dns_sync_result res;
	struct dns_ptr_req req = {.ip = slice_of(b, len)};
	if (dns_resolver_sync(r, DNS_MSG_PTR_REQ, &req, &res, WAIT_S * 1000) != 0)
		CHECK_FAIL("sync ptr %s", ip);
	return res;
}

static const char *addr_text(const uint8_t *a, char *buf)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (memcmp(a, mapped, 12) == 0)
		return inet_ntop(AF_INET, a + 12, buf, INET6_ADDRSTRLEN);
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void free_res(struct dns_sync_result *r)
{
	dns_resolver_sync_free(r);
}

TEST(mx_list_in_preference_order_equal_ones_shuffled)
{
	char seen[8][128];
	int nseen = 0;
	for (int round = 0; round < 40; round++) {
		struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, "Example.TEST.");
		CHECK_INT(r.status, DNS_OK);
		CHECK_STR(r.name, "example.test");
		CHECK(!r.implicit && !r.secure);
		CHECK_INT(r.ignored, 1); /* the 127.0.0.9. target */
		CHECK_INT(r.n, 4);
		if (r.n != 4) {
			free_res(&r);
			return;
		}
		CHECK_STR(r.items[0], "mx1.example.test");
		CHECK_INT(r.prefs[0], 10);
		char order[128] = "";
		int m2 = 0, m3 = 0, m4 = 0;
		for (size_t i = 1; i < 4; i++) {
			CHECK_INT(r.prefs[i], 20);
			m2 += strcmp(r.items[i], "mx2.example.test") == 0;
			m3 += strcmp(r.items[i], "mx3.example.test") == 0;
			m4 += strcmp(r.items[i], "mx4.example.test") == 0;
			strcat(order, r.items[i]);
		}
		CHECK(m2 == 1 && m3 == 1 && m4 == 1);
		int k = 0;
		while (k < nseen && strcmp(seen[k], order) != 0)
			k++;
		if (k == nseen && nseen < 8)
			snprintf(seen[nseen++], sizeof seen[0], "%s", order);
		free_res(&r);
	}
	/* 40 shuffles of 3 hosts in one order has probability 6^-39. */
	CHECK(nseen >= 2);
}

TEST(null_mx_is_permanent)
{
	struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, "nullmx.example.test");
	CHECK_INT(r.status, DNS_NULLMX);
	CHECK_INT(r.n, 0);
	CHECK(!dns_status_is_temp(r.status));
	free_res(&r);
}

TEST(nodata_for_mx_gives_the_implicit_mx)
{
	struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, "implicit.example.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK(r.implicit);
	CHECK_INT(r.n, 1);
	if (r.n == 1) {
		CHECK_STR(r.items[0], "implicit.example.test");
		CHECK_INT(r.prefs[0], 0);
	}
	free_res(&r);
}

TEST(nxdomain_for_every_kind)
{
	struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, "nope.example.test");
	CHECK_INT(r.status, DNS_NXDOMAIN);
	free_res(&r);
	r = q_name(r_main, DNS_MSG_TXT_REQ, "nope.example.test");
	CHECK_INT(r.status, DNS_NXDOMAIN);
	free_res(&r);
	r = q_addr(r_main, "nope.example.test", 0);
	CHECK_INT(r.status, DNS_NXDOMAIN);
	CHECK_INT(r.naddrs, 0);
	free_res(&r);
	r = q_ptr(r_main, "127.0.0.99");
	CHECK_INT(r.status, DNS_NXDOMAIN);
	free_res(&r);
}

TEST(mx_target_that_is_an_ip_is_ignored)
{
	struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, "iponly.example.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.n, 0);
	CHECK_INT(r.ignored, 1);
	CHECK(!r.implicit);
	free_res(&r);
}

TEST(cname_chain_of_ten_is_followed)
{
	struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, "c1.example.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK_STR(r.name, "chain-end.example.test");
	CHECK_INT(r.n, 1);
	if (r.n == 1)
		CHECK_STR(r.items[0], "mx1.example.test");
	free_res(&r);
	r = q_addr(r_main, "c1.example.test", DNS_FAMILY_V4);
	char buf[INET6_ADDRSTRLEN];
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.naddrs, 1);
	if (r.naddrs == 1)
		CHECK_STR(addr_text(r.addrs[0], buf), "127.0.0.40");
	free_res(&r);
	/* A CNAME into another zone and one to a name that does not exist. */
	r = q_name(r_main, DNS_MSG_MX_REQ, "away.example.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK_STR(r.name, "www.other.test");
	if (r.n == 1)
		CHECK_STR(r.items[0], "mail.other.test");
	free_res(&r);
	r = q_addr(r_main, "dangling.example.test", DNS_FAMILY_V4);
	CHECK_INT(r.status, DNS_NXDOMAIN);
	CHECK_STR(r.name, "nothing-here.example.test");
	free_res(&r);
}

TEST(cname_chain_of_eleven_and_loops_are_temporary)
{
	const char *names[] = {"d1.example.test", "loop1.example.test", "loop3.example.test"};
	for (int i = 0; i < 3; i++) {
		struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, names[i]);
		CHECK_INT(r.status, DNS_CNAME_LOOP);
		CHECK(dns_status_is_temp(r.status));
		CHECK_INT(r.n, 0);
		free_res(&r);
	}
	struct dns_sync_result r = q_addr(r_main, "loop2.example.test", 0);
	CHECK_INT(r.status, DNS_CNAME_LOOP);
	free_res(&r);
}

TEST(addresses_a_and_aaaa)
{
	char buf[INET6_ADDRSTRLEN];
	struct dns_sync_result r = q_addr(r_main, "mx1.example.test", 0);
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.naddrs, 2);
	if (r.naddrs == 2) {
		CHECK_STR(addr_text(r.addrs[0], buf), "127.0.0.11");
		CHECK_STR(addr_text(r.addrs[1], buf), "::1");
	}
	free_res(&r);
	r = q_addr(r_main, "multi.example.test", DNS_FAMILY_V4);
	CHECK_INT(r.naddrs, 2);
	int a21 = 0, a22 = 0;
	for (size_t i = 0; i < r.naddrs; i++) {
		a21 += strcmp(addr_text(r.addrs[i], buf), "127.0.0.21") == 0;
		a22 += strcmp(addr_text(r.addrs[i], buf), "127.0.0.22") == 0;
	}
	CHECK(a21 == 1 && a22 == 1);
	free_res(&r);
	r = q_addr(r_main, "v6only.example.test", DNS_FAMILY_V4);
	CHECK_INT(r.status, DNS_NODATA);
	free_res(&r);
	r = q_addr(r_main, "v6only.example.test", DNS_FAMILY_V4 | DNS_FAMILY_V6);
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.naddrs, 1);
	if (r.naddrs == 1)
		CHECK_STR(addr_text(r.addrs[0], buf), "::1");
	free_res(&r);
}

TEST(ptr_for_ipv4_and_ipv6)
{
	struct dns_sync_result r = q_ptr(r_main, "127.0.0.11");
	CHECK_INT(r.status, DNS_OK);
	CHECK_STR(r.name, "11.0.0.127.in-addr.arpa");
	CHECK_INT(r.n, 1);
	if (r.n == 1)
		CHECK_STR(r.items[0], "mx1.example.test");
	free_res(&r);
	r = q_ptr(r_main, "127.0.0.21");
	CHECK_INT(r.n, 2);
	free_res(&r);
	r = q_ptr(r_main, "::1");
	CHECK_INT(r.status, DNS_OK);
	if (r.n == 1)
		CHECK_STR(r.items[0], "mx1.example.test");
	free_res(&r);
	uint8_t five[5] = {1, 2, 3, 4, 5};
	struct dns_ptr_req bad = {.ip = slice_of(five, 5)};
	CHECK_INT(dns_resolver_sync(r_main, DNS_MSG_PTR_REQ, &bad, &r, WAIT_S * 1000), 0);
	CHECK_INT(r.status, DNS_BADNAME);
	free_res(&r);
}

TEST(txt_strings_are_joined_per_record)
{
	struct dns_sync_result r = q_name(r_main, DNS_MSG_TXT_REQ, "example.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.n, 2);
	int spf = 0, second = 0;
	for (size_t i = 0; i < r.n; i++) {
		spf += strcmp(r.items[i], "v=spf1 ip4:127.0.0.0/8 -all") == 0;
		second += strcmp(r.items[i], "second record") == 0;
	}
	CHECK(spf == 1 && second == 1);
	free_res(&r);
	r = q_name(r_main, DNS_MSG_TXT_REQ, "mx2.example.test");
	CHECK_INT(r.status, DNS_NODATA);
	free_res(&r);
}

TEST(servfail_and_timeout_are_temporary)
{
	struct dns_sync_result r = q_name(r_servfail, DNS_MSG_MX_REQ, "example.test");
	CHECK_INT(r.status, DNS_SERVFAIL);
	CHECK(dns_status_is_temp(r.status));
	free_res(&r);
	r = q_addr(r_servfail, "example.test", 0);
	CHECK_INT(r.status, DNS_SERVFAIL);
	free_res(&r);
	r = q_name(r_silent, DNS_MSG_MX_REQ, "example.test");
	CHECK_INT(r.status, DNS_TIMEOUT);
	CHECK(dns_status_is_temp(r.status));
	free_res(&r);
	r = q_name(r_silent, DNS_MSG_TXT_REQ, "example.test"); /* timeouts are not cached: asks again */
	CHECK_INT(r.status, DNS_TIMEOUT);
	free_res(&r);
}

TEST(invalid_names_are_refused_without_a_query)
{
	int64_t q0 = counter("tern_dns_queries_total");
	const char *bad[] = {"bad name.test", "", "a..b", "ex\xc3\xa4mple.test"};
	for (int i = 0; i < 4; i++) {
		struct dns_sync_result r = q_name(r_main, DNS_MSG_MX_REQ, bad[i]);
		CHECK_INT(r.status, DNS_BADNAME);
		free_res(&r);
	}
	CHECK_INT(counter("tern_dns_queries_total"), q0);
}

TEST(ipv6_upstream)
{
	struct dns_sync_result r = q_name(r_v6, DNS_MSG_MX_REQ, "www.other.test");
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.n, 1);
	free_res(&r);
}

TEST(silent_first_resolver_is_skipped)
{
	char first[64], second[64], err[256];
	snprintf(first, sizeof first, "127.0.0.1:%d", port_silent);
	snprintf(second, sizeof second, "127.0.0.1:%d", port_nsd);
	struct slice e[] = {slice_str(first), slice_str(second)};
	struct dns_resolver_config cfg = {.timeout_ms = 500};
	CHECK_INT(dns_resolver_config_servers(&cfg, e, 2, err, sizeof err), 0);
	uint64_t r2 = dns_resolver_start(&cfg, err, sizeof err);
	CHECK(r2 != 0);
	/* Each lookup is answered, whichever resolver getdns tries first. */
	for (int i = 0; i < 6; i++) {
		char n[64];
		snprintf(n, sizeof n, "f%d.example.test", i);
		struct dns_sync_result r = q_name(r2, DNS_MSG_MX_REQ, n);
		CHECK_INT(r.status, DNS_NXDOMAIN);
		free_res(&r);
	}
	CHECK_INT(stop_resolver(r2), 0);
}

TEST(second_lookup_is_a_cache_hit)
{
	int64_t q0 = counter("tern_dns_queries_total"), h0 = counter("tern_dns_cache_hits_total");
	struct dns_sync_result r = q_name(r_main, DNS_MSG_TXT_REQ, "www.other.test");
	CHECK_INT(r.status, DNS_OK);
	free_res(&r);
	CHECK_INT(counter("tern_dns_queries_total"), q0 + 1);
	r = q_name(r_main, DNS_MSG_TXT_REQ, "WWW.other.test.");
	CHECK_INT(r.status, DNS_OK);
	CHECK_INT(r.n, 1);
	if (r.n == 1)
		CHECK_STR(r.items[0], "other");
	free_res(&r);
	CHECK_INT(counter("tern_dns_queries_total"), q0 + 1);
	CHECK_INT(counter("tern_dns_cache_hits_total"), h0 + 1);
	/* Negative answers are cached too (SOA minimum 60 s). */
	r = q_name(r_main, DNS_MSG_MX_REQ, "neg-cache.example.test");
	CHECK_INT(r.status, DNS_NXDOMAIN);
	free_res(&r);
	r = q_name(r_main, DNS_MSG_MX_REQ, "neg-cache.example.test");
	CHECK_INT(r.status, DNS_NXDOMAIN);
	free_res(&r);
	CHECK_INT(counter("tern_dns_queries_total"), q0 + 2);
}

TEST(resolvers_config_entries)
{
	struct dns_resolver_config cfg = {0};
	char err[256] = "";
	struct slice ok[] = {slice_str("127.0.0.1"), slice_str("127.0.0.2:5353"), slice_str("[::1]:53")};
	CHECK_INT(dns_resolver_config_servers(&cfg, ok, 3, err, sizeof err), 0);
	CHECK_INT(cfg.nservers, 3);
	CHECK_INT(cfg.servers[1].port, 5353);
	CHECK_INT(cfg.servers[2].family, AF_INET6);
	struct slice bad[] = {slice_str("127.0.0.1"), slice_str("resolver.example:53")};
	CHECK_INT(dns_resolver_config_servers(&cfg, bad, 2, err, sizeof err), -1);
	CHECK(strstr(err, "resolver.example:53") != NULL);
	/* No entries: /etc/resolv.conf decides (only started and stopped, never asked). */
	struct dns_upstream sys[DNS_UPSTREAM_MAX];
	int nsys = dns_upstream_from_resolv_conf(DNS_RESOLV_CONF, sys, DNS_UPSTREAM_MAX);
	struct dns_resolver_config def = {0};
	uint64_t id = dns_resolver_start(&def, err, sizeof err);
	if (nsys > 0) {
		CHECK(id != 0);
		if (id)
			CHECK_INT(stop_resolver(id), 0);
	} else {
		CHECK_INT(id, 0);
		CHECK(strstr(err, "resolv.conf") != NULL);
	}
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (start_servers(NULL) != 0) {
		fprintf(stderr, "could not start the loopback DNS servers (nsd, python3-dnspython)\n");
		stop_servers();
		return 1;
	}
	worker_pool_start(2);
	char nsd[64], sf[64], silent[64], v6[64];
	snprintf(nsd, sizeof nsd, "127.0.0.1:%d", port_nsd);
	snprintf(sf, sizeof sf, "127.0.0.1:%d", port_servfail);
	snprintf(silent, sizeof silent, "127.0.0.1:%d", port_silent);
	snprintf(v6, sizeof v6, "[::1]:%d", port_nsd);
	r_main = start_resolver(nsd, 3000, false, 0, 0);
	r_servfail = start_resolver(sf, 3000, false, 0, 0);
	r_silent = start_resolver(silent, 500, false, 0, 0);
	r_v6 = start_resolver(v6, 3000, false, 0, 0);
	int rc = 1;
	if (r_main && r_servfail && r_silent && r_v6)
		rc = check_main(argc, argv);
	uint64_t all[] = {r_main, r_servfail, r_silent, r_v6};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i] && stop_resolver(all[i]) != 0)
			rc = 1;
	worker_pool_stop();
	stop_servers();
	return rc;
}
