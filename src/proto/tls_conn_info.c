/* What a finished TLS handshake tells the layers above: version and cipher
 * for the Received header, SNI, verification results and the peer chain
 * for MTA-STS/DANE/TLSRPT, and channel binding data for SCRAM-*-PLUS.
 *
 * DESIGN: all answers come from wolfSSL's own state or from what the verify
 * callback recorded (tls_verify.c); nothing is cached that could go stale.
 * Channel binding follows smtp.md §7: tls-unique (RFC 5929) on TLS 1.2 and
 * tls-exporter (RFC 9266) on TLS 1.3, never the other way round, so the
 * engine refuses the type that does not fit the version. */
#include "proto/tls_impl.h"

#include <string.h>

#define TLS_EXPORTER_LABEL "EXPORTER-Channel-Binding"

const char *tls_conn_version(const struct tls_conn *c)
{
	if (!c->established)
		return NULL;
	switch (wolfSSL_GetVersion(c->ssl)) {
	case WOLFSSL_TLSV1_2:
		return "TLS1.2";
	case WOLFSSL_TLSV1_3:
		return "TLS1.3";
	default:
		return "TLS?"; /* cannot happen: the contexts' floor is TLS 1.2 */
	}
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	if (!c->established)
		return NULL;
	int s = wolfSSL_get_current_cipher_suite(c->ssl);
	const char *name = wolfSSL_get_cipher_name_iana_from_suite((unsigned char)(s >> 8), (unsigned char)s);
	return name ? name : "unknown";
}

const char *tls_conn_sni(const struct tls_conn *c)
{
	return c->name;
}

bool tls_conn_resumed(const struct tls_conn *c)
{
	return c->established && wolfSSL_session_reused(c->ssl) == 1;
}

bool tls_conn_peer_verified(const struct tls_conn *c)
{
	return c->verify_seen && c->chain_ok;
}

bool tls_conn_peer_name_ok(const struct tls_conn *c)
{
	return c->verify_seen && c->name_ok;
}

const char *tls_conn_verify_error(const struct tls_conn *c)
{
	return c->verify_err;
}

enum tls_verify_failure tls_conn_verify_failure(const struct tls_conn *c)
{
	return c->vf;
}

size_t tls_conn_peer_chain_len(const struct tls_conn *c)
{
	return c->chain.n;
}

struct slice tls_conn_peer_cert(const struct tls_conn *c, size_t i)
{
	if (i >= c->chain.n)
		return (struct slice){NULL, 0};
	return slice_of(c->chain.der.p + c->chain.off[i], c->chain.off[i + 1] - c->chain.off[i]);
}

enum tls_cb_type tls_conn_cb_type(const struct tls_conn *c)
{
	if (!c->established)
		return 0;
	return wolfSSL_GetVersion(c->ssl) == WOLFSSL_TLSV1_3 ? TLS_CB_EXPORTER : TLS_CB_UNIQUE;
}

const char *tls_cb_type_name(enum tls_cb_type t)
{
	switch (t) {
	case TLS_CB_UNIQUE:
		return "tls-unique";
	case TLS_CB_EXPORTER:
		return "tls-exporter";
	}
	return NULL;
}

/* RFC 5929 §3.1: the first Finished message of the latest handshake. The
 * client sends it first on a full handshake, the server on a resumption. */
static int tls_conn_cb_unique(struct tls_conn *c, struct buf *out)
{
	uint8_t fin[TLS_CB_LEN_MAX];
	bool own = c->server == tls_conn_resumed(c);
	size_t n = own ? wolfSSL_get_finished(c->ssl, fin, sizeof fin) : wolfSSL_get_peer_finished(c->ssl, fin, sizeof fin);
	if (n == 0 || n > sizeof fin)
		return TLS_ERR_STATE;
	buf_append(out, fin, n);
	return TLS_OK;
}

static int tls_conn_cb_exporter(struct tls_conn *c, struct buf *out)
{
	uint8_t key[TLS_EXPORTER_CB_LEN];
	if (wolfSSL_export_keying_material(c->ssl, key, sizeof key, TLS_EXPORTER_LABEL, strlen(TLS_EXPORTER_LABEL),
					   NULL, 0, 0) != WOLFSSL_SUCCESS) {
		wolfSSL_ERR_clear_error();
		return TLS_ERR_STATE;
	}
	buf_append(out, key, sizeof key);
	return TLS_OK;
}

int tls_conn_channel_binding(struct tls_conn *c, enum tls_cb_type t, struct buf *out)
{
	if (c->failed || t == 0 || t != tls_conn_cb_type(c))
		return TLS_ERR_STATE;
	return t == TLS_CB_UNIQUE ? tls_conn_cb_unique(c, out) : tls_conn_cb_exporter(c, out);
}
