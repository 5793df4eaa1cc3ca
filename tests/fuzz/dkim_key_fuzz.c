/* libFuzzer target: DKIM key records (TXT at <s>._domainkey.<d>). A parsed
 * key is also handed to the public-key verification with a fixed digest and
 * signature, so wolfCrypt's decoding of hostile p= bytes is exercised: it must
 * return an error, never crash, and an accepted RSA key must be within
 * DKIM_RSA_BITS_MIN..MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dkim_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key key;
	const char *err;
	if (dkim_key_parse(slice_of(data, size), &key, &err) != 0) {
		if (!err)
			abort();
		return 0;
	}
	uint8_t digest[DKIM_DIGEST_MAX] = {1, 2, 3};
	uint8_t sigb[DKIM_SIG_MAX];
	memset(sigb, 0x5a, sizeof sigb);
	unsigned bits = 0;
	size_t siglen = key.kt == DKIM_KEY_ED25519 ? 64 : key.p.len > 16 ? key.p.len - 16 : 128;
	if (siglen > sizeof sigb)
		siglen = sizeof sigb;
	int rc = dkim_crypto_verify(key.kt, buf_slice(&key.p), DKIM_HASH_SHA256, digest, slice_of(sigb, siglen), &bits);
	if (rc == 0)
		abort(); /* a fixed junk signature cannot verify */
	if (rc == DKIM_CRYPTO_BADSIG && key.kt == DKIM_KEY_RSA && (bits < DKIM_RSA_BITS_MIN || bits > DKIM_RSA_BITS_MAX))
		abort();
	dkim_key_free(&key);
	return 0;
}
