/* SCRAM-SHA-1 / SCRAM-SHA-256 (-PLUS) client for Tern's outbound SMTP.
 *
 * DESIGN: client-first (initial response) -> server-first -> client-final
 * -> server-final, whose `v=` must carry the server signature; only then is
 * the exchange DONE and sasl_client_verified() true, so a relay that skips or
 * fakes the server-final message is not trusted. A hostile server is held to
 * RFC 5802: its nonce must extend ours, no mandatory extensions, strict
 * base64, and an iteration count within PASSWORD_SCRAM_ITERATIONS_MIN..MAX
 * (bounding the PBKDF2 work it can make us do). The gs2 flag is `p` for
 * -PLUS (tls-exporter on TLS 1.3, tls-unique on TLS 1.2), `y` when TLS
 * binding data exists but a non-PLUS mechanism was chosen, else `n`. */
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/sasl_crypto.h"
#include "proto/sasl_impl.h"
#include "proto/sasl_scram_msg.h"

/** Random bytes in a client nonce (base64: 24 printable characters). */
#define SASL_SCRAM_CLIENT_NONCE_BYTES 18
/** Longest salt accepted from a server, decoded. */
#define SASL_SCRAM_CLIENT_SALT_MAX 128

enum sasl_scram_cstate {
	SASL_SCRAM_C_FIRST,
	SASL_SCRAM_C_WAIT_SERVER_FIRST,
	SASL_SCRAM_C_WAIT_SERVER_FINAL,
};

struct sasl_scram_client {
	struct sasl_client base;
	enum sasl_hash hash;
	enum sasl_scram_cstate state;
	struct buf gs2_header;
	struct buf client_first_bare;
	struct buf cnonce;
	uint8_t server_sig[SASL_HASH_MAX];
	bool resent;                 /* client-first sent again after an empty challenge */
};

static void sasl_scram_client_destroy(struct sasl_client *c)
{
	struct sasl_scram_client *x = (struct sasl_scram_client *)c;
	buf_free(&x->gs2_header);
	buf_free(&x->client_first_bare);
	buf_free(&x->cnonce);
	sasl_crypto_wipe(x, sizeof *x);
	free(x);
}

static void sasl_scram_client_start(struct sasl_client *c, struct sasl_cstep *st)
{
	struct sasl_scram_client *x = (struct sasl_scram_client *)c;
	if (sasl_mech_is_plus(c->mech))
		buf_puts(&x->gs2_header,
		         c->chan.tls_version == 13 ? "p=tls-exporter,," : "p=tls-unique,,");
	else if (c->chan.tls && c->chan.cb_data.len > 0)
		buf_puts(&x->gs2_header, "y,,");
	else
		buf_puts(&x->gs2_header, "n,,");
	if (c->test_nonce.len > 0) {
		buf_append(&x->cnonce, c->test_nonce.p, c->test_nonce.len);
	} else {
		uint8_t r[SASL_SCRAM_CLIENT_NONCE_BYTES];
		sasl_crypto_random(r, sizeof r);
		base64_encode(&x->cnonce, slice_of(r, sizeof r));
	}
	buf_puts(&x->client_first_bare, "n=");
	sasl_scram_msg_name_encode(buf_slice(&c->user), &x->client_first_bare);
	buf_puts(&x->client_first_bare, ",r=");
	buf_append(&x->client_first_bare, x->cnonce.p, x->cnonce.len);
	buf_reset(&c->out);
	buf_append(&c->out, x->gs2_header.p, x->gs2_header.len);
	buf_append(&c->out, x->client_first_bare.p, x->client_first_bare.len);
	x->state = SASL_SCRAM_C_WAIT_SERVER_FIRST;
	sasl_cstep_respond(c, st);
}

/* Checks the server-first message; on success decodes the salt into salt. */
static enum sasl_err sasl_scram_client_check_first(struct sasl_scram_client *x,
                                                   const struct sasl_scram_server_first *sf,
                                                   struct buf *salt)
{
	if (sf->nonce.len <= x->cnonce.len ||
	    memcmp(sf->nonce.p, x->cnonce.p, x->cnonce.len) != 0)
		return SASL_ERR_NONCE;
	if (sf->salt.len > base64_encoded_len(SASL_SCRAM_CLIENT_SALT_MAX) ||
	    base64_decode(salt, sf->salt) != 0 || salt->len == 0)
		return SASL_ERR_ENCODING;
	if (sf->iterations < PASSWORD_SCRAM_ITERATIONS_MIN ||
	    sf->iterations > PASSWORD_SCRAM_ITERATIONS_MAX)
		return SASL_ERR_SERVER;
	return SASL_ERR_NONE;
}

static void sasl_scram_client_final(struct sasl_scram_client *x, struct slice server_first,
                                    const struct sasl_scram_server_first *sf, struct slice salt)
{
	struct sasl_client *c = &x->base;
	size_t hl = sasl_hash_len(x->hash);
	uint8_t salted[SASL_HASH_MAX], ckey[SASL_HASH_MAX], stored[SASL_HASH_MAX],
	    skey[SASL_HASH_MAX], csig[SASL_HASH_MAX];
	sasl_crypto_pbkdf2(x->hash, buf_slice(&c->password), salt, sf->iterations, salted);
	sasl_crypto_hmac(x->hash, slice_of(salted, hl), SLICE_LIT("Client Key"), ckey);
	sasl_crypto_hash(x->hash, slice_of(ckey, hl), stored);
	sasl_crypto_hmac(x->hash, slice_of(salted, hl), SLICE_LIT("Server Key"), skey);

	struct buf cbind, am;
	buf_init(&cbind);
	buf_append(&cbind, x->gs2_header.p, x->gs2_header.len);
	if (sasl_mech_is_plus(c->mech))
		buf_append(&cbind, c->chan.cb_data.p, c->chan.cb_data.len);
	buf_reset(&c->out);
	buf_puts(&c->out, "c=");
	base64_encode(&c->out, buf_slice(&cbind));
	buf_puts(&c->out, ",r=");
	buf_append(&c->out, sf->nonce.p, sf->nonce.len);
	buf_init(&am);
	buf_append(&am, x->client_first_bare.p, x->client_first_bare.len);
	buf_putc(&am, ',');
	buf_append(&am, server_first.p, server_first.len);
	buf_putc(&am, ',');
	buf_append(&am, c->out.p, c->out.len);
	sasl_crypto_hmac(x->hash, slice_of(stored, hl), buf_slice(&am), csig);
	for (size_t i = 0; i < hl; i++)
		ckey[i] ^= csig[i]; /* ClientProof */
	sasl_crypto_hmac(x->hash, slice_of(skey, hl), buf_slice(&am), x->server_sig);
	buf_puts(&c->out, ",p=");
	base64_encode(&c->out, slice_of(ckey, hl));
	buf_free(&cbind);
	buf_free(&am);
	sasl_crypto_wipe(salted, sizeof salted);
	sasl_crypto_wipe(ckey, sizeof ckey);
	sasl_crypto_wipe(skey, sizeof skey);
}

static void sasl_scram_client_on_first(struct sasl_scram_client *x, struct slice in,
                                       struct sasl_cstep *st)
{
	struct sasl_scram_server_first sf;
	struct buf salt;
	buf_init(&salt);
	enum sasl_err e = sasl_scram_msg_server_first(in, &sf);
	if (e == SASL_ERR_NONE)
		e = sasl_scram_client_check_first(x, &sf, &salt);
	if (e == SASL_ERR_NONE) {
		sasl_scram_client_final(x, in, &sf, buf_slice(&salt));
		x->state = SASL_SCRAM_C_WAIT_SERVER_FINAL;
		sasl_cstep_respond(&x->base, st);
	} else {
		sasl_cstep_fail(&x->base, st, e);
	}
	buf_free(&salt);
}

static void sasl_scram_client_on_final(struct sasl_scram_client *x, struct slice in,
                                       struct sasl_cstep *st)
{
	struct sasl_client *c = &x->base;
	struct sasl_scram_server_final sf;
	size_t hl = sasl_hash_len(x->hash), vlen = 0;
	uint8_t v[SASL_HASH_MAX];
	enum sasl_err e = sasl_scram_msg_server_final(in, &sf);
	if (e == SASL_ERR_NONE && sf.error)
		e = SASL_ERR_SERVER;
	if (e == SASL_ERR_NONE &&
	    (base64_decode_to(v, sizeof v, &vlen, sf.value) != 0 || vlen != hl))
		e = SASL_ERR_ENCODING;
	if (e == SASL_ERR_NONE && !sasl_crypto_eq(v, x->server_sig, hl))
		e = SASL_ERR_SERVER;
	if (e != SASL_ERR_NONE) {
		sasl_cstep_fail(c, st, e);
		return;
	}
	c->verified = true;
	buf_reset(&c->out);
	st->status = SASL_CLIENT_DONE;
	st->out = buf_slice(&c->out);
}

static void sasl_scram_client_step(struct sasl_client *c, struct slice challenge,
                                   struct sasl_cstep *st)
{
	struct sasl_scram_client *x = (struct sasl_scram_client *)c;
	if (x->state == SASL_SCRAM_C_WAIT_SERVER_FIRST && challenge.len == 0 && !x->resent) {
		/* The server ignored the initial response: send client-first (still in out) now. */
		x->resent = true;
		sasl_cstep_respond(c, st);
		return;
	}
	if (x->state == SASL_SCRAM_C_WAIT_SERVER_FIRST)
		sasl_scram_client_on_first(x, challenge, st);
	else
		sasl_scram_client_on_final(x, challenge, st);
}

static const struct sasl_client_ops sasl_scram_client_ops = {
	.start = sasl_scram_client_start,
	.step = sasl_scram_client_step,
	.destroy = sasl_scram_client_destroy,
};

struct sasl_client *sasl_scram_client_new(const struct sasl_client_cfg *cfg)
{
	struct sasl_scram_client *x = xcalloc(1, sizeof *x);
	buf_init(&x->gs2_header);
	buf_init(&x->client_first_bare);
	buf_init(&x->cnonce);
	x->hash = sasl_mech_hash(cfg->mech);
	if (sasl_client_init(&x->base, &sasl_scram_client_ops, cfg) != 0) {
		sasl_client_free(&x->base);
		return NULL;
	}
	return &x->base;
}
