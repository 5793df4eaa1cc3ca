/* Password secrets: derive from plaintext, serialise for the accounts store,
 * verify per mechanism.
 *
 * DESIGN: the plaintext never leaves this file's functions; only derived
 * values are kept (README "Passwords"). SCRAM keys follow RFC 5802 §3, the
 * CRAM-MD5 secret is the pair of MD5 chaining states after the HMAC key^ipad
 * and key^opad blocks (so the HMAC can be finished without the key), and
 * PLAIN uses libxcrypt's bcrypt `$2b$`. bcrypt ignores input past 72 octets,
 * so longer passwords are also checked against the SCRAM-SHA-256 keys.
 *
 * Serialised form (version 1): one version byte, then records in increasing
 * tag order, each `tag u8, length u16 BE, value`:
 *   1 SCRAM-SHA-256 / 2 SCRAM-SHA-1: iterations u32 BE, salt length u8, salt,
 *     StoredKey, ServerKey (hash length each)
 *   3 CRAM-MD5: inner state (16), outer state (16)
 *   4 bcrypt: the hash string without NUL
 * Decoding is strict: unknown tags, repeats, disorder and wrong lengths fail. */
#include "proto/password.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

enum {
	PASSWORD_TAG_SCRAM_SHA256 = 1,
	PASSWORD_TAG_SCRAM_SHA1 = 2,
	PASSWORD_TAG_CRAM_MD5 = 3,
	PASSWORD_TAG_BCRYPT = 4,
};

bool password_acceptable(struct slice password)
{
	return password.len >= 1 && password.len <= PASSWORD_MAX &&
	       memchr(password.p, 0, password.len) == NULL;
}

void password_scram_derive(enum sasl_hash h, struct slice password, struct slice salt,
                           uint32_t iterations, struct password_scram *out)
{
	ASSERT(salt.len >= 1 && salt.len <= PASSWORD_SALT_MAX);
	size_t hl = sasl_hash_len(h);
	uint8_t salted[SASL_HASH_MAX], client_key[SASL_HASH_MAX];
	memset(out, 0, sizeof *out);
	sasl_crypto_pbkdf2(h, password, salt, iterations, salted);
	sasl_crypto_hmac(h, slice_of(salted, hl), SLICE_LIT("Client Key"), client_key);
	sasl_crypto_hash(h, slice_of(client_key, hl), out->stored_key);
	sasl_crypto_hmac(h, slice_of(salted, hl), SLICE_LIT("Server Key"), out->server_key);
	out->iterations = iterations;
	out->salt_len = (uint8_t)salt.len;
	memcpy(out->salt, salt.p, salt.len);
	sasl_crypto_wipe(salted, sizeof salted);
	sasl_crypto_wipe(client_key, sizeof client_key);
}

const struct password_scram *password_scram_get(const struct password_secrets *secrets,
                                                enum sasl_hash h)
{
	if (!secrets)
		return NULL;
	if (h == SASL_HASH_SHA256)
		return (secrets->have & PASSWORD_HAVE_SCRAM_SHA256) ? &secrets->scram_sha256 : NULL;
	return (secrets->have & PASSWORD_HAVE_SCRAM_SHA1) ? &secrets->scram_sha1 : NULL;
}

void password_scram_fake(enum sasl_hash h, struct slice server_secret, struct slice username,
                         uint32_t iterations, struct password_scram *out)
{
	struct buf label;
	uint8_t mac[SASL_HASH_MAX];
	buf_init(&label);
	buf_puts(&label, h == SASL_HASH_SHA256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1");
	buf_putc(&label, 0);
	buf_append(&label, username.p, username.len);
	sasl_crypto_hmac(SASL_HASH_SHA256, server_secret, buf_slice(&label), mac);
	buf_free(&label);
	memset(out, 0, sizeof *out);
	out->iterations = iterations;
	out->salt_len = PASSWORD_SALT_LEN;
	memcpy(out->salt, mac, PASSWORD_SALT_LEN);
	sasl_crypto_random(out->stored_key, sizeof out->stored_key);
	sasl_crypto_random(out->server_key, sizeof out->server_key);
}

bool password_verify_scram(const struct password_scram *sc, enum sasl_hash h,
                           struct slice auth_message, const uint8_t *proof, uint8_t *server_sig)
{
	size_t hl = sasl_hash_len(h);
	uint8_t sig[SASL_HASH_MAX], client_key[SASL_HASH_MAX], stored[SASL_HASH_MAX];
	sasl_crypto_hmac(h, slice_of(sc->stored_key, hl), auth_message, sig);
	for (size_t i = 0; i < hl; i++)
		client_key[i] = proof[i] ^ sig[i];
	sasl_crypto_hash(h, slice_of(client_key, hl), stored);
	bool ok = sasl_crypto_eq(stored, sc->stored_key, hl);
	if (server_sig)
		sasl_crypto_hmac(h, slice_of(sc->server_key, hl), auth_message, server_sig);
	sasl_crypto_wipe(client_key, sizeof client_key);
	return ok;
}

/* Both HMAC-MD5 pad states for password (RFC 2104: keys over 64 octets are hashed first). */
static void password_cram_states(struct slice password, uint8_t inner[SASL_MD5_LEN],
                                 uint8_t outer[SASL_MD5_LEN])
{
	uint8_t key[SASL_MD5_BLOCK] = {0}, block[SASL_MD5_BLOCK];
	if (password.len > SASL_MD5_BLOCK)
		sasl_crypto_md5(password, key);
	else
		memcpy(key, password.p, password.len);
	for (int i = 0; i < SASL_MD5_BLOCK; i++)
		block[i] = key[i] ^ 0x36;
	sasl_crypto_md5_block_state(block, inner);
	for (int i = 0; i < SASL_MD5_BLOCK; i++)
		block[i] = key[i] ^ 0x5c;
	sasl_crypto_md5_block_state(block, outer);
	sasl_crypto_wipe(key, sizeof key);
	sasl_crypto_wipe(block, sizeof block);
}

void password_cram_md5_digest(const struct password_secrets *secrets, struct slice challenge,
                              uint8_t out[SASL_MD5_LEN])
{
	uint8_t inner[SASL_MD5_LEN];
	sasl_crypto_md5_resume(secrets->cram_inner, challenge, inner);
	sasl_crypto_md5_resume(secrets->cram_outer, slice_of(inner, sizeof inner), out);
}

/* Runs bcrypt on password (no NUL, <= PASSWORD_MAX) with setting; returns
 * whether the result equals setting (a full stored hash). */
static bool password_bcrypt_check(struct slice password, const char *setting)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char pw[PASSWORD_MAX + 1];
	memcpy(pw, password.p, password.len);
	pw[password.len] = 0;
	const char *res = crypt_r(pw, setting, cd);
	size_t n = strlen(setting);
	bool ok = res && res[0] != '*' && strlen(res) == n && sasl_crypto_eq(res, setting, n);
	sasl_crypto_wipe(pw, sizeof pw);
	sasl_crypto_wipe(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* A `$2b$` setting for cost and 16 salt bytes into out; returns 0 or -1. */
static int password_bcrypt_setting(unsigned cost, const uint8_t salt[16], char *out, size_t cap)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$2b$", cost, (const char *)salt, 16, setting, sizeof setting))
		return -1;
	if (strlen(setting) >= cap)
		return -1;
	strcpy(out, setting);
	return 0;
}

bool password_verify_plain(const struct password_secrets *secrets, struct slice password)
{
	bool have = secrets && (secrets->have & PASSWORD_HAVE_BCRYPT);
	if (!password_acceptable(password) || !have) {
		/* Same cost as a real check, so a missing account is not faster. */
		static const uint8_t zero_salt[16];
		char setting[PASSWORD_BCRYPT_MAX];
		if (password_bcrypt_setting(PASSWORD_BCRYPT_COST, zero_salt, setting, sizeof setting) == 0)
			password_bcrypt_check(password.len <= PASSWORD_MAX ? password : SLICE_LIT("x"),
			                      setting);
		return false;
	}
	if (!password_bcrypt_check(password, secrets->bcrypt))
		return false;
	if (password.len <= PASSWORD_BCRYPT_INPUT_MAX)
		return true;
	const struct password_scram *sc = password_scram_get(secrets, SASL_HASH_SHA256);
	if (!sc)
		return false;
	struct password_scram check;
	password_scram_derive(SASL_HASH_SHA256, password, slice_of(sc->salt, sc->salt_len),
	                      sc->iterations, &check);
	bool ok = sasl_crypto_eq(check.stored_key, sc->stored_key, sasl_hash_len(SASL_HASH_SHA256));
	sasl_crypto_wipe(&check, sizeof check);
	return ok;
}

int password_derive(struct slice password, uint32_t iterations, unsigned bcrypt_cost,
                    struct password_secrets *out)
{
	memset(out, 0, sizeof *out);
	if (iterations == 0)
		iterations = PASSWORD_SCRAM_ITERATIONS;
	if (bcrypt_cost == 0)
		bcrypt_cost = PASSWORD_BCRYPT_COST;
	if (!password_acceptable(password) || iterations < PASSWORD_SCRAM_ITERATIONS_MIN ||
	    iterations > PASSWORD_SCRAM_ITERATIONS_MAX || bcrypt_cost < 4 || bcrypt_cost > 31)
		return -1;
	uint8_t salt[PASSWORD_SALT_LEN], bsalt[16];
	sasl_crypto_random(salt, sizeof salt);
	password_scram_derive(SASL_HASH_SHA256, password, slice_of(salt, sizeof salt), iterations,
	                      &out->scram_sha256);
	sasl_crypto_random(salt, sizeof salt);
	password_scram_derive(SASL_HASH_SHA1, password, slice_of(salt, sizeof salt), iterations,
	                      &out->scram_sha1);
	password_cram_states(password, out->cram_inner, out->cram_outer);
	out->have = PASSWORD_HAVE_SCRAM_SHA256 | PASSWORD_HAVE_SCRAM_SHA1 | PASSWORD_HAVE_CRAM_MD5;

	char setting[PASSWORD_BCRYPT_MAX];
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char pw[PASSWORD_MAX + 1];
	memcpy(pw, password.p, password.len);
	pw[password.len] = 0;
	sasl_crypto_random(bsalt, sizeof bsalt);
	const char *res = NULL;
	if (password_bcrypt_setting(bcrypt_cost, bsalt, setting, sizeof setting) == 0)
		res = crypt_r(pw, setting, cd);
	int rc = -1;
	if (res && strncmp(res, "$2b$", 4) == 0 && strlen(res) < sizeof out->bcrypt) {
		strcpy(out->bcrypt, res);
		out->have |= PASSWORD_HAVE_BCRYPT;
		rc = 0;
	}
	sasl_crypto_wipe(pw, sizeof pw);
	sasl_crypto_wipe(cd, sizeof *cd);
	free(cd);
	if (rc != 0)
		password_wipe(out);
	return rc;
}

void password_wipe(struct password_secrets *secrets)
{
	sasl_crypto_wipe(secrets, sizeof *secrets);
}

static void password_put_record(struct buf *out, uint8_t tag, const struct buf *val)
{
	ASSERT(val->len <= 0xffff);
	buf_putc(out, tag);
	buf_putc(out, (uint8_t)(val->len >> 8));
	buf_putc(out, (uint8_t)val->len);
	buf_append(out, val->p, val->len);
}

static void password_put_scram(struct buf *out, uint8_t tag, enum sasl_hash h,
                               const struct password_scram *sc)
{
	struct buf v;
	buf_init(&v);
	buf_put_be32(&v, sc->iterations);
	buf_putc(&v, sc->salt_len);
	buf_append(&v, sc->salt, sc->salt_len);
	buf_append(&v, sc->stored_key, sasl_hash_len(h));
	buf_append(&v, sc->server_key, sasl_hash_len(h));
	password_put_record(out, tag, &v);
	sasl_crypto_wipe(v.p, v.len);
	buf_free(&v);
}

void password_encode(const struct password_secrets *secrets, struct buf *out)
{
	struct buf v;
	buf_putc(out, PASSWORD_FORMAT_VERSION);
	if (secrets->have & PASSWORD_HAVE_SCRAM_SHA256)
		password_put_scram(out, PASSWORD_TAG_SCRAM_SHA256, SASL_HASH_SHA256,
		                   &secrets->scram_sha256);
	if (secrets->have & PASSWORD_HAVE_SCRAM_SHA1)
		password_put_scram(out, PASSWORD_TAG_SCRAM_SHA1, SASL_HASH_SHA1, &secrets->scram_sha1);
	if (secrets->have & PASSWORD_HAVE_CRAM_MD5) {
		buf_init(&v);
		buf_append(&v, secrets->cram_inner, SASL_MD5_LEN);
		buf_append(&v, secrets->cram_outer, SASL_MD5_LEN);
		password_put_record(out, PASSWORD_TAG_CRAM_MD5, &v);
		sasl_crypto_wipe(v.p, v.len);
		buf_free(&v);
	}
	if (secrets->have & PASSWORD_HAVE_BCRYPT) {
		buf_init(&v);
		buf_puts(&v, secrets->bcrypt);
		password_put_record(out, PASSWORD_TAG_BCRYPT, &v);
		buf_free(&v);
	}
}

static int password_get_scram(struct slice v, enum sasl_hash h, struct password_scram *sc)
{
	size_t hl = sasl_hash_len(h);
	if (v.len < 5)
		return -1;
	uint32_t iter = (uint32_t)v.p[0] << 24 | (uint32_t)v.p[1] << 16 | (uint32_t)v.p[2] << 8 | v.p[3];
	size_t salt_len = v.p[4];
	if (salt_len < 1 || salt_len > PASSWORD_SALT_MAX || v.len != 5 + salt_len + 2 * hl)
		return -1;
	if (iter < PASSWORD_SCRAM_ITERATIONS_MIN || iter > PASSWORD_SCRAM_ITERATIONS_MAX)
		return -1;
	sc->iterations = iter;
	sc->salt_len = (uint8_t)salt_len;
	memcpy(sc->salt, v.p + 5, salt_len);
	memcpy(sc->stored_key, v.p + 5 + salt_len, hl);
	memcpy(sc->server_key, v.p + 5 + salt_len + hl, hl);
	return 0;
}

static int password_get_record(uint8_t tag, struct slice v, struct password_secrets *out)
{
	switch (tag) {
	case PASSWORD_TAG_SCRAM_SHA256:
		out->have |= PASSWORD_HAVE_SCRAM_SHA256;
		return password_get_scram(v, SASL_HASH_SHA256, &out->scram_sha256);
	case PASSWORD_TAG_SCRAM_SHA1:
		out->have |= PASSWORD_HAVE_SCRAM_SHA1;
		return password_get_scram(v, SASL_HASH_SHA1, &out->scram_sha1);
	case PASSWORD_TAG_CRAM_MD5:
		if (v.len != 2 * SASL_MD5_LEN)
			return -1;
		memcpy(out->cram_inner, v.p, SASL_MD5_LEN);
		memcpy(out->cram_outer, v.p + SASL_MD5_LEN, SASL_MD5_LEN);
		out->have |= PASSWORD_HAVE_CRAM_MD5;
		return 0;
	case PASSWORD_TAG_BCRYPT:
		if (v.len < 4 || v.len >= PASSWORD_BCRYPT_MAX || memcmp(v.p, "$2b$", 4) != 0 ||
		    memchr(v.p, 0, v.len))
			return -1;
		memcpy(out->bcrypt, v.p, v.len);
		out->have |= PASSWORD_HAVE_BCRYPT;
		return 0;
	default:
		return -1;
	}
}

int password_decode(struct slice in, struct password_secrets *out)
{
	memset(out, 0, sizeof *out);
	if (in.len < 1 || in.p[0] != PASSWORD_FORMAT_VERSION)
		return -1;
	size_t off = 1;
	int last_tag = 0;
	while (off < in.len) {
		if (in.len - off < 3)
			goto bad;
		uint8_t tag = in.p[off];
		size_t len = (size_t)in.p[off + 1] << 8 | in.p[off + 2];
		off += 3;
		if (tag <= last_tag || len > in.len - off)
			goto bad;
		if (password_get_record(tag, slice_of(in.p + off, len), out) != 0)
			goto bad;
		last_tag = tag;
		off += len;
	}
	return 0;
bad:
	password_wipe(out);
	return -1;
}

void password_describe(const struct password_secrets *secrets, struct buf *out)
{
	buf_printf(out, "v%d", PASSWORD_FORMAT_VERSION);
	if (secrets->have & PASSWORD_HAVE_SCRAM_SHA256)
		buf_printf(out, " scram-sha-256(i=%u,salt=%uB)", secrets->scram_sha256.iterations,
		           secrets->scram_sha256.salt_len);
	if (secrets->have & PASSWORD_HAVE_SCRAM_SHA1)
		buf_printf(out, " scram-sha-1(i=%u,salt=%uB)", secrets->scram_sha1.iterations,
		           secrets->scram_sha1.salt_len);
	if (secrets->have & PASSWORD_HAVE_CRAM_MD5)
		buf_puts(out, " cram-md5");
	if (secrets->have & PASSWORD_HAVE_BCRYPT)
		buf_printf(out, " bcrypt(%.7s)", secrets->bcrypt);
	if (!secrets->have)
		buf_puts(out, " none");
}
