/* Tests for password.c: RFC 5802 / RFC 7677 SCRAM keys, RFC 2195 CRAM-MD5
 * from stored MD5 states, bcrypt PLAIN checks (including the >72-octet
 * guard), fake salts for unknown users and the versioned serialisation. */
#include "check.h"

#include "../../../src/proto/password.c"
#include "proto/base64.h"

/* Low bcrypt cost keeps the tests quick; one test uses the default. */
#define TEST_COST 4

static struct buf b64d(const char *s)
{
	struct buf b;
	buf_init(&b);
	if (base64_decode(&b, slice_str(s)) != 0)
		panic("bad base64 in test: %s", s);
	return b;
}

/* RFC 5802 §5: the proof and server signature of the example exchange. */
TEST(scram_sha1_rfc5802)
{
	struct buf salt = b64d("QSXCR+Q6sek8bf92"), proof = b64d("v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
	           v = b64d("rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	struct password_scram sc;
	password_scram_derive(SASL_HASH_SHA1, SLICE_LIT("pencil"), buf_slice(&salt), 4096, &sc);
	struct slice am = SLICE_LIT("n=user,r=fyko+d2lbbFgONRv9qkxdawL,"
	                            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
	                            "i=4096,c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j");
	uint8_t sig[SASL_HASH_MAX];
	CHECK(proof.len == 20);
	CHECK(password_verify_scram(&sc, SASL_HASH_SHA1, am, proof.p, sig));
	CHECK(memcmp(sig, v.p, 20) == 0);
	proof.p[3] ^= 1;
	CHECK(!password_verify_scram(&sc, SASL_HASH_SHA1, am, proof.p, NULL));
	buf_free(&salt);
	buf_free(&proof);
	buf_free(&v);
}

/* RFC 7677 §3. */
TEST(scram_sha256_rfc7677)
{
	struct buf salt = b64d("W22ZaJ0SNY7soEsUEjb6gQ=="),
	           proof = b64d("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
	           v = b64d("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	struct password_scram sc;
	password_scram_derive(SASL_HASH_SHA256, SLICE_LIT("pencil"), buf_slice(&salt), 4096, &sc);
	struct slice am = SLICE_LIT(
	    "n=user,r=rOprNGfwEbeRWgbNEkqO,"
	    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	uint8_t sig[SASL_HASH_MAX];
	CHECK(password_verify_scram(&sc, SASL_HASH_SHA256, am, proof.p, sig));
	CHECK(memcmp(sig, v.p, 32) == 0);
	struct password_scram wrong;
	password_scram_derive(SASL_HASH_SHA256, SLICE_LIT("pencil!"), buf_slice(&salt), 4096, &wrong);
	CHECK(!password_verify_scram(&wrong, SASL_HASH_SHA256, am, proof.p, NULL));
	buf_free(&salt);
	buf_free(&proof);
	buf_free(&v);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* RFC 2195 §2 example, computed from the stored states only. */
TEST(cram_md5_rfc2195)
{
	struct password_secrets s = {0};
	password_cram_states(SLICE_LIT("tanstaaftanstaaf"), s.cram_inner, s.cram_outer);
	s.have = PASSWORD_HAVE_CRAM_MD5;
	uint8_t d[16];
	char h[33];
	password_cram_md5_digest(&s, SLICE_LIT("<1896.697170952@postoffice.reston.mci.net>"), d);
	hex(d, 16, h);
	CHECK_STR(h, "b913a602c7eda7a495b4e6e7334d3890");
}

/* The stored-state HMAC equals wolfCrypt's own HMAC-MD5 for keys around and
 * beyond the 64-octet block (long keys are hashed first). */
TEST(cram_states_match_hmac_md5)
{
	uint8_t key[PASSWORD_MAX], msg[100];
	for (size_t klen = 1; klen <= 140; klen += 3) {
		sasl_crypto_random(key, klen);
		sasl_crypto_random(msg, sizeof msg);
		struct password_secrets s = {0};
		password_cram_states(slice_of(key, klen), s.cram_inner, s.cram_outer);
		uint8_t a[16], b[16];
		password_cram_md5_digest(&s, slice_of(msg, klen % 100), a);
		sasl_crypto_hmac_md5(slice_of(key, klen), slice_of(msg, klen % 100), b);
		if (memcmp(a, b, 16) != 0)
			CHECK_FAIL("key length %zu: stored-state HMAC differs", klen);
	}
}

TEST(derive_and_verify_plain)
{
	struct password_secrets s;
	CHECK_INT(password_derive(SLICE_LIT("correct horse"), 4096, TEST_COST, &s), 0);
	CHECK_INT(s.have, PASSWORD_HAVE_SCRAM_SHA256 | PASSWORD_HAVE_SCRAM_SHA1 |
	                      PASSWORD_HAVE_CRAM_MD5 | PASSWORD_HAVE_BCRYPT);
	CHECK(strncmp(s.bcrypt, "$2b$04$", 7) == 0);
	CHECK_INT(strlen(s.bcrypt), 60);
	CHECK_INT(s.scram_sha256.iterations, 4096);
	CHECK_INT(s.scram_sha256.salt_len, PASSWORD_SALT_LEN);
	CHECK(memcmp(s.scram_sha256.salt, s.scram_sha1.salt, PASSWORD_SALT_LEN) != 0);
	CHECK(password_verify_plain(&s, SLICE_LIT("correct horse")));
	CHECK(!password_verify_plain(&s, SLICE_LIT("correct horsE")));
	CHECK(!password_verify_plain(&s, SLICE_LIT("correct horse ")));
	CHECK(!password_verify_plain(&s, slice_of("correct horse\0x", 15)));
	CHECK(!password_verify_plain(&s, slice_of("correct horse\0", 14)));
	CHECK(!password_verify_plain(&s, SLICE_LIT("")));
	CHECK(!password_verify_plain(NULL, SLICE_LIT("correct horse")));
	/* The SCRAM keys agree with a deterministic derivation using the same salt. */
	struct password_scram again;
	password_scram_derive(SASL_HASH_SHA1, SLICE_LIT("correct horse"),
	                      slice_of(s.scram_sha1.salt, s.scram_sha1.salt_len), 4096, &again);
	CHECK(memcmp(again.stored_key, s.scram_sha1.stored_key, 20) == 0);
	CHECK(memcmp(again.server_key, s.scram_sha1.server_key, 20) == 0);
	password_wipe(&s);
	CHECK_INT(s.have, 0);
}

TEST(derive_default_cost)
{
	struct password_secrets s;
	CHECK_INT(password_derive(SLICE_LIT("pw"), 0, 0, &s), 0);
	char want[8];
	snprintf(want, sizeof want, "$2b$%02d$", PASSWORD_BCRYPT_COST);
	CHECK(strncmp(s.bcrypt, want, 7) == 0);
	CHECK_INT(s.scram_sha256.iterations, PASSWORD_SCRAM_ITERATIONS);
	CHECK(password_verify_plain(&s, SLICE_LIT("pw")));
}

TEST(derive_rejects_bad_input)
{
	struct password_secrets s;
	uint8_t big[PASSWORD_MAX + 1];
	memset(big, 'a', sizeof big);
	CHECK_INT(password_derive(SLICE_LIT(""), 4096, TEST_COST, &s), -1);
	CHECK_INT(password_derive(slice_of("a\0b", 3), 4096, TEST_COST, &s), -1);
	CHECK_INT(password_derive(slice_of(big, sizeof big), 4096, TEST_COST, &s), -1);
	CHECK_INT(password_derive(SLICE_LIT("x"), 4095, TEST_COST, &s), -1);
	CHECK_INT(password_derive(SLICE_LIT("x"), PASSWORD_SCRAM_ITERATIONS_MAX + 1, TEST_COST, &s), -1);
	CHECK_INT(password_derive(SLICE_LIT("x"), 4096, 3, &s), -1);
	CHECK_INT(s.have, 0);
	CHECK_INT(password_derive(slice_of(big, PASSWORD_MAX), 4096, TEST_COST, &s), 0);
}

/* bcrypt reads 72 octets; the SCRAM-SHA-256 check closes that gap. */
TEST(long_password_beyond_bcrypt)
{
	char pw[100], other[100];
	memset(pw, 'p', sizeof pw);
	memcpy(other, pw, sizeof other);
	other[99] = 'q';
	struct password_secrets s;
	CHECK_INT(password_derive(slice_of(pw, sizeof pw), 4096, TEST_COST, &s), 0);
	CHECK(password_bcrypt_check(slice_of(other, sizeof other), s.bcrypt)); /* bcrypt alone: yes */
	CHECK(!password_verify_plain(&s, slice_of(other, sizeof other)));
	CHECK(password_verify_plain(&s, slice_of(pw, sizeof pw)));
	s.have &= ~(unsigned)PASSWORD_HAVE_SCRAM_SHA256;
	CHECK(!password_verify_plain(&s, slice_of(pw, sizeof pw)));
}

TEST(fake_salt_deterministic)
{
	struct password_scram a, b, c, d, e;
	password_scram_fake(SASL_HASH_SHA256, SLICE_LIT("secret"), SLICE_LIT("nobody@x"), 8192, &a);
	password_scram_fake(SASL_HASH_SHA256, SLICE_LIT("secret"), SLICE_LIT("nobody@x"), 8192, &b);
	password_scram_fake(SASL_HASH_SHA256, SLICE_LIT("secret"), SLICE_LIT("nobody@y"), 8192, &c);
	password_scram_fake(SASL_HASH_SHA256, SLICE_LIT("secreT"), SLICE_LIT("nobody@x"), 8192, &d);
	password_scram_fake(SASL_HASH_SHA1, SLICE_LIT("secret"), SLICE_LIT("nobody@x"), 8192, &e);
	CHECK_INT(a.salt_len, PASSWORD_SALT_LEN);
	CHECK_INT(a.iterations, 8192);
	CHECK(memcmp(a.salt, b.salt, PASSWORD_SALT_LEN) == 0);
	CHECK(memcmp(a.salt, c.salt, PASSWORD_SALT_LEN) != 0);
	CHECK(memcmp(a.salt, d.salt, PASSWORD_SALT_LEN) != 0);
	CHECK(memcmp(a.salt, e.salt, PASSWORD_SALT_LEN) != 0);
	CHECK(memcmp(a.stored_key, b.stored_key, 32) != 0); /* random: never verifies */
	/* Independently: the salt is HMAC-SHA-256(secret, "SCRAM-SHA-256\0" user)[0..16]. */
	uint8_t mac[32];
	sasl_crypto_hmac(SASL_HASH_SHA256, SLICE_LIT("secret"),
	                 slice_of("SCRAM-SHA-256\0nobody@x", 22), mac);
	CHECK(memcmp(a.salt, mac, PASSWORD_SALT_LEN) == 0);
}

static bool secrets_equal(const struct password_secrets *a, const struct password_secrets *b)
{
	return a->have == b->have &&
	       memcmp(&a->scram_sha256, &b->scram_sha256, sizeof a->scram_sha256) == 0 &&
	       memcmp(&a->scram_sha1, &b->scram_sha1, sizeof a->scram_sha1) == 0 &&
	       memcmp(a->cram_inner, b->cram_inner, 16) == 0 &&
	       memcmp(a->cram_outer, b->cram_outer, 16) == 0 && strcmp(a->bcrypt, b->bcrypt) == 0;
}

TEST(encode_decode_round_trip)
{
	struct password_secrets s, t;
	CHECK_INT(password_derive(SLICE_LIT("pencil"), 5000, TEST_COST, &s), 0);
	struct buf b;
	buf_init(&b);
	password_encode(&s, &b);
	CHECK_INT(b.p[0], PASSWORD_FORMAT_VERSION);
	/* 1 + (3+5+16+64) + (3+5+16+40) + (3+32) + (3+60) */
	CHECK_INT(b.len, 1 + 88 + 64 + 35 + 63);
	CHECK_INT(password_decode(buf_slice(&b), &t), 0);
	CHECK(secrets_equal(&s, &t));
	CHECK(password_verify_plain(&t, SLICE_LIT("pencil")));
	/* Every truncation fails, except at record boundaries, which decode a subset. */
	for (size_t n = 0; n < b.len; n++) {
		int rc = password_decode(slice_of(b.p, n), &t);
		bool boundary = n == 1 || n == 89 || n == 153 || n == 188;
		if (rc != (boundary ? 0 : -1))
			CHECK_FAIL("truncated to %zu: rc %d", n, rc);
	}
	struct buf d;
	buf_init(&d);
	password_describe(&s, &d);
	CHECK_MEM(d.p, d.len, "v1 scram-sha-256(i=5000,salt=16B) scram-sha-1(i=5000,salt=16B) "
	                      "cram-md5 bcrypt($2b$04$)");
	buf_free(&d);
	buf_free(&b);
}

TEST(decode_rejects_corruption)
{
	struct password_secrets s, t;
	CHECK_INT(password_derive(SLICE_LIT("pencil"), 4096, TEST_COST, &s), 0);
	struct buf b;
	buf_init(&b);
	password_encode(&s, &b);
	b.p[0] = 2; /* unknown version */
	CHECK_INT(password_decode(buf_slice(&b), &t), -1);
	CHECK_INT(t.have, 0);
	b.p[0] = 1;
	buf_putc(&b, 0); /* trailing byte */
	CHECK_INT(password_decode(buf_slice(&b), &t), -1);
	b.len--;
	b.p[1] = 9; /* unknown tag */
	CHECK_INT(password_decode(buf_slice(&b), &t), -1);
	b.p[1] = 2; /* SCRAM-SHA-1 tag on a SHA-256 record: wrong length */
	CHECK_INT(password_decode(buf_slice(&b), &t), -1);
	b.p[1] = 1;
	b.p[6] = 0; /* iterations 4096 -> 0 */
	CHECK_INT(password_decode(buf_slice(&b), &t), -1);
	b.p[6] = 0x10;
	CHECK_INT(password_decode(buf_slice(&b), &t), 0);
	b.p[8] = 0; /* salt length 0 */
	CHECK_INT(password_decode(buf_slice(&b), &t), -1);
	/* A record repeated, and records out of order. */
	struct buf r;
	buf_init(&r);
	buf_putc(&r, 1);
	uint8_t cram[3 + 32] = {3, 0, 32};
	buf_append(&r, cram, sizeof cram);
	CHECK_INT(password_decode(buf_slice(&r), &t), 0);
	CHECK_INT(t.have, PASSWORD_HAVE_CRAM_MD5);
	buf_append(&r, cram, sizeof cram);
	CHECK_INT(password_decode(buf_slice(&r), &t), -1);
	r.len = 1 + sizeof cram;
	uint8_t bc[] = {4, 0, 4, '$', '2', 'b', '$'};
	buf_append(&r, bc, sizeof bc);
	CHECK_INT(password_decode(buf_slice(&r), &t), 0);
	uint8_t first[] = {1, 4, 0, 4, '$', '2', 'b', '$', 3, 0, 32};
	struct buf o;
	buf_init(&o);
	buf_append(&o, first, sizeof first);
	buf_append(&o, cram + 3, 32);
	CHECK_INT(password_decode(buf_slice(&o), &t), -1);
	CHECK_INT(password_decode(SLICE_LIT(""), &t), -1);
	buf_free(&o);
	buf_free(&r);
	buf_free(&b);
}

TEST_MAIN()
