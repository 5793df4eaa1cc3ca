/* Internal to src/proto/tls_*.c: the structures behind tls.h, with wolfSSL
 * types. Never include this (or any wolfSSL header) from a file that also
 * includes OpenSSL headers (notes/dependencies.md §7). */
#ifndef TERN_PROTO_TLS_IMPL_H
#define TERN_PROTO_TLS_IMPL_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdatomic.h>

#include "proto/tls.h"

/* One server certificate: its own WOLFSSL_CTX (so the cipher suites and
 * signature algorithms fit its key type from the start) and a parsed copy
 * for SNI matching (NULL when wolfSSL cannot parse it, e.g. Ed25519 in the
 * Debian build: such a certificate is only ever used as the default). */
struct tls_ctx_cert {
	WOLFSSL_CTX *wctx;
	WOLFSSL_X509 *x509;
};

struct tls_ctx {
	_Atomic int refs;
	bool server;
	struct tls_ctx_cert *certs; /* server: n >= 1, certs[0] is the default */
	size_t n;
	WOLFSSL_CTX *client;        /* client */
};

/* Peer chain as captured in the verify callback: DER back to back. */
struct tls_chain {
	struct buf der;
	size_t off[TLS_PEER_CHAIN_MAX + 1];
	size_t n;
};

struct tls_conn {
	struct tls_ctx *ctx;
	WOLFSSL *ssl;        /* server: NULL until the ClientHello's SNI picked a certificate */
	bool server;
	enum tls_verify mode;
	char *name;          /* server: SNI received; client: verification name */

	struct buf in;       /* fed ciphertext; in.p[in_off..in.len) not consumed yet */
	size_t in_off;
	struct buf out;      /* ciphertext for the actor to send */

	bool eof;            /* transport reached end of input */
	bool established;
	bool notify_sent;
	bool peer_closed;
	bool peer_notify;
	int failed;          /* 0, or the negative status every call now returns */
	char err[TLS_ERR_MAX];

	/* client verification results (tls_verify.c) */
	bool verify_seen;    /* the callback ran at least once */
	bool chain_ok;
	bool name_ok;
	enum tls_verify_failure vf;
	char verify_err[TLS_ERR_MAX];
	struct tls_chain chain;
};

/** Once per process: wolfSSL_Init. */
void tls_ctx_lib_init(void);
/** Server: the WOLFSSL_CTX for an SNI (NULL or no match: the default). */
WOLFSSL_CTX *tls_ctx_pick(const struct tls_ctx *ctx, const char *sni);
/** Takes a reference. */
void tls_ctx_ref(struct tls_ctx *ctx);

/** Installs the client verify callback on a new WOLFSSL for c. */
void tls_verify_setup(struct tls_conn *c);

/** Sets c->err from a format (truncated to TLS_ERR_MAX). */
void tls_conn_set_err(struct tls_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
