/* Test harness for the queue actor: a real store in a temp dir, the real
 * committer, mailbox store and queue actors on the worker pool, a client actor
 * that receives replies, and a router peer that plays the delivery router's
 * side of the protocol (WORK_REQ in; ATTEMPT_REQ, RESULT_EVT, DONE_EVT out).
 *
 * The router is a test peer of an internal actor: it speaks the real message
 * protocol to the real queue. In AUTO mode it accounts every record it is
 * handed, reports the outcome chosen by qt_outcome_fn and releases them. */
#ifndef TERN_TESTS_QUEUE_TESTLIB_H
#define TERN_TESTS_QUEUE_TESTLIB_H

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "../store/store_tmp.h"
#include "actors/mailbox_store.h"
#include "actors/queue.h"
#include "actors/store_committer.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_iter.h"
#include "store/store_msgdata.h"

#define QT_WAIT_S 20 /* longest wait for any condition */

static const char QT_TCONF[] =
	"Hostname: mail.example.com\n"
	"DataDir: data\n"
	"Postmaster: {Account: admin, Mailbox: Postmaster}\n"
	"Listeners: {local: {IPs: [127.0.0.1]}}\n"
	"Transports: {relay: {SMTP: {Host: relay.example}}}\n"
	"Queue: {RetryIntervals: [1s, 2s, 3s, 4s, 5s, 6s, 7s], MaxConnections: 50}\n";

/* Minute-sized intervals: tests move the wall clock to reach each attempt. */
static const char QT_TCONF_MIN[] =
	"Hostname: mail.example.com\n"
	"DataDir: data\n"
	"Postmaster: {Account: admin, Mailbox: Postmaster}\n"
	"Listeners: {local: {IPs: [127.0.0.1]}}\n"
	"Transports: {relay: {SMTP: {Host: relay.example}}}\n"
	"Queue: {RetryIntervals: [1m, 2m, 3m, 4m, 5m, 6m, 7m], MaxConnections: 50}\n";

static const char QT_DCONF[] =
	"Domains:\n"
	"  example.com: {}\n"
	"Accounts:\n"
	"  admin:\n"
	"    Domain: example.com\n"
	"    Destinations: {admin@example.com: {}}\n"
	"  app:\n"
	"    Domain: example.com\n"
	"    Destinations: {app@example.com: {}}\n"
	"    KeepRetiredMessagePeriod: 1h\n"
	"    Routes: [{ToDomain: [corp.example], Transport: relay}]\n"
	"  nokeep:\n"
	"    Domain: example.com\n"
	"    Destinations: {nokeep@example.com: {}}\n";

/* ---- the result chosen for a record (AUTO router) ---- */
struct qt_result {
	int outcome;
	int code;
	const char *secode, *error;
	const char *reply[4];
	int nreply;
	bool remote_dsn;
};
typedef void qt_outcome_fn(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r);

static inline void qt_outcome_delivered(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r)
{
	*r = (struct qt_result){.outcome = 0, .code = 250, .secode = "0.0", .error = "", .reply = {"250 2.0.0 ok"}, .nreply = 1};
}

static inline void qt_outcome_temp(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r)
{
	*r = (struct qt_result){.outcome = 1, .code = 451, .secode = "2.0", .error = "remote: 451 4.2.0 mailbox busy",
	                        .reply = {"451 4.2.0 mailbox busy"}, .nreply = 1};
}

static inline void qt_outcome_perm(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r)
{
	*r = (struct qt_result){.outcome = 2, .code = 550, .secode = "1.1", .error = "remote: 550 5.1.1 no such user",
	                        .reply = {"550-5.1.1 no such user", "550 5.1.1 try another"}, .nreply = 2};
}

/* ---- shared state of the peers ---- */
static pthread_mutex_t qt_mu = PTHREAD_MUTEX_INITIALIZER;

#define QT_WORK_MAX 4096
struct qt_work {
	uint64_t *ids;
	uint32_t n;
	char transport[64], domain[256];
	int64_t attempt;
};

struct qt_router {
	struct actor a;
	bool manual;                  /* record only */
	qt_outcome_fn *outcome;
	struct qt_work work[QT_WORK_MAX];
	int nwork;
	int64_t inflight, max_inflight, handed, results, attempt_res;
	uint64_t *last_accounted;     /* ids of the last ATTEMPT_RES */
	uint32_t nlast_accounted;
	uint64_t pending_req;
	struct qt_work pending[QT_WORK_MAX]; /* AUTO: by req id % QT_WORK_MAX */
};

struct qt_client {
	struct actor a;
	int64_t add_code, add_smtp, op_code, op_count;
	uint64_t op_id;
	char add_err[256], op_err[256];
	uint64_t *add_ids;
	uint32_t nadd_ids;
	int nadd, nop, ndeliver;
	int64_t deliver_code;
};

/* A copy of n ids (never NULL). */
static inline uint64_t *qt_dup_ids(const uint64_t *v, uint32_t n)
{
	uint64_t *d = xcalloc(n ? n : 1, sizeof *d);
	if (n)
		memcpy(d, v, n * sizeof *d);
	return d;
}

static struct qt_router *qt_r;
static struct qt_client *qt_c;

static inline void qt_router_work(struct actor *self, const struct msg *m, const struct delivery_work_req *p)
{
	struct qt_router *r = (struct qt_router *)self;
	pthread_mutex_lock(&qt_mu);
	struct qt_work w = {.ids = qt_dup_ids(p->ids.v, p->ids.n), .n = p->ids.n, .attempt = p->attempt};
	snprintf(w.transport, sizeof w.transport, "%.*s", (int)p->transport.len, (const char *)p->transport.p);
	snprintf(w.domain, sizeof w.domain, "%.*s", (int)p->domain.len, (const char *)p->domain.p);
	if (r->nwork < QT_WORK_MAX) {
		r->work[r->nwork++] = w;
		w.ids = qt_dup_ids(w.ids, w.n);
	}
	r->inflight += p->ids.n;
	r->handed += p->ids.n;
	if (r->inflight > r->max_inflight)
		r->max_inflight = r->inflight;
	bool manual = r->manual;
	uint64_t req = ++r->pending_req;
	if (!manual)
		r->pending[req % QT_WORK_MAX] = w;
	else
		free(w.ids);
	pthread_mutex_unlock(&qt_mu);
	if (!manual) {
		struct queue_attempt_req a = {.ids = {.v = p->ids.v, .n = p->ids.n}};
		QUEUE_MSG_ATTEMPT_REQ_send(m->from, self, &a, &(struct actor_send_opts){.req_id = req});
	}
}

static inline void qt_send_result(uint64_t queue, struct actor *from, uint64_t id, const struct qt_result *res)
{
	struct slice lines[4];
	for (int i = 0; i < res->nreply; i++)
		lines[i] = slice_str(res->reply[i]);
	struct queue_result_evt e = {.id = id, .outcome = res->outcome, .code = res->code,
	                             .secode = slice_str(res->secode ? res->secode : ""),
	                             .error = slice_str(res->error ? res->error : ""),
	                             .reply = {.v = lines, .n = (uint32_t)res->nreply},
	                             .remote_host = slice_str("mx.example.org"), .remote_ip = slice_str("192.0.2.7"),
	                             .remote_dsn = res->remote_dsn, .duration_ms = 12};
	QUEUE_MSG_RESULT_EVT_send(queue, from, &e, NULL);
}

static inline void qt_router_attempt_res(struct actor *self, const struct msg *m, const struct queue_attempt_res *p)
{
	struct qt_router *r = (struct qt_router *)self;
	pthread_mutex_lock(&qt_mu);
	r->attempt_res++;
	free(r->last_accounted);
	r->last_accounted = qt_dup_ids(p->ids.v, p->ids.n);
	r->nlast_accounted = p->ids.n;
	struct qt_work w = {0};
	if (!r->manual) {
		w = r->pending[m->req_id % QT_WORK_MAX];
		r->pending[m->req_id % QT_WORK_MAX].ids = NULL;
	}
	qt_outcome_fn *fn = r->outcome;
	pthread_mutex_unlock(&qt_mu);
	if (!w.ids)
		return;
	for (uint32_t i = 0; i < p->ids.n; i++) {
		struct qt_result res;
		fn(p->ids.v[i], w.domain, w.attempt, &res);
		qt_send_result(m->from, self, p->ids.v[i], &res);
	}
	struct delivery_done_evt d = {.ids = {.v = w.ids, .n = w.n}};
	DELIVERY_MSG_DONE_EVT_send(m->from, self, &d, NULL);
	pthread_mutex_lock(&qt_mu);
	r->results += p->ids.n;
	r->inflight -= w.n;
	pthread_mutex_unlock(&qt_mu);
	free(w.ids);
}

static const struct actor_kind qt_router_kind = {
	.name = "test_router",
	.on = {ACTOR_ON(DELIVERY_MSG_WORK_REQ, qt_router_work), ACTOR_ON(QUEUE_MSG_ATTEMPT_RES, qt_router_attempt_res)},
};

static inline void qt_client_add(struct actor *self, const struct msg *m, const struct queue_add_res *p)
{
	struct qt_client *c = (struct qt_client *)self;
	pthread_mutex_lock(&qt_mu);
	c->add_code = p->code;
	c->add_smtp = p->smtp_code;
	snprintf(c->add_err, sizeof c->add_err, "%.*s", (int)p->error.len, (const char *)p->error.p);
	free(c->add_ids);
	c->add_ids = qt_dup_ids(p->ids.v, p->ids.n);
	c->nadd_ids = p->ids.n;
	c->nadd++;
	pthread_mutex_unlock(&qt_mu);
}

static inline void qt_client_op(struct actor *self, const struct msg *m, const struct queue_op_res *p)
{
	struct qt_client *c = (struct qt_client *)self;
	pthread_mutex_lock(&qt_mu);
	c->op_code = p->code;
	c->op_count = p->count;
	c->op_id = p->id;
	snprintf(c->op_err, sizeof c->op_err, "%.*s", (int)p->error.len, (const char *)p->error.p);
	c->nop++;
	pthread_mutex_unlock(&qt_mu);
}

static inline void qt_client_deliver(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	struct qt_client *c = (struct qt_client *)self;
	pthread_mutex_lock(&qt_mu);
	c->deliver_code = p->code;
	c->ndeliver++;
	pthread_mutex_unlock(&qt_mu);
}

static const struct actor_kind qt_client_kind = {
	.name = "test_client",
	.on = {ACTOR_ON(QUEUE_MSG_ADD_RES, qt_client_add), ACTOR_ON(QUEUE_MSG_OP_RES, qt_client_op),
	       ACTOR_ON(MAILBOX_MSG_DELIVER_RES, qt_client_deliver)},
};

/* ---- waiting ---- */
static inline void qt_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits until cond(arg) holds, at most QT_WAIT_S; returns whether it held. */
static inline bool qt_wait(bool (*cond)(void *), void *arg)
{
	for (int i = 0; i < QT_WAIT_S * 200; i++) {
		pthread_mutex_lock(&qt_mu);
		bool ok = cond(arg);
		pthread_mutex_unlock(&qt_mu);
		if (ok)
			return true;
		qt_sleep_ms(5);
	}
	return false;
}

static inline bool qt_cond_int_ge(void *arg)
{
	const int64_t *p = ((const int64_t **)arg)[0], *want = ((const int64_t **)arg)[1];
	return *p >= *want;
}

/* Waits until *p (an int64 field under qt_mu) reaches want. */
static inline bool qt_wait_ge(int64_t *p, int64_t want)
{
	const int64_t *a[2] = {p, &want};
	return qt_wait(qt_cond_int_ge, a);
}

/* ---- set-up ---- */
struct qt {
	char dir[64];
	struct store *s;
	struct conf_static *st;
	uint64_t committer, mailbox, queue;
};

static bool qt_pool_started;

static inline struct conf_static *qt_conf(const char *tconf, const char *dconf)
{
	struct buf err;
	buf_init(&err);
	struct conf_static *st;
	struct conf_domains *dc;
	if (conf_static_parse("tern.conf", tconf, strlen(tconf), "/tmp", &st, &err) < 0 ||
	    conf_domains_parse("domains.conf", dconf, strlen(dconf), st, "/tmp", &dc, &err) < 0)
		panic("conf: %s", buf_cstr(&err));
	buf_free(&err);
	conf_domains_install(dc);
	return st;
}

/* Opens the store in t->dir and starts committer, mailbox store and queue. */
static inline void qt_start_actors(struct qt *t)
{
	char *err = NULL;
	t->s = store_open(t->dir, &err);
	if (!t->s)
		panic("store_open: %s", err);
	t->committer = store_committer_start(t->s, NULL);
	t->mailbox = mailbox_store_start(t->s, t->committer, NULL);
	queue_set_peers(qt_r->a.id, t->mailbox);
	queue_cmds_set_store(t->s);
	t->queue = queue_start(t->s, t->committer, t->st, NULL);
}

static inline void qt_start_conf(struct qt *t, const char *tconf, const char *dconf, bool manual, qt_outcome_fn *fn)
{
	if (!qt_pool_started) {
		worker_pool_start(2);
		qt_pool_started = true;
		qt_r = xcalloc(1, sizeof *qt_r);
		actor_set_mailbox_cap(&qt_r->a, 1u << 20);
		actor_spawn(&qt_r->a, &qt_router_kind, worker_spawn_dedicated("test-router"));
		qt_c = xcalloc(1, sizeof *qt_c);
		actor_spawn(&qt_c->a, &qt_client_kind, NULL);
	}
	pthread_mutex_lock(&qt_mu);
	qt_r->manual = manual;
	qt_r->outcome = fn ? fn : qt_outcome_delivered;
	for (int i = 0; i < qt_r->nwork; i++)
		free(qt_r->work[i].ids);
	qt_r->nwork = 0;
	qt_r->inflight = qt_r->max_inflight = qt_r->handed = qt_r->results = qt_r->attempt_res = 0;
	pthread_mutex_unlock(&qt_mu);
	t->st = qt_conf(tconf, dconf);
	qt_start_actors(t);
}

static inline void qt_start(struct qt *t, bool manual, qt_outcome_fn *fn)
{
	store_tmp_dir(t->dir);
	qt_start_conf(t, QT_TCONF, QT_DCONF, manual, fn);
}

/* Stops the actors and closes the store (the directory stays). */
static inline void qt_stop_actors(struct qt *t)
{
	queue_stop();
	CORE_MSG_STOP_CMD_send(t->mailbox, NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
	qt_sleep_ms(50);
	store_committer_stop(t->committer);
	queue_cmds_set_store(NULL); /* waits for a command still reading */
	store_close(t->s);
	t->s = NULL;
}

static inline void qt_stop(struct qt *t)
{
	qt_stop_actors(t);
	conf_domains_install(NULL);
	conf_static_free(t->st);
	store_tmp_rm(t->dir);
}

/* ---- adding ---- */
struct qt_rcpt {
	const char *lp, *dom;
};

/* Message data for a submission: a few headers and a body. */
static const char QT_MSG[] = "From: App <app@example.com>\r\nTo: bob@example.org\r\nSubject: Your receipt\r\n"
                             "Message-ID: <orig1@example.com>\r\n\r\nHello Bob.\r\n";

/* Fills a queue_add for one submission (caller may adjust records before qt_add_send). */
static inline struct queue_add *qt_add_new(const char *account, const char *slp, const char *sdom, const struct qt_rcpt *rc,
                                    size_t n, uint64_t data_id)
{
	struct queue_add *a = queue_add_new(n);
	for (size_t i = 0; i < n; i++) {
		struct store_queue_rec *r = &a->recs[i];
		r->sender_account = xstrdup(account);
		r->sender_localpart = xstrdup(slp);
		r->sender_domain = xstrdup(sdom);
		r->recipient_localpart = xstrdup(rc[i].lp);
		r->recipient_domain = xstrdup(rc[i].dom);
		r->message_id = xstrdup("<orig1@example.com>");
		r->subject = xstrdup("Your receipt");
		r->size = (int64_t)strlen(QT_MSG);
		r->data_id = data_id;
	}
	return a;
}

/* Sends an add with the message data in its batch; waits for the reply; returns its code. */
static inline int64_t qt_add_send(struct qt *t, struct queue_add *a)
{
	struct store_batch *b = store_batch_new();
	uint64_t did = a->recs[0].data_id;
	store_msgdata_put(b, did, 0, slice_str(QT_MSG));
	struct store_datameta meta = {.size = (int64_t)strlen(QT_MSG), .chunks = 1, .refs = (int32_t)a->n};
	store_msgdata_commit(b, did, &meta);
	pthread_mutex_lock(&qt_mu);
	int64_t want = qt_c->nadd + 1;
	pthread_mutex_unlock(&qt_mu);
	struct queue_add_req req = {.batch = b, .recs = a};
	if (QUEUE_MSG_ADD_REQ_send(t->queue, &qt_c->a, &req, &(struct actor_send_opts){.req_id = 1}) != 0)
		panic("add send");
	for (int i = 0; i < QT_WAIT_S * 200; i++) {
		pthread_mutex_lock(&qt_mu);
		bool done = qt_c->nadd >= want;
		int64_t code = qt_c->add_code;
		pthread_mutex_unlock(&qt_mu);
		if (done)
			return code;
		qt_sleep_ms(5);
	}
	panic("no add reply");
}

/* Adds one submission from app@example.com; returns the add code. */
static inline int64_t qt_add(struct qt *t, const struct qt_rcpt *rc, size_t n)
{
	return qt_add_send(t, qt_add_new("app", "app", "example.com", rc, n, store_next_id(t->s)));
}

/* Sends an operation and waits for its reply; returns the code (count in qt_c->op_count). */
static inline int64_t qt_op(struct qt *t, struct queue_op *op)
{
	pthread_mutex_lock(&qt_mu);
	int want = qt_c->nop + 1;
	pthread_mutex_unlock(&qt_mu);
	struct queue_op_req req = {.op = op};
	QUEUE_MSG_OP_REQ_send(t->queue, &qt_c->a, &req, NULL);
	for (int i = 0; i < QT_WAIT_S * 200; i++) {
		pthread_mutex_lock(&qt_mu);
		bool done = qt_c->nop >= want;
		int64_t code = qt_c->op_code;
		pthread_mutex_unlock(&qt_mu);
		if (done)
			return code;
		qt_sleep_ms(5);
	}
	panic("no op reply");
}

/* ---- reading the store ---- */
static inline int qt_load(struct qt *t, uint64_t id, struct store_queue_rec *r)
{
	struct store_key k;
	store_key_qrec(&k, id);
	memset(r, 0, sizeof *r);
	return store_load(t->s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, r);
}

static inline int qt_load_retired(struct qt *t, uint64_t id, struct store_retired_rec *r)
{
	struct store_key k;
	store_key_rrec(&k, id);
	memset(r, 0, sizeof *r);
	return store_load(t->s, STORE_CF_RETIRED, store_key_slice(&k), &store_rec_retired, r);
}

static inline bool qt_has(struct qt *t, enum store_cf cf, const struct store_key *k)
{
	struct buf v;
	buf_init(&v);
	int r = store_get(t->s, cf, store_key_slice(k), &v);
	buf_free(&v);
	return r == 0;
}

/* Number of keys of one kind in a column family. */
static inline int qt_count(struct qt *t, enum store_cf cf, uint8_t kind)
{
	struct store_iter *it = store_iter_prefix(t->s, cf, slice_of(&kind, 1));
	int n = 0;
	for (; store_iter_valid(it); store_iter_next(it))
		n++;
	store_iter_free(it);
	return n;
}

/* Mailbox entries (all accounts), in key order: account, mailbox id, uid. */
static inline int qt_mailmsgs(struct qt *t, struct store_mailmsg *out, int max)
{
	uint8_t kind = STORE_K_ACCOUNT;
	struct store_iter *it = store_iter_prefix(t->s, STORE_CF_ACCOUNTS, slice_of(&kind, 1));
	int n = 0;
	for (; store_iter_valid(it); store_iter_next(it)) {
		if (store_rec_schema_for(STORE_CF_ACCOUNTS, store_iter_key(it)) != &store_rec_mailmsg)
			continue;
		char why[64];
		if (n < max && store_codec_decode(&store_rec_mailmsg, store_iter_value(it), &out[n], why, sizeof why) == 0)
			n++;
	}
	store_iter_free(it);
	return n;
}

/* The full stored message of a mailbox entry (prefix + data). */
static inline char *qt_mailmsg_text(struct qt *t, const struct store_mailmsg *m)
{
	struct buf b;
	buf_init(&b);
	buf_append(&b, m->prefix.p, m->prefix.len);
	store_msgdata_read_all(t->s, m->data_id, &b, 1u << 24);
	return buf_cstr(&b);
}

/* Waits until record id left the queue. */
static inline bool qt_wait_gone(struct qt *t, uint64_t id)
{
	struct store_key k;
	store_key_qrec(&k, id);
	for (int i = 0; i < QT_WAIT_S * 200; i++) {
		if (!qt_has(t, STORE_CF_QUEUE, &k))
			return true;
		qt_sleep_ms(5);
	}
	return false;
}

/* Waits until retired record id exists. */
static inline bool qt_wait_retired(struct qt *t, uint64_t id)
{
	struct store_key k;
	store_key_rrec(&k, id);
	for (int i = 0; i < QT_WAIT_S * 200; i++) {
		if (qt_has(t, STORE_CF_RETIRED, &k))
			return true;
		qt_sleep_ms(5);
	}
	return false;
}

/* Moves the wall clock by ms and wakes the queue. */
static inline void qt_advance(struct qt *t, int64_t ms)
{
	clock_wall_advance(ms);
	QUEUE_MSG_KICK_CMD_send(t->queue, NULL, &(struct msg_empty){0}, NULL);
}

static inline int qt_queue_size(struct qt *t)
{
	return qt_count(t, STORE_CF_QUEUE, STORE_K_QREC);
}

#endif
