/* SMTP listening sockets and accept loops (see smtp_listener.h).
 *
 * DESIGN: for every (listener IP, enabled SMTP service) one socket per pool
 * worker is bound with SO_REUSEADDR|SO_REUSEPORT at start-up, so a restart
 * after kill -9 binds at once and the kernel balances connections across
 * workers. Each socket gets an accept actor pinned to its worker, using
 * multishot accept. A new connection is checked against the per-IP limits
 * (clients in the listener's RelayNetworks are exempt on submission ports)
 * and becomes an smtp_session on the same worker. Accept errors such as
 * EMFILE back off 100 ms doubling to 1 s instead of spinning (badinput #78). */
#include "actors/smtp_listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/connlimit.h"
#include "actors/smtp_session.h"
#include "conf/conf.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/io.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timer.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

#define MAX_SOCKETS 1024
#define BACKLOG 4096

struct accepter {
	struct actor a;
	int fd;
	const struct smtp_endpoint *ep;
	struct io_op op;
	struct timer backoff;
	int64_t backoff_ms;
	bool stopped;
};

struct bound {
	int fd;
	struct smtp_endpoint *ep;
	int worker;
	uint64_t actor;
};

static struct bound socks[MAX_SOCKETS];
static int nsocks;
static struct metric *m_accept_err;

static int bind_one(const struct netaddr *ip, uint16_t port, struct buf *err)
{
	struct sockaddr_storage ss;
	socklen_t len = netaddr_to_sockaddr(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		buf_printf(err, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, BACKLOG) < 0) {
		char a[NETADDR_PORTSTRLEN];
		buf_printf(err, "listen on %s: %s", netaddr_format_port(ip, port, a), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static struct tls_ctx *listener_tls(const struct conf_listener *l, struct buf *err)
{
	if (!l->tls || l->tls->nkeycerts == 0)
		return NULL;
	struct tls_keycert kc[TLS_KEYCERTS_MAX];
	size_t n = l->tls->nkeycerts < TLS_KEYCERTS_MAX ? l->tls->nkeycerts : TLS_KEYCERTS_MAX;
	for (size_t i = 0; i < n; i++) {
		kc[i].cert_file = l->tls->keycerts[i].cert_path;
		kc[i].key_file = l->tls->keycerts[i].key_path;
	}
	char e[TLS_ERR_MAX];
	struct tls_ctx *ctx = tls_ctx_server_new(kc, n, l->tls->min_version == CONF_TLS_V13 ? TLS_V13 : TLS_V12, e);
	if (!ctx)
		buf_printf(err, "listener %s: TLS: %s", l->name, e);
	return ctx;
}

static int add_service(const struct conf_listener *l, struct tls_ctx *tls, enum smtp_service svc, int port,
                       int nworkers, struct buf *err)
{
	for (size_t i = 0; i < l->naddrs; i++) {
		struct smtp_endpoint *ep = xcalloc(1, sizeof *ep);
		ep->svc = svc;
		ep->l = l;
		ep->tls = tls;
		ep->addr = l->addrs[i];
		ep->port = (uint16_t)port;
		for (int w = 0; w < nworkers; w++) {
			if (nsocks == MAX_SOCKETS) {
				buf_printf(err, "too many listening sockets");
				return -1;
			}
			int fd = bind_one(&l->addrs[i], (uint16_t)port, err);
			if (fd < 0)
				return -1;
			socks[nsocks++] = (struct bound){.fd = fd, .ep = ep, .worker = w};
		}
	}
	return 0;
}

int smtp_listener_bind_all(const struct conf_static *st, struct buf *err)
{
	int nworkers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nworkers < 1)
		nworkers = 1;
	connlimit_configure(st->limits.connections_per_ip, st->limits.connection_rate_per_minute);
	for (size_t i = 0; i < st->nlisteners; i++) {
		const struct conf_listener *l = &st->listeners[i];
		if (!l->smtp.enabled && !l->submission.enabled && !l->submissions.enabled)
			continue;
		struct tls_ctx *tls = listener_tls(l, err);
		if (l->tls && !tls)
			return -1;
		if (l->submissions.enabled && !tls) {
			buf_printf(err, "%s: listener %s: Submissions needs TLS", st->file, l->name);
			return -1;
		}
		if ((l->smtp.enabled && add_service(l, tls, SMTP_SVC_MX, l->smtp.port, nworkers, err)) ||
		    (l->submission.enabled &&
		     add_service(l, tls, SMTP_SVC_SUBMISSION, l->submission.port, nworkers, err)) ||
		    (l->submissions.enabled &&
		     add_service(l, tls, SMTP_SVC_SUBMISSIONS, l->submissions.port, nworkers, err)))
			return -1;
	}
	return 0;
}

/* ---- accept actor ---- */

static bool relay_exempt(const struct smtp_endpoint *ep, const struct netaddr *peer)
{
	if (ep->svc == SMTP_SVC_MX)
		return false;
	const struct conf_submission *sub = &ep->l->submission;
	for (size_t i = 0; i < sub->nrelay_nets; i++)
		if (netaddr_cidr_match(&sub->relay_nets[i], peer))
			return true;
	return false;
}

static void accept_cb(struct io_op *op, int res, uint32_t flags);

static void backoff_cb(struct timer *t)
{
	struct accepter *ac = t->ctx;
	if (!ac->stopped)
		io_accept_multishot(&ac->op, ac->fd);
}

static void new_connection(struct accepter *ac, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct netaddr peer = {0};
	uint16_t port = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    netaddr_from_sockaddr((struct sockaddr *)&ss, &peer, &port) < 0) {
		close(fd);
		return;
	}
	peer = netaddr_unmap(peer);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	bool relay = relay_exempt(ac->ep, &peer);
	enum connlimit_verdict v = relay ? CONNLIMIT_OK : connlimit_open(&peer, clock_mono_ms());
	smtp_session_spawn(fd, ac->ep, &peer, port, relay, v, worker_self());
}

static void accept_cb(struct io_op *op, int res, uint32_t flags)
{
	struct accepter *ac = op->ctx;
	if (res >= 0) {
		ac->backoff_ms = 0;
		if (ac->stopped)
			close(res);
		else
			new_connection(ac, res);
	} else if (res != -ECANCELED && !ac->stopped) {
		metric_add(m_accept_err, 1);
		log_error("smtp", "accept failed", "err=\"%s\"", strerror(-res));
	}
	if (flags & IORING_CQE_F_MORE || ac->stopped)
		return;
	if (res < 0 && res != -ECANCELED) {
		ac->backoff_ms = ac->backoff_ms ? ac->backoff_ms * 2 : 100;
		if (ac->backoff_ms > 1000)
			ac->backoff_ms = 1000;
		timer_start(&ac->backoff, ac->backoff_ms);
		return;
	}
	io_accept_multishot(&ac->op, ac->fd);
}

static void accepter_start(struct actor *a)
{
	struct accepter *ac = (struct accepter *)a;
	timer_init(&ac->backoff, backoff_cb, ac);
	io_op_init(&ac->op, accept_cb, ac);
	io_accept_multishot(&ac->op, ac->fd);
}

static void accepter_stop(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct accepter *ac = (struct accepter *)self;
	ac->stopped = true;
	timer_stop(&ac->backoff);
	if (ac->op.busy)
		io_cancel(&ac->op);
	shutdown(ac->fd, SHUT_RDWR);
}

static const struct actor_kind accepter_kind = {
	.name = "smtp_listener",
	.start = accepter_start,
	.on = {ACTOR_ON(CORE_MSG_STOP_CMD, accepter_stop)},
};

void smtp_listener_start_all(void)
{
	m_accept_err = metric_counter("tern_smtp_accept_errors_total", "", "Failed accept calls.");
	int n = worker_pool_size();
	for (int i = 0; i < nsocks; i++) {
		if (socks[i].worker >= n) { /* the pool is smaller than the CPUs seen at bind time */
			close(socks[i].fd);
			socks[i].fd = -1;
			continue;
		}
		struct accepter *ac = xcalloc(1, sizeof *ac);
		ac->fd = socks[i].fd;
		ac->ep = socks[i].ep;
		socks[i].actor = actor_spawn(&ac->a, &accepter_kind, worker_pool_get(socks[i].worker));
	}
}

void smtp_listener_stop_all(void)
{
	for (int i = 0; i < nsocks; i++)
		if (socks[i].actor)
			CORE_MSG_STOP_CMD_send(socks[i].actor, NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
	smtp_session_shutdown_all();
}

int64_t smtp_listener_sessions(void)
{
	return smtp_session_count();
}
