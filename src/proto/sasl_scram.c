/* SCRAM-SHA-1 and SCRAM-SHA-256 server (RFC 5802, RFC 7677), with the
 * -PLUS channel-binding variants (RFC 5929 tls-unique, RFC 9266 tls-exporter).
 *
 * DESIGN: the exchange is client-first -> NEED_SECRETS -> server-first ->
 * client-final -> server-final (as a CONTINUE, since SMTP and IMAP have no
 * "additional data with success") -> the client's empty reply -> OK.
 * Channel-binding rules are smtp.md §7: TLS 1.3 binds with tls-exporter,
 * TLS 1.2 with tls-unique, anything else fails, and so do a -PLUS mechanism
 * without TLS and flag `y` (Tern always offers PLUS, so `y` is a downgrade).
 * Faults found in the client-first message fail at once; faults in the
 * client-final message are answered with `e=<reason>` first (sasl.c turns
 * the next reply into FAIL). Unknown users get a fake salt derived from the
 * server secret and the same iteration count, and fail at the proof check
 * like a wrong password; the proof is always checked in constant time. */
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/sasl_crypto.h"
#include "proto/sasl_impl.h"
#include "proto/sasl_scram_msg.h"

/** Random bytes in a server nonce (base64: 24 printable characters). */
#define SASL_SCRAM_NONCE_BYTES 18

enum sasl_scram_state {
	SASL_SCRAM_WAIT_FIRST,
	SASL_SCRAM_WAIT_SECRETS,
	SASL_SCRAM_WAIT_FINAL,
	SASL_SCRAM_WAIT_EMPTY,
};

struct sasl_scram_server {
	struct sasl_server base;
	enum sasl_hash hash;
	enum sasl_scram_state state;
	struct buf gs2_header;       /* as the client sent it */
	struct buf client_first_bare;
	struct buf server_first;
	struct buf nonce;            /* client nonce, then client + server nonce */
	struct password_scram secret;
	bool known;                  /* secret is the user's, not a fake */
};

static void sasl_scram_destroy(struct sasl_server *s)
{
	struct sasl_scram_server *x = (struct sasl_scram_server *)s;
	buf_free(&x->gs2_header);
	buf_free(&x->client_first_bare);
	buf_free(&x->server_first);
	buf_free(&x->nonce);
	sasl_crypto_wipe(x, sizeof *x);
	free(x);
}

/* Channel-binding rules of smtp.md §7 for the client's gs2 flag. */
static enum sasl_err sasl_scram_check_binding(struct sasl_server *s,
                                              const struct sasl_scram_client_first *cf)
{
	if (!sasl_mech_is_plus(s->mech)) {
		if (cf->cbflag == 'p')
			return SASL_ERR_CHANNEL_BINDING; /* p= on a mechanism without PLUS */
		if (cf->cbflag == 'y')
			return SASL_ERR_DOWNGRADE;
		return SASL_ERR_NONE;
	}
	if (cf->cbflag != 'p' || !s->chan.tls || s->chan.cb_data.len == 0)
		return SASL_ERR_CHANNEL_BINDING;
	if (s->chan.tls_version == 13 && slice_eq(cf->cbname, SLICE_LIT("tls-exporter")))
		return SASL_ERR_NONE;
	if (s->chan.tls_version == 12 && slice_eq(cf->cbname, SLICE_LIT("tls-unique")))
		return SASL_ERR_NONE;
	return SASL_ERR_CHANNEL_BINDING; /* tls-server-end-point, wrong type, unknown */
}

static void sasl_scram_client_first(struct sasl_scram_server *x, struct slice in,
                                    struct sasl_step *st)
{
	struct sasl_server *s = &x->base;
	struct sasl_scram_client_first cf;
	enum sasl_err e = sasl_scram_msg_client_first(in, &cf);
	if (e == SASL_ERR_NONE)
		e = sasl_scram_check_binding(s, &cf);
	buf_reset(&s->user);
	if (e == SASL_ERR_NONE)
		e = sasl_scram_msg_name_decode(cf.username, &s->user);
	if (e == SASL_ERR_NONE)
		e = sasl_check_field(buf_slice(&s->user));
	if (e == SASL_ERR_NONE && cf.has_authzid) {
		struct buf authz;
		buf_init(&authz);
		e = sasl_scram_msg_name_decode(cf.authzid, &authz);
		if (e == SASL_ERR_NONE && !slice_eq(buf_slice(&authz), buf_slice(&s->user)))
			e = SASL_ERR_AUTHZID;
		buf_free(&authz);
	}
	if (e != SASL_ERR_NONE) {
		sasl_step_error(s, st, e);
		return;
	}
	buf_append(&x->gs2_header, cf.gs2_header.p, cf.gs2_header.len);
	buf_append(&x->client_first_bare, cf.bare.p, cf.bare.len);
	buf_append(&x->nonce, cf.nonce.p, cf.nonce.len);
	x->state = SASL_SCRAM_WAIT_SECRETS;
	sasl_step_need(s, st);
}

static void sasl_scram_start(struct sasl_server *s, const struct slice *initial,
                             struct sasl_step *st)
{
	if (!initial) {
		buf_reset(&s->out);
		sasl_step_continue(s, st);
		return;
	}
	sasl_scram_client_first((struct sasl_scram_server *)s, *initial, st);
}

static void sasl_scram_secrets(struct sasl_server *s, const struct password_secrets *secrets,
                               struct sasl_step *st)
{
	struct sasl_scram_server *x = (struct sasl_scram_server *)s;
	const struct password_scram *sc = password_scram_get(secrets, x->hash);
	x->known = sc != NULL;
	if (sc)
		x->secret = *sc;
	else
		password_scram_fake(x->hash, buf_slice(&s->fake_secret), buf_slice(&s->user),
		                    s->fake_iterations, &x->secret);
	if (s->test_nonce.len > 0) {
		buf_append(&x->nonce, s->test_nonce.p, s->test_nonce.len);
	} else {
		uint8_t r[SASL_SCRAM_NONCE_BYTES];
		sasl_crypto_random(r, sizeof r);
		base64_encode(&x->nonce, slice_of(r, sizeof r));
	}
	struct buf *sf = &x->server_first;
	buf_puts(sf, "r=");
	buf_append(sf, x->nonce.p, x->nonce.len);
	buf_puts(sf, ",s=");
	base64_encode(sf, slice_of(x->secret.salt, x->secret.salt_len));
	buf_printf(sf, ",i=%u", x->secret.iterations);
	buf_reset(&s->out);
	buf_append(&s->out, sf->p, sf->len);
	x->state = SASL_SCRAM_WAIT_FINAL;
	sasl_step_continue(s, st);
}

/* The server-error-value of RFC 5802 §7 for a client-final fault. */
static const char *sasl_scram_error_value(enum sasl_err e)
{
	switch (e) {
	case SASL_ERR_CHANNEL_BINDING:
		return "channel-bindings-dont-match";
	case SASL_ERR_ENCODING:
		return "invalid-encoding";
	case SASL_ERR_EXTENSION:
		return "extensions-not-supported";
	case SASL_ERR_CREDENTIALS:
		return "invalid-proof";
	default:
		return "other-error";
	}
}

/* Checks c=, r= and p= of a parsed client-final message. On success fills
 * server_sig and returns NONE. */
static enum sasl_err sasl_scram_check_final(struct sasl_scram_server *x,
                                            const struct sasl_scram_client_final *cf,
                                            uint8_t *server_sig)
{
	size_t hl = sasl_hash_len(x->hash);
	struct buf want, got;
	buf_init(&want);
	buf_init(&got);
	buf_append(&want, x->gs2_header.p, x->gs2_header.len);
	if (x->gs2_header.p[0] == 'p')
		buf_append(&want, x->base.chan.cb_data.p, x->base.chan.cb_data.len);
	enum sasl_err e = SASL_ERR_NONE;
	if (base64_decode(&got, cf->cbind) != 0)
		e = SASL_ERR_ENCODING;
	else if (!slice_eq(buf_slice(&got), buf_slice(&want)))
		e = SASL_ERR_CHANNEL_BINDING;
	buf_free(&want);
	buf_free(&got);
	if (e != SASL_ERR_NONE)
		return e;
	if (!slice_eq(cf->nonce, buf_slice(&x->nonce)))
		return SASL_ERR_NONCE;
	uint8_t proof[SASL_HASH_MAX];
	size_t plen = 0;
	if (base64_decode_to(proof, sizeof proof, &plen, cf->proof) != 0 || plen != hl)
		return SASL_ERR_ENCODING;
	struct buf am;
	buf_init(&am);
	buf_append(&am, x->client_first_bare.p, x->client_first_bare.len);
	buf_putc(&am, ',');
	buf_append(&am, x->server_first.p, x->server_first.len);
	buf_putc(&am, ',');
	buf_append(&am, cf->without_proof.p, cf->without_proof.len);
	bool ok = password_verify_scram(&x->secret, x->hash, buf_slice(&am), proof, server_sig);
	buf_free(&am);
	return ok && x->known ? SASL_ERR_NONE : SASL_ERR_CREDENTIALS;
}

static void sasl_scram_client_final(struct sasl_scram_server *x, struct slice in,
                                    struct sasl_step *st)
{
	struct sasl_server *s = &x->base;
	struct sasl_scram_client_final cf;
	uint8_t sig[SASL_HASH_MAX];
	enum sasl_err e = sasl_scram_msg_client_final(in, &cf);
	if (e == SASL_ERR_SYNTAX || e == SASL_ERR_TOO_LONG) {
		sasl_step_error(s, st, e);
		return;
	}
	if (e == SASL_ERR_NONE)
		e = sasl_scram_check_final(x, &cf, sig);
	buf_reset(&s->out);
	if (e != SASL_ERR_NONE) {
		buf_puts(&s->out, "e=");
		buf_puts(&s->out, sasl_scram_error_value(e));
		s->fail_pending = true;
		s->pending_err = e;
	} else {
		buf_puts(&s->out, "v=");
		base64_encode(&s->out, slice_of(sig, sasl_hash_len(x->hash)));
		x->state = SASL_SCRAM_WAIT_EMPTY;
	}
	sasl_crypto_wipe(sig, sizeof sig);
	sasl_step_continue(s, st);
	st->err = e; /* non-NONE: this challenge announces the failure */
}

static void sasl_scram_step(struct sasl_server *s, struct slice in, struct sasl_step *st)
{
	struct sasl_scram_server *x = (struct sasl_scram_server *)s;
	switch (x->state) {
	case SASL_SCRAM_WAIT_FIRST:
		sasl_scram_client_first(x, in, st);
		break;
	case SASL_SCRAM_WAIT_FINAL:
		sasl_scram_client_final(x, in, st);
		break;
	case SASL_SCRAM_WAIT_EMPTY:
		if (in.len == 0)
			sasl_step_ok(s, st);
		else
			sasl_step_error(s, st, SASL_ERR_PROTOCOL);
		break;
	default:
		panic("sasl_scram_step: state %d", (int)x->state);
	}
}

static const struct sasl_server_ops sasl_scram_ops = {
	.start = sasl_scram_start,
	.step = sasl_scram_step,
	.secrets = sasl_scram_secrets,
	.destroy = sasl_scram_destroy,
};

struct sasl_server *sasl_scram_server_new(const struct sasl_server_cfg *cfg)
{
	struct sasl_scram_server *x = xcalloc(1, sizeof *x);
	sasl_server_init(&x->base, &sasl_scram_ops, cfg);
	x->hash = sasl_mech_hash(cfg->mech);
	x->state = SASL_SCRAM_WAIT_FIRST;
	buf_init(&x->gs2_header);
	buf_init(&x->client_first_bare);
	buf_init(&x->server_first);
	buf_init(&x->nonce);
	return &x->base;
}
