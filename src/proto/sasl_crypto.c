/* wolfCrypt behind a small API: hashes, HMAC, PBKDF2, MD5 state resumption,
 * randomness and constant-time helpers for the SASL engines and passwords.
 *
 * DESIGN: this is the only translation unit of the SASL code that includes
 * wolfSSL headers (<wolfssl/options.h> first, never the wolfssl/openssl headers), so the
 * rest of src/proto can sit next to OpenSSL users (notes/dependencies.md §7).
 * Errors from wolfCrypt on valid arguments are broken invariants and panic.
 * One DRBG serves the process, behind a mutex: callers draw a few dozen bytes
 * per authentication, so contention is not a concern.
 *
 * MD5 resumption writes the chaining words of wolfCrypt's wc_Md5 directly:
 * the public struct has no setter. The unit test checks the result against
 * wolfCrypt's own HMAC-MD5, so a layout change in wolfSSL shows up there. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/md5.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/random.h>

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/sasl_crypto.h"

static int sasl_crypto_wc_type(enum sasl_hash h)
{
	return h == SASL_HASH_SHA1 ? WC_SHA : WC_SHA256;
}

static word32 sasl_crypto_len32(size_t n)
{
	if (n > INT_MAX)
		panic("sasl_crypto: input of %zu bytes", n);
	return (word32)n;
}

size_t sasl_hash_len(enum sasl_hash h)
{
	return h == SASL_HASH_SHA1 ? WC_SHA_DIGEST_SIZE : WC_SHA256_DIGEST_SIZE;
}

void sasl_crypto_hash(enum sasl_hash h, struct slice in, uint8_t *out)
{
	int rc = h == SASL_HASH_SHA1 ? wc_ShaHash(in.p, sasl_crypto_len32(in.len), out)
	                             : wc_Sha256Hash(in.p, sasl_crypto_len32(in.len), out);
	if (rc != 0)
		panic("sasl_crypto_hash: wolfCrypt error %d", rc);
}

void sasl_crypto_md5(struct slice in, uint8_t out[SASL_MD5_LEN])
{
	if (wc_Md5Hash(in.p, sasl_crypto_len32(in.len), out) != 0)
		panic("sasl_crypto_md5: wolfCrypt error");
}

static void sasl_crypto_hmac_type(int type, struct slice key, struct slice msg, uint8_t *out)
{
	Hmac hmac;
	int rc = wc_HmacInit(&hmac, NULL, INVALID_DEVID);
	if (rc == 0)
		rc = wc_HmacSetKey(&hmac, type, key.p, sasl_crypto_len32(key.len));
	if (rc == 0)
		rc = wc_HmacUpdate(&hmac, msg.p, sasl_crypto_len32(msg.len));
	if (rc == 0)
		rc = wc_HmacFinal(&hmac, out);
	wc_HmacFree(&hmac);
	sasl_crypto_wipe(&hmac, sizeof hmac);
	if (rc != 0)
		panic("sasl_crypto_hmac: wolfCrypt error %d", rc);
}

void sasl_crypto_hmac(enum sasl_hash h, struct slice key, struct slice msg, uint8_t *out)
{
	sasl_crypto_hmac_type(sasl_crypto_wc_type(h), key, msg, out);
}

void sasl_crypto_hmac_md5(struct slice key, struct slice msg, uint8_t out[SASL_MD5_LEN])
{
	sasl_crypto_hmac_type(WC_MD5, key, msg, out);
}

void sasl_crypto_pbkdf2(enum sasl_hash h, struct slice password, struct slice salt,
                        uint32_t iterations, uint8_t *out)
{
	ASSERT(iterations >= 1 && iterations <= INT_MAX);
	int rc = wc_PBKDF2(out, password.p, (int)sasl_crypto_len32(password.len), salt.p,
	                   (int)sasl_crypto_len32(salt.len), (int)iterations,
	                   (int)sasl_hash_len(h), sasl_crypto_wc_type(h));
	if (rc != 0)
		panic("sasl_crypto_pbkdf2: wolfCrypt error %d", rc);
}

void sasl_crypto_md5_block_state(const uint8_t block[SASL_MD5_BLOCK], uint8_t state[SASL_MD5_LEN])
{
	wc_Md5 md5;
	if (wc_InitMd5(&md5) != 0 || wc_Md5Update(&md5, block, SASL_MD5_BLOCK) != 0)
		panic("sasl_crypto_md5_block_state: wolfCrypt error");
	ASSERT(md5.buffLen == 0 && md5.loLen == SASL_MD5_BLOCK);
	for (int i = 0; i < 4; i++) {
		word32 w = md5.digest[i];
		for (int b = 0; b < 4; b++)
			state[i * 4 + b] = (uint8_t)(w >> (8 * b));
	}
	wc_Md5Free(&md5);
	sasl_crypto_wipe(&md5, sizeof md5);
}

void sasl_crypto_md5_resume(const uint8_t state[SASL_MD5_LEN], struct slice msg,
                            uint8_t out[SASL_MD5_LEN])
{
	wc_Md5 md5;
	if (wc_InitMd5(&md5) != 0)
		panic("sasl_crypto_md5_resume: wolfCrypt error");
	for (int i = 0; i < 4; i++) {
		word32 w = 0;
		for (int b = 3; b >= 0; b--)
			w = w << 8 | state[i * 4 + b];
		md5.digest[i] = w;
	}
	md5.loLen = SASL_MD5_BLOCK;
	md5.hiLen = 0;
	md5.buffLen = 0;
	if (wc_Md5Update(&md5, msg.p, sasl_crypto_len32(msg.len)) != 0 || wc_Md5Final(&md5, out) != 0)
		panic("sasl_crypto_md5_resume: wolfCrypt error");
	wc_Md5Free(&md5);
	sasl_crypto_wipe(&md5, sizeof md5);
}

static pthread_mutex_t sasl_crypto_rng_mu = PTHREAD_MUTEX_INITIALIZER;
static WC_RNG sasl_crypto_rng;
static bool sasl_crypto_rng_ready;

void sasl_crypto_random(void *p, size_t n)
{
	pthread_mutex_lock(&sasl_crypto_rng_mu);
	if (!sasl_crypto_rng_ready) {
		int rc = wc_InitRng(&sasl_crypto_rng);
		if (rc != 0)
			panic("sasl_crypto_random: wc_InitRng error %d", rc);
		sasl_crypto_rng_ready = true;
	}
	int rc = wc_RNG_GenerateBlock(&sasl_crypto_rng, p, sasl_crypto_len32(n));
	pthread_mutex_unlock(&sasl_crypto_rng_mu);
	if (rc != 0)
		panic("sasl_crypto_random: wolfCrypt error %d", rc);
}

bool sasl_crypto_eq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void sasl_crypto_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}
