/* SMTP session actor: lifecycle, I/O, timers and the engine loop.
 *
 * DESIGN: the engine (proto/smtp_server) is driven by smtp_session_drive():
 * each event is either answered at once or starts exactly one asynchronous
 * wait (DNS, password check, commit); while a wait is open the session reads
 * nothing more, which bounds buffered input and keeps replies in order. The
 * reply to the wait carries a req_id; a stale one (after a timeout or close)
 * is ignored. Output is flushed whenever the engine needs input, before any
 * wait, and before TLS or close; while more than SMTP_SESSION_OUT_MAX of it is
 * unsent the session reads nothing (a client that pipelines without reading
 * cannot pile replies up in memory). One timer covers the idle, partial-line,
 * data and handshake deadlines, and after a close the time the last replies
 * get to leave; all use the monotonic clock. */
#include "actors/smtp_session_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "actors/server.h"
#include "conf/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/tls.h"

static _Atomic int64_t nsessions;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *reg;
static size_t reg_n, reg_cap;

static const char *const all_mechs[SMTP_SESSION_NMECHS] = {
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN",
};

static void reg_add(uint64_t id)
{
	pthread_mutex_lock(&reg_mu);
	if (reg_n == reg_cap) {
		reg_cap = reg_cap ? reg_cap * 2 : 256;
		reg = xrealloc(reg, reg_cap * sizeof *reg);
	}
	reg[reg_n++] = id;
	pthread_mutex_unlock(&reg_mu);
}

static void reg_del(uint64_t id)
{
	pthread_mutex_lock(&reg_mu);
	for (size_t i = 0; i < reg_n; i++)
		if (reg[i] == id) {
			reg[i] = reg[--reg_n];
			break;
		}
	pthread_mutex_unlock(&reg_mu);
}

int64_t smtp_session_count(void)
{
	return atomic_load(&nsessions);
}

void smtp_session_shutdown_all(void)
{
	pthread_mutex_lock(&reg_mu);
	size_t n = reg_n;
	uint64_t *ids = xmemdup(reg, n * sizeof *ids);
	pthread_mutex_unlock(&reg_mu);
	for (size_t i = 0; i < n; i++)
		CORE_MSG_STOP_CMD_send(ids[i], NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
	free(ids);
}

/* ---- output, timers ---- */

void smtp_session_flush(struct smtp_session *s)
{
	struct slice out = smtp_server_output(s->eng);
	if (!out.len)
		return;
	if (log_enabled(LOG_TRACE)) {
		char q[2048];
		log_write(LOG_TRACE, "smtp", "reply", "cid=%s data=%s", s->rid, log_quote(q, sizeof q, out));
	}
	smtp_session_metrics_count_replies(out);
	netconn_write(&s->nc, out.p, out.len);
	smtp_server_output_consume(s->eng, out.len);
}

static void arm_io_timer(struct smtp_session *s)
{
	int64_t now = clock_mono_ms(), at;
	if (s->tls_pending) {
		at = s->line_start_ms + SMTP_SESSION_TLS_MS;
	} else if (smtp_server_in_data(s->eng)) {
		if (!s->in_data) {
			s->in_data = true;
			s->data_start_ms = now;
		}
		at = s->data_start_ms + SMTP_SESSION_DATA_TOTAL_MS;
		if (s->last_in_ms + SMTP_SESSION_DATA_STALL_MS < at)
			at = s->last_in_ms + SMTP_SESSION_DATA_STALL_MS;
	} else if (smtp_server_partial_line(s->eng)) {
		s->in_data = false;
		if (!s->in_line) {
			s->in_line = true;
			s->line_start_ms = s->last_in_ms;
		}
		at = s->line_start_ms + SMTP_SESSION_LINE_MS;
	} else {
		s->in_data = s->in_line = false;
		at = s->last_in_ms + SMTP_SESSION_IDLE_MS;
	}
	timer_start_at(&s->t_io, at);
}

/* Closes once the queued replies are out. A peer that does not take them (zero
 * window) gets SMTP_SESSION_CLOSE_MS, then io_timeout_cb closes anyway. */
static void close_after_flush(struct smtp_session *s)
{
	if (s->closing)
		return; /* e.g. EOF reported after a failed handshake already closed */
	s->closing = true;
	timer_start(&s->t_io, s->stopping ? SMTP_SESSION_CLOSE_STOPPING_MS : SMTP_SESSION_CLOSE_MS);
	netconn_close_after_flush(&s->nc);
}

static void io_timeout_cb(struct timer *t)
{
	struct smtp_session *s = t->ctx;
	if (s->closing) {
		log_info("smtp", "peer did not take the last replies, closing", "cid=%s ip=%s", s->rid, s->peer_str);
		netconn_close(&s->nc);
		return;
	}
	if (s->tls_pending) {
		log_info("smtp", "tls handshake timeout", "cid=%s", s->rid);
		if (s->ep->svc == SMTP_SVC_MX)
			metric_add(smtp_session_metrics.starttls_errors[SMTP_TLSERR_TIMEOUT], 1);
		netconn_close(&s->nc);
		s->closing = true;
		return;
	}
	log_info("smtp", "timeout", "cid=%s ip=%s in_data=%d", s->rid, s->peer_str, smtp_server_in_data(s->eng));
	s->wait = SW_NONE;
	smtp_server_timeout(s->eng);
	smtp_session_drive(s);
}

uint64_t smtp_session_wait(struct smtp_session *s, enum smtp_wait w)
{
	s->wait = w;
	return ++s->req;
}

bool smtp_session_wait_done(struct smtp_session *s, enum smtp_wait w, uint64_t req_id)
{
	if (s->closing || s->wait != w || req_id != s->req)
		return false;
	s->wait = SW_NONE;
	return true;
}

/* ---- the engine loop ---- */

static void start_tls(struct smtp_session *s)
{
	struct tls_conn *t = tls_conn_server_new(s->ep->tls);
	if (!t) {
		if (s->ep->svc == SMTP_SVC_MX)
			metric_add(smtp_session_metrics.starttls_errors[SMTP_TLSERR_OTHER], 1);
		netconn_close(&s->nc);
		s->closing = true;
		return;
	}
	s->tls_pending = true;
	s->line_start_ms = clock_mono_ms();
	arm_io_timer(s);
	netconn_tls_start(&s->nc, t);
}

void smtp_session_drive(struct smtp_session *s)
{
	while (!s->closing && s->wait == SW_NONE && !s->tls_pending) {
		enum smtp_server_event ev = smtp_server_step(s->eng);
		switch (ev) {
		case SMTP_SERVER_NEED_INPUT:
			smtp_session_flush(s);
			if (s->stopping && !smtp_server_in_data(s->eng) && smtp_server_shutdown(s->eng))
				continue;
			arm_io_timer(s);
			if (netconn_pending(&s->nc) > SMTP_SESSION_OUT_MAX) {
				s->out_blocked = true; /* drained_cb reads on */
				return;
			}
			netconn_read(&s->nc);
			return;
		case SMTP_SERVER_HELO:
			smtp_session_helo(s);
			break;
		case SMTP_SERVER_MAIL:
			smtp_session_flush(s);
			smtp_session_mail(s);
			break;
		case SMTP_SERVER_RCPT:
			smtp_session_rcpt(s);
			break;
		case SMTP_SERVER_AUTH:
			smtp_session_flush(s);
			smtp_session_auth(s);
			break;
		case SMTP_SERVER_AUTH_ABORTED:
			smtp_session_auth_abort(s);
			break;
		case SMTP_SERVER_MESSAGE:
			smtp_session_flush(s);
			smtp_session_message(s);
			break;
		case SMTP_SERVER_DATA_FAILED:
			buf_reset(&s->data);
			break;
		case SMTP_SERVER_STARTTLS:
			smtp_session_flush(s);
			start_tls(s);
			return;
		case SMTP_SERVER_CLOSE:
			smtp_session_flush(s);
			close_after_flush(s);
			return;
		}
	}
	if (s->wait != SW_NONE)
		smtp_session_flush(s);
}

/* ---- netconn callbacks ---- */

static void data_cb(struct netconn *c)
{
	struct smtp_session *s = c->owner;
	s->last_in_ms = clock_mono_ms();
	smtp_session_trace_input(s, buf_slice(&c->in));
	smtp_server_feed(s->eng, c->in.p, c->in.len);
	buf_reset(&c->in);
	smtp_session_drive(s);
}

static void eof_cb(struct netconn *c, int err)
{
	struct smtp_session *s = c->owner;
	if (smtp_server_in_data(s->eng))
		log_info("smtp", "lost connection during data", "cid=%s ip=%s err=%d", s->rid, s->peer_str, err);
	else
		log_debug("smtp", "connection closed by peer", "cid=%s err=%d", s->rid, err);
	/* A half-closed peer still reads: let the replies already queued go out. */
	close_after_flush(s);
}

/* The account mail is submitted for before any AUTH: RelayAccount for relay clients. */
static void reset_account(struct smtp_session *s)
{
	free(s->account);
	s->account = s->relay_client && server_get() ? xstrdup(s->ep->l->submission.relay_account) : NULL;
}

static void tls_cb(struct netconn *c, int status)
{
	struct smtp_session *s = c->owner;
	s->tls_pending = false;
	if (status != 0) {
		log_info("smtp", "tls handshake failed", "cid=%s ip=%s err=\"%s\"", s->rid, s->peer_str,
		         c->tls ? tls_conn_error(c->tls) : "");
		if (s->ep->svc == SMTP_SVC_MX) {
			bool eof = c->tls && tls_conn_peer_closed(c->tls);
			metric_add(smtp_session_metrics.starttls_errors[eof ? SMTP_TLSERR_EOF : SMTP_TLSERR_PROTOCOL], 1);
		}
		s->closing = true;
		timer_stop(&s->t_io);
		netconn_close(c);
		return;
	}
	log_debug("smtp", "tls established", "cid=%s version=%s cipher=%s", s->rid, tls_conn_version(c->tls),
	          tls_conn_cipher(c->tls));
	if (s->ep->svc == SMTP_SVC_MX)
		metric_add(smtp_session_metrics.starttls, 1);
	s->last_in_ms = clock_mono_ms();
	if (!s->greeted) {
		/* implicit TLS: the engine was created with tls_active; greet once TLS is up */
		s->greeted = true;
		smtp_server_greet(s->eng);
	} else {
		/* STARTTLS forgets the AUTH state (smtp.md §8): the account of an earlier login too. */
		smtp_server_tls_started(s->eng);
		smtp_session_auth_free(s);
		reset_account(s);
	}
	smtp_session_drive(s);
}

static void drained_cb(struct netconn *c)
{
	struct smtp_session *s = c->owner;
	if (s->out_blocked && !s->closing) {
		s->out_blocked = false;
		netconn_read(c);
	}
}

static void closed_cb(struct netconn *c)
{
	struct smtp_session *s = c->owner;
	metric_add(smtp_session_metrics.bytes_in, (int64_t)c->bytes_in);
	metric_add(smtp_session_metrics.bytes_out, (int64_t)c->bytes_out);
	timer_stop(&s->t_io);
	timer_stop(&s->t_wait);
	actor_stop(&s->a);
}

static const struct netconn_ops conn_ops = {
	.data_cb = data_cb,
	.eof_cb = eof_cb,
	.tls_cb = tls_cb,
	.drained_cb = drained_cb,
	.closed_cb = closed_cb,
};

/* ---- actor ---- */

static void session_free(struct actor *a)
{
	struct smtp_session *s = (struct smtp_session *)a;
	if (s->counted)
		connlimit_close(&s->peer);
	smtp_session_auth_free(s);
	smtp_session_mailauth_reset(s);
	smtp_session_dnsbl_free(s);
	smtp_session_mx_free(s);
	smtp_server_free(s->eng);
	netconn_free(&s->nc);
	buf_free(&s->data);
	free(s->account);
	reg_del(s->a.id);
	atomic_fetch_sub(&nsessions, 1);
	metric_add(smtp_session_metrics.sessions, -1);
	free(s);
}

static void wait_cb(struct timer *t);

static void session_start(struct actor *a)
{
	struct smtp_session *s = (struct smtp_session *)a;
	reg_add(a->id);
	timer_init(&s->t_io, io_timeout_cb, s);
	timer_init(&s->t_wait, wait_cb, s);
	s->last_in_ms = clock_mono_ms();
	if (smtp_server_closed(s->eng)) { /* refused by the connection limits */
		smtp_session_drive(s);
		return;
	}
	/* Accepted while the server stops: registered after smtp_session_shutdown_all() took
	 * its snapshot, this session would never get the stop. The flag is set before that
	 * snapshot and read after reg_add(), so one of the two always reaches it. */
	struct server *srv = server_get();
	if (srv && atomic_load(&srv->stopping)) {
		if (s->ep->svc == SMTP_SVC_SUBMISSIONS) { /* nothing readable before TLS */
			s->closing = true;
			netconn_close(&s->nc);
			return;
		}
		smtp_server_close_with(s->eng, 421, "4.3.2 service shutting down");
		smtp_session_drive(s);
		return;
	}
	if (s->ep->svc == SMTP_SVC_SUBMISSIONS) {
		start_tls(s);
		return;
	}
	s->greeted = true;
	/* Bytes already waiting before the greeting: the client talked first (badinput #3). */
	uint8_t peek[64];
	ssize_t n = recv(s->nc.fd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		smtp_server_feed(s->eng, peek, 1);
	smtp_server_greet(s->eng);
	smtp_session_drive(s);
}

static void wait_cb(struct timer *t)
{
	struct smtp_session *s = t->ctx;
	if (s->closing)
		return;
	if (s->wait == SW_AUTH_DELAY) {
		s->wait = SW_NONE;
		s->auth_delayed = true;
		smtp_session_auth(s);
		smtp_session_drive(s);
		return;
	}
	if (s->wait == SW_LOCALSERVE) {
		smtp_session_localserve_timeout(s);
		smtp_session_drive(s);
		return;
	}
	if (s->stopping) { /* the shutdown grace for a transfer in progress ran out */
		s->wait = SW_NONE;
		smtp_server_close_with(s->eng, 421, "4.3.2 service shutting down");
		smtp_session_drive(s);
	}
}

static void on_stop(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct smtp_session *s = (struct smtp_session *)self;
	if (s->closing || s->stopping)
		return;
	s->stopping = true;
	if (s->tls_pending) {
		/* Nothing can be said in the middle of a handshake, and drive() would never
		 * reach the closing reply: close now instead of holding the shutdown. */
		log_debug("smtp", "shutdown during tls handshake", "cid=%s", s->rid);
		s->closing = true;
		timer_stop(&s->t_io);
		netconn_close(&s->nc);
		return;
	}
	if (s->wait == SW_AUTH_DELAY || s->wait == SW_LOCALSERVE) {
		/* The delay runs on t_wait, which the grace timer below would re-arm for 30 s;
		 * no credentials were checked (or nothing is being stored) yet, so end the
		 * command with the closing reply. */
		s->wait = SW_NONE;
		timer_stop(&s->t_wait);
		smtp_server_close_with(s->eng, 421, "4.3.2 service shutting down");
		smtp_session_drive(s);
		return;
	}
	if (s->wait == SW_NONE && !smtp_server_in_data(s->eng) && smtp_server_shutdown(s->eng)) {
		smtp_session_drive(s);
		return;
	}
	timer_start(&s->t_wait, SMTP_SESSION_SHUTDOWN_MS);
}

static void on_dns_other(struct actor *self, const struct msg *m, const void *p)
{
	smtp_session_on_authdns((struct smtp_session *)self, m, p);
}

static const struct actor_kind session_kind = {
	.name = "smtp_session",
	.start = session_start,
	.free_fn = session_free,
	.on = {
		[DNS_MSG_ADDR_RES] = smtp_session_on_addr,
		[DNS_MSG_MX_RES] = smtp_session_on_mx,
		[DNS_MSG_TXT_RES] = on_dns_other,
		[DNS_MSG_PTR_RES] = on_dns_other,
		[SMTP_MSG_AUTHCHECK_RES] = smtp_session_on_authcheck,
		[QUEUE_MSG_ADD_RES] = smtp_session_on_queued,
		[MAILBOX_MSG_DELIVER_RES] = smtp_session_on_delivered,
		ACTOR_ON(CORE_MSG_STOP_CMD, on_stop),
	},
};

static void make_rid(char out[17])
{
	uint8_t r[12];
	if (getrandom(r, sizeof r, 0) != sizeof r)
		panic("getrandom failed");
	struct buf b;
	buf_init(&b);
	base64url_encode(&b, slice_of(r, sizeof r));
	memcpy(out, b.p, 16);
	out[16] = 0;
	buf_free(&b);
}

static void setup_engine(struct smtp_session *s)
{
	const struct conf_listener *l = s->ep->l;
	struct server *srv = server_get();
	struct smtp_server_cfg *c = &s->cfg;
	memset(c, 0, sizeof *c);
	c->kind = s->ep->svc == SMTP_SVC_MX ? SMTP_SERVER_MX : SMTP_SERVER_SUBMISSION;
	c->hostname = l->hostname;
	c->receivedid = s->rid;
	c->max_message_size = (uint64_t)l->smtp_max_message_size;
	c->rcpt_max = (size_t)srv->st->limits.recipients_per_transaction;
	c->tls_active = s->ep->svc == SMTP_SVC_SUBMISSIONS;
	if (s->ep->svc == SMTP_SVC_MX) {
		c->starttls_offered = s->ep->tls && !l->smtp.no_starttls;
		c->no_requiretls = l->smtp.no_require_tls;
	} else {
		c->starttls_offered = s->ep->tls != NULL;
		c->no_require_starttls = l->submission.no_require_starttls;
		for (int i = 0; i < SMTP_SESSION_NMECHS; i++)
			s->mechs[i] = all_mechs[i];
		c->auth_mechs = s->mechs;
		c->n_auth_mechs = SMTP_SESSION_NMECHS;
		c->relay_client = s->relay_client;
	}
	c->cmd_cb = smtp_session_metrics_cmd_cb;
	c->cmd_ctx = s;
	s->eng = smtp_server_new(c);
}

void smtp_session_spawn(int fd, const struct smtp_endpoint *ep, const struct netaddr *peer, uint16_t port,
                        bool relay, enum connlimit_verdict v, struct worker *w)
{
	smtp_session_metrics_init();
	struct smtp_session *s = xcalloc(1, sizeof *s);
	s->auth_mech = -1;
	s->ep = ep;
	s->peer = *peer;
	s->peer_port = port;
	netaddr_format(peer, s->peer_str);
	s->relay_client = relay;
	s->counted = !relay && v == CONNLIMIT_OK;
	make_rid(s->rid);
	buf_init(&s->data);
	netconn_init(&s->nc, fd, &conn_ops, s);
	setup_engine(s);
	reset_account(s);
	atomic_fetch_add(&nsessions, 1);
	metric_add(smtp_session_metrics.sessions, 1);
	metric_add(smtp_session_metrics.connections[ep->svc], 1);
	if (v != CONNLIMIT_OK)
		metric_add(smtp_session_metrics.refused[v == CONNLIMIT_TOO_MANY ? 0 : 1], 1);
	if (v != CONNLIMIT_OK)
		smtp_server_close_with(s->eng, 421, v == CONNLIMIT_TOO_MANY
		                                        ? "4.7.0 too many open connections from your ip or network"
		                                        : "4.7.0 connection rate from your ip or network too high, slow down please");
	log_debug("smtp", "connection", "cid=%s ip=%s port=%u svc=%d relay=%d", s->rid, s->peer_str, port, ep->svc,
	          relay);
	actor_spawn(&s->a, &session_kind, w);
}
