/* TLS contexts: server (one wolfSSL context per certificate, chosen by SNI)
 * and client (trusted roots, cipher and group policy).
 *
 * DESIGN: Debian's wolfSSL is an --enable-all build with RC4, NULL, anon and
 * TLS 1.0 compiled in, so every context gets an explicit cipher list and a
 * TLS 1.2 floor. X25519 is the first group: P-256 math is about 4x slower in
 * this build (notes/dependencies.md §2). For SNI, each certificate gets its
 * own WOLFSSL_CTX and the connection engine creates its WOLFSSL object only
 * after it has read the ClientHello's SNI; switching contexts later
 * (wolfSSL_set_SSL_CTX) would leave suites computed for the wrong key type.
 * A context is immutable once built and reference-counted, so connections
 * keep it alive across a reload. */
#include "proto/tls_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/ecc.h>

#include "core/xmalloc.h"

/* TLS 1.3 AEAD suites, then TLS 1.2 ECDHE + AEAD only. */
#define TLS_CTX_CIPHERS_SERVER \
	"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* Outbound TLS is mostly opportunistic: a CBC suite with ECDHE still beats
 * the plaintext fallback an old MX would otherwise get. AEAD stays first. */
#define TLS_CTX_CIPHERS_CLIENT \
	TLS_CTX_CIPHERS_SERVER ":" \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:" \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:" \
	"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"

static pthread_once_t tls_ctx_once = PTHREAD_ONCE_INIT;

static void tls_ctx_init_once(void)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		panic("wolfSSL_Init failed");
}

void tls_ctx_lib_init(void)
{
	pthread_once(&tls_ctx_once, tls_ctx_init_once);
}

void tls_thread_exit(void)
{
	wc_ecc_fp_free();
}

static void tls_ctx_err(char err[TLS_ERR_MAX], const char *what, const char *file)
{
	if (!err)
		return;
	unsigned long e = wolfSSL_ERR_peek_last_error();
	if (e)
		snprintf(err, TLS_ERR_MAX, "%s %s: %s", what, file ? file : "", wolfSSL_ERR_reason_error_string(e));
	else
		snprintf(err, TLS_ERR_MAX, "%s %s", what, file ? file : "");
	wolfSSL_ERR_clear_error();
}

/* Version floor, cipher list and groups shared by both sides. */
static int tls_ctx_policy(WOLFSSL_CTX *w, enum tls_version min, const char *ciphers, char err[TLS_ERR_MAX])
{
	int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};

	if (wolfSSL_CTX_SetMinVersion(w, min == TLS_V13 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot set minimum TLS version", NULL);
		return -1;
	}
	if (wolfSSL_CTX_set_cipher_list(w, ciphers) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot set cipher list", NULL);
		return -1;
	}
	if (wolfSSL_CTX_set_groups(w, groups, (int)(sizeof groups / sizeof groups[0])) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot set key exchange groups", NULL);
		return -1;
	}
	return 0;
}

static int tls_ctx_server_cert(struct tls_ctx_cert *cc, const struct tls_keycert *kc, enum tls_version min,
			       char err[TLS_ERR_MAX])
{
	cc->wctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
	if (!cc->wctx) {
		tls_ctx_err(err, "cannot create server context", NULL);
		return -1;
	}
	if (tls_ctx_policy(cc->wctx, min, TLS_CTX_CIPHERS_SERVER, err) < 0)
		return -1;
	if (!kc->cert_file || !kc->key_file) {
		tls_ctx_err(err, "missing certificate or key file", NULL);
		return -1;
	}
	if (wolfSSL_CTX_use_certificate_chain_file(cc->wctx, kc->cert_file) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot load certificate", kc->cert_file);
		return -1;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(cc->wctx, kc->key_file, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot load private key", kc->key_file);
		return -1;
	}
	if (wolfSSL_CTX_check_private_key(cc->wctx) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "private key does not match certificate", kc->cert_file);
		return -1;
	}
	wolfSSL_CTX_set_verify(cc->wctx, WOLFSSL_VERIFY_NONE, NULL);
	/* Parsing can fail for key types this build only half supports; the
	 * certificate then still serves as the default. */
	cc->x509 = wolfSSL_X509_load_certificate_file(kc->cert_file, WOLFSSL_FILETYPE_PEM);
	wolfSSL_ERR_clear_error();
	return 0;
}

static struct tls_ctx *tls_ctx_alloc(bool server)
{
	struct tls_ctx *ctx = xcalloc(1, sizeof *ctx);
	atomic_init(&ctx->refs, 1);
	ctx->server = server;
	return ctx;
}

static void tls_ctx_destroy(struct tls_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++) {
		if (ctx->certs[i].wctx)
			wolfSSL_CTX_free(ctx->certs[i].wctx);
		if (ctx->certs[i].x509)
			wolfSSL_X509_free(ctx->certs[i].x509);
	}
	free(ctx->certs);
	if (ctx->client)
		wolfSSL_CTX_free(ctx->client);
	free(ctx);
}

struct tls_ctx *tls_ctx_server_new(const struct tls_keycert *kc, size_t n, enum tls_version min,
				   char err[TLS_ERR_MAX])
{
	tls_ctx_lib_init();
	if (n == 0 || n > TLS_KEYCERTS_MAX) {
		tls_ctx_err(err, "need 1 to 32 certificates", NULL);
		return NULL;
	}
	if (min != TLS_V12 && min != TLS_V13) {
		tls_ctx_err(err, "minimum version must be TLSv1.2 or TLSv1.3", NULL);
		return NULL;
	}
	struct tls_ctx *ctx = tls_ctx_alloc(true);
	ctx->certs = xcalloc(n, sizeof *ctx->certs);
	ctx->n = n;
	for (size_t i = 0; i < n; i++) {
		if (tls_ctx_server_cert(&ctx->certs[i], &kc[i], min, err) < 0) {
			tls_ctx_destroy(ctx);
			return NULL;
		}
	}
	return ctx;
}

static int tls_ctx_client_roots(WOLFSSL_CTX *w, const struct tls_client_opts *o, char err[TLS_ERR_MAX])
{
	if (o->n_ca_files > TLS_CA_FILES_MAX) {
		tls_ctx_err(err, "too many CA files", NULL);
		return -1;
	}
	bool system = !o->no_system_roots && (o->n_ca_files == 0 || o->ca_additional_to_system);
	if (system && wolfSSL_CTX_load_system_CA_certs(w) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot load system CA certificates", NULL);
		return -1;
	}
	for (size_t i = 0; i < o->n_ca_files; i++) {
		if (wolfSSL_CTX_load_verify_locations(w, o->ca_files[i], NULL) != WOLFSSL_SUCCESS) {
			tls_ctx_err(err, "cannot load CA file", o->ca_files[i]);
			return -1;
		}
	}
	return 0;
}

static int tls_ctx_client_max(WOLFSSL_CTX *w, enum tls_version max, char err[TLS_ERR_MAX])
{
	if (max == TLS_V12 && wolfSSL_CTX_set_max_proto_version(w, TLS1_2_VERSION) != WOLFSSL_SUCCESS) {
		tls_ctx_err(err, "cannot set maximum TLS version", NULL);
		return -1;
	}
	return 0;
}

struct tls_ctx *tls_ctx_client_new(const struct tls_client_opts *o, char err[TLS_ERR_MAX])
{
	static const struct tls_client_opts none;

	tls_ctx_lib_init();
	if (!o)
		o = &none;
	struct tls_ctx *ctx = tls_ctx_alloc(false);
	ctx->client = wolfSSL_CTX_new(wolfSSLv23_client_method());
	if (!ctx->client) {
		tls_ctx_err(err, "cannot create client context", NULL);
		tls_ctx_destroy(ctx);
		return NULL;
	}
	if (tls_ctx_policy(ctx->client, o->min == TLS_V13 ? TLS_V13 : TLS_V12, TLS_CTX_CIPHERS_CLIENT, err) < 0 ||
	    tls_ctx_client_max(ctx->client, o->max, err) < 0 || tls_ctx_client_roots(ctx->client, o, err) < 0) {
		tls_ctx_destroy(ctx);
		return NULL;
	}
	return ctx;
}

void tls_ctx_ref(struct tls_ctx *ctx)
{
	atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;
	if (!ctx)
		return;
	*ctxp = NULL;
	if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1)
		tls_ctx_destroy(ctx);
}

WOLFSSL_CTX *tls_ctx_pick(const struct tls_ctx *ctx, const char *sni)
{
	if (sni) {
		for (size_t i = 0; i < ctx->n; i++) {
			WOLFSSL_X509 *x = ctx->certs[i].x509;
			if (x && wolfSSL_X509_check_host(x, sni, strlen(sni), 0, NULL) == WOLFSSL_SUCCESS)
				return ctx->certs[i].wctx;
		}
		wolfSSL_ERR_clear_error();
	}
	return ctx->certs[0].wctx;
}
