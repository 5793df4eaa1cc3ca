/* TLS connection engine: wolfSSL driven purely from memory.
 *
 * DESIGN: the actor owns the socket. wolfSSL gets per-connection I/O
 * callbacks: recv copies from `in` (the ciphertext fed so far) and says
 * WANT_READ when it is empty; send appends to `out`, which the actor takes
 * whole (tls_conn_out_take) and sends asynchronously. So wolfSSL never
 * blocks and never sees an fd, and a WANT_WRITE cannot happen.
 * A server connection does not create its WOLFSSL object until the first
 * record (the ClientHello) is complete: its SNI picks the certificate's
 * context first (tls_ctx.c explains why). Any wolfSSL error is final: it is
 * recorded in `failed`/`err` and returned by every later call, so an actor
 * cannot drive a broken session by mistake. */
#include "proto/tls_impl.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

#define TLS_RECORD_MAX (5 + 16384 + 2048) /* header + largest legal ciphertext */
#define TLS_READ_CHUNK 16384              /* plaintext asked of wolfSSL per read call */
#define TLS_WRITE_CHUNK (1 << 20)         /* plaintext given to wolfSSL per write call */

void tls_conn_set_err(struct tls_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

static size_t tls_conn_in_avail(const struct tls_conn *c)
{
	return c->in.len - c->in_off;
}

static int tls_conn_recv_cb(WOLFSSL *ssl, char *dst, int sz, void *arg)
{
	struct tls_conn *c = arg;
	size_t n = tls_conn_in_avail(c);

	if (n == 0)
		return c->eof ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
	if (sz <= 0)
		return 0;
	if (n > (size_t)sz)
		n = (size_t)sz;
	memcpy(dst, c->in.p + c->in_off, n);
	c->in_off += n;
	if (c->in_off == c->in.len)
		c->in.len = c->in_off = 0;
	return (int)n;
}

static int tls_conn_send_cb(WOLFSSL *ssl, char *src, int sz, void *arg)
{
	struct tls_conn *c = arg;
	if (sz > 0)
		buf_append(&c->out, src, (size_t)sz);
	return sz;
}

/* Makes the connection dead with status rc and returns rc. */
static int tls_conn_fail(struct tls_conn *c, int rc)
{
	c->failed = rc;
	return rc;
}

/* Turns a wolfSSL failure of `what` into a status: TLS_WANT_IO, TLS_CLOSED or
 * a (final) error with the most useful reason we can name. */
static int tls_conn_wolf_err(struct tls_conn *c, int ret, const char *what)
{
	int e = wolfSSL_get_error(c->ssl, ret);
	bool drained = tls_conn_in_avail(c) == 0;
	WOLFSSL_ALERT_HISTORY h;

	if ((e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) && !(c->eof && drained))
		return TLS_WANT_IO;
	wolfSSL_ERR_clear_error();
	if (e == WOLFSSL_ERROR_ZERO_RETURN) {
		c->peer_closed = c->peer_notify = true;
		if (c->established)
			return TLS_CLOSED;
		tls_conn_set_err(c, "%s: peer closed the connection", what);
		return tls_conn_fail(c, TLS_ERR);
	}
	if (c->eof && drained) {
		c->peer_closed = true;
		if (c->established)
			return TLS_CLOSED;
		tls_conn_set_err(c, "%s: connection closed by peer", what);
		return tls_conn_fail(c, TLS_ERR);
	}
	if (c->mode == TLS_VERIFY_PKIX && c->verify_err[0] && !c->established)
		tls_conn_set_err(c, "%s: %s", what, c->verify_err);
	else if (wolfSSL_get_alert_history(c->ssl, &h) == WOLFSSL_SUCCESS && h.last_rx.level == 2)
		tls_conn_set_err(c, "%s: peer sent alert: %s", what, wolfSSL_alert_desc_string_long(h.last_rx.code));
	else
		tls_conn_set_err(c, "%s: %s (%d)", what, wolfSSL_ERR_reason_error_string((unsigned long)e), e);
	return tls_conn_fail(c, TLS_ERR);
}

static struct tls_conn *tls_conn_alloc(struct tls_ctx *ctx, bool server)
{
	struct tls_conn *c = xcalloc(1, sizeof *c);
	tls_ctx_ref(ctx);
	c->ctx = ctx;
	c->server = server;
	c->chain_ok = true;
	return c;
}

static int tls_conn_new_ssl(struct tls_conn *c, WOLFSSL_CTX *w)
{
	c->ssl = wolfSSL_new(w);
	if (!c->ssl) {
		tls_conn_set_err(c, "cannot create TLS session");
		return tls_conn_fail(c, TLS_ERR);
	}
	wolfSSL_SSLSetIORecv(c->ssl, tls_conn_recv_cb);
	wolfSSL_SSLSetIOSend(c->ssl, tls_conn_send_cb);
	wolfSSL_SetIOReadCtx(c->ssl, c);
	wolfSSL_SetIOWriteCtx(c->ssl, c);
	return TLS_OK;
}

struct tls_conn *tls_conn_server_new(struct tls_ctx *ctx)
{
	ASSERT(ctx && ctx->server);
	return tls_conn_alloc(ctx, true);
}

static bool tls_conn_is_ip(const char *name)
{
	unsigned char a[16];
	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

struct tls_conn *tls_conn_client_new(struct tls_ctx *ctx, const char *name, enum tls_verify mode)
{
	ASSERT(ctx && !ctx->server);
	struct tls_conn *c = tls_conn_alloc(ctx, false);
	c->mode = mode;
	if (name && *name) {
		size_t n = strlen(name);
		if (n > 1 && name[n - 1] == '.')
			n--; /* a trailing root dot is not part of SNI or certificate names */
		c->name = xstrndup(name, n);
	}
	if (tls_conn_new_ssl(c, ctx->client) != TLS_OK)
		return c;
	if (c->name && strlen(c->name) <= TLS_NAME_MAX && !tls_conn_is_ip(c->name))
		wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, c->name, (unsigned short)strlen(c->name));
	wolfSSL_UseKeyShare(c->ssl, WOLFSSL_ECC_X25519);
	tls_verify_setup(c);
	return c;
}

void tls_conn_free(struct tls_conn **cp)
{
	struct tls_conn *c = *cp;
	if (!c)
		return;
	*cp = NULL;
	if (c->ssl)
		wolfSSL_free(c->ssl);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->chain.der);
	free(c->name);
	tls_ctx_free(&c->ctx);
	free(c);
}

int tls_conn_feed(struct tls_conn *c, struct slice cipher)
{
	if (c->failed)
		return c->failed;
	if (c->in_off > 0 && c->in_off >= c->in.len / 2) {
		buf_consume(&c->in, c->in_off);
		c->in_off = 0;
	}
	if (tls_conn_in_avail(c) + cipher.len > TLS_CONN_INBUF_MAX) {
		tls_conn_set_err(c, "more than %d bytes of unprocessed input", TLS_CONN_INBUF_MAX);
		return tls_conn_fail(c, TLS_ERR_LIMIT);
	}
	buf_append(&c->in, cipher.p, cipher.len);
	return TLS_OK;
}

void tls_conn_feed_eof(struct tls_conn *c)
{
	c->eof = true;
}

/* An SNI we record and match: a host name of letters, digits, '-', '_'
 * and '.', lowercased, without a trailing dot. Anything else counts as no SNI. */
static char *tls_conn_sni_clean(const unsigned char *s, unsigned int n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > TLS_NAME_MAX)
		return NULL;
	char *r = xmalloc(n + 1);
	for (unsigned int i = 0; i < n; i++) {
		unsigned char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch + 32);
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_')) {
			free(r);
			return NULL;
		}
		r[i] = (char)ch;
	}
	r[n] = 0;
	return r;
}

/* Server: waits for the complete first record, reads its SNI and creates
 * the WOLFSSL object from the matching certificate's context. Input that is
 * not a handshake record goes straight to wolfSSL, which rejects it. */
static int tls_conn_server_start(struct tls_conn *c)
{
	const uint8_t *p = c->in.p ? c->in.p + c->in_off : NULL; /* NULL + 0 is undefined */
	size_t n = tls_conn_in_avail(c);

	if (n < 5 || (p[0] == 0x16 && p[1] == 3 && n < 5 + (size_t)(p[3] << 8 | p[4]) &&
		      5 + (size_t)(p[3] << 8 | p[4]) <= TLS_RECORD_MAX)) {
		if (!c->eof)
			return TLS_WANT_IO;
		tls_conn_set_err(c, "handshake: connection closed by peer");
		return tls_conn_fail(c, TLS_ERR);
	}
	if (p[0] == 0x16 && p[1] == 3) {
		unsigned char sni[TLS_NAME_MAX + 2];
		unsigned int len = sizeof sni;
		size_t rec = 5 + (size_t)(p[3] << 8 | p[4]);
		if (rec <= n && wolfSSL_SNI_GetFromBuffer(p, (unsigned int)rec, WOLFSSL_SNI_HOST_NAME, sni, &len) ==
				    WOLFSSL_SUCCESS)
			c->name = tls_conn_sni_clean(sni, len);
		wolfSSL_ERR_clear_error();
	}
	return tls_conn_new_ssl(c, tls_ctx_pick(c->ctx, c->name));
}

int tls_conn_handshake(struct tls_conn *c)
{
	if (c->failed)
		return c->failed;
	if (c->established)
		return TLS_OK;
	if (!c->ssl) {
		int rc = tls_conn_server_start(c);
		if (rc != TLS_OK)
			return rc;
	}
	int r = c->server ? wolfSSL_accept(c->ssl) : wolfSSL_connect(c->ssl);
	if (r != WOLFSSL_SUCCESS)
		return tls_conn_wolf_err(c, r, "handshake");
	c->established = true;
	return TLS_OK;
}

int tls_conn_read(struct tls_conn *c, struct buf *out, size_t max)
{
	size_t got = 0;
	int rc = TLS_WANT_IO;

	if (c->failed)
		return c->failed;
	if (!c->established || max == 0)
		return TLS_ERR_STATE;
	if (c->peer_closed)
		return TLS_CLOSED;
	while (got < max) {
		size_t want = max - got < TLS_READ_CHUNK ? max - got : TLS_READ_CHUNK;
		buf_reserve(out, want);
		int r = wolfSSL_read(c->ssl, out->p + out->len, (int)want);
		if (r > 0) {
			out->len += (size_t)r;
			got += (size_t)r;
			continue;
		}
		rc = tls_conn_wolf_err(c, r, "read");
		break;
	}
	if (got > 0)
		return TLS_OK; /* a close or error is reported by the next call */
	return rc;
}

int tls_conn_write(struct tls_conn *c, struct slice plain)
{
	if (c->failed)
		return c->failed;
	if (!c->established || c->notify_sent)
		return TLS_ERR_STATE;
	while (plain.len > 0) {
		int n = plain.len < TLS_WRITE_CHUNK ? (int)plain.len : TLS_WRITE_CHUNK;
		int r = wolfSSL_write(c->ssl, plain.p, n);
		if (r <= 0) {
			/* out always accepts, so anything but a final error is a surprise */
			int rc = tls_conn_wolf_err(c, r, "write");
			if (rc >= 0) {
				tls_conn_set_err(c, "write: unexpected status %d", rc);
				rc = tls_conn_fail(c, TLS_ERR);
			}
			return rc;
		}
		plain.p += r;
		plain.len -= (size_t)r;
	}
	return TLS_OK;
}

int tls_conn_close_notify(struct tls_conn *c)
{
	if (c->failed)
		return c->failed;
	if (!c->established)
		return TLS_ERR_STATE;
	if (c->notify_sent)
		return TLS_OK;
	c->notify_sent = true;
	int r = wolfSSL_shutdown(c->ssl);
	if (r == WOLFSSL_SUCCESS || r == WOLFSSL_SHUTDOWN_NOT_DONE)
		return TLS_OK;
	int rc = tls_conn_wolf_err(c, r, "close");
	return rc == TLS_WANT_IO || rc == TLS_CLOSED ? TLS_OK : rc;
}

bool tls_conn_out_pending(const struct tls_conn *c)
{
	return c->out.len > 0;
}

void tls_conn_out_take(struct tls_conn *c, struct buf *dst)
{
	if (c->out.len == 0)
		return;
	if (dst->len == 0) {
		struct buf t = *dst;
		*dst = c->out;
		c->out = t;
	} else {
		buf_append(dst, c->out.p, c->out.len);
		c->out.len = 0;
	}
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err;
}

bool tls_conn_established(const struct tls_conn *c)
{
	return c->established;
}

bool tls_conn_peer_closed(const struct tls_conn *c)
{
	return c->peer_closed;
}

bool tls_conn_peer_close_notify(const struct tls_conn *c)
{
	return c->peer_notify;
}
