/* Delivery connection actor: life cycle, dialing, jobs and events (delivery_conn.h).
 *
 * DESIGN: the actor dials the host's addresses one after another with
 * io_connect (a timer cancels a connect after DELIVERY_CONNECT_MS), binding the
 * listener's source address of the family when one is configured. Once connected
 * the SMTP session (delivery_conn_session.c) takes over. Jobs queue here in order;
 * when the current one is over it is finished here (results straight to the
 * queue) or handed back to the router. The actor never unregisters on its own:
 * after CLOSED it hands back anything the router still sends, until RELEASE. */
#include "actors/delivery_conn_priv.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/delivery_metrics.h"
#include "conf/conf_static.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

static void dial_next(struct delivery_conn *c);

void delivery_conn_evt(struct delivery_conn *c, enum delivery_conn_evt_kind kind, struct delivery_job *jobs)
{
	char ip[NETADDR_STRLEN] = "";
	enum delivery_tls tls = DELIVERY_TLS_PLAIN;
	bool requiretls = false;
	if (kind == DELIVERY_CONN_READY && c->sc) {
		struct smtp_client_tls_info ti;
		smtp_client_tls_info(c->sc, &ti);
		tls = ti.verified ? DELIVERY_TLS_VERIFIED : ti.active ? DELIVERY_TLS_ENCRYPTED : DELIVERY_TLS_PLAIN;
		requiretls = smtp_client_caps(c->sc)->requiretls;
		netaddr_format(&c->ip, ip);
	}
	struct delivery_conn_evt ev = {
	    .ref = c->closed_sent ? NULL : c->p.ref,
	    .kind = kind,
	    .jobs = jobs,
	    .tls = tls,
	    .requiretls = requiretls,
	    .remote_ip = slice_str(ip),
	    .ntxn = (uint64_t)c->ntxn,
	    .finished = c->finished,
	};
	c->finished = 0;
	if (kind == DELIVERY_CONN_CLOSED)
		c->closed_sent = true;
	int rc = DELIVERY_MSG_CONN_EVT_send(c->p.router, &c->a, &ev, &(struct actor_send_opts){.force = true});
	if (rc != 0) { /* the router is gone (shutdown): nobody will take the jobs back */
		log_error("delivery", "connection event not sent", "rc=%d", rc);
		for (struct delivery_job *j = jobs, *next; j; j = next) {
			next = j->next;
			delivery_job_finish(j, &c->a, c->p.queue);
		}
	}
}

/* ---- jobs ---- */

static void push_back(struct delivery_conn *c, struct delivery_job *job, int disp)
{
	job->disp = disp;
	job->next = c->back;
	c->back = job;
}

void delivery_conn_job_over(struct delivery_conn *c, bool closing)
{
	struct delivery_job *job = c->cur;
	c->cur = NULL;
	if (!job)
		return;
	for (size_t i = 0; i < job->n; i++)
		job->recs[i].tried = false;
	int disp = -1;
	if (delivery_job_open(job) == 0) {
		delivery_job_finish(job, &c->a, c->p.queue);
		c->finished++;
		job = NULL;
	} else if (job->disp == DELIVERY_DISP_RETRY) {
		disp = DELIVERY_DISP_RETRY;
	} else if (!job->has_last) {
		disp = DELIVERY_DISP_UNSTARTED; /* nothing went wrong with it: place it again */
	} else if (delivery_job_more_hosts(job)) {
		disp = DELIVERY_DISP_NEXT_HOST;
	} else {
		delivery_job_exhausted(job);
		delivery_job_finish(job, &c->a, c->p.queue);
		c->finished++;
		job = NULL;
	}
	if (closing) {
		if (job)
			push_back(c, job, disp);
		return;
	}
	if (job) {
		job->disp = disp;
		job->next = NULL;
	}
	delivery_conn_evt(c, DELIVERY_CONN_JOB_DONE, job);
}

void delivery_conn_host_failed(struct delivery_conn *c, struct delivery_res *res, bool temp)
{
	if (!c->cur)
		return;
	delivery_res_where(res, c->host, c->ip.family ? &c->ip : NULL);
	res->one_family = delivery_conn_one_family(c);
	delivery_job_host_failed(c->cur, res, temp, false);
}

static void on_job(struct actor *self, const struct msg *m, const struct delivery_conn_job_cmd *p)
{
	struct delivery_conn *c = (struct delivery_conn *)self;
	struct delivery_job *job = p->job;
	job->next = NULL;
	if (c->state != DC_SESSION || c->quit_req || c->closed_sent) {
		job->disp = DELIVERY_DISP_UNSTARTED;
		delivery_conn_evt(c, DELIVERY_CONN_RETURN, job);
		return;
	}
	if (c->qtail)
		c->qtail->next = job;
	else
		c->qhead = job;
	c->qtail = job;
	if (c->idle)
		delivery_conn_drive(c);
}

/* Hands back every job waiting at the connection (not the current one). */
static struct delivery_job *take_queue(struct delivery_conn *c)
{
	struct delivery_job *list = c->qhead;
	for (struct delivery_job *j = list; j; j = j->next)
		j->disp = DELIVERY_DISP_UNSTARTED;
	c->qhead = c->qtail = NULL;
	return list;
}

static void on_quit(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct delivery_conn *c = (struct delivery_conn *)self;
	c->quit_req = true;
	struct delivery_job *list = take_queue(c);
	if (list)
		delivery_conn_evt(c, DELIVERY_CONN_RETURN, list);
	if (c->state == DC_SESSION && c->idle)
		delivery_conn_drive(c);
}

static void on_release(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct delivery_conn *c = (struct delivery_conn *)self;
	timer_stop(&c->tmr);
	timer_stop(&c->kick);
	delivery_txn_clear(&c->txn);
	smtp_client_free(c->sc);
	c->sc = NULL;
	delivery_sasl_free(&c->sasl);
	if (c->nc_live) {
		netconn_free(&c->nc);
		metric_add(delivery_metrics.open, -1);
	}
	free(c->host);
	actor_stop(self);
}

/* ---- closing ---- */

void delivery_conn_socket_closed(struct delivery_conn *c)
{
	if (c->nc_live) {
		netconn_free(&c->nc);
		c->nc_live = false;
		metric_add(delivery_metrics.open, -1);
	}
	smtp_client_free(c->sc);
	c->sc = NULL;
	delivery_sasl_free(&c->sasl);
	timer_stop(&c->tmr);
	if (c->redial && c->cur) {
		c->redial = false;
		c->tls_failed = false;
		c->state = DC_CONNECTING;
		dial_next(c);
		return;
	}
	c->state = DC_DEAD;
	if (c->cur)
		delivery_conn_job_over(c, true);
	struct delivery_job *list = take_queue(c);
	if (list) {
		struct delivery_job *tail = list;
		while (tail->next)
			tail = tail->next;
		tail->next = c->back;
		c->back = list;
	}
	struct delivery_job *back = c->back;
	c->back = NULL;
	delivery_conn_evt(c, DELIVERY_CONN_CLOSED, back);
}

/* ---- dialing ---- */

/* The host failed before the session (451 secode text, a temporary failure): note it, close. */
static void fail_close(struct delivery_conn *c, const char *secode, enum delivery_fail fail, const char *text)
{
	struct delivery_res res = {0};
	delivery_res_local(&res, DELIVERY_TEMPORARY, 451, secode, "%s", text);
	res.fail = fail;
	delivery_conn_host_failed(c, &res, true);
	delivery_res_free(&res);
	c->state = DC_CLOSING;
	netconn_close(&c->nc);
}

static void connected(struct delivery_conn *c)
{
	c->ip = c->p.ips[c->ip_i];
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	netconn_init(&c->nc, c->fd, &delivery_conn_netconn_ops, c);
	c->nc_live = true;
	metric_add(delivery_metrics.open, 1);
	c->fd = -1;
	if (c->p.target->tls != SMTP_CLIENT_TLS_IMPLICIT || c->p.target->kind != DELIVERY_T_RELAY) {
		delivery_conn_session_start(c, false);
		return;
	}
	if (!c->p.tls) {
		fail_close(c, "4.7.0", DELIVERY_FAIL_LOCAL, "no TLS client context for implicit TLS");
		return;
	}
	c->state = DC_TLS_IMPLICIT;
	timer_start(&c->tmr, SMTP_CLIENT_T_HANDSHAKE_MS);
	enum tls_verify mode = c->p.target->verify ? TLS_VERIFY_PKIX : TLS_VERIFY_NONE;
	netconn_tls_start(&c->nc, tls_conn_client_new(c->p.tls, c->host, mode));
}

static void connect_cb(struct io_op *op, int res, uint32_t flags)
{
	struct delivery_conn *c = op->ctx;
	timer_stop(&c->tmr);
	enum delivery_metrics_dial d = res == 0 ? DELIVERY_METRICS_DIAL_OK
	                               : c->connect_timed_out ? DELIVERY_METRICS_DIAL_TIMEOUT
	                               : res == -ECANCELED ? DELIVERY_METRICS_DIAL_CANCELED
	                                                   : DELIVERY_METRICS_DIAL_ERROR;
	metric_add(delivery_metrics.dial[d], 1);
	if (res == 0) {
		connected(c);
		return;
	}
	c->last_errno = c->connect_timed_out ? ETIMEDOUT : -res;
	close(c->fd);
	c->fd = -1;
	c->ip_i++;
	dial_next(c);
}

/* Opens a socket for ip, bound to the configured source address; -errno on failure. */
static int open_socket(struct delivery_conn *c, const struct netaddr *ip)
{
	int fd = socket(ip->family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	const struct netaddr *src = conf_static_smtp_source(c->p.st, ip->family);
	if (src && c->p.target->kind != DELIVERY_T_LOCAL) {
		int one = 1;
		struct sockaddr_storage ss;
		socklen_t len = netaddr_to_sockaddr(src, 0, &ss);
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

static void dial_next(struct delivery_conn *c)
{
	while (c->ip_i < c->p.nips) {
		const struct netaddr *ip = &c->p.ips[c->ip_i];
		if (ip->family == 4)
			c->dialed4 = true;
		else
			c->dialed6 = true;
		int fd = open_socket(c, ip);
		if (fd < 0) {
			metric_add(delivery_metrics.dial[DELIVERY_METRICS_DIAL_ERROR], 1);
			c->last_errno = -fd;
			c->ip_i++;
			continue;
		}
		c->fd = fd;
		c->connect_timed_out = false;
		socklen_t len = netaddr_to_sockaddr(ip, c->p.port, &c->sa);
		io_op_init(&c->cop, connect_cb, c);
		io_connect(&c->cop, fd, (struct sockaddr *)&c->sa, len);
		timer_start(&c->tmr, DELIVERY_CONNECT_MS);
		return;
	}
	/* every address failed to connect: a temporary failure of the host */
	char where[NETADDR_PORTSTRLEN] = "";
	if (c->p.nips)
		netaddr_format_port(&c->p.ips[c->p.nips - 1], c->p.port, where);
	struct delivery_res res = {0};
	if (c->p.nips)
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.1", "dialing %s: %s", where, strerror(c->last_errno));
	else
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.4", "no address to dial for %s", c->host);
	if (c->p.nips && c->last_errno == ETIMEDOUT)
		res.fail = DELIVERY_FAIL_TIMEOUT;
	c->ip = c->p.nips ? c->p.ips[c->p.nips - 1] : (struct netaddr){0};
	delivery_conn_host_failed(c, &res, true);
	delivery_res_free(&res);
	delivery_conn_socket_closed(c);
}

static void timer_cb(struct timer *t)
{
	struct delivery_conn *c = t->ctx;
	switch (c->state) {
	case DC_CONNECTING:
		c->connect_timed_out = true;
		io_cancel(&c->cop);
		break;
	case DC_TLS_IMPLICIT:
		fail_close(c, "4.4.2", DELIVERY_FAIL_TIMEOUT, "timeout during TLS handshake");
		break;
	case DC_SESSION:
		delivery_conn_session_timeout(c);
		break;
	default:
		break;
	}
}

static void kick_cb(struct timer *t)
{
	delivery_conn_drive(t->ctx);
}

static void conn_start(struct actor *self)
{
	struct delivery_conn *c = (struct delivery_conn *)self;
	timer_init(&c->tmr, timer_cb, c);
	timer_init(&c->kick, kick_cb, c);
	dial_next(c);
}

static const struct actor_kind delivery_conn_kind = {
    .name = "delivery_conn",
    .start = conn_start,
    .on = {
        ACTOR_ON(DELIVERY_MSG_CONN_JOB_CMD, on_job),
        ACTOR_ON(DELIVERY_MSG_CONN_QUIT_CMD, on_quit),
        ACTOR_ON(DELIVERY_MSG_CONN_RELEASE_CMD, on_release),
    },
};

uint64_t delivery_conn_spawn(const struct delivery_conn_params *p, struct delivery_job *first, struct worker *w)
{
	delivery_metrics_init();
	struct delivery_conn *c = xcalloc(1, sizeof *c);
	c->p = *p;
	c->host = xstrdup(p->host);
	c->p.host = c->host;
	c->fd = -1;
	c->state = DC_CONNECTING;
	c->cur = first;
	first->next = NULL;
	return actor_spawn(&c->a, &delivery_conn_kind, w);
}
