/* Actor-side TCP connection with optional TLS (see netconn.h).
 *
 * DESIGN: at most one receive and one send in flight. Receives go into a
 * fixed buffer; in plaintext they are appended to `in`, with TLS they are fed
 * to the engine, which either advances the handshake or yields plaintext.
 * Sends take everything pending at once (`pend` is swapped into `inflight`)
 * and continue on short writes. Closing cancels the receive, lets the send
 * finish or fail, closes the fd with io_uring and reports closed_cb when no
 * operation remains — only then may the owner free the memory. Every netconn
 * from init to free is one of tern_connections_count (reporting.md §8). */
#include "actors/netconn.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

static void start_send(struct netconn *c);
static void maybe_closed(struct netconn *c);

static struct metric *m_open;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
	m_open = metric_gauge("tern_connections_count", "",
	                      "Open network connections of every protocol (SMTP in and out, metrics HTTP).");
}

void netconn_init(struct netconn *c, int fd, const struct netconn_ops *ops, void *owner)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->ops = ops;
	c->owner = owner;
	buf_init(&c->in);
	buf_init(&c->pend);
	buf_init(&c->inflight);
	buf_init(&c->hold);
	c->rbuf = xmalloc(NETCONN_RBUF);
	pthread_once(&metrics_once, metrics_init);
	metric_add(m_open, 1);
}

void netconn_free(struct netconn *c)
{
	if (c->rbuf) /* set from init until the first free */
		metric_add(m_open, -1);
	tls_conn_free(&c->tls);
	buf_free(&c->in);
	buf_free(&c->pend);
	buf_free(&c->inflight);
	buf_free(&c->hold);
	free(c->rbuf);
	c->rbuf = NULL;
}

size_t netconn_pending(const struct netconn *c)
{
	return c->pend.len + (c->inflight.len - c->inflight_off);
}

static void fail(struct netconn *c, int err)
{
	if (c->eof)
		return;
	c->eof = true;
	if (c->ops->eof_cb)
		c->ops->eof_cb(c, err);
}

static void tls_flush(struct netconn *c)
{
	if (c->tls && tls_conn_out_pending(c->tls)) {
		tls_conn_out_take(c->tls, &c->pend);
		start_send(c);
	}
}

/* Runs the TLS engine over buffered ciphertext. Returns false when the connection failed.
 * Each delivery of plaintext to data_cb counts in c->ndata. */
static bool tls_pump(struct netconn *c)
{
	if (c->handshaking) {
		int r = tls_conn_handshake(c->tls);
		tls_flush(c);
		if (r == TLS_WANT_IO)
			return true;
		c->handshaking = false;
		if (r == TLS_OK && c->hold.len) { /* written during the handshake: first in line */
			if (tls_conn_write(c->tls, buf_slice(&c->hold)) != TLS_OK)
				r = TLS_ERR;
			tls_flush(c);
		}
		buf_reset(&c->hold);
		if (c->ops->tls_cb)
			c->ops->tls_cb(c, r == TLS_OK ? 0 : -EPROTO);
		if (r != TLS_OK || c->closing)
			return false;
	}
	size_t before = c->in.len;
	int r;
	while ((r = tls_conn_read(c->tls, &c->in, NETCONN_RBUF)) == TLS_OK)
		;
	tls_flush(c);
	if (c->in.len > before && c->ops->data_cb && !c->closing) {
		c->ndata++;
		c->ops->data_cb(c);
	}
	if (r == TLS_CLOSED) {
		fail(c, 0);
		return false;
	}
	if (r < 0) {
		fail(c, -EPROTO);
		return false;
	}
	return true;
}

static void recv_cb(struct io_op *op, int res, uint32_t flags)
{
	struct netconn *c = op->ctx;
	c->reading = false;
	if (c->closing) {
		maybe_closed(c);
		return;
	}
	if (res <= 0) {
		if (c->tls && res == 0)
			tls_conn_feed_eof(c->tls);
		if (c->tls && c->handshaking) {
			c->handshaking = false;
			if (c->ops->tls_cb)
				c->ops->tls_cb(c, -EPROTO);
		}
		fail(c, res == 0 ? 0 : res);
		return;
	}
	c->bytes_in += (uint64_t)res;
	if (!c->tls) {
		buf_append(&c->in, c->rbuf, (size_t)res);
		c->ndata++;
		if (c->ops->data_cb)
			c->ops->data_cb(c);
		return;
	}
	if (tls_conn_feed(c->tls, slice_of(c->rbuf, (size_t)res)) != TLS_OK) {
		fail(c, -EPROTO);
		return;
	}
	/* The handshake needs more bytes whatever the owner asked; and records that
	 * carried no plaintext (session tickets, key updates, a partial record) did
	 * not answer the owner's read, so it stays asked for. */
	uint64_t seen = c->ndata;
	if (tls_pump(c) && !c->closing && (c->handshaking || c->ndata == seen))
		netconn_read(c);
}

void netconn_read(struct netconn *c)
{
	if (c->reading || c->closing || c->eof)
		return;
	c->reading = true;
	io_op_init(&c->rop, recv_cb, c);
	io_recv(&c->rop, c->fd, c->rbuf, NETCONN_RBUF);
}

static void send_cb(struct io_op *op, int res, uint32_t flags)
{
	struct netconn *c = op->ctx;
	if (res < 0) {
		buf_reset(&c->inflight);
		buf_reset(&c->pend);
		c->inflight_off = 0;
		if (c->closing) {
			maybe_closed(c);
			return;
		}
		fail(c, res);
		return;
	}
	c->bytes_out += (uint64_t)res;
	c->inflight_off += (size_t)res;
	if (c->inflight_off < c->inflight.len) {
		io_send(&c->wop, c->fd, c->inflight.p + c->inflight_off, c->inflight.len - c->inflight_off);
		return;
	}
	buf_reset(&c->inflight);
	c->inflight_off = 0;
	if (c->pend.len) {
		start_send(c);
		return;
	}
	if (c->closing) {
		maybe_closed(c);
		return;
	}
	if (c->ops->drained_cb)
		c->ops->drained_cb(c);
}

static void start_send(struct netconn *c)
{
	if (c->wop.busy || c->pend.len == 0 || c->closed)
		return;
	struct buf t = c->inflight;
	c->inflight = c->pend;
	c->pend = t;
	buf_reset(&c->pend);
	c->inflight_off = 0;
	io_op_init(&c->wop, send_cb, c);
	io_send(&c->wop, c->fd, c->inflight.p, c->inflight.len);
}

void netconn_write(struct netconn *c, const void *p, size_t n)
{
	if (c->closing || c->eof || n == 0)
		return;
	if (c->tls && c->handshaking) {
		buf_append(&c->hold, p, n); /* encrypted when the handshake completes */
		return;
	}
	if (c->tls) {
		if (tls_conn_write(c->tls, slice_of(p, n)) != TLS_OK) {
			fail(c, -EPROTO);
			return;
		}
		tls_flush(c);
		return;
	}
	buf_append(&c->pend, p, n);
	start_send(c);
}

void netconn_tls_start(struct netconn *c, struct tls_conn *t)
{
	tls_conn_free(&c->tls);
	c->tls = t;
	c->handshaking = true;
	buf_reset(&c->in); /* plaintext pipelined before TLS is never used */
	buf_reset(&c->hold);
	tls_pump(c);
	if (c->handshaking && !c->closing)
		netconn_read(c);
}

static void close_cb(struct io_op *op, int res, uint32_t flags)
{
	struct netconn *c = op->ctx;
	c->closed = true;
	maybe_closed(c);
}

static void maybe_closed(struct netconn *c)
{
	if (c->rop.busy || c->wop.busy || c->cop.busy)
		return;
	if (!c->closed) {
		if (c->fd < 0) {
			c->closed = true;
		} else {
			io_op_init(&c->cop, close_cb, c);
			io_close(&c->cop, c->fd);
			c->fd = -1;
			return;
		}
	}
	if (c->ops->closed_cb) {
		static const struct netconn_ops none;
		const struct netconn_ops *ops = c->ops;
		c->ops = &none; /* exactly once */
		ops->closed_cb(c);
	}
}

void netconn_close(struct netconn *c)
{
	if (c->closing && !c->close_after_flush)
		return; /* after netconn_close_after_flush() it still aborts the flush */
	c->closing = true;
	c->close_after_flush = false;
	if (c->rop.busy)
		io_cancel(&c->rop);
	if (c->wop.busy)
		io_cancel(&c->wop);
	maybe_closed(c);
}

void netconn_close_after_flush(struct netconn *c)
{
	if (c->closing)
		return;
	if (c->tls && !c->handshaking && !c->eof) {
		tls_conn_close_notify(c->tls);
		tls_flush(c);
	}
	c->closing = true;
	c->close_after_flush = true;
	if (c->rop.busy)
		io_cancel(&c->rop);
	/* The send in flight (if any) completes and send_cb reaches maybe_closed. */
	maybe_closed(c);
}
