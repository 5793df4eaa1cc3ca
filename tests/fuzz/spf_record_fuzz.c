/* libFuzzer target: SPF records (badinput.md #52). The input is parsed, and
 * also served as the TXT record of every name while a full check_host() runs
 * (A/AAAA/MX/PTR answers from a fixed set), so the macro expander, the
 * include/redirect stack and the limits all see hostile input. Invariants:
 * every query name fits SPF_DOMAIN_MAX, and the evaluation ends within the
 * query bound the limits imply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/spf.h"

/* (10 DNS terms * (1 + 10 names)) + redirect/exp/record lookups, with room. */
#define SPF_FUZZ_QUERIES_MAX 200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_record *r = malloc(sizeof *r);
	const char *err;
	if (spf_record_parse(slice_of(data, size), r, &err) != 0 && !err)
		abort();
	free(r);
	struct buf out;
	buf_init(&out);
	struct spf_ip ip;
	spf_ip_parse(size % 2 ? "2001:db8::1" : "192.0.2.1", &ip);
	struct spf_macro_env env = {"user@example.com", "example.com", &ip, "helo.example", "rcv.example", 1};
	if (spf_macro_expand(slice_of(data, size), &env, size % 3 == 0, &out) == 0 && out.len > SPF_EXPAND_MAX)
		abort();
	buf_free(&out);

	struct spf_request req = {.ip = ip, .domain = "example.com", .sender = "user@example.com", .helo = "h.example"};
	struct spf_eval *ev = spf_eval_new(&req);
	struct mailauth_dns_query q;
	static const uint8_t a4[4] = {192, 0, 2, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct slice rr[3];
	int rc = spf_eval_start(ev, &q), n = 0;
	while (rc == MAILAUTH_STEP_DNS) {
		if (++n > SPF_FUZZ_QUERIES_MAX || strlen(q.name) > SPF_DOMAIN_MAX)
			abort();
		struct mailauth_dns_answer a = {MAILAUTH_DNS_OK, rr, 1};
		switch (q.type) {
		case MAILAUTH_DNS_TXT: rr[0] = slice_of(data, size); break;
		case MAILAUTH_DNS_A: rr[0] = slice_of(a4, 4); break;
		case MAILAUTH_DNS_AAAA: rr[0] = slice_of(a6, 16); break;
		default: rr[0] = SLICE_LIT("mx.example.com"), rr[1] = SLICE_LIT("."), a.nrr = 2; break;
		}
		if (n % 7 == 0)
			a.status = MAILAUTH_DNS_NXDOMAIN;
		rc = spf_eval_answer(ev, &a, &q);
	}
	spf_eval_free(ev);
	return 0;
}
