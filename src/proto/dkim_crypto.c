/* wolfCrypt behind the DKIM crypto API: hashes, RSA / Ed25519 verification of
 * DKIM public keys, and PKCS#8 private keys for signing.
 *
 * DESIGN: the only DKIM translation unit that includes wolfSSL headers
 * (<wolfssl/options.h> first, never the wolfssl/openssl headers), so the rest of
 * src/proto can live next to OpenSSL users (notes/dependencies.md §7).
 * RSA verification decodes the PKCS#1 v1.5 block with wolfCrypt and compares
 * it with the DigestInfo we build from the RFC 8017 §9.2 prefixes, so the
 * hash algorithm is checked as well as the digest. Private keys carry a mutex
 * because wolfCrypt's RsaKey/ed25519_key are not meant for concurrent use;
 * signing is rare next to verification. A wolfCrypt error on valid arguments
 * (hashing) is a broken invariant and panics; errors on key or signature
 * bytes from the network are returned. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/dkim_crypto.h"

/* Largest PEM / DER private key we accept (RSA-4096 PKCS#8 is about 2.4 kB DER). */
#define DKIM_CRYPTO_PEM_MAX (16 * 1024)

struct dkim_hash {
	enum dkim_hash_alg alg;
	union {
		wc_Sha sha1;
		wc_Sha256 sha256;
	} u;
};

struct dkim_privkey {
	enum dkim_key_type type;
	pthread_mutex_t mu;
	RsaKey rsa;
	ed25519_key ed;
};

/* DigestInfo prefixes (RFC 8017 §9.2 note 1). */
static const uint8_t dkim_crypto_di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                              0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const uint8_t dkim_crypto_di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                0x01, 0x05, 0x00, 0x04, 0x20};

static word32 dkim_crypto_len32(size_t n)
{
	if (n > INT_MAX)
		panic("dkim_crypto: input of %zu bytes", n);
	return (word32)n;
}

size_t dkim_hash_len(enum dkim_hash_alg alg)
{
	return alg == DKIM_HASH_SHA1 ? WC_SHA_DIGEST_SIZE : WC_SHA256_DIGEST_SIZE;
}

struct dkim_hash *dkim_hash_new(enum dkim_hash_alg alg)
{
	struct dkim_hash *h = xcalloc(1, sizeof *h);
	h->alg = alg;
	int rc = alg == DKIM_HASH_SHA1 ? wc_InitSha(&h->u.sha1) : wc_InitSha256(&h->u.sha256);
	if (rc != 0)
		panic("dkim_hash_new: wolfCrypt error %d", rc);
	return h;
}

void dkim_hash_update(struct dkim_hash *h, const void *p, size_t n)
{
	while (n > 0) {
		word32 chunk = n > (1u << 30) ? (1u << 30) : (word32)n;
		int rc = h->alg == DKIM_HASH_SHA1 ? wc_ShaUpdate(&h->u.sha1, p, chunk)
		                                  : wc_Sha256Update(&h->u.sha256, p, chunk);
		if (rc != 0)
			panic("dkim_hash_update: wolfCrypt error %d", rc);
		p = (const uint8_t *)p + chunk;
		n -= chunk;
	}
}

void dkim_hash_final(struct dkim_hash *h, uint8_t out[DKIM_DIGEST_MAX])
{
	int rc = h->alg == DKIM_HASH_SHA1 ? wc_ShaFinal(&h->u.sha1, out) : wc_Sha256Final(&h->u.sha256, out);
	if (rc != 0)
		panic("dkim_hash_final: wolfCrypt error %d", rc);
}

void dkim_hash_free(struct dkim_hash *h)
{
	if (!h)
		return;
	if (h->alg == DKIM_HASH_SHA1)
		wc_ShaFree(&h->u.sha1);
	else
		wc_Sha256Free(&h->u.sha256);
	free(h);
}

/* The expected PKCS#1 v1.5 payload: DigestInfo prefix + digest. */
static size_t dkim_crypto_digestinfo(enum dkim_hash_alg alg, const uint8_t *digest, uint8_t *out)
{
	const uint8_t *pre = alg == DKIM_HASH_SHA1 ? dkim_crypto_di_sha1 : dkim_crypto_di_sha256;
	size_t plen = alg == DKIM_HASH_SHA1 ? sizeof dkim_crypto_di_sha1 : sizeof dkim_crypto_di_sha256;
	memcpy(out, pre, plen);
	memcpy(out + plen, digest, dkim_hash_len(alg));
	return plen + dkim_hash_len(alg);
}

static int dkim_crypto_verify_rsa(struct slice pub, enum dkim_hash_alg alg, const uint8_t *digest,
                                  struct slice sig, unsigned *bits)
{
	RsaKey key;
	if (wc_InitRsaKey(&key, NULL) != 0)
		panic("dkim_crypto: wc_InitRsaKey");
	word32 idx = 0;
	int rc = DKIM_CRYPTO_BADKEY;
	if (pub.len == 0 || wc_RsaPublicKeyDecode(pub.p, &idx, &key, dkim_crypto_len32(pub.len)) != 0)
		goto out;
	int size = wc_RsaEncryptSize(&key);
	if (size <= 0)
		goto out;
	*bits = (unsigned)size * 8;
	rc = DKIM_CRYPTO_KEYSIZE;
	if (*bits < DKIM_RSA_BITS_MIN || *bits > DKIM_RSA_BITS_MAX)
		goto out;
	rc = DKIM_CRYPTO_BADSIG;
	if (sig.len != (size_t)size)
		goto out;
	uint8_t dec[DKIM_SIG_MAX], want[64];
	int n = wc_RsaSSL_Verify(sig.p, (word32)sig.len, dec, sizeof dec, &key);
	size_t wlen = dkim_crypto_digestinfo(alg, digest, want);
	if (n == (int)wlen && memcmp(dec, want, wlen) == 0)
		rc = 0;
out:
	wc_FreeRsaKey(&key);
	return rc;
}

static int dkim_crypto_verify_ed25519(struct slice pub, const uint8_t *digest, struct slice sig,
                                      unsigned *bits)
{
	ed25519_key key;
	if (wc_ed25519_init(&key) != 0)
		panic("dkim_crypto: wc_ed25519_init");
	int rc = DKIM_CRYPTO_BADKEY;
	if (pub.len != ED25519_PUB_KEY_SIZE || wc_ed25519_import_public(pub.p, (word32)pub.len, &key) != 0)
		goto out;
	*bits = 256;
	rc = DKIM_CRYPTO_BADSIG;
	int ok = 0;
	if (sig.len == ED25519_SIG_SIZE &&
	    wc_ed25519_verify_msg(sig.p, (word32)sig.len, digest, WC_SHA256_DIGEST_SIZE, &ok, &key) == 0 && ok == 1)
		rc = 0;
out:
	wc_ed25519_free(&key);
	return rc;
}

int dkim_crypto_verify(enum dkim_key_type kt, struct slice pub, enum dkim_hash_alg alg,
                       const uint8_t *digest, struct slice sig, unsigned *bits)
{
	*bits = 0;
	if (kt == DKIM_KEY_ED25519)
		return alg == DKIM_HASH_SHA256 ? dkim_crypto_verify_ed25519(pub, digest, sig, bits)
		                               : DKIM_CRYPTO_BADSIG;
	return dkim_crypto_verify_rsa(pub, alg, digest, sig, bits);
}

static bool dkim_privkey_load_rsa(struct dkim_privkey *k, const uint8_t *der, word32 len)
{
	word32 idx = 0;
	if (wc_InitRsaKey(&k->rsa, NULL) != 0)
		panic("dkim_privkey: wc_InitRsaKey");
	if (wc_RsaPrivateKeyDecode(der, &idx, &k->rsa, len) != 0) {
		wc_FreeRsaKey(&k->rsa);
		return false;
	}
	k->type = DKIM_KEY_RSA;
	return true;
}

/* wolfCrypt leaves the public half unset after decoding an OpenSSL PKCS#8
 * Ed25519 key, and then refuses to sign (notes/dependencies.md §2). */
static bool dkim_privkey_load_ed25519(struct dkim_privkey *k, const uint8_t *der, word32 len)
{
	word32 idx = 0;
	uint8_t pub[ED25519_PUB_KEY_SIZE];
	if (wc_ed25519_init(&k->ed) != 0)
		panic("dkim_privkey: wc_ed25519_init");
	if (wc_Ed25519PrivateKeyDecode(der, &idx, &k->ed, len) != 0 ||
	    wc_ed25519_make_public(&k->ed, pub, sizeof pub) != 0 ||
	    wc_ed25519_import_private_key(k->ed.k, ED25519_KEY_SIZE, pub, sizeof pub, &k->ed) != 0) {
		wc_ed25519_free(&k->ed);
		return false;
	}
	k->type = DKIM_KEY_ED25519;
	return true;
}

struct dkim_privkey *dkim_privkey_load(struct slice pem, const char **err)
{
	*err = NULL;
	if (pem.len == 0 || pem.len > DKIM_CRYPTO_PEM_MAX) {
		*err = "key file empty or too large";
		return NULL;
	}
	uint8_t *der = xmalloc(pem.len);
	int dlen = wc_KeyPemToDer(pem.p, (int)pem.len, der, (int)pem.len, NULL);
	struct dkim_privkey *k = xcalloc(1, sizeof *k);
	bool ok = false;
	if (dlen <= 0) {
		*err = "not an unencrypted PEM private key";
	} else if (dkim_privkey_load_rsa(k, der, (word32)dlen)) {
		int bits = wc_RsaEncryptSize(&k->rsa) * 8;
		ok = bits >= DKIM_RSA_BITS_MIN && bits <= DKIM_RSA_BITS_MAX;
		if (!ok) {
			*err = "RSA key size outside 1024-4096 bits";
			wc_FreeRsaKey(&k->rsa);
		}
	} else if (dkim_privkey_load_ed25519(k, der, (word32)dlen)) {
		ok = true;
	} else {
		*err = "key is neither RSA nor Ed25519 PKCS#8";
	}
	memset(der, 0, pem.len);
	free(der);
	if (!ok) {
		free(k);
		return NULL;
	}
	pthread_mutex_init(&k->mu, NULL);
	return k;
}

enum dkim_key_type dkim_privkey_type(const struct dkim_privkey *k)
{
	return k->type;
}

void dkim_privkey_public(const struct dkim_privkey *k, struct buf *out)
{
	struct dkim_privkey *mk = (struct dkim_privkey *)k;
	pthread_mutex_lock(&mk->mu);
	if (k->type == DKIM_KEY_ED25519) {
		buf_append(out, k->ed.p, ED25519_PUB_KEY_SIZE);
	} else {
		uint8_t der[DKIM_SIG_MAX + 128];
		int n = wc_RsaKeyToPublicDer(&mk->rsa, der, sizeof der);
		if (n <= 0)
			panic("dkim_privkey_public: wolfCrypt error %d", n);
		buf_append(out, der, (size_t)n);
	}
	pthread_mutex_unlock(&mk->mu);
}

static int dkim_privkey_sign_rsa(struct dkim_privkey *k, enum dkim_hash_alg alg, const uint8_t *digest,
                                 struct buf *sig)
{
	WC_RNG rng;
	uint8_t in[64], out[DKIM_SIG_MAX];
	size_t inlen = dkim_crypto_digestinfo(alg, digest, in);
	if (wc_InitRng(&rng) != 0)
		return -1;
	int n = wc_RsaSSL_Sign(in, (word32)inlen, out, sizeof out, &k->rsa, &rng);
	wc_FreeRng(&rng);
	if (n <= 0)
		return -1;
	buf_append(sig, out, (size_t)n);
	return 0;
}

int dkim_privkey_sign(struct dkim_privkey *k, enum dkim_hash_alg alg, const uint8_t *digest, struct buf *sig)
{
	int rc = -1;
	pthread_mutex_lock(&k->mu);
	if (k->type == DKIM_KEY_RSA) {
		rc = dkim_privkey_sign_rsa(k, alg, digest, sig);
	} else if (alg == DKIM_HASH_SHA256) {
		uint8_t out[ED25519_SIG_SIZE];
		word32 olen = sizeof out;
		if (wc_ed25519_sign_msg(digest, WC_SHA256_DIGEST_SIZE, out, &olen, &k->ed) == 0) {
			buf_append(sig, out, olen);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&k->mu);
	return rc;
}

void dkim_privkey_free(struct dkim_privkey *k)
{
	if (!k)
		return;
	if (k->type == DKIM_KEY_RSA)
		wc_FreeRsaKey(&k->rsa);
	else
		wc_ed25519_free(&k->ed);
	pthread_mutex_destroy(&k->mu);
	memset(k, 0, sizeof *k);
	free(k);
}
