/* A minimal HTTP/1.1 server for Prometheus scrapes (see metrics_http.h).
 *
 * DESIGN: one accept actor per bound socket and one short-lived actor per
 * connection, both on one pool worker: read the request head (bounded to
 * 8 KiB, 10 s), answer `GET /metrics` with the text exposition format and
 * anything else with 404/405 (431 for a head over the limit, 408 when it does
 * not come in time), then close. No keep-alive: a scrape every few
 * seconds does not need it, and it keeps the state machine to three steps. */
#include "actors/metrics_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/netconn.h"
#include "conf/conf.h"
#include "core/actor.h"
#include "core/io.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/netaddr.h"
#include "core/timer.h"
#include "core/xmalloc.h"
#include "proto/http_head.h"

#define REQUEST_MS 10000
#define MAX_SOCKS 64

struct mhttp_listener {
	struct actor a;
	int fd;
	struct io_op op;
};

struct mhttp_conn {
	struct actor a;
	struct netconn nc;
	struct timer t;
	struct buf head;
	bool answered;
};

static int socks[MAX_SOCKS];
static int nsocks;

/* Writes the one response of this connection and closes after it (body_text NULL: the metrics). */
static void answer(struct mhttp_conn *c, const char *status, const char *body_text, bool head_only)
{
	c->answered = true;
	timer_stop(&c->t);
	struct buf out, body;
	buf_init(&out);
	buf_init(&body);
	if (body_text)
		buf_puts(&body, body_text);
	else
		metric_render(&body);
	buf_printf(&out, "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, body.len);
	if (!head_only)
		buf_append(&out, body.p, body.len);
	netconn_write(&c->nc, out.p, out.len);
	netconn_close_after_flush(&c->nc);
	buf_free(&out);
	buf_free(&body);
}

static void data_cb(struct netconn *nc)
{
	struct mhttp_conn *c = nc->owner;
	if (c->answered)
		return;
	buf_append(&c->head, nc->in.p, nc->in.len);
	buf_reset(&nc->in);
	bool head_only;
	switch (http_head_route(buf_slice(&c->head), &head_only)) {
	case HTTP_HEAD_METRICS:
		answer(c, "200 OK", NULL, head_only);
		return;
	case HTTP_HEAD_NOT_FOUND:
		answer(c, "404 Not Found", "not found; see /metrics\n", head_only);
		return;
	case HTTP_HEAD_BAD_METHOD:
		answer(c, "405 Method Not Allowed", "method not allowed\n", false);
		return;
	case HTTP_HEAD_INCOMPLETE:
		break;
	}
	if (c->head.len > HTTP_HEAD_MAX) {
		answer(c, "431 Request Header Fields Too Large", "request head over 8 KiB\n", false);
		return;
	}
	netconn_read(nc);
}

static void eof_cb(struct netconn *nc, int err)
{
	struct mhttp_conn *c = nc->owner;
	timer_stop(&c->t);
	netconn_close(nc);
}

static void closed_cb(struct netconn *nc)
{
	struct mhttp_conn *c = nc->owner;
	timer_stop(&c->t);
	actor_stop(&c->a);
}

static const struct netconn_ops conn_ops = {.data_cb = data_cb, .eof_cb = eof_cb, .closed_cb = closed_cb};

static void timeout_cb(struct timer *t)
{
	struct mhttp_conn *c = t->ctx;
	answer(c, "408 Request Timeout", "no complete request head within 10 s\n", false);
}

static void conn_start(struct actor *a)
{
	struct mhttp_conn *c = (struct mhttp_conn *)a;
	timer_init(&c->t, timeout_cb, c);
	timer_start(&c->t, REQUEST_MS);
	netconn_read(&c->nc);
}

static void conn_free(struct actor *a)
{
	struct mhttp_conn *c = (struct mhttp_conn *)a;
	netconn_free(&c->nc);
	buf_free(&c->head);
	free(c);
}

static const struct actor_kind conn_kind = {.name = "metrics_http_conn", .start = conn_start, .free_fn = conn_free};

static void accept_cb(struct io_op *op, int res, uint32_t flags)
{
	struct mhttp_listener *l = op->ctx;
	if (res >= 0) {
		struct mhttp_conn *c = xcalloc(1, sizeof *c);
		buf_init(&c->head);
		netconn_init(&c->nc, res, &conn_ops, c);
		actor_spawn(&c->a, &conn_kind, worker_self());
	}
	if (!(flags & IORING_CQE_F_MORE))
		io_accept_multishot(&l->op, l->fd);
}

static void listener_start(struct actor *a)
{
	struct mhttp_listener *l = (struct mhttp_listener *)a;
	io_op_init(&l->op, accept_cb, l);
	io_accept_multishot(&l->op, l->fd);
}

static const struct actor_kind listener_kind = {.name = "metrics_http", .start = listener_start};

int metrics_http_bind(const struct conf_static *st, struct buf *err)
{
	for (size_t i = 0; i < st->nlisteners; i++) {
		const struct conf_listener *l = &st->listeners[i];
		if (!l->metrics_http.enabled)
			continue;
		for (size_t k = 0; k < l->naddrs && nsocks < MAX_SOCKS; k++) {
			struct sockaddr_storage ss;
			socklen_t len = netaddr_to_sockaddr(&l->addrs[k], (uint16_t)l->metrics_http.port, &ss);
			int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
			if (fd >= 0) {
				setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
				if (ss.ss_family == AF_INET6)
					setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
			}
			if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
				char a[NETADDR_PORTSTRLEN];
				buf_printf(err, "metrics listener on %s: %s",
				           netaddr_format_port(&l->addrs[k], (uint16_t)l->metrics_http.port, a), strerror(errno));
				if (fd >= 0)
					close(fd);
				return -1;
			}
			socks[nsocks++] = fd;
		}
	}
	return 0;
}

void metrics_http_start(void)
{
	for (int i = 0; i < nsocks; i++) {
		struct mhttp_listener *l = xcalloc(1, sizeof *l);
		l->fd = socks[i];
		actor_spawn(&l->a, &listener_kind, NULL);
	}
}
