/* libFuzzer target: DKIM-Signature values (badinput.md #51). The input is
 * parsed as a signature value, then put into a message as a DKIM-Signature
 * field and run through the verifier with a fixed key answer, which covers
 * the tag parser, header splitting, canonicalisation and the crypto calls.
 * Invariants: a parsed signature has d=, s=, From in h=, and a body hash of
 * the algorithm's length; verification ends within DKIM_VERIFY_SIGS_MAX
 * queries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dkim_sig.h"
#include "proto/dkim_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice in = slice_of(data, size);
	struct dkim_sig sig;
	const char *err;
	if (dkim_sig_parse(in, &sig, &err) == 0) {
		bool from = false;
		for (size_t i = 0; i < sig.nh; i++)
			from |= slice_eq_str_nocase(sig.h[i], "from");
		if (!from || !sig.domain[0] || !sig.selector[0] || sig.bh.len != dkim_hash_len(sig.alg) ||
		    sig.b_raw_end < sig.b_raw_start || sig.b_raw_end > size)
			abort();
		dkim_sig_free(&sig);
	} else if (!err) {
		abort();
	}
	struct buf msg;
	buf_init(&msg);
	buf_puts(&msg, "DKIM-Signature:");
	buf_append(&msg, data, size);
	buf_puts(&msg, "\r\nFrom: a@example.com\r\nSubject: x\r\n\r\nbody \r\n\r\n");
	struct dkim_verify *v = dkim_verify_new(1700000000);
	struct mailauth_dns_query q;
	static const struct slice key = SLICE_LIT("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	struct mailauth_dns_answer a = {MAILAUTH_DNS_OK, &key, 1};
	int rc = dkim_verify_start(v, buf_slice(&msg), &q), n = 0;
	while (rc == MAILAUTH_STEP_DNS) {
		if (++n > DKIM_VERIFY_SIGS_MAX || strlen(q.name) > MAILAUTH_NAME_MAX)
			abort();
		rc = dkim_verify_answer(v, &a, &q);
	}
	dkim_verify_free(v);
	buf_free(&msg);
	return 0;
}
