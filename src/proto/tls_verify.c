/* Client-side certificate verification: records what the server's chain
 * proved (trusted chain? name match?) and captures the chain's DER.
 *
 * DESIGN: the callback always runs (Debian's wolfSSL has
 * WOLFSSL_ALWAYS_VERIFY_CB and VERIFY_CB_ALL_CERTS), once per certificate,
 * root-most first and the leaf last. Opportunistic mode accepts everything
 * but still records the verdicts; PKIX mode fails the handshake on an
 * untrusted chain or a name mismatch. The name check is ours, not wolfSSL's
 * domain check, so "untrusted" and "wrong name" stay apart for TLSRPT. The
 * chain is copied from store->certs (raw DER) rather than rebuilt from
 * WOLFSSL_X509 objects, which this wolfSSL build cannot make for Ed25519
 * certificates (notes/dependencies.md §2). */
#include "proto/tls_impl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

static void tls_verify_copy_chain(struct tls_conn *c, const WOLFSSL_X509_STORE_CTX *store)
{
	struct tls_chain *ch = &c->chain;
	size_t total = 0;

	for (int i = 0; i < store->totalCerts && ch->n < TLS_PEER_CHAIN_MAX; i++) {
		const WOLFSSL_BUFFER_INFO *b = &store->certs[i];
		if (!b->buffer || b->length == 0 || total + b->length > TLS_PEER_CHAIN_BYTES)
			break;
		ch->off[ch->n] = ch->der.len;
		buf_append(&ch->der, b->buffer, b->length);
		total += b->length;
		ch->n++;
		ch->off[ch->n] = ch->der.len;
	}
}

/* Whether the certificate being checked is the leaf (certs[0]). */
static bool tls_verify_is_leaf(const struct tls_conn *c, WOLFSSL_X509_STORE_CTX *store)
{
	WOLFSSL_X509 *x = wolfSSL_X509_STORE_CTX_get_current_cert(store);
	int len = 0;
	const unsigned char *der = x ? wolfSSL_X509_get_der(x, &len) : NULL;

	if (!der || c->chain.n == 0)
		return store->error_depth == 0;
	struct slice leaf = slice_of(c->chain.der.p, c->chain.off[1]);
	return (size_t)len == leaf.len && memcmp(der, leaf.p, leaf.len) == 0;
}

/* wolfSSL reports either its own ASN error codes or OpenSSL's X509_V_ERR
 * numbers here, and has no text for some of the latter. */
static const struct {
	int code;
	enum tls_verify_failure kind;
	const char *text;
} tls_verify_errors[] = {
    {ASN_AFTER_DATE_E, TLS_VF_EXPIRED, "certificate has expired"},
    {X509_V_ERR_CERT_HAS_EXPIRED, TLS_VF_EXPIRED, "certificate has expired"},
    {X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, TLS_VF_EXPIRED, "certificate has expired"},
    {ASN_BEFORE_DATE_E, TLS_VF_EXPIRED, "certificate is not yet valid"},
    {X509_V_ERR_CERT_NOT_YET_VALID, TLS_VF_EXPIRED, "certificate is not yet valid"},
    {X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, TLS_VF_EXPIRED, "certificate is not yet valid"},
    {ASN_NO_SIGNER_E, TLS_VF_UNTRUSTED, "no trusted issuer"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, TLS_VF_UNTRUSTED, "no trusted issuer"},
    {ASN_SELF_SIGNED_E, TLS_VF_UNTRUSTED, "self-signed certificate"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, TLS_VF_UNTRUSTED, "self-signed certificate"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, TLS_VF_UNTRUSTED, "self-signed certificate in chain"},
};

static void tls_verify_record_failure(struct tls_conn *c, int err)
{
	const char *why = NULL;

	c->vf = TLS_VF_OTHER;
	for (size_t i = 0; i < sizeof tls_verify_errors / sizeof tls_verify_errors[0]; i++) {
		if (tls_verify_errors[i].code == err) {
			c->vf = tls_verify_errors[i].kind;
			why = tls_verify_errors[i].text;
			break;
		}
	}
	if (!why)
		why = err > 0 ? wolfSSL_X509_verify_cert_error_string(err)
			      : wolfSSL_ERR_reason_error_string((unsigned long)err);
	c->chain_ok = false;
	snprintf(c->verify_err, sizeof c->verify_err, "certificate not trusted: %s (%d)", why ? why : "unknown", err);
}

/* Host names match DNS SANs (or the CN), IP literals match IP SANs. */
static bool tls_verify_name(WOLFSSL_X509 *x, const char *name)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1)
		return wolfSSL_X509_check_ip_asc(x, name, 0) == WOLFSSL_SUCCESS;
	return wolfSSL_X509_check_host(x, name, strlen(name), 0, NULL) == WOLFSSL_SUCCESS;
}

static int tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	struct tls_conn *c = store->userCtx;

	if (!c)
		return 0;
	c->verify_seen = true;
	if (c->chain.n == 0 && store->certs && store->totalCerts > 0)
		tls_verify_copy_chain(c, store);
	if (!preverify && c->chain_ok)
		tls_verify_record_failure(c, store->error);
	if (tls_verify_is_leaf(c, store)) {
		WOLFSSL_X509 *x = wolfSSL_X509_STORE_CTX_get_current_cert(store);
		c->name_ok = c->name && x && tls_verify_name(x, c->name);
		if (!c->name_ok && c->chain_ok)
			snprintf(c->verify_err, sizeof c->verify_err, "certificate does not match host name %s",
				 c->name ? c->name : "(none)");
	}
	wolfSSL_ERR_clear_error();
	if (c->mode == TLS_VERIFY_NONE)
		return 1;
	if (!c->chain_ok)
		return 0;
	return tls_verify_is_leaf(c, store) && !c->name_ok ? 0 : 1;
}

void tls_verify_setup(struct tls_conn *c)
{
	wolfSSL_set_verify(c->ssl, WOLFSSL_VERIFY_PEER, tls_verify_cb);
	wolfSSL_SetCertCbCtx(c->ssl, c);
}
