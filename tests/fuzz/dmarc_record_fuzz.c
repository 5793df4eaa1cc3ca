/* libFuzzer target: DMARC records and Authentication-Results authserv-ids.
 * The input is parsed as a record, run through an evaluation as the TXT
 * answer, used as a domain for organisational-domain lookup against a small
 * Public Suffix List (which is itself also parsed from the input), and
 * checked as an Authentication-Results value. Invariants: parsed values are
 * in range, the evaluation asks at most two questions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/authres.h"
#include "proto/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice in = slice_of(data, size);
	struct dmarc_record r;
	const char *err;
	if (dmarc_record_parse(in, &r, &err) == 0) {
		if (r.pct < 0 || r.pct > 100 || r.nrua > DMARC_URIS_MAX || r.nruf > DMARC_URIS_MAX)
			abort();
	} else if (!err) {
		abort();
	}
	struct dmarc_psl *psl = dmarc_psl_parse(in);
	char *dom = slice_strdup(slice_of(data, size > MAILAUTH_NAME_MAX ? MAILAUTH_NAME_MAX : size));
	char org[MAILAUTH_NAME_MAX + 1];
	dmarc_psl_orgdomain(psl, dom, org, sizeof org);
	if (strlen(org) > MAILAUTH_NAME_MAX)
		abort();
	dmarc_aligned(psl, dom, "example.com", false);
	struct dkim_result dk = {.status = DKIM_PASS};
	memcpy(dk.domain, org, strlen(org) + 1);
	struct dmarc_input din = {.from_domain = "mail.example.com", .dkim = &dk, .ndkim = 1, .spf = SPF_PASS,
	                          .spf_domain = dom, .pct_roll = (unsigned)size, .psl = psl};
	struct dmarc_eval *ev = dmarc_eval_new(&din);
	struct mailauth_dns_query q;
	struct mailauth_dns_answer a = {MAILAUTH_DNS_OK, &in, 1};
	int rc = dmarc_eval_start(ev, &q), n = 0;
	while (rc == MAILAUTH_STEP_DNS) {
		if (++n > 2)
			abort();
		rc = dmarc_eval_answer(ev, &a, &q);
	}
	dmarc_eval_free(ev);
	authres_is_ours(in, "mx.example.com");
	free(dom);
	dmarc_psl_free(psl);
	return 0;
}
