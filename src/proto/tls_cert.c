/* Key and certificate generation with wolfCrypt: the self-signed ECDSA P-256
 * certificate of localserve/quickstart, and Ed25519 / RSA private keys as
 * unencrypted PKCS#8 PEM for DKIM.
 *
 * DESIGN: Debian's wolfSSL has WOLFSSL_CERT_GEN, WOLFSSL_CERT_EXT,
 * WOLFSSL_ALT_NAMES, WOLFSSL_KEY_GEN and HAVE_ED25519, so everything is
 * done in-process without calling the openssl tool. The self-signed
 * certificate is marked CA:TRUE: localserve adds it to TLS.CA.CertFiles and
 * wolfSSL refuses to load a non-CA certificate as a trust anchor. All key
 * material lives on the stack or in wolfCrypt objects that are freed (and
 * wiped by wolfCrypt) before returning. */
#include "proto/tls_impl.h"

#include <stdio.h>
#include <string.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "core/xmalloc.h"

#define TLS_CERT_DER_MAX 4096  /* our certificates are well under 1 KiB */
#define TLS_CERT_PEM_MAX 8192
#define TLS_CERT_RSA_DER_MAX 4096 /* RSA-4096 private key DER is about 2.4 KiB */
#define TLS_CERT_RSA_MIN 2048
#define TLS_CERT_RSA_MAX 4096

static void tls_cert_err(char err[TLS_ERR_MAX], const char *what, int rc)
{
	if (err)
		snprintf(err, TLS_ERR_MAX, "%s: %s (%d)", what, wc_GetErrorString(rc), rc);
}

/* Appends the PEM form of der (type: CERT_TYPE, PKCS8_PRIVATEKEY_TYPE). */
static int tls_cert_pem(const uint8_t *der, size_t len, int type, struct buf *out)
{
	uint8_t pem[TLS_CERT_PEM_MAX];
	int n = wc_DerToPem(der, (word32)len, pem, sizeof pem, type);
	if (n <= 0)
		return -1;
	buf_append(out, pem, (size_t)n);
	memset(pem, 0, sizeof pem);
	return 0;
}

/* Appends a DER length. */
static size_t tls_cert_der_len(uint8_t *p, size_t len)
{
	if (len < 0x80) {
		p[0] = (uint8_t)len;
		return 1;
	}
	if (len < 0x100) {
		p[0] = 0x81;
		p[1] = (uint8_t)len;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	return 3;
}

/* subjectAltName value: GeneralNames ::= SEQUENCE { dNSName [2] IA5String }. */
static int tls_cert_san(Cert *cert, const char *host)
{
	size_t n = strlen(host), i = 0;
	uint8_t inner[4];
	size_t il = tls_cert_der_len(inner, n);

	if (1 + 3 + 1 + il + n > sizeof cert->altNames)
		return -1;
	cert->altNames[i++] = 0x30;
	i += tls_cert_der_len(cert->altNames + i, 1 + il + n);
	cert->altNames[i++] = 0x82;
	memcpy(cert->altNames + i, inner, il);
	i += il;
	memcpy(cert->altNames + i, host, n);
	cert->altNamesSz = (int)(i + n);
	return 0;
}

static int tls_cert_host_ok(const char *h)
{
	size_t n = h ? strlen(h) : 0;
	if (n == 0 || n > TLS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '*' || c == '_'))
			return 0;
	}
	return 1;
}

/* Fills and signs the certificate for key; appends its PEM. */
static int tls_cert_make(ecc_key *key, WC_RNG *rng, const char *host, int days, struct buf *cert_pem,
			 char err[TLS_ERR_MAX])
{
	Cert cert;
	uint8_t der[TLS_CERT_DER_MAX];
	int rc;

	if ((rc = wc_InitCert(&cert)) != 0) {
		tls_cert_err(err, "init certificate", rc);
		return -1;
	}
	if (strlen(host) < CTC_NAME_SIZE) {
		memcpy(cert.subject.commonName, host, strlen(host) + 1);
		cert.subject.commonNameEnc = CTC_UTF8;
	}
	cert.selfSigned = 1;
	cert.isCA = 1;
	cert.sigType = CTC_SHA256wECDSA;
	cert.daysValid = days;
	if (tls_cert_san(&cert, host) < 0) {
		tls_cert_err(err, "subjectAltName", BUFFER_E);
		return -1;
	}
	if ((rc = wc_SetKeyUsage(&cert, "digitalSignature,keyCertSign")) != 0 ||
	    (rc = wc_SetExtKeyUsage(&cert, "serverAuth")) != 0 ||
	    (rc = wc_SetSubjectKeyIdFromPublicKey_ex(&cert, ECC_TYPE, key)) != 0 ||
	    (rc = wc_SetAuthKeyIdFromPublicKey_ex(&cert, ECC_TYPE, key)) != 0) {
		tls_cert_err(err, "certificate extensions", rc);
		return -1;
	}
	if ((rc = wc_MakeCert_ex(&cert, der, sizeof der, ECC_TYPE, key, rng)) < 0 ||
	    (rc = wc_SignCert_ex(cert.bodySz, cert.sigType, der, sizeof der, ECC_TYPE, key, rng)) < 0) {
		tls_cert_err(err, "sign certificate", rc);
		return -1;
	}
	if (tls_cert_pem(der, (size_t)rc, CERT_TYPE, cert_pem) < 0) {
		tls_cert_err(err, "certificate PEM", BUFFER_E);
		return -1;
	}
	return 0;
}

int tls_cert_selfsigned(const char *hostname, int days, struct buf *cert_pem, struct buf *key_pem,
			char err[TLS_ERR_MAX])
{
	WC_RNG rng;
	ecc_key key;
	uint8_t der[TLS_CERT_DER_MAX];
	word32 dlen = sizeof der;
	int rc, ret = -1;

	if (!tls_cert_host_ok(hostname) || days < 1 || days > TLS_CERT_DAYS_MAX) {
		if (err)
			snprintf(err, TLS_ERR_MAX, "bad host name or validity for a self-signed certificate");
		return -1;
	}
	tls_ctx_lib_init();
	if ((rc = wc_InitRng(&rng)) != 0) {
		tls_cert_err(err, "random generator", rc);
		return -1;
	}
	if ((rc = wc_ecc_init(&key)) != 0) {
		tls_cert_err(err, "ecc init", rc);
		wc_FreeRng(&rng);
		return -1;
	}
	if ((rc = wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1)) != 0)
		tls_cert_err(err, "generate P-256 key", rc);
	else if ((rc = wc_EccKeyToPKCS8(&key, der, &dlen)) < 0)
		tls_cert_err(err, "encode PKCS#8 key", rc);
	else if (tls_cert_make(&key, &rng, hostname, days, cert_pem, err) == 0) {
		if (tls_cert_pem(der, dlen, PKCS8_PRIVATEKEY_TYPE, key_pem) == 0)
			ret = 0;
		else
			tls_cert_err(err, "key PEM", BUFFER_E);
	}
	memset(der, 0, sizeof der);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
	return ret;
}

int tls_cert_ed25519_key(struct buf *key_pem, uint8_t pub[32])
{
	WC_RNG rng;
	ed25519_key key;
	uint8_t der[128];
	word32 plen = ED25519_PUB_KEY_SIZE;
	int ret = -1, n;

	tls_ctx_lib_init();
	if (wc_InitRng(&rng) != 0)
		return -1;
	if (wc_ed25519_init(&key) != 0) {
		wc_FreeRng(&rng);
		return -1;
	}
	if (wc_ed25519_make_key(&rng, ED25519_KEY_SIZE, &key) == 0 &&
	    (n = wc_Ed25519PrivateKeyToDer(&key, der, sizeof der)) > 0 &&
	    (!pub || wc_ed25519_export_public(&key, pub, &plen) == 0) &&
	    tls_cert_pem(der, (size_t)n, PKCS8_PRIVATEKEY_TYPE, key_pem) == 0)
		ret = 0;
	memset(der, 0, sizeof der);
	wc_ed25519_free(&key);
	wc_FreeRng(&rng);
	return ret;
}

/* PKCS#1 RSAPrivateKey -> PKCS#8 PEM. */
static int tls_cert_rsa_pkcs8(uint8_t *pkcs1, word32 len, struct buf *key_pem)
{
	uint8_t p8[TLS_CERT_RSA_DER_MAX + 64];
	word32 p8len = sizeof p8;
	int n = wc_CreatePKCS8Key(p8, &p8len, pkcs1, len, RSAk, NULL, 0);
	int ret = n > 0 ? tls_cert_pem(p8, (size_t)n, PKCS8_PRIVATEKEY_TYPE, key_pem) : -1;
	memset(p8, 0, sizeof p8);
	return ret;
}

int tls_cert_rsa_key(int bits, struct buf *key_pem, struct buf *spki)
{
	WC_RNG rng;
	RsaKey key;
	uint8_t der[TLS_CERT_RSA_DER_MAX];
	int ret = -1, n;

	if (bits < TLS_CERT_RSA_MIN || bits > TLS_CERT_RSA_MAX)
		return -1;
	tls_ctx_lib_init();
	if (wc_InitRng(&rng) != 0)
		return -1;
	if (wc_InitRsaKey(&key, NULL) != 0) {
		wc_FreeRng(&rng);
		return -1;
	}
	if (wc_MakeRsaKey(&key, bits, WC_RSA_EXPONENT, &rng) == 0 && (n = wc_RsaKeyToDer(&key, der, sizeof der)) > 0 &&
	    tls_cert_rsa_pkcs8(der, (word32)n, key_pem) == 0) {
		ret = 0;
		if (spki) {
			uint8_t pub[TLS_CERT_RSA_DER_MAX / 2];
			int m = wc_RsaKeyToPublicDer(&key, pub, sizeof pub);
			if (m > 0)
				buf_append(spki, pub, (size_t)m);
			else
				ret = -1;
		}
	}
	memset(der, 0, sizeof der);
	wc_FreeRsaKey(&key);
	wc_FreeRng(&rng);
	return ret;
}
