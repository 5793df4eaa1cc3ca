/* DNS classification without a network: names, CNAME chasing, MX shaping,
 * the answer cache, and `DNS.Resolvers` / resolv.conf parsing. */
#include "check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "proto/dns_cache.h"
#include "proto/dns_result.h"
#include "proto/dns_upstream.h"

static struct dns_rr *add(struct dns_answer *a, uint16_t type, const char *owner, const char *target)
{
	struct dns_rr *r = dns_answer_add(a);
	r->type = type;
	r->ttl = 300;
	r->owner = xstrdup(owner);
	r->target = xstrdup(target ? target : "");
	return r;
}

static struct dns_answer *reply(int rcode)
{
	struct dns_answer *a = dns_answer_new(DNS_FETCH_REPLY);
	a->rcode = rcode;
	return a;
}

TEST(name_norm_accepts_hosts_and_rejects_junk)
{
	char out[DNS_NAME_MAX + 1];
	CHECK_INT(dns_name_norm(slice_str("Mail.Example.TEST."), out), 0);
	CHECK_STR(out, "mail.example.test");
	CHECK_INT(dns_name_norm(slice_str("_dmarc.example.test"), out), 0);
	CHECK_INT(dns_name_norm(slice_str(""), out), -1);
	CHECK_INT(dns_name_norm(slice_str("."), out), -1);
	CHECK_INT(dns_name_norm(slice_str("a..b"), out), -1);
	CHECK_INT(dns_name_norm(slice_str("a b.test"), out), -1);
	CHECK_INT(dns_name_norm(slice_str("bad\\.name"), out), -1);
	CHECK_INT(dns_name_norm(slice_of("a\0b", 3), out), -1);
	char label[80];
	memset(label, 'x', 64);
	label[64] = 0;
	CHECK_INT(dns_name_norm(slice_str(label), out), -1); /* 64-byte label */
	char big[300];
	memset(big, 0, sizeof big);
	for (int i = 0; i < 126; i++)
		memcpy(big + 2 * i, "a.", 2);
	memcpy(big + 252, "ab", 3); /* 254 bytes: one too long */
	CHECK_INT(dns_name_norm(slice_of(big + 2, 252), out), 0);
	CHECK_INT(dns_name_norm(slice_str(big), out), -1);
}

TEST(wire_names_decode_and_reject_bad_bytes)
{
	char out[DNS_NAME_MAX + 1];
	static const uint8_t mx[] = "\x02Mx\x07" "example\x04test";
	CHECK_INT(dns_name_from_wire(mx, sizeof mx, out), (int)sizeof mx);
	CHECK_STR(out, "mx.example.test");
	CHECK_INT(dns_name_from_wire((const uint8_t *)"", 1, out), 1);
	CHECK_STR(out, "");
	CHECK_INT(dns_name_from_wire((const uint8_t *)"\x03" "a.b", 5, out), -1); /* dot inside a label */
	CHECK_INT(dns_name_from_wire((const uint8_t *)"\xc0\x0c", 2, out), -1);    /* compression pointer */
	CHECK_INT(dns_name_from_wire((const uint8_t *)"\x05" "ab", 3, out), -1);   /* truncated */
}

TEST(ip_literals_and_reverse_names)
{
	CHECK(dns_name_is_ip("127.0.0.9"));
	CHECK(dns_name_is_ip("::1"));
	CHECK(!dns_name_is_ip("mx1.example.test"));
	CHECK(!dns_name_is_ip("127.0.0.9.example"));
	char out[DNS_NAME_MAX + 1];
	CHECK_INT(dns_name_reverse((const uint8_t *)"\x7f\x00\x00\x0b", 4, out), 0);
	CHECK_STR(out, "11.0.0.127.in-addr.arpa");
	uint8_t v6[16];
	inet_pton(AF_INET6, "2001:db8::1", v6);
	CHECK_INT(dns_name_reverse(v6, 16, out), 0);
	CHECK_STR(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	CHECK_INT(dns_name_reverse(v6, 5, out), -1);
}

TEST(chase_follows_cnames_and_classifies)
{
	struct dns_chase c;
	enum dns_status st;
	/* Complete chain in one answer. */
	struct dns_answer *a = reply(0);
	add(a, DNS_T_CNAME, "a.test", "b.test");
	add(a, DNS_T_CNAME, "b.test", "c.test");
	add(a, DNS_T_MX, "c.test", "mx.test");
	dns_chase_init(&c, "a.test");
	CHECK_INT(dns_chase_step(&c, a, DNS_T_MX, &st), DNS_CHASE_DONE);
	CHECK_INT(st, DNS_OK);
	CHECK_STR(c.name, "c.test");
	CHECK(!c.secure);
	dns_answer_unref(a);
	/* Unfinished chain: ask again, then NODATA for the target. */
	a = reply(0);
	add(a, DNS_T_CNAME, "a.test", "elsewhere.test");
	dns_chase_init(&c, "a.test");
	CHECK_INT(dns_chase_step(&c, a, DNS_T_MX, &st), DNS_CHASE_MORE);
	CHECK_STR(c.name, "elsewhere.test");
	dns_answer_unref(a);
	a = reply(0);
	a->ad = true;
	CHECK_INT(dns_chase_step(&c, a, DNS_T_MX, &st), DNS_CHASE_DONE);
	CHECK_INT(st, DNS_NODATA);
	dns_answer_unref(a);
	/* NXDOMAIN at the end of a chain; SERVFAIL and REFUSED; timeouts. */
	a = reply(3);
	add(a, DNS_T_CNAME, "a.test", "gone.test");
	dns_chase_init(&c, "a.test");
	CHECK_INT(dns_chase_step(&c, a, DNS_T_A, &st), DNS_CHASE_DONE);
	CHECK_INT(st, DNS_NXDOMAIN);
	CHECK_STR(c.name, "gone.test");
	dns_answer_unref(a);
	int rcodes[] = {2, 5, 4, 1};
	for (int i = 0; i < 4; i++) {
		a = reply(rcodes[i]);
		dns_chase_init(&c, "a.test");
		dns_chase_step(&c, a, DNS_T_A, &st);
		CHECK_INT(st, DNS_SERVFAIL);
		dns_answer_unref(a);
	}
	a = dns_answer_new(DNS_FETCH_TIMEOUT);
	dns_chase_init(&c, "a.test");
	dns_chase_step(&c, a, DNS_T_A, &st);
	CHECK_INT(st, DNS_TIMEOUT);
	dns_answer_unref(a);
}

TEST(chase_stops_loops_and_long_chains_across_answers)
{
	struct dns_chase c;
	enum dns_status st;
	struct dns_answer *a = reply(0);
	add(a, DNS_T_CNAME, "l1.test", "l2.test");
	add(a, DNS_T_CNAME, "l2.test", "l1.test");
	dns_chase_init(&c, "l1.test");
	CHECK_INT(dns_chase_step(&c, a, DNS_T_MX, &st), DNS_CHASE_DONE);
	CHECK_INT(st, DNS_CNAME_LOOP);
	dns_answer_unref(a);
	/* A loop split over two answers is caught too. */
	dns_chase_init(&c, "x.test");
	a = reply(0);
	add(a, DNS_T_CNAME, "x.test", "y.test");
	CHECK_INT(dns_chase_step(&c, a, DNS_T_MX, &st), DNS_CHASE_MORE);
	dns_answer_unref(a);
	a = reply(0);
	add(a, DNS_T_CNAME, "y.test", "x.test");
	CHECK_INT(dns_chase_step(&c, a, DNS_T_MX, &st), DNS_CHASE_DONE);
	CHECK_INT(st, DNS_CNAME_LOOP);
	dns_answer_unref(a);
	/* 10 CNAMEs one per answer are fine, the 11th is not. */
	for (int len = 10; len <= 11; len++) {
		dns_chase_init(&c, "n0.test");
		int more = 0;
		for (int i = 0; i < len; i++) {
			char o[32], t[32];
			snprintf(o, sizeof o, "n%d.test", i);
			snprintf(t, sizeof t, "n%d.test", i + 1);
			a = reply(0);
			add(a, DNS_T_CNAME, o, t);
			if (dns_chase_step(&c, a, DNS_T_A, &st) == DNS_CHASE_MORE)
				more++;
			dns_answer_unref(a);
		}
		if (len == 10) {
			CHECK_INT(more, 10);
			a = reply(0);
			add(a, DNS_T_A, "n10.test", NULL);
			CHECK_INT(dns_chase_step(&c, a, DNS_T_A, &st), DNS_CHASE_DONE);
			CHECK_INT(st, DNS_OK);
			dns_answer_unref(a);
		} else {
			CHECK_INT(more, 10);
			CHECK_INT(st, DNS_CNAME_LOOP);
		}
	}
}

TEST(mx_order_shuffle_nullmx_and_ip_targets)
{
	struct dns_answer *a = reply(0);
	add(a, DNS_T_MX, "d.test", "c.test")->pref = 20;
	add(a, DNS_T_MX, "d.test", "a.test")->pref = 10;
	add(a, DNS_T_MX, "d.test", "b.test")->pref = 20;
	add(a, DNS_T_MX, "d.test", "192.0.2.1")->pref = 5;
	add(a, DNS_T_MX, "other.test", "x.test")->pref = 1;
	struct dns_mx mx[DNS_MX_MAX];
	size_t n, ign;
	uint64_t rng = 12345;
	int c_first = 0, b_first = 0;
	for (int round = 0; round < 64; round++) {
		CHECK_INT(dns_result_mx(a, "d.test", mx, DNS_MX_MAX, &n, &ign, &rng), DNS_OK);
		CHECK_INT(n, 3);
		CHECK_INT(ign, 1);
		CHECK_STR(mx[0].host, "a.test");
		CHECK_INT(mx[1].pref, 20);
		CHECK_INT(mx[2].pref, 20);
		c_first += strcmp(mx[1].host, "c.test") == 0;
		b_first += strcmp(mx[1].host, "b.test") == 0;
	}
	CHECK_INT(c_first + b_first, 64);
	CHECK(c_first > 0 && b_first > 0); /* both orders seen */
	CHECK_INT(dns_result_mx(a, "d.test", mx, 2, &n, &ign, &rng), DNS_OK);
	CHECK_INT(n, 2);
	dns_answer_unref(a);
	a = reply(0);
	add(a, DNS_T_MX, "n.test", "")->pref = 0;
	CHECK_INT(dns_result_mx(a, "n.test", mx, DNS_MX_MAX, &n, &ign, &rng), DNS_NULLMX);
	CHECK_INT(n, 0);
	add(a, DNS_T_MX, "n.test", "real.test")->pref = 10; /* "." beside a real MX is ignored */
	CHECK_INT(dns_result_mx(a, "n.test", mx, DNS_MX_MAX, &n, &ign, &rng), DNS_OK);
	CHECK_INT(n, 1);
	CHECK_INT(ign, 1);
	dns_answer_unref(a);
}

TEST(answer_cache_ttls)
{
	struct dns_answer *a = reply(0);
	add(a, DNS_T_A, "x.test", NULL)->ttl = 30;
	add(a, DNS_T_A, "x.test", NULL)->ttl = 20;
	CHECK_INT(dns_answer_cache_ttl(a, 3600), 20);
	CHECK_INT(dns_answer_cache_ttl(a, 10), 10);
	dns_answer_unref(a);
	a = reply(3);
	a->neg_ttl = 45;
	CHECK_INT(dns_answer_cache_ttl(a, 3600), 45);
	a->neg_ttl = 0;
	CHECK_INT(dns_answer_cache_ttl(a, 3600), DNS_NEG_TTL_DEFAULT);
	a->rcode = 2;
	CHECK_INT(dns_answer_cache_ttl(a, 3600), 0);
	dns_answer_unref(a);
	a = dns_answer_new(DNS_FETCH_TIMEOUT);
	CHECK_INT(dns_answer_cache_ttl(a, 3600), 0);
	dns_answer_unref(a);
}

TEST(cache_expires_and_evicts_lru)
{
	struct dns_cache *c = dns_cache_new(2);
	struct dns_answer *a = reply(0), *b = reply(0), *d = reply(3);
	dns_cache_put(c, "a.test", DNS_T_A, a, 10, 1000);
	dns_cache_put(c, "b.test", DNS_T_A, b, 10, 1000);
	struct dns_answer *got = dns_cache_get(c, "a.test", DNS_T_A, 5000); /* a is now the most recent */
	CHECK(got == a);
	dns_answer_unref(got);
	CHECK(dns_cache_get(c, "a.test", DNS_T_MX, 5000) == NULL); /* type is part of the key */
	dns_cache_put(c, "d.test", DNS_T_A, d, 10, 5000);         /* evicts b */
	CHECK_INT(dns_cache_size(c), 2);
	CHECK(dns_cache_get(c, "b.test", DNS_T_A, 5000) == NULL);
	CHECK(dns_cache_get(c, "a.test", DNS_T_A, 11000) == NULL); /* expired at 1000 + 10 s */
	got = dns_cache_get(c, "d.test", DNS_T_A, 14999);
	CHECK(got == d);
	dns_answer_unref(got);
	dns_cache_put(c, "zero.test", DNS_T_A, d, 0, 5000); /* TTL 0: not stored */
	CHECK(dns_cache_get(c, "zero.test", DNS_T_A, 5000) == NULL);
	dns_cache_free(c);
	dns_answer_unref(a);
	dns_answer_unref(b);
	dns_answer_unref(d);
}

TEST(resolver_entries_parse)
{
	struct dns_upstream u;
	char buf[64];
	CHECK_INT(dns_upstream_parse(slice_str("127.0.0.1"), &u), 0);
	CHECK_STR(dns_upstream_format(&u, buf, sizeof buf), "127.0.0.1:53");
	CHECK(dns_upstream_is_loopback(&u));
	CHECK_INT(dns_upstream_parse(slice_str("192.0.2.7:5353"), &u), 0);
	CHECK_STR(dns_upstream_format(&u, buf, sizeof buf), "192.0.2.7:5353");
	CHECK(!dns_upstream_is_loopback(&u));
	CHECK_INT(dns_upstream_parse(slice_str("[::1]:5300"), &u), 0);
	CHECK_STR(dns_upstream_format(&u, buf, sizeof buf), "[::1]:5300");
	CHECK(dns_upstream_is_loopback(&u));
	CHECK_INT(dns_upstream_parse(slice_str("[2001:db8::53]"), &u), 0);
	CHECK_STR(dns_upstream_format(&u, buf, sizeof buf), "[2001:db8::53]:53");
	CHECK_INT(dns_upstream_parse(slice_str("2001:db8::53"), &u), 0);
	CHECK_INT(u.port, 53);
	const char *bad[] = {"", "1.2.3", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:53x", "[::1",
	                     "[::1]53", "[1.2.3.4]:53", "host.test", "[::1]:", "1.2.3.4:5:6"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dns_upstream_parse(slice_str(bad[i]), &u) == 0)
			CHECK_FAIL("accepted %s", bad[i]);
}

TEST(resolv_conf_nameservers)
{
	char path[] = "/tmp/tern-resolv-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	const char *text = "# comment\nsearch example.test\nnameserver 127.0.0.53\n"
	                   "nameserver fe80::1%eth0\nnameserver ::1\nnameserver junk\noptions edns0\n";
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	struct dns_upstream u[DNS_UPSTREAM_MAX];
	CHECK_INT(dns_upstream_from_resolv_conf(path, u, DNS_UPSTREAM_MAX), 2);
	char buf[64];
	CHECK_STR(dns_upstream_format(&u[0], buf, sizeof buf), "127.0.0.53:53");
	CHECK_STR(dns_upstream_format(&u[1], buf, sizeof buf), "[::1]:53");
	CHECK_INT(dns_upstream_from_resolv_conf(path, u, 1), 1);
	unlink(path);
	CHECK_INT(dns_upstream_from_resolv_conf("/nonexistent/resolv.conf", u, DNS_UPSTREAM_MAX), -1);
}

TEST(status_names_and_classes)
{
	CHECK_STR(dns_status_name(DNS_NULLMX), "nullmx");
	CHECK_STR(dns_status_name(99), "?");
	CHECK(dns_status_is_temp(DNS_TIMEOUT) && dns_status_is_temp(DNS_SERVFAIL) && dns_status_is_temp(DNS_CNAME_LOOP));
	CHECK(!dns_status_is_temp(DNS_NXDOMAIN) && !dns_status_is_temp(DNS_NULLMX) && !dns_status_is_temp(DNS_OK));
}

TEST_MAIN()
