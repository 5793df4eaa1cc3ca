/* Cryptography for DKIM behind a small API: SHA-1/SHA-256 hashing, RSA and
 * Ed25519 signature verification with DKIM's key formats, and private keys for
 * signing (unencrypted PKCS#8 PEM, RSA or Ed25519).
 *
 * Only dkim_crypto.c includes wolfSSL headers (notes/dependencies.md §7). */
#ifndef TERN_PROTO_DKIM_CRYPTO_H
#define TERN_PROTO_DKIM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Hash algorithms of DKIM a= (rsa-sha1 is verify-only). */
enum dkim_hash_alg {
	DKIM_HASH_SHA256,
	DKIM_HASH_SHA1,
};

/** Key types of DKIM k= / a=. */
enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

/** The largest digest (SHA-256). */
#define DKIM_DIGEST_MAX 32
/** RSA key sizes accepted for verification (badinput.md #51) and signing. */
#define DKIM_RSA_BITS_MIN 1024
#define DKIM_RSA_BITS_MAX 4096
/** Largest signature: RSA-4096. */
#define DKIM_SIG_MAX 512

/** Errors of dkim_crypto_verify. */
enum {
	DKIM_CRYPTO_BADKEY = -1,  /* p= does not decode to a key of the stated type */
	DKIM_CRYPTO_KEYSIZE = -2, /* RSA key outside DKIM_RSA_BITS_MIN..MAX */
	DKIM_CRYPTO_BADSIG = -3,  /* the signature does not verify */
};

/** An incremental hash; opaque. */
struct dkim_hash;

/** Digest length of alg (20 or 32). */
size_t dkim_hash_len(enum dkim_hash_alg alg);
/** A new hash context; free with dkim_hash_free. */
struct dkim_hash *dkim_hash_new(enum dkim_hash_alg alg);
/** Absorbs n bytes. */
void dkim_hash_update(struct dkim_hash *h, const void *p, size_t n);
/** Writes the digest (dkim_hash_len bytes) to out; the context must not be updated afterwards. */
void dkim_hash_final(struct dkim_hash *h, uint8_t out[DKIM_DIGEST_MAX]);
/** Frees a context (NULL is fine). */
void dkim_hash_free(struct dkim_hash *h);

/**
 * Verifies sig over digest (of alg) with a DKIM public key: for RSA the p=
 * bytes (SubjectPublicKeyInfo DER, or a bare RSAPublicKey) with PKCS#1 v1.5;
 * for Ed25519 the raw 32-byte key, digest being the signed message (RFC 8463).
 * Sets *bits to the key size when the key decodes. Returns 0 when the
 * signature verifies, else a DKIM_CRYPTO_* error.
 */
int dkim_crypto_verify(enum dkim_key_type kt, struct slice pub, enum dkim_hash_alg alg,
                       const uint8_t *digest, struct slice sig, unsigned *bits);

/** A private signing key; opaque, safe to share between threads. */
struct dkim_privkey;

/**
 * Loads an unencrypted PKCS#8 ("BEGIN PRIVATE KEY") PEM holding an RSA
 * (DKIM_RSA_BITS_MIN..MAX bits) or Ed25519 key. Returns a new key (caller
 * frees with dkim_privkey_free) or NULL with *err set to a static text.
 */
struct dkim_privkey *dkim_privkey_load(struct slice pem, const char **err);
/** The key's type. */
enum dkim_key_type dkim_privkey_type(const struct dkim_privkey *k);
/** Appends the public key as published in p= (before base64): SPKI DER or raw Ed25519. */
void dkim_privkey_public(const struct dkim_privkey *k, struct buf *out);
/**
 * Appends the signature of digest (of alg) to sig: RSA PKCS#1 v1.5 over the
 * DigestInfo, or Ed25519 over the digest bytes (RFC 8463). Returns 0, or -1
 * on a wolfCrypt failure.
 */
int dkim_privkey_sign(struct dkim_privkey *k, enum dkim_hash_alg alg, const uint8_t *digest,
                      struct buf *sig);
/** Frees a key (NULL is fine). */
void dkim_privkey_free(struct dkim_privkey *k);

#endif
