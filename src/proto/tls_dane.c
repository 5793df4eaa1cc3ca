/* DANE (RFC 6698, 7671, 7672) certificate matching as pure functions over a
 * peer chain in DER: SPKI extraction, association data, TLSA matching.
 *
 * DESIGN: the SubjectPublicKeyInfo is found by walking the certificate's
 * DER ourselves: wolfSSL's helpers return PKCS#1 instead of SPKI for RSA
 * keys and cannot parse Ed25519 certificates in Debian's build
 * (notes/dependencies.md §2). DANE-EE needs nothing else. DANE-TA verifies
 * the sent chain up to the matched certificate with a throw-away wolfSSL
 * context that trusts only that certificate, then checks the leaf's name. */
#include "proto/tls_impl.h"

#include <wolfssl/wolfcrypt/hash.h>

#include "core/xmalloc.h"

#define TLS_DANE_SHA256_LEN 32
#define TLS_DANE_SHA512_LEN 64
#define TLS_DANE_TBS_SKIP 5 /* serialNumber, signature, issuer, validity, subject */

/* Reads the DER element at *p (before end): its whole encoding and its
 * contents. Definite lengths of at most 4 octets only, as DER requires. */
static int tls_dane_der_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, struct slice *whole,
			     struct slice *content)
{
	const uint8_t *s = *p;
	size_t avail = (size_t)(end - s), i = 2, len;

	if (avail < 2 || (s[0] & 0x1f) == 0x1f)
		return -1;
	len = s[1];
	if (len & 0x80) {
		size_t k = len & 0x7f;
		if (k == 0 || k > 4 || avail < 2 + k)
			return -1;
		len = 0;
		for (size_t j = 0; j < k; j++)
			len = (len << 8) | s[2 + j];
		i += k;
	}
	if (avail - i < len)
		return -1;
	*tag = s[0];
	*whole = slice_of(s, i + len);
	*content = slice_of(s + i, len);
	*p = s + i + len;
	return 0;
}

int tls_cert_spki(struct slice cert, struct slice *spki)
{
	const uint8_t *p = cert.p, *end = cert.p + cert.len;
	struct slice whole, cont;
	uint8_t tag;

	if (!cert.p || tls_dane_der_next(&p, end, &tag, &whole, &cont) < 0 || tag != 0x30)
		return -1;
	p = cont.p; /* Certificate -> tbsCertificate */
	end = cont.p + cont.len;
	if (tls_dane_der_next(&p, end, &tag, &whole, &cont) < 0 || tag != 0x30)
		return -1;
	p = cont.p;
	end = cont.p + cont.len;
	if (tls_dane_der_next(&p, end, &tag, &whole, &cont) < 0)
		return -1;
	int skip = tag == 0xa0 ? TLS_DANE_TBS_SKIP : TLS_DANE_TBS_SKIP - 1; /* [0] version is optional */
	for (int i = 0; i < skip; i++)
		if (tls_dane_der_next(&p, end, &tag, &whole, &cont) < 0)
			return -1;
	if (tls_dane_der_next(&p, end, &tag, &whole, &cont) < 0 || tag != 0x30)
		return -1;
	*spki = whole;
	return 0;
}

int tls_cert_assoc(struct slice cert, uint8_t selector, uint8_t mtype, struct buf *out)
{
	struct slice sel = cert;
	uint8_t md[TLS_DANE_SHA512_LEN];

	if (selector > 1 || mtype > 2 || !cert.p || cert.len == 0)
		return -1;
	if (selector == 1 && tls_cert_spki(cert, &sel) < 0)
		return -1;
	switch (mtype) {
	case 0:
		buf_append(out, sel.p, sel.len);
		return 0;
	case 1:
		if (wc_Sha256Hash(sel.p, (word32)sel.len, md) != 0)
			return -1;
		buf_append(out, md, TLS_DANE_SHA256_LEN);
		return 0;
	default:
		if (wc_Sha512Hash(sel.p, (word32)sel.len, md) != 0)
			return -1;
		buf_append(out, md, TLS_DANE_SHA512_LEN);
		return 0;
	}
}

bool tls_tlsa_usable(const struct tls_tlsa *r)
{
	if ((r->usage != 2 && r->usage != 3) || r->selector > 1 || r->mtype > 2 || r->data.len == 0)
		return false;
	if (r->mtype == 1)
		return r->data.len == TLS_DANE_SHA256_LEN;
	if (r->mtype == 2)
		return r->data.len == TLS_DANE_SHA512_LEN;
	return true;
}

static bool tls_dane_cert_matches(const struct tls_tlsa *r, struct slice cert)
{
	struct buf a;
	buf_init(&a);
	bool ok = tls_cert_assoc(cert, r->selector, r->mtype, &a) == 0 && slice_eq(buf_slice(&a), r->data);
	buf_free(&a);
	return ok;
}

static bool tls_dane_name_ok(struct slice leaf, const char *const *names, size_t n_names)
{
	WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, leaf.p, (int)leaf.len);
	bool ok = false;

	for (size_t i = 0; x && !ok && i < n_names; i++)
		ok = names[i] && wolfSSL_X509_check_host(x, names[i], strlen(names[i]), 0, NULL) == WOLFSSL_SUCCESS;
	if (x)
		wolfSSL_X509_free(x);
	return ok;
}

/* Whether chain[0..ta) verifies up to chain[ta] as the only trust anchor.
 * The anchor's own signature and dates are not checked (it is trusted
 * because DNSSEC says so); those of every certificate below it are. */
static bool tls_dane_ta_chain_ok(const struct slice *chain, size_t ta)
{
	WOLFSSL_CTX *w = wolfSSL_CTX_new(wolfSSLv23_client_method());
	bool ok = w != NULL;

	if (ok) {
		wolfSSL_CTX_set_verify(w, WOLFSSL_VERIFY_NONE, NULL); /* load anchors without checking them */
		ok = wolfSSL_CTX_load_verify_buffer(w, chain[ta].p, (long)chain[ta].len, WOLFSSL_FILETYPE_ASN1) ==
		     WOLFSSL_SUCCESS;
	}
	WOLFSSL_CERT_MANAGER *cm = ok ? wolfSSL_CTX_GetCertManager(w) : NULL;
	for (size_t i = ta; ok && i-- > 0;) {
		ok = wolfSSL_CertManagerVerifyBuffer(cm, chain[i].p, (long)chain[i].len, WOLFSSL_FILETYPE_ASN1) ==
		     WOLFSSL_SUCCESS;
		if (ok && i > 0)
			ok = wolfSSL_CTX_load_verify_buffer(w, chain[i].p, (long)chain[i].len, WOLFSSL_FILETYPE_ASN1) ==
			     WOLFSSL_SUCCESS;
	}
	if (w)
		wolfSSL_CTX_free(w);
	wolfSSL_ERR_clear_error();
	return ok;
}

enum tls_dane_result tls_dane_match(const struct tls_tlsa *recs, size_t n_recs, const struct slice *chain,
				    size_t chain_len, const char *const *names, size_t n_names, size_t *matched)
{
	bool usable = false;

	tls_ctx_lib_init();
	for (size_t r = 0; r < n_recs; r++) {
		if (!tls_tlsa_usable(&recs[r]))
			continue;
		usable = true;
		if (chain_len == 0)
			continue;
		bool ok = false;
		if (recs[r].usage == 3) {
			ok = tls_dane_cert_matches(&recs[r], chain[0]);
		} else {
			for (size_t i = 1; !ok && i < chain_len; i++)
				ok = tls_dane_cert_matches(&recs[r], chain[i]) && tls_dane_ta_chain_ok(chain, i) &&
				     tls_dane_name_ok(chain[0], names, n_names);
		}
		if (ok) {
			if (matched)
				*matched = r;
			return TLS_DANE_MATCH;
		}
	}
	return usable ? TLS_DANE_NO_MATCH : TLS_DANE_UNUSABLE;
}
