/* libFuzzer target: the PLAIN, LOGIN and CRAM-MD5 server engines behind the
 * SMTP line conventions. Input: one byte choosing the mechanism and whether
 * an initial response is present, then lines separated by '\n' (the AUTH
 * initial response, then continuation lines). Every exchange must end in a
 * clean status within its lines; NEED_SECRETS is answered with real secrets
 * for "user" (bcrypt cost 4) and "unknown" for anyone else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sasl.h"

static struct password_secrets fuzz_secrets;

static const struct password_secrets *fuzz_lookup(struct slice user)
{
	static int ready;
	if (!ready) {
		if (password_derive(SLICE_LIT("pencil"), 4096, 4, &fuzz_secrets) != 0)
			abort();
		ready = 1;
	}
	return slice_eq(user, SLICE_LIT("user")) ? &fuzz_secrets : NULL;
}

/* Takes the next '\n'-terminated line (or the rest) from *in. */
static struct slice next_line(struct slice *in)
{
	const uint8_t *nl = memchr(in->p, '\n', in->len);
	size_t n = nl ? (size_t)(nl - in->p) : in->len;
	struct slice l = slice_of(in->p, n);
	in->p += nl ? n + 1 : n;
	in->len -= nl ? n + 1 : n;
	return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum sasl_mech mechs[] = {SASL_PLAIN, SASL_LOGIN, SASL_CRAM_MD5};
	struct sasl_server_cfg cfg = {.mech = mechs[(data[0] & 0x7f) % 3],
	                              .hostname = SLICE_LIT("mx.example.test"),
	                              .fake_secret = SLICE_LIT("k")};
	struct sasl_server *s = sasl_server_new(&cfg);
	struct slice rest = slice_of(data + 1, size - 1);
	struct sasl_step st;
	if (data[0] & 0x80) {
		struct slice ir = next_line(&rest);
		sasl_server_start_b64(s, &ir, &st);
	} else {
		sasl_server_start_b64(s, NULL, &st);
	}
	for (int round = 0; round < 16; round++) {
		if (st.status == SASL_NEED_SECRETS) {
			if (st.user.len == 0 || st.user.len > SASL_NAME_MAX || memchr(st.user.p, 0, st.user.len))
				abort();
			sasl_server_secrets(s, fuzz_lookup(st.user), &st);
		} else if (st.status == SASL_CONTINUE && rest.len > 0) {
			sasl_server_step_b64(s, next_line(&rest), &st);
		} else {
			break;
		}
	}
	if (st.status == SASL_OK && !slice_eq(st.user, SLICE_LIT("user")))
		abort();
	sasl_server_free(s);
	return 0;
}
