/* IP addresses: parse/format, host:port forms, CIDR, mask-level keys, sockaddr. */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/netaddr.h"

static struct netaddr ip(const char *s)
{
	struct netaddr a;
	if (netaddr_parse(slice_str(s), &a) < 0)
		memset(&a, 0xee, sizeof a);
	return a;
}

static const char *fmt(const char *s)
{
	static char b[NETADDR_STRLEN];
	struct netaddr a;
	if (netaddr_parse(slice_str(s), &a) < 0)
		return "bad";
	return netaddr_format(&a, b);
}

TEST(parse_format)
{
	CHECK_STR(fmt("192.0.2.10"), "192.0.2.10");
	CHECK_STR(fmt("0.0.0.0"), "0.0.0.0");
	CHECK_STR(fmt("2001:DB8:0:0:0:0:0:10"), "2001:db8::10");
	CHECK_STR(fmt("::1"), "::1");
	CHECK_STR(fmt("::"), "::");
	CHECK_STR(fmt("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
	CHECK_STR(fmt("01.2.3.4"), "bad");
	CHECK_STR(fmt("1.2.3"), "bad");
	CHECK_STR(fmt("1.2.3.256"), "bad");
	CHECK_STR(fmt("1.2.3.4 "), "bad");
	CHECK_STR(fmt("1234.1.1.1"), "bad");
	CHECK_STR(fmt("fe80::1%eth0"), "bad");
	CHECK_STR(fmt("[::1]"), "bad");
	CHECK_STR(fmt(""), "bad");
	CHECK_STR(fmt("example.com"), "bad");
	CHECK_INT(ip("10.0.0.1").family, 4);
	CHECK_INT(ip("::ffff:10.0.0.1").family, 6);
	struct netaddr m = netaddr_unmap(ip("::ffff:10.0.0.1")), v4 = ip("10.0.0.1");
	CHECK(netaddr_eq(&m, &v4));
}

TEST(hostport)
{
	struct netaddr a;
	uint16_t port;
	char b[NETADDR_PORTSTRLEN];
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("192.0.2.1"), 53, &a, &port), 0);
	CHECK_STR(netaddr_format_port(&a, port, b), "192.0.2.1:53");
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("127.0.0.1:5353"), 53, &a, &port), 0);
	CHECK_STR(netaddr_format_port(&a, port, b), "127.0.0.1:5353");
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("[::1]:5353"), 53, &a, &port), 0);
	CHECK_STR(netaddr_format_port(&a, port, b), "[::1]:5353");
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("[2001:db8::1]"), 53, &a, &port), 0);
	CHECK_INT(port, 53);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("::1"), 53, &a, &port), 0);
	CHECK_INT(port, 53);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("1.2.3.4:0"), 53, &a, &port), -1);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("1.2.3.4:65536"), 53, &a, &port), -1);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("1.2.3.4:"), 53, &a, &port), -1);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("[1.2.3.4]:53"), 53, &a, &port), -1);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("[::1]x"), 53, &a, &port), -1);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("[::1"), 53, &a, &port), -1);
	CHECK_INT(netaddr_parse_hostport(SLICE_LIT("host:53"), 53, &a, &port), -1);
}

TEST(cidr)
{
	struct netaddr_cidr c;
	char b[NETADDR_STRLEN + 4];
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.1.2.3/8"), &c), 0);
	CHECK_STR(netaddr_cidr_format(&c, b), "10.0.0.0/8");
	struct netaddr a = ip("10.200.0.1"), o = ip("11.0.0.1"), mapped = ip("::ffff:10.9.9.9");
	CHECK(netaddr_cidr_match(&c, &a));
	CHECK(!netaddr_cidr_match(&c, &o));
	CHECK(netaddr_cidr_match(&c, &mapped));
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("2001:db8::/32"), &c), 0);
	a = ip("2001:db8:ffff::1");
	o = ip("2001:db9::1");
	CHECK(netaddr_cidr_match(&c, &a) && !netaddr_cidr_match(&c, &o));
	CHECK(!netaddr_cidr_match(&c, &mapped));
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("192.0.2.7"), &c), 0);
	CHECK_STR(netaddr_cidr_format(&c, b), "192.0.2.7/32");
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("0.0.0.0/0"), &c), 0);
	CHECK(netaddr_cidr_match(&c, &a) == false && netaddr_cidr_match(&c, &mapped));
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.0.0.0/33"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("::/129"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.0.0.0/"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.0.0.0/08"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.0.0.0/x"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.0.0.0/8/8"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("10.0.0/8"), &c), -1);
	CHECK_INT(netaddr_cidr_parse(SLICE_LIT("fe80::1:2/10"), &c), 0);
	CHECK_STR(netaddr_cidr_format(&c, b), "fe80::/10");
}

TEST(levels)
{
	CHECK_INT(netaddr_level_bits(4, 1), 32);
	CHECK_INT(netaddr_level_bits(4, 2), 26);
	CHECK_INT(netaddr_level_bits(4, 3), 21);
	CHECK_INT(netaddr_level_bits(6, 1), 64);
	CHECK_INT(netaddr_level_bits(6, 2), 48);
	CHECK_INT(netaddr_level_bits(6, 3), 32);
	struct netaddr a = ip("192.0.2.1"), b = ip("192.0.2.62"), c = ip("192.0.2.64"), d = ip("192.0.7.255"),
		       e = ip("192.0.8.0"), mapped = ip("::ffff:192.0.2.1");
	struct netaddr_key ka1 = netaddr_level_key(&a, 1), kb1 = netaddr_level_key(&b, 1), km1 = netaddr_level_key(&mapped, 1);
	CHECK(memcmp(&ka1, &kb1, sizeof ka1) != 0);
	CHECK(memcmp(&ka1, &km1, sizeof ka1) == 0);
	struct netaddr_key ka2 = netaddr_level_key(&a, 2), kb2 = netaddr_level_key(&b, 2), kc2 = netaddr_level_key(&c, 2);
	CHECK(memcmp(&ka2, &kb2, sizeof ka2) == 0 && memcmp(&ka2, &kc2, sizeof ka2) != 0);
	struct netaddr_key ka3 = netaddr_level_key(&a, 3), kd3 = netaddr_level_key(&d, 3), ke3 = netaddr_level_key(&e, 3);
	CHECK(memcmp(&ka3, &kd3, sizeof ka3) == 0 && memcmp(&ka3, &ke3, sizeof ka3) != 0);
	CHECK(memcmp(&ka1, &ka2, sizeof ka1) != 0); /* the level is part of the key */
	CHECK(netaddr_key_hash(&ka2) == netaddr_key_hash(&kb2));
	struct netaddr x = ip("2001:db8:1:2:3::1"), y = ip("2001:db8:1:2:ffff::9"), z = ip("2001:db8:1:3::1"),
		       w = ip("2001:db8:2::1"), v = ip("2001:db9::1");
	struct netaddr_key kx1 = netaddr_level_key(&x, 1), ky1 = netaddr_level_key(&y, 1), kz1 = netaddr_level_key(&z, 1);
	CHECK(memcmp(&kx1, &ky1, sizeof kx1) == 0 && memcmp(&kx1, &kz1, sizeof kx1) != 0);
	struct netaddr_key kx2 = netaddr_level_key(&x, 2), kz2 = netaddr_level_key(&z, 2), kw2 = netaddr_level_key(&w, 2);
	CHECK(memcmp(&kx2, &kz2, sizeof kx2) == 0 && memcmp(&kx2, &kw2, sizeof kx2) != 0);
	struct netaddr_key kx3 = netaddr_level_key(&x, 3), kw3 = netaddr_level_key(&w, 3), kv3 = netaddr_level_key(&v, 3);
	CHECK(memcmp(&kx3, &kw3, sizeof kx3) == 0 && memcmp(&kx3, &kv3, sizeof kx3) != 0);
}

TEST(classes)
{
	const char *internal[] = {"127.0.0.1", "10.1.1.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.1.1",
				  "0.0.0.0", "::1", "::", "fc00::1", "fd12::1", "fe80::1", "::ffff:127.0.0.1"};
	const char *external[] = {"8.8.8.8", "172.32.0.1", "192.0.2.1", "2001:db8::1", "fec0::1", "::ffff:8.8.8.8"};
	for (size_t i = 0; i < sizeof internal / sizeof *internal; i++) {
		struct netaddr a = ip(internal[i]);
		if (!netaddr_is_internal(&a))
			CHECK_FAIL("%s should be internal", internal[i]);
	}
	for (size_t i = 0; i < sizeof external / sizeof *external; i++) {
		struct netaddr a = ip(external[i]);
		if (netaddr_is_internal(&a))
			CHECK_FAIL("%s should not be internal", external[i]);
	}
	struct netaddr u = ip("::"), l = ip("::ffff:127.1.2.3");
	CHECK(netaddr_is_unspecified(&u) && netaddr_is_loopback(&l));
}

TEST(sockaddr)
{
	struct sockaddr_storage ss;
	struct netaddr a = ip("2001:db8::5"), back;
	uint16_t port = 0;
	socklen_t n = netaddr_to_sockaddr(&a, 2525, &ss);
	CHECK_INT(n, sizeof(struct sockaddr_in6));
	CHECK_INT(netaddr_from_sockaddr((struct sockaddr *)&ss, &back, &port), 0);
	CHECK(netaddr_eq(&a, &back) && port == 2525);
	a = ip("192.0.2.5");
	n = netaddr_to_sockaddr(&a, 25, &ss);
	CHECK_INT(n, sizeof(struct sockaddr_in));
	CHECK_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 25);
	CHECK_INT(netaddr_from_sockaddr((struct sockaddr *)&ss, &back, NULL), 0);
	CHECK(netaddr_eq(&a, &back));
	ss.ss_family = AF_UNIX;
	CHECK_INT(netaddr_from_sockaddr((struct sockaddr *)&ss, &back, NULL), -1);
}

TEST_MAIN()
