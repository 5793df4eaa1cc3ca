/* Stored password secrets: derivation from a plaintext password, a versioned
 * serialisation for the accounts store, and verification per mechanism.
 *
 * Only derived secrets are kept (README "Passwords"): SCRAM-SHA-256 and
 * SCRAM-SHA-1 salted keys, the CRAM-MD5 HMAC inner/outer MD5 states and a
 * bcrypt `$2b$` hash for PLAIN, LOGIN and HTTP Basic. bcrypt is slow on
 * purpose (cost PASSWORD_BCRYPT_COST, tens of milliseconds): password_derive
 * and password_verify_plain must run off the I/O threads (a dedicated worker). */
#ifndef TERN_PROTO_PASSWORD_H
#define TERN_PROTO_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/sasl_crypto.h"

/** Longest accepted password in octets (badinput.md #42: fields over 255 octets). */
#define PASSWORD_MAX 255
/** SCRAM iteration count for new secrets, and for unknown users' fake salts. */
#define PASSWORD_SCRAM_ITERATIONS 8192
/** Lowest SCRAM iteration count accepted anywhere (RFC 7677 §4). */
#define PASSWORD_SCRAM_ITERATIONS_MIN 4096
/** Highest SCRAM iteration count accepted (bounds a client's PBKDF2 work). */
#define PASSWORD_SCRAM_ITERATIONS_MAX 1000000
/** Salt length of new SCRAM secrets; stored salts may be 1..PASSWORD_SALT_MAX. */
#define PASSWORD_SALT_LEN 16
#define PASSWORD_SALT_MAX 64
/**
 * bcrypt cost (log2 rounds) of new hashes. 10 costs about 50-80 ms of CPU here:
 * slow enough for offline guessing to hurt, cheap enough for a submission
 * server that checks one PLAIN login per connection. Verification uses the
 * cost stored in the hash, so it can be raised later without a migration.
 */
#define PASSWORD_BCRYPT_COST 10
/** Room for a `$2b$` hash string plus NUL (bcrypt strings are 60 octets). */
#define PASSWORD_BCRYPT_MAX 64
/** bcrypt reads only this many password octets; longer passwords are also
 *  checked against the SCRAM-SHA-256 keys (password_verify_plain). */
#define PASSWORD_BCRYPT_INPUT_MAX 72
/** Serialisation version written by password_encode. */
#define PASSWORD_FORMAT_VERSION 1

/** One SCRAM mechanism's stored keys (RFC 5802 §3). */
struct password_scram {
	uint32_t iterations;
	uint8_t salt_len;
	uint8_t salt[PASSWORD_SALT_MAX];
	uint8_t stored_key[SASL_HASH_MAX]; /* H(ClientKey) */
	uint8_t server_key[SASL_HASH_MAX]; /* HMAC(SaltedPassword, "Server Key") */
};

/** Which members of struct password_secrets hold values. */
enum {
	PASSWORD_HAVE_SCRAM_SHA256 = 1 << 0,
	PASSWORD_HAVE_SCRAM_SHA1 = 1 << 1,
	PASSWORD_HAVE_CRAM_MD5 = 1 << 2,
	PASSWORD_HAVE_BCRYPT = 1 << 3,
};

/** All secrets of one account. Plain data: copy freely, wipe when done. */
struct password_secrets {
	unsigned have;                      /* PASSWORD_HAVE_* bits */
	struct password_scram scram_sha256;
	struct password_scram scram_sha1;
	uint8_t cram_inner[SASL_MD5_LEN];   /* MD5 state after the key^ipad block */
	uint8_t cram_outer[SASL_MD5_LEN];   /* MD5 state after the key^opad block */
	char bcrypt[PASSWORD_BCRYPT_MAX];   /* NUL-terminated `$2b$...` */
};

/** Whether a password is acceptable: 1..PASSWORD_MAX octets, no NUL. */
bool password_acceptable(struct slice password);

/**
 * Derives every secret from password with fresh random salts, `iterations`
 * SCRAM rounds (0 = PASSWORD_SCRAM_ITERATIONS; else within MIN..MAX) and
 * bcrypt cost `bcrypt_cost` (0 = PASSWORD_BCRYPT_COST; 4..31). Slow (bcrypt).
 * Returns 0, or -1 when the password or a parameter is not acceptable.
 */
int password_derive(struct slice password, uint32_t iterations, unsigned bcrypt_cost,
                    struct password_secrets *out);

/** Deterministic SCRAM derivation with a given salt (1..PASSWORD_SALT_MAX octets). */
void password_scram_derive(enum sasl_hash h, struct slice password, struct slice salt,
                           uint32_t iterations, struct password_scram *out);

/** The stored SCRAM secret for h, or NULL when secrets (may be NULL) lack it. */
const struct password_scram *password_scram_get(const struct password_secrets *secrets,
                                                enum sasl_hash h);

/**
 * Fills out with a stand-in for an unknown user: salt = HMAC-SHA-256(server
 * secret, mechanism label || username) truncated to PASSWORD_SALT_LEN, the
 * given iteration count and random keys, so that the exchange looks the same
 * as for a real account and always fails.
 */
void password_scram_fake(enum sasl_hash h, struct slice server_secret, struct slice username,
                         uint32_t iterations, struct password_scram *out);

/**
 * Verifies a SCRAM client proof: recovers ClientKey = proof XOR
 * HMAC(StoredKey, auth_message) and compares H(ClientKey) with StoredKey in
 * constant time. proof holds sasl_hash_len(h) bytes. If server_sig is not
 * NULL it receives HMAC(ServerKey, auth_message) either way.
 */
bool password_verify_scram(const struct password_scram *sc, enum sasl_hash h,
                           struct slice auth_message, const uint8_t *proof, uint8_t *server_sig);

/** Expected CRAM-MD5 digest HMAC-MD5(password, challenge) from the stored states. */
void password_cram_md5_digest(const struct password_secrets *secrets, struct slice challenge,
                              uint8_t out[SASL_MD5_LEN]);

/**
 * Checks a plaintext password (PLAIN, LOGIN, HTTP Basic) against the bcrypt
 * hash, and for passwords longer than bcrypt reads also against the
 * SCRAM-SHA-256 keys. NULL secrets or a missing hash still spend one bcrypt
 * run of the default cost and return false. Slow: not on an I/O thread.
 */
bool password_verify_plain(const struct password_secrets *secrets, struct slice password);

/** Appends the versioned binary form of secrets to out (for the accounts store). */
void password_encode(const struct password_secrets *secrets, struct buf *out);

/** Strictly decodes password_encode's output. Returns 0, or -1 (out zeroed). */
int password_decode(struct slice in, struct password_secrets *out);

/** Appends a one-line, key-free text description (for `tern store dump`). */
void password_describe(const struct password_secrets *secrets, struct buf *out);

/** Zeroes secrets so the keys do not linger in memory. */
void password_wipe(struct password_secrets *secrets);

#endif
