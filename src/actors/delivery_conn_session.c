/* The SMTP session of a delivery connection: the client engine over netconn.
 *
 * DESIGN: delivery_conn_drive() steps the engine until it waits: output goes to
 * netconn as it comes (a data block waits for the socket only past
 * DELIVERY_CONN_WBUF_MAX unsent bytes), input arrives through data_cb, EOF and
 * I/O errors through eof_cb, STARTTLS through tls_cb. One timer follows the
 * engine's waits: it is re-armed only when smtp_client_wait_seq() changes, so a
 * server trickling bytes does not extend a wait, and stopped while idle. While
 * idle a receive stays armed, so a server closing an idle connection (EOF, 421)
 * is noticed and the connection is not offered again. Callbacks may arrive while
 * driving (netconn calls back synchronously at times); they then only ask for one
 * more pass. */
#include "actors/delivery_conn_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "actors/delivery_ips.h"
#include "actors/delivery_metrics.h"
#include "actors/delivery_result.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

bool delivery_conn_one_family(const struct delivery_conn *c)
{
	return delivery_ips_both(c->p.ips, c->p.nips) && !(c->dialed4 && c->dialed6);
}

void delivery_conn_session_start(struct delivery_conn *c, bool implicit_verified)
{
	enum smtp_client_tls mode;
	bool verify;
	delivery_target_tls(c->p.target, c->p.need, &mode, &verify);
	if (c->plain)
		mode = SMTP_CLIENT_TLS_NONE;
	if (!c->p.tls && mode == SMTP_CLIENT_TLS_OPPORTUNISTIC)
		mode = SMTP_CLIENT_TLS_NONE;
	const struct delivery_target *t = c->p.target;
	delivery_sasl_init(&c->sasl, t->auth, &c->nc.tls);
	struct smtp_client_config cfg = {
	    .ehlo_name = t->ehlo,
	    .tls = mode,
	    .implicit_verified = implicit_verified,
	    .auth = t->kind == DELIVERY_T_RELAY && t->auth ? &delivery_sasl_ops : NULL,
	    .auth_ctx = &c->sasl,
	    .reply_cb = delivery_metrics_reply_cb,
	};
	c->sc = smtp_client_new(&cfg);
	if (!c->sc)
		panic("delivery: bad EHLO name %s", t->ehlo);
	c->state = DC_SESSION;
	c->wait_seq = 0;
	delivery_conn_drive(c);
}

/* ---- transactions ---- */

static bool begin_next(struct delivery_conn *c)
{
	for (;;) {
		if (!c->cur) {
			c->cur = c->qhead;
			if (!c->cur)
				return false;
			c->qhead = c->cur->next;
			if (!c->qhead)
				c->qtail = NULL;
			c->cur->next = NULL;
			c->cur->disp = DELIVERY_DISP_UNSTARTED;
			c->cur_began = false;
		}
		bool per_rcpt = c->p.target->rcpt_per_txn;
		if (delivery_txn_next(&c->txn, c->cur, smtp_client_caps(c->sc), per_rcpt, c->p.store)) {
			c->txn_reused = c->ntxn > 0;
			if (c->txn_reused)
				metric_add(delivery_metrics.reuse, 1);
			c->ntxn++;
			c->cur_began = true;
			smtp_client_begin(c->sc, &c->txn.t);
			return true;
		}
		delivery_conn_job_over(c, false);
	}
}

/* tern_queue_requiretls_unsupported_total, once per transaction the engine refused. */
static void count_requiretls(struct delivery_conn *c)
{
	for (size_t k = 0; k < c->txn.n; k++) {
		if (c->txn.rcpts[k].result.err != SMTP_CLIENT_ERR_REQUIRETLS)
			continue;
		struct smtp_client_tls_info ti;
		smtp_client_tls_info(c->sc, &ti);
		bool verified = ti.active && ti.verified;
		metric_add(delivery_metrics.requiretls[verified ? DELIVERY_METRICS_RTLS_NOREQUIRETLS
		                                                : DELIVERY_METRICS_RTLS_NOPOLICY], 1);
		return;
	}
}

static void txn_done(struct delivery_conn *c)
{
	struct delivery_job *job = c->cur;
	struct delivery_txn *x = &c->txn;
	bool retry = c->txn_reused && !job->retried && x->n > 0;
	for (size_t k = 0; k < x->n && retry; k++)
		retry = delivery_result_before_mail(&x->rcpts[k].result);
	if (retry) {
		job->disp = DELIVERY_DISP_RETRY;
		job->retried = true;
		job->fresh_conn = true;
		log_info("delivery", "reused connection failed before MAIL, retrying on a new one",
		         "host=%s", c->host);
	} else {
		bool dsn = smtp_client_caps(c->sc)->dsn, one = delivery_conn_one_family(c);
		count_requiretls(c);
		struct delivery_res res = {0};
		for (size_t k = 0; k < x->n; k++) {
			const struct smtp_client_result *r = &x->rcpts[k].result;
			bool temp, utf8;
			enum delivery_verdict v = delivery_result_verdict(r, c->p.target->kind == DELIVERY_T_DIRECT, &temp, &utf8);
			delivery_result_fill(r, &res);
			delivery_res_where(&res, c->host, &c->ip);
			res.remote_dsn = dsn;
			res.one_family = one;
			if (v == DELIVERY_V_FINAL)
				delivery_job_settle(job, x->idx[k], &res);
			else
				delivery_job_host_failed(job, &res, temp, utf8);
		}
		delivery_res_free(&res);
	}
	delivery_txn_clear(x);
}

/* The engine is idle: take the next transaction, QUIT, or wait. True when it has work. */
static bool ready(struct delivery_conn *c)
{
	if (!c->ready_sent) {
		c->ready_sent = true;
		delivery_conn_evt(c, DELIVERY_CONN_READY, NULL);
	}
	c->idle = false;
	if (begin_next(c))
		return true;
	if (c->quit_req) {
		smtp_client_quit(c->sc);
		return true;
	}
	c->idle = true;
	timer_stop(&c->tmr);
	netconn_read(&c->nc); /* notice a server closing the idle connection */
	return false;
}

/* The session ended (CLOSED): settle what it means for the jobs held, close the socket. */
static void closed(struct delivery_conn *c)
{
	c->idle = false;
	timer_stop(&c->tmr);
	if (c->cur && !c->cur_began) {
		const struct smtp_client_result *e = smtp_client_error(c->sc);
		bool can_redial = c->tls_failed && !c->plain && c->p.plain_ok && c->p.need == DELIVERY_TLS_PLAIN &&
		                  c->p.target->kind != DELIVERY_T_RELAY;
		if (can_redial) {
			log_info("delivery", "TLS handshake failed, redialing in plaintext", "host=%s", c->host);
			metric_add(delivery_metrics.plaintext_fallback, 1);
			c->plain = true;
			c->redial = true;
		} else {
			struct delivery_res res = {0};
			bool temp = e ? delivery_result_session_temp(e) : true;
			if (e && e->err == SMTP_CLIENT_ERR_TLS && c->cur->requiretls) {
				/* queue.md §4: REQUIRETLS impossible with this host, never plaintext */
				delivery_res_local(&res, DELIVERY_PERMANENT, 554, "5.7.30", "requiretls: %s",
				                   e->text ? e->text : "no verified TLS");
				metric_add(delivery_metrics.requiretls[DELIVERY_METRICS_RTLS_NOPOLICY], 1);
				temp = false;
			} else if (e) {
				delivery_result_fill(e, &res);
			} else {
				delivery_res_local(&res, DELIVERY_TEMPORARY, 451, "4.4.2", "connection closed");
			}
			delivery_conn_host_failed(c, &res, temp);
			delivery_res_free(&res);
		}
	}
	c->state = DC_CLOSING;
	netconn_close_after_flush(&c->nc);
}

static void arm_wait(struct delivery_conn *c)
{
	uint64_t seq = smtp_client_wait_seq(c->sc);
	if (seq != c->wait_seq) {
		c->wait_seq = seq;
		timer_start(&c->tmr, smtp_client_timeout_ms(c->sc));
	}
}

static void start_tls(struct delivery_conn *c)
{
	log_debug("delivery", "starting TLS", "host=%s", c->host);
	enum smtp_client_tls mode;
	bool verify;
	delivery_target_tls(c->p.target, c->p.need, &mode, &verify);
	struct tls_conn *t = c->p.tls ? tls_conn_client_new(c->p.tls, c->host, verify ? TLS_VERIFY_PKIX : TLS_VERIFY_NONE)
	                              : NULL;
	if (!t) {
		smtp_client_io_error(c->sc, "no TLS client context");
		return;
	}
	netconn_tls_start(&c->nc, t);
}

/* One pass: steps until the engine waits. */
static void drive_once(struct delivery_conn *c)
{
	for (int i = 0; i < DELIVERY_CONN_STEPS_MAX; i++) {
		if (c->state != DC_SESSION || !c->sc)
			return;
		enum smtp_client_event ev = smtp_client_step(c->sc);
		struct slice out = smtp_client_output(c->sc);
		if (out.len) {
			if (log_enabled(LOG_TRACE)) {
				char q[512];
				log_trace("delivery", "client said", "host=%s data=%s", c->host, log_quote(q, sizeof q, out));
			}
			netconn_write(&c->nc, out.p, out.len);
			smtp_client_output_consumed(c->sc, out.len);
		}
		switch (ev) {
		case SMTP_CLIENT_EV_SEND:
			arm_wait(c);
			if (netconn_pending(&c->nc) > DELIVERY_CONN_WBUF_MAX) {
				c->drain_wait = true;
				return;
			}
			continue;
		case SMTP_CLIENT_EV_NEED_INPUT:
			arm_wait(c);
			netconn_read(&c->nc);
			return;
		case SMTP_CLIENT_EV_STARTTLS:
			arm_wait(c);
			start_tls(c);
			if (c->nc.handshaking)
				return;
			continue; /* start_tls failed and fed an error */
		case SMTP_CLIENT_EV_READY:
			if (ready(c))
				continue;
			return;
		case SMTP_CLIENT_EV_TXN_DONE:
			txn_done(c);
			continue;
		case SMTP_CLIENT_EV_CLOSED:
			closed(c);
			return;
		}
	}
	timer_start(&c->kick, 0);
}

void delivery_conn_drive(struct delivery_conn *c)
{
	if (c->in_drive) {
		c->drive_again = true;
		return;
	}
	c->in_drive = true;
	do {
		c->drive_again = false;
		drive_once(c);
	} while (c->drive_again);
	c->in_drive = false;
}

void delivery_conn_session_timeout(struct delivery_conn *c)
{
	if (!c->sc)
		return;
	smtp_client_timeout(c->sc);
	delivery_conn_drive(c);
}

/* ---- netconn callbacks ---- */

static void data_cb(struct netconn *nc)
{
	struct delivery_conn *c = nc->owner;
	if (log_enabled(LOG_TRACE)) {
		char q[512];
		log_trace("delivery", "server said", "host=%s data=%s", c->host,
		          log_quote(q, sizeof q, buf_slice(&nc->in)));
	}
	if (c->sc && nc->in.len)
		smtp_client_feed(c->sc, nc->in.p, nc->in.len);
	buf_reset(&nc->in);
	if (c->state == DC_SESSION)
		delivery_conn_drive(c);
}

static void eof_cb(struct netconn *nc, int err)
{
	struct delivery_conn *c = nc->owner;
	if (c->state == DC_TLS_IMPLICIT) {
		return; /* tls_cb reports the failed handshake */
	}
	if (c->state != DC_SESSION || !c->sc)
		return;
	char desc[128];
	snprintf(desc, sizeof desc, "%s", err ? strerror(-err) : "connection closed by remote");
	smtp_client_io_error(c->sc, desc);
	delivery_conn_drive(c);
}

static bool verified(struct netconn *nc)
{
	return tls_conn_peer_verified(nc->tls) && tls_conn_peer_name_ok(nc->tls);
}

static void tls_cb(struct netconn *nc, int status)
{
	struct delivery_conn *c = nc->owner;
	log_debug("delivery", "TLS handshake done", "host=%s status=%d error=%s", c->host, status,
	          status ? tls_conn_error(nc->tls) : "");
	if (c->state == DC_TLS_IMPLICIT) {
		timer_stop(&c->tmr);
		if (status == 0) {
			delivery_conn_session_start(c, verified(nc));
			return;
		}
		struct delivery_res res = {0};
		delivery_res_local(&res, DELIVERY_TEMPORARY, 451, "4.7.5", "TLS handshake failed: %s",
		                   tls_conn_error(nc->tls));
		delivery_conn_host_failed(c, &res, true);
		delivery_res_free(&res);
		c->state = DC_CLOSING;
		netconn_close(nc);
		return;
	}
	if (c->state != DC_SESSION || !c->sc)
		return;
	if (status == 0) {
		smtp_client_tls_started(c->sc, verified(nc));
	} else {
		char desc[TLS_ERR_MAX + 32];
		snprintf(desc, sizeof desc, "TLS handshake failed: %s", tls_conn_error(nc->tls));
		c->tls_failed = true;
		smtp_client_io_error(c->sc, desc);
	}
	delivery_conn_drive(c);
}

static void drained_cb(struct netconn *nc)
{
	struct delivery_conn *c = nc->owner;
	if (c->drain_wait) {
		c->drain_wait = false;
		delivery_conn_drive(c);
	}
}

static void closed_cb(struct netconn *nc)
{
	delivery_conn_socket_closed(nc->owner);
}

const struct netconn_ops delivery_conn_netconn_ops = {
    .data_cb = data_cb,
    .eof_cb = eof_cb,
    .tls_cb = tls_cb,
    .drained_cb = drained_cb,
    .closed_cb = closed_cb,
};
