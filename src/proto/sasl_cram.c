/* CRAM-MD5 (RFC 2195), server and client.
 *
 * DESIGN: the server challenge is `<random.unixtime@hostname>`
 * (smtp.md §7) with a 63-bit random number, so challenges never repeat. The
 * server never sees or stores the password: the expected digest comes from
 * the stored HMAC-MD5 inner/outer states (password.h). An unknown user, or
 * one without a CRAM-MD5 secret, gets the same computation on random states
 * and fails like a wrong password. The digest is compared in constant time. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/sasl_crypto.h"
#include "proto/sasl_impl.h"

/** The digest's length in hex (RFC 2195: lowercase hex of HMAC-MD5). */
#define SASL_CRAM_HEX_LEN (2 * SASL_MD5_LEN)

struct sasl_cram_server {
	struct sasl_server base;
	struct buf challenge;
	uint8_t digest[SASL_MD5_LEN]; /* as sent by the client */
};

static void sasl_cram_destroy(struct sasl_server *s)
{
	struct sasl_cram_server *c = (struct sasl_cram_server *)s;
	buf_free(&c->challenge);
	sasl_crypto_wipe(c, sizeof *c);
	free(c);
}

static int sasl_cram_hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void sasl_cram_start(struct sasl_server *s, const struct slice *initial,
                            struct sasl_step *st)
{
	struct sasl_cram_server *c = (struct sasl_cram_server *)s;
	if (initial) { /* CRAM-MD5 has no initial response */
		sasl_step_error(s, st, SASL_ERR_SYNTAX);
		return;
	}
	buf_reset(&c->challenge);
	if (s->test_nonce.len > 0) {
		buf_append(&c->challenge, s->test_nonce.p, s->test_nonce.len);
	} else {
		uint64_t r;
		sasl_crypto_random(&r, sizeof r);
		buf_printf(&c->challenge, "<%" PRIu64 ".%" PRId64 "@", r >> 1, clock_wall_ms() / 1000);
		buf_append(&c->challenge, s->hostname.p, s->hostname.len);
		buf_putc(&c->challenge, '>');
	}
	buf_reset(&s->out);
	buf_append(&s->out, c->challenge.p, c->challenge.len);
	sasl_step_continue(s, st);
}

/* "user SP 32hex"; the user is everything before the last space. */
static void sasl_cram_step(struct sasl_server *s, struct slice in, struct sasl_step *st)
{
	struct sasl_cram_server *c = (struct sasl_cram_server *)s;
	if (in.len < SASL_CRAM_HEX_LEN + 2 || in.p[in.len - SASL_CRAM_HEX_LEN - 1] != ' ') {
		sasl_step_error(s, st, in.len > SASL_NAME_MAX + SASL_CRAM_HEX_LEN + 1 ? SASL_ERR_TOO_LONG
		                                                                        : SASL_ERR_SYNTAX);
		return;
	}
	struct slice user = slice_of(in.p, in.len - SASL_CRAM_HEX_LEN - 1);
	const uint8_t *hex = in.p + user.len + 1;
	for (int i = 0; i < SASL_MD5_LEN; i++) {
		int hi = sasl_cram_hexval(hex[2 * i]), lo = sasl_cram_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			sasl_step_error(s, st, SASL_ERR_SYNTAX);
			return;
		}
		c->digest[i] = (uint8_t)(hi << 4 | lo);
	}
	enum sasl_err e = sasl_check_field(user);
	if (e != SASL_ERR_NONE) {
		sasl_step_error(s, st, e);
		return;
	}
	buf_reset(&s->user);
	buf_append(&s->user, user.p, user.len);
	sasl_step_need(s, st);
}

static void sasl_cram_secrets(struct sasl_server *s, const struct password_secrets *secrets,
                              struct sasl_step *st)
{
	struct sasl_cram_server *c = (struct sasl_cram_server *)s;
	struct password_secrets fake;
	bool known = secrets && (secrets->have & PASSWORD_HAVE_CRAM_MD5);
	if (!known) {
		memset(&fake, 0, sizeof fake);
		sasl_crypto_random(fake.cram_inner, sizeof fake.cram_inner);
		sasl_crypto_random(fake.cram_outer, sizeof fake.cram_outer);
		secrets = &fake;
	}
	uint8_t want[SASL_MD5_LEN];
	password_cram_md5_digest(secrets, buf_slice(&c->challenge), want);
	bool ok = sasl_crypto_eq(want, c->digest, SASL_MD5_LEN) && known;
	sasl_crypto_wipe(want, sizeof want);
	if (!known)
		sasl_crypto_wipe(&fake, sizeof fake);
	if (ok)
		sasl_step_ok(s, st);
	else
		sasl_step_error(s, st, SASL_ERR_CREDENTIALS);
}

static const struct sasl_server_ops sasl_cram_ops = {
	.start = sasl_cram_start,
	.step = sasl_cram_step,
	.secrets = sasl_cram_secrets,
	.destroy = sasl_cram_destroy,
};

struct sasl_server *sasl_cram_server_new(const struct sasl_server_cfg *cfg)
{
	struct sasl_cram_server *c = xcalloc(1, sizeof *c);
	sasl_server_init(&c->base, &sasl_cram_ops, cfg);
	buf_init(&c->challenge);
	return &c->base;
}

/* ---- client ---- */

static void sasl_cram_client_start(struct sasl_client *c, struct sasl_cstep *st)
{
	st->status = SASL_CLIENT_WAIT;
}

static void sasl_cram_client_step(struct sasl_client *c, struct slice challenge,
                                  struct sasl_cstep *st)
{
	static const char hexd[] = "0123456789abcdef";
	if (c->verified || challenge.len == 0) { /* one challenge only, and never empty */
		sasl_cstep_fail(c, st, SASL_ERR_PROTOCOL);
		return;
	}
	uint8_t mac[SASL_MD5_LEN];
	sasl_crypto_hmac_md5(buf_slice(&c->password), challenge, mac);
	buf_reset(&c->out);
	buf_append(&c->out, c->user.p, c->user.len);
	buf_putc(&c->out, ' ');
	for (int i = 0; i < SASL_MD5_LEN; i++) {
		buf_putc(&c->out, (uint8_t)hexd[mac[i] >> 4]);
		buf_putc(&c->out, (uint8_t)hexd[mac[i] & 15]);
	}
	sasl_crypto_wipe(mac, sizeof mac);
	c->verified = true;
	sasl_cstep_respond(c, st);
}

static void sasl_cram_client_destroy(struct sasl_client *c)
{
	sasl_crypto_wipe(c, sizeof *c);
	free(c);
}

static const struct sasl_client_ops sasl_cram_client_ops = {
	.start = sasl_cram_client_start,
	.step = sasl_cram_client_step,
	.destroy = sasl_cram_client_destroy,
};

struct sasl_client *sasl_cram_client_new(const struct sasl_client_cfg *cfg)
{
	struct sasl_client *c = xcalloc(1, sizeof *c);
	if (sasl_client_init(c, &sasl_cram_client_ops, cfg) != 0) {
		sasl_client_free(c);
		return NULL;
	}
	return c;
}
