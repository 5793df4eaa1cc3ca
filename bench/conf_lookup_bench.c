/* Recipient lookups and snapshot acquire/release on a large domains.conf.
 * Usage: build/bench/conf_lookup_bench [accounts] [lookups]
 * Prints load time, ns per conf_dest_lookup (hits, separator hits, misses,
 * non-ASCII domain) and ns per acquire+release pair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/xmalloc.h"

static double per_op(uint64_t t0, long n)
{
	return (double)(clock_mono_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	long naccounts = argc > 1 ? atol(argv[1]) : 20000, nlookups = argc > 2 ? atol(argv[2]) : 2000000;
	struct buf y, err;
	buf_init(&y);
	buf_init(&err);
	buf_puts(&y, "Domains:\n");
	for (int d = 0; d < 100; d++)
		buf_printf(&y, "  d%d.example: {LocalpartCatchallSeparator: \"+\"}\n", d);
	buf_puts(&y, "  bücher.example: {}\nAccounts:\n");
	for (long i = 0; i < naccounts; i++)
		buf_printf(&y, "  a%ld: {Domain: d%ld.example, Destinations: {user%ld@d%ld.example: {}}}\n", i, i % 100, i,
			   i % 100);
	buf_puts(&y, "  u: {Domain: bücher.example, Destinations: {u@bücher.example: {}}}\n");
	uint64_t t0 = clock_mono_ns();
	struct conf_domains *dc;
	if (conf_domains_parse("bench", y.p, y.len, NULL, NULL, &dc, &err) < 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		return 1;
	}
	printf("load %ld accounts (%zu bytes): %.1f ms\n", naccounts, y.len, (double)(clock_mono_ns() - t0) / 1e6);
	char lp[64], dom[64];
	struct conf_dest out;
	long found = 0;
	const char *names[] = {"hit", "separator hit", "miss"};
	for (int kind = 0; kind < 3; kind++) {
		t0 = clock_mono_ns();
		for (long i = 0; i < nlookups; i++) {
			long a = (i * 7919) % naccounts;
			int ln = snprintf(lp, sizeof lp, kind == 1 ? "User%ld+tag" : kind == 2 ? "nobody%ld" : "user%ld", a);
			int dn = snprintf(dom, sizeof dom, "D%ld.example", a % 100);
			found += conf_dest_lookup(dc, lp, (size_t)ln, dom, (size_t)dn, &out) == 0;
		}
		printf("conf_dest_lookup %s: %.0f ns/op\n", names[kind], per_op(t0, nlookups));
	}
	t0 = clock_mono_ns();
	for (long i = 0; i < nlookups / 10; i++)
		found += conf_dest_lookup(dc, "u", 1, "BÜCHER.example", strlen("BÜCHER.example"), &out) == 0;
	printf("conf_dest_lookup non-ASCII domain: %.0f ns/op\n", per_op(t0, nlookups / 10));
	conf_domains_install(dc);
	t0 = clock_mono_ns();
	for (long i = 0; i < nlookups; i++)
		conf_domains_release(conf_domains_acquire());
	printf("acquire+release: %.0f ns/op (found %ld)\n", per_op(t0, nlookups), found);
	conf_domains_install(NULL);
	buf_free(&y);
	buf_free(&err);
	return 0;
}
