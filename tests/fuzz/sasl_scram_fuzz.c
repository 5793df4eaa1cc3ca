/* libFuzzer target: the SCRAM message parsers, the SCRAM server engine and
 * the SCRAM client against hostile server messages.
 * Input: one control byte (mechanism, channel, which side), then messages
 * separated by 0x00 (NUL never appears in valid SCRAM data, and the engines
 * must reject it anyway). Server side: message 1 is client-first, then
 * client-final, then the reply to server-final; NEED_SECRETS gets secrets
 * for "user" (4096 iterations) or "unknown". Client side: messages are the
 * server's challenges. The nonces are fixed (server part "SRV", client
 * nonce "fuzz") so that inputs can get past the nonce checks. Success is only possible with the right proof, which
 * the fuzzer cannot produce: OK or DONE aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sasl.h"
#include "proto/sasl_scram_msg.h"

static struct password_secrets fuzz_secrets;

static const struct password_secrets *fuzz_lookup(struct slice user)
{
	static int ready;
	if (!ready) {
		uint8_t salt[16] = "fuzz-salt-16byte";
		password_scram_derive(SASL_HASH_SHA256, SLICE_LIT("pencil"), slice_of(salt, 16), 4096,
		                      &fuzz_secrets.scram_sha256);
		password_scram_derive(SASL_HASH_SHA1, SLICE_LIT("pencil"), slice_of(salt, 16), 4096,
		                      &fuzz_secrets.scram_sha1);
		fuzz_secrets.have = PASSWORD_HAVE_SCRAM_SHA256 | PASSWORD_HAVE_SCRAM_SHA1;
		ready = 1;
	}
	return slice_eq(user, SLICE_LIT("user")) ? &fuzz_secrets : NULL;
}

static struct slice next_msg(struct slice *in)
{
	const uint8_t *z = memchr(in->p, 0, in->len);
	size_t n = z ? (size_t)(z - in->p) : in->len;
	struct slice m = slice_of(in->p, n);
	in->p += z ? n + 1 : n;
	in->len -= z ? n + 1 : n;
	return m;
}

static void fuzz_parsers(struct slice m)
{
	struct sasl_scram_client_first a;
	struct sasl_scram_client_final b;
	struct sasl_scram_server_first c;
	struct sasl_scram_server_final d;
	struct buf name;
	buf_init(&name);
	sasl_scram_msg_client_first(m, &a);
	sasl_scram_msg_client_final(m, &b);
	sasl_scram_msg_server_first(m, &c);
	sasl_scram_msg_server_final(m, &d);
	if (sasl_scram_msg_name_decode(m, &name) == SASL_ERR_NONE) {
		struct buf again;
		buf_init(&again);
		sasl_scram_msg_name_encode(buf_slice(&name), &again);
		if (!slice_eq(buf_slice(&again), m))
			abort(); /* escapes decode and re-encode exactly */
		buf_free(&again);
	}
	buf_free(&name);
}

static const uint8_t fuzz_cb[32] = "exporter-data-for-the-fuzz-test";

static void fuzz_server(enum sasl_mech mech, struct sasl_channel ch, struct slice rest)
{
	struct sasl_server_cfg cfg = {.mech = mech, .chan = ch, .fake_secret = SLICE_LIT("k")};
	struct sasl_server *s = sasl_server_new(&cfg);
	sasl_server_set_nonce(s, SLICE_LIT("SRV")); /* so inputs can reach the proof check */
	struct sasl_step st;
	struct slice first = next_msg(&rest);
	sasl_server_start(s, &first, &st);
	for (int round = 0; round < 8; round++) {
		if (st.status == SASL_NEED_SECRETS)
			sasl_server_secrets(s, fuzz_lookup(st.user), &st);
		else if (st.status == SASL_CONTINUE && rest.len > 0)
			sasl_server_step(s, next_msg(&rest), &st);
		else
			break;
	}
	if (st.status == SASL_OK)
		abort();
	sasl_server_free(s);
}

static void fuzz_client(enum sasl_mech mech, struct sasl_channel ch, struct slice rest)
{
	struct sasl_client_cfg cfg = {.mech = mech, .user = SLICE_LIT("user"),
	                              .password = SLICE_LIT("pencil"), .chan = ch};
	struct sasl_client *c = sasl_client_new(&cfg);
	if (!c)
		return;
	sasl_client_set_nonce(c, SLICE_LIT("fuzz")); /* so server-first can extend it */
	struct sasl_cstep cs;
	sasl_client_start(c, &cs);
	for (int round = 0; round < 4 && rest.len > 0 && cs.status == SASL_CLIENT_RESPOND; round++)
		sasl_client_step(c, next_msg(&rest), &cs);
	if (cs.status == SASL_CLIENT_DONE || sasl_client_verified(c))
		abort();
	sasl_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum sasl_mech mechs[] = {SASL_SCRAM_SHA_256_PLUS, SASL_SCRAM_SHA_256,
	                                       SASL_SCRAM_SHA_1_PLUS, SASL_SCRAM_SHA_1};
	enum sasl_mech mech = mechs[data[0] & 3];
	struct sasl_channel ch = {0};
	if (data[0] & 4) {
		ch.tls = true;
		ch.tls_version = (data[0] & 8) ? 13 : 12;
		ch.cb_data = slice_of(fuzz_cb, (data[0] & 8) ? 32 : 12);
	}
	struct slice rest = slice_of(data + 1, size - 1);
	fuzz_parsers(rest);
	if (data[0] & 0x10)
		fuzz_client(mech, ch, rest);
	else
		fuzz_server(mech, ch, rest);
	return 0;
}
