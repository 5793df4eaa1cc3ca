/* authdns: reverse names back to addresses, and resolver replies to engine answers. */
#include "check.h"

#include "../../../src/actors/authdns.c"

TEST(ptr_names_parse)
{
	uint8_t ip[16];
	CHECK_INT(ptr_ip("4.3.2.1.in-addr.arpa", ip), 4);
	CHECK(ip[0] == 1 && ip[1] == 2 && ip[2] == 3 && ip[3] == 4);
	CHECK_INT(ptr_ip("1.0.0.127.IN-ADDR.ARPA", ip), 4);
	CHECK(ip[0] == 127 && ip[3] == 1);
	CHECK_INT(ptr_ip("256.3.2.1.in-addr.arpa", ip), -1);
	CHECK_INT(ptr_ip("3.2.1.in-addr.arpa", ip), -1);
	CHECK_INT(ptr_ip("1.3.2.1.0.in-addr.arpa", ip), -1);
	/* ::1 */
	const char *v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa";
	CHECK_INT(ptr_ip(v6, ip), 16);
	CHECK(ip[15] == 1 && ip[0] == 0);
	/* 2001:db8::ab */
	const char *v6b = "b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
	CHECK_INT(ptr_ip(v6b, ip), 16);
	CHECK(ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8 && ip[15] == 0xab);
	CHECK_INT(ptr_ip("x.0.ip6.arpa", ip), -1);
	CHECK_INT(ptr_ip("example.com", ip), -1);
}

TEST(addr_reply_filters_family)
{
	uint8_t addrs[32] = {0};
	addrs[10] = addrs[11] = 0xff;
	addrs[12] = 192; addrs[13] = 0; addrs[14] = 2; addrs[15] = 1; /* ::ffff:192.0.2.1 */
	addrs[16] = 0x20; addrs[17] = 0x01; addrs[31] = 1;             /* 2001::1 */
	struct dns_addr_res r = {.status = DNS_OK, .addrs = slice_of(addrs, 32)};
	struct msg m = {.type = DNS_MSG_ADDR_RES};
	struct mailauth_dns_query q = {.type = MAILAUTH_DNS_A};
	struct authdns_answer a;
	authdns_convert(&q, &m, &r, &a);
	CHECK_INT(a.a.status, MAILAUTH_DNS_OK);
	CHECK_INT(a.a.nrr, 1);
	CHECK_INT(a.a.rr[0].len, 4);
	CHECK(a.a.rr[0].p[0] == 192 && a.a.rr[0].p[3] == 1);
	q.type = MAILAUTH_DNS_AAAA;
	authdns_convert(&q, &m, &r, &a);
	CHECK_INT(a.a.nrr, 1);
	CHECK_INT(a.a.rr[0].len, 16);
	r.status = DNS_TIMEOUT;
	authdns_convert(&q, &m, &r, &a);
	CHECK_INT(a.a.status, MAILAUTH_DNS_TEMPFAIL);
	r.status = DNS_NXDOMAIN;
	authdns_convert(&q, &m, &r, &a);
	CHECK_INT(a.a.status, MAILAUTH_DNS_NXDOMAIN);
}

TEST(txt_and_mx_replies)
{
	struct slice texts[2] = {SLICE_LIT("v=spf1 -all"), SLICE_LIT("other")};
	struct dns_txt_res t = {.status = DNS_OK, .texts = {texts, 2}};
	struct msg m = {.type = DNS_MSG_TXT_RES};
	struct mailauth_dns_query q = {.type = MAILAUTH_DNS_TXT};
	struct authdns_answer a;
	authdns_convert(&q, &m, &t, &a);
	CHECK_INT(a.a.nrr, 2);
	CHECK_MEM(a.a.rr[0].p, a.a.rr[0].len, "v=spf1 -all");
	struct slice hosts[1] = {SLICE_LIT("example.com")};
	struct dns_mx_res mx = {.status = DNS_OK, .hosts = {hosts, 1}, .implicit = true};
	m.type = DNS_MSG_MX_RES;
	q.type = MAILAUTH_DNS_MX;
	authdns_convert(&q, &m, &mx, &a);
	CHECK_INT(a.a.status, MAILAUTH_DNS_OK);
	CHECK_INT(a.a.nrr, 0); /* an implicit MX is no MX record for SPF */
}

TEST_MAIN()
