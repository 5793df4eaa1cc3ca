/* IP ordering for delivery attempts (queue.md §4 "Both IP families", §11.3):
 * IPv6 first without history, the other family after a dialed IP, the previously
 * dialed IP of a family first, family filters, duplicates and junk in DialedIPs. */
#include "check.h"

#include <arpa/inet.h>

#include "actors/delivery_ips.h"
#include "core/xmalloc.h"

/* Addresses as DNS_MSG_ADDR_RES carries them: 16 bytes each, IPv4 mapped. */
static size_t addrs(const char *const *ips, uint8_t *out)
{
	size_t n = 0;
	for (; *ips; ips++, n++) {
		uint8_t *p = out + 16 * n;
		memset(p, 0, 16);
		if (strchr(*ips, ':')) {
			inet_pton(AF_INET6, *ips, p);
		} else {
			p[10] = p[11] = 0xff;
			inet_pton(AF_INET, *ips, p + 12);
		}
	}
	return n;
}

/* Orders ips with dialed (NULL-terminated, may be NULL) and joins the result with spaces. */
static const char *order(const char *const *ips, const char *const *dialed, bool no4, bool no6)
{
	static char s[1024];
	uint8_t a[16 * 16];
	size_t n = addrs(ips, a);
	struct store_strs d = {0};
	char *v[16];
	for (; dialed && dialed[d.n]; d.n++)
		v[d.n] = (char *)dialed[d.n];
	d.v = v;
	struct netaddr out[16];
	size_t k = delivery_ips_order(a, n, no4, no6, dialed ? &d : NULL, out, 16);
	s[0] = 0;
	for (size_t i = 0; i < k; i++) {
		char t[NETADDR_STRLEN];
		if (i)
			strcat(s, " ");
		strcat(s, netaddr_format(&out[i], t));
	}
	return s;
}

static const char *const HOST[] = {"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2", NULL};

TEST(no_history_ipv6_first_dns_order_kept)
{
	CHECK_STR(order(HOST, NULL, false, false), "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2");
	const char *const none[] = {NULL};
	CHECK_STR(order(HOST, none, false, false), "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2");
}

TEST(after_ipv6_the_other_family_first)
{
	const char *const d[] = {"2001:db8::2", NULL};
	/* IPv4 leads; in IPv6 the one dialed before leads (greylisting) */
	CHECK_STR(order(HOST, d, false, false), "192.0.2.1 192.0.2.2 2001:db8::2 2001:db8::1");
}

TEST(same_family_prefers_the_ip_dialed_before)
{
	/* attempt 1: 192.0.2.2, attempt 2: 2001:db8::1; attempt 3 is IPv4 again, 192.0.2.2 first */
	const char *const d[] = {"192.0.2.2", "2001:db8::1", NULL};
	CHECK_STR(order(HOST, d, false, false), "192.0.2.2 192.0.2.1 2001:db8::1 2001:db8::2");
	/* the most recent one of a family counts */
	const char *const d2[] = {"192.0.2.2", "192.0.2.1", "2001:db8::2", NULL};
	CHECK_STR(order(HOST, d2, false, false), "192.0.2.1 192.0.2.2 2001:db8::2 2001:db8::1");
}

TEST(families_can_be_disabled)
{
	CHECK_STR(order(HOST, NULL, true, false), "2001:db8::1 2001:db8::2");
	CHECK_STR(order(HOST, NULL, false, true), "192.0.2.1 192.0.2.2");
	CHECK_STR(order(HOST, NULL, true, true), "");
}

TEST(duplicates_and_junk)
{
	const char *const dup[] = {"192.0.2.1", "192.0.2.1", "::ffff:192.0.2.1", NULL};
	CHECK_STR(order(dup, NULL, false, false), "192.0.2.1");
	const char *const junk[] = {"not an ip", "", NULL};
	CHECK_STR(order(HOST, junk, false, false), "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2");
	const char *const gone[] = {"198.51.100.7", NULL}; /* dialed before, no longer in DNS */
	CHECK_STR(order(HOST, gone, false, false), "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2");
}

TEST(max_respected)
{
	uint8_t a[16 * 16];
	size_t n = addrs(HOST, a);
	struct netaddr out[2];
	CHECK_INT(delivery_ips_order(a, n, false, false, NULL, out, 2), 2);
	CHECK_INT(out[0].family, 6);
}

TEST(both_families_and_dialed_lookup)
{
	struct netaddr v[2] = {0};
	netaddr_parse(slice_str("192.0.2.1"), &v[0]);
	netaddr_parse(slice_str("2001:db8::1"), &v[1]);
	CHECK(delivery_ips_both(v, 2));
	CHECK(!delivery_ips_both(v, 1));
	struct store_queue_rec q = {0};
	struct store_ipmap_ent e = {.host = "MX.Example.test", .ips = {.v = (char *[]){"192.0.2.1"}, .n = 1}};
	q.dialed_ips.v = &e;
	q.dialed_ips.n = 1;
	const struct store_strs *d = delivery_ips_dialed(&q, "mx.example.test");
	CHECK(d && d->n == 1);
	CHECK(delivery_ips_dialed(&q, "other.example.test") == NULL);
}

TEST_MAIN()
