/* Hashes, HMAC, PBKDF2, MD5 state resumption and randomness for SASL and
 * password code, behind a small API so that only sasl_crypto.c includes
 * wolfSSL headers (notes/dependencies.md §7).
 *
 * These functions do not fail on valid arguments: a wolfCrypt error there is a
 * broken invariant and panics. */
#ifndef TERN_PROTO_SASL_CRYPTO_H
#define TERN_PROTO_SASL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Hash functions used by SCRAM. */
enum sasl_hash {
	SASL_HASH_SHA1,
	SASL_HASH_SHA256,
};

/** The largest digest any sasl_hash produces. */
#define SASL_HASH_MAX 32
/** MD5 digest and chaining-state size. */
#define SASL_MD5_LEN 16
/** MD5 (and HMAC-MD5) block size. */
#define SASL_MD5_BLOCK 64

/** Digest length of h (20 or 32). */
size_t sasl_hash_len(enum sasl_hash h);

/** out = H(in); out holds sasl_hash_len(h) bytes. */
void sasl_crypto_hash(enum sasl_hash h, struct slice in, uint8_t *out);

/** out = MD5(in) (16 bytes); used to shorten HMAC-MD5 keys over 64 octets. */
void sasl_crypto_md5(struct slice in, uint8_t out[SASL_MD5_LEN]);

/** out = HMAC-H(key, msg); out holds sasl_hash_len(h) bytes. */
void sasl_crypto_hmac(enum sasl_hash h, struct slice key, struct slice msg, uint8_t *out);

/** out = HMAC-MD5(key, msg) (16 bytes); used by tests and the CRAM-MD5 client. */
void sasl_crypto_hmac_md5(struct slice key, struct slice msg, uint8_t out[SASL_MD5_LEN]);

/**
 * SCRAM's Hi(): PBKDF2-HMAC-H with one output block of sasl_hash_len(h) bytes.
 * iterations must be >= 1. The password may be empty.
 */
void sasl_crypto_pbkdf2(enum sasl_hash h, struct slice password, struct slice salt,
                        uint32_t iterations, uint8_t *out);

/**
 * MD5 chaining state after compressing exactly one 64-byte block from the
 * initial state; state is 16 bytes (the four state words, little-endian).
 */
void sasl_crypto_md5_block_state(const uint8_t block[SASL_MD5_BLOCK], uint8_t state[SASL_MD5_LEN]);

/**
 * Finishes an MD5 computation that had absorbed one 64-byte block and stood
 * at state: out = MD5(<that block> || msg). With the HMAC ipad/opad states
 * this computes HMAC-MD5 without the key (RFC 2195 stored secrets).
 */
void sasl_crypto_md5_resume(const uint8_t state[SASL_MD5_LEN], struct slice msg,
                            uint8_t out[SASL_MD5_LEN]);

/** Fills p with n cryptographically random bytes (wolfCrypt DRBG, thread-safe). */
void sasl_crypto_random(void *p, size_t n);

/** Constant-time equality of two n-byte arrays (time depends on n only). */
bool sasl_crypto_eq(const void *a, const void *b, size_t n);

/** Overwrites n bytes at p with zeros in a way the compiler keeps. */
void sasl_crypto_wipe(void *p, size_t n);

#endif
