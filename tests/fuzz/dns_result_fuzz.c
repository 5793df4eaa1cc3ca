/* libFuzzer target: DNS names from the wire and from config, resolver entries,
 * and CNAME chasing / MX shaping over answers built from the input.
 *
 * The first byte picks the mode; the rest is either raw text/wire bytes or
 * 4-byte records {type, owner, target, preference} over a small name pool, so
 * loops, long chains, null MX and IP targets come up quickly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/dns_result.h"
#include "proto/dns_upstream.h"

static const char *const pool[] = {"a.test", "b.test", "c.test", "d.test", "e.test",
                                   "f.test", "127.0.0.1", "::1", ""};
#define NPOOL (sizeof pool / sizeof pool[0])

static void records(const uint8_t *p, size_t n)
{
	static const uint16_t types[] = {DNS_T_CNAME, DNS_T_MX, DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_PTR};
	struct dns_answer *a = dns_answer_new(DNS_FETCH_REPLY);
	a->rcode = n ? p[0] % 6 : 0;
	a->ad = n && (p[0] & 0x80);
	for (size_t i = 1; i + 4 <= n && a->n < 64; i += 4) {
		struct dns_rr *r = dns_answer_add(a);
		r->type = types[p[i] % 6];
		r->owner = xstrdup(pool[p[i + 1] % (NPOOL - 1)]);
		r->target = xstrdup(pool[p[i + 2] % NPOOL]);
		r->pref = p[i + 3];
		r->ttl = p[i + 3];
		r->txt = xstrdup("t");
		r->txtlen = 1;
	}
	static const uint16_t qtypes[] = {DNS_T_MX, DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_PTR};
	for (size_t q = 0; q < 5; q++) {
		struct dns_chase c;
		enum dns_status st = DNS_OK;
		dns_chase_init(&c, "a.test");
		int steps = 0;
		while (dns_chase_step(&c, a, qtypes[q], &st) == DNS_CHASE_MORE)
			if (++steps > DNS_CNAME_MAX + 1)
				abort(); /* the chase must end within the CNAME limit */
		if (st != DNS_OK)
			continue;
		struct dns_mx mx[DNS_MX_MAX];
		size_t nmx, ign;
		uint64_t rng = 7;
		dns_result_mx(a, c.name, mx, DNS_MX_MAX, &nmx, &ign, &rng);
		for (size_t i = 1; i < nmx; i++)
			if (mx[i].pref < mx[i - 1].pref)
				abort();
		struct buf b;
		buf_init(&b);
		dns_result_addrs(a, c.name, qtypes[q], &b, DNS_ADDR_MAX);
		buf_free(&b);
		struct slice s[DNS_TXT_MAX];
		dns_result_texts(a, c.name, s, DNS_TXT_MAX);
		dns_result_names(a, c.name, s, DNS_PTR_MAX);
	}
	dns_answer_cache_ttl(a, 3600);
	dns_answer_unref(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	char out[DNS_NAME_MAX + 1];
	switch (data[0] % 4) {
	case 0:
		if (dns_name_from_wire(p, n, out) >= 0 && strlen(out) > DNS_NAME_MAX)
			abort();
		break;
	case 1:
		if (dns_name_norm(slice_of(p, n), out) == 0)
			dns_name_is_ip(out);
		break;
	case 2: {
		struct dns_upstream u;
		if (dns_upstream_parse(slice_of(p, n), &u) == 0)
			dns_upstream_format(&u, out, sizeof out);
		break;
	}
	default:
		records(p, n);
	}
	return 0;
}
