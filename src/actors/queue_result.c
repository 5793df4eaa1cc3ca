/* Delivery results (queue.md §4, §5, §8): QUEUE_MSG_RESULT_EVT, settled per attempt.
 *
 * DESIGN: results are collected per group (the records accounted by one
 * ATTEMPT_REQ) and settled when every record of the group has its result or
 * was released by DONE. Settling is ONE batch: the completed MsgResult and
 * DialedIPs of each record, retirement of delivered and failed records, their
 * msgdata reference drops, and the DSNs (one per BaseID and kind), so a crash
 * can never produce a DSN twice or lose one (badinput.md #73). A result for a
 * record whose last result is not "delivering..." (the router skipped the
 * ATTEMPT_REQ, e.g. a suppressed recipient) gets its attempt accounted here. */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/dsn.h"

/* One DSN entry collected while building the batch. */
struct pend_dsn {
	int kind;
	int64_t base;  /* BaseID, or the record id when 0 */
	size_t rec;    /* index into the loaded records */
	const char *error;
};

struct settle {
	struct queue_group *g;
	struct store_queue_rec *recs;
	const struct queue_result **res;
	size_t n;
	struct pend_dsn *dsn;
	size_t ndsn;
};

static void result_free(struct queue_result *r)
{
	free(r->secode);
	free(r->error);
	for (size_t i = 0; i < r->nreply; i++)
		free(r->reply[i]);
	free(r->reply);
	free(r->host);
	free(r->ip);
}

void queue_group_free(struct queue_group *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		result_free(&g->r[i]);
	free(g->r);
	free(g);
}

static void result_copy(struct queue_result *d, const struct queue_result_evt *p)
{
	d->have = true;
	d->outcome = (int)p->outcome;
	d->code = (int)p->code;
	d->secode = slice_strdup(p->secode);
	d->error = slice_strdup(p->error);
	d->nreply = p->reply.n;
	d->reply = xcalloc(p->reply.n ? p->reply.n : 1, sizeof *d->reply);
	for (uint32_t i = 0; i < p->reply.n; i++)
		d->reply[i] = slice_strdup(p->reply.v[i]);
	d->host = slice_strdup(p->remote_host);
	d->ip = slice_strdup(p->remote_ip);
	d->remote_dsn = p->remote_dsn;
	d->family_retry = p->family_retry;
	d->duration_ms = p->duration_ms;
}

void queue_result_evt(struct actor *self, const struct msg *m, const struct queue_result_evt *p)
{
	struct queue *q = (struct queue *)self;
	if (p->outcome >= 0 && p->outcome <= 3)
		metric_add(q->m_res[p->outcome], 1);
	struct queue_flight *f = queue_idmap_get(&q->flight, p->id);
	if (f && f->g) {
		struct queue_result *slot = &f->g->r[f->slot];
		if (slot->filled)
			return; /* a second result for one attempt: the first one counts */
		result_copy(slot, p);
		slot->filled = true;
		if (++f->g->nfilled == f->g->n)
			queue_result_settle(q, f->g);
		return;
	}
	if (p->outcome == QUEUE_NOT_ATTEMPTED) {
		if (f)
			f->given_back = true;
		return;
	}
	/* Not accounted through us in this flight: settle it on its own. */
	struct queue_group *g = xcalloc(1, sizeof *g);
	g->n = g->nfilled = 1;
	g->r = xcalloc(1, sizeof *g->r);
	g->r[0].id = p->id;
	g->r[0].filled = true;
	result_copy(&g->r[0], p);
	queue_result_settle(q, g);
}

/* Completes the last result of r from res (or with error text err). */
static void complete_result(struct store_queue_rec *r, const struct queue_result *res, int64_t now)
{
	struct store_msg_result *v = r->results.v;
	if (r->results.n == 0)
		queue_store_add_result(r, now, QUEUE_ERR_DELIVERING), v = r->results.v;
	struct store_msg_result *last = &v[r->results.n - 1];
	last->duration_ms = res->duration_ms > 0 ? res->duration_ms : now - last->start;
	last->success = res->outcome == QUEUE_DELIVERED;
	last->code = res->code;
	free(last->secode);
	free(last->error);
	last->secode = xstrdup(res->secode ? res->secode : "");
	last->error = xstrdup(res->error && *res->error ? res->error
	                      : res->outcome == QUEUE_DELIVERED ? ""
	                      : res->outcome == QUEUE_NOT_ATTEMPTED ? "not attempted" : "delivery failed");
}

/* Records the dialed IP under its host in DialedIPs. */
static void add_dialed(struct store_queue_rec *r, const char *host, const char *ip)
{
	if (!host || !*host || !ip || !*ip)
		return;
	struct store_ipmap *m = &r->dialed_ips;
	struct store_ipmap_ent *e = NULL;
	for (uint32_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].host, host) == 0)
			e = &m->v[i];
	if (!e) {
		if (m->n >= STORE_CAP_HOSTS)
			return;
		m->v = xrealloc(m->v, (m->n + 1) * sizeof *m->v);
		e = &m->v[m->n++];
		memset(e, 0, sizeof *e);
		e->host = xstrdup(host);
	}
	for (uint32_t i = 0; i < e->ips.n; i++)
		if (strcmp(e->ips.v[i], ip) == 0)
			return;
	if (e->ips.n >= STORE_REC_IPS_MAX)
		return;
	e->ips.v = xrealloc(e->ips.v, (e->ips.n + 1) * sizeof *e->ips.v);
	e->ips.v[e->ips.n++] = xstrdup(ip);
}

static bool last_is_delivering(const struct store_queue_rec *r)
{
	const struct store_msg_result *v = r->results.v;
	return r->results.n > 0 && v[r->results.n - 1].duration_ms == 0 && v[r->results.n - 1].error &&
	       strcmp(v[r->results.n - 1].error, QUEUE_ERR_DELIVERING) == 0;
}

static void want_dsn(struct settle *st, int kind, size_t i, const char *error)
{
	const struct store_queue_rec *r = &st->recs[i];
	if (!queue_dsn_wanted(r->notify, kind))
		return;
	st->dsn = xrealloc(st->dsn, (st->ndsn + 1) * sizeof *st->dsn);
	st->dsn[st->ndsn++] = (struct pend_dsn){kind, r->base_id ? r->base_id : r->id, i, error};
}

static void settle_free(struct settle *st)
{
	for (size_t i = 0; i < st->n; i++)
		store_codec_free(&store_rec_queue, &st->recs[i]);
	free(st->recs);
	free(st->res);
	free(st->dsn);
	st->recs = NULL;
	st->res = NULL;
	st->dsn = NULL;
	st->n = st->ndsn = 0;
}

/* Applies one result to record i; adds the writes to b. Returns -1 when retired, else 0. */
static int apply(struct queue *q, struct settle *st, size_t i, struct store_batch *b, struct queue_refs *rf,
                 int64_t now, int64_t jitter, const struct conf_domains *dc, int64_t *dhold)
{
	struct store_queue_rec *r = &st->recs[i];
	const struct queue_result *res = st->res[i];
	struct store_queue_rec old = {.id = r->id, .hold = r->hold, .next_attempt = r->next_attempt};
	if (!last_is_delivering(r))
		queue_account(q, r, now, jitter);
	complete_result(r, res, now);
	add_dialed(r, res->host, res->ip);
	int outcome = res->outcome;
	if (outcome == QUEUE_PERMANENT && res->family_retry && r->attempts == 1)
		outcome = QUEUE_TEMPORARY;
	bool retire = false, success = false;
	if (outcome == QUEUE_DELIVERED) {
		retire = success = true;
		if (!res->remote_dsn)
			want_dsn(st, DSN_RELAYED, i, res->error);
	} else if (outcome == QUEUE_PERMANENT ||
	           (outcome == QUEUE_TEMPORARY && r->attempts >= queue_max_attempts(q, r))) {
		retire = true;
		want_dsn(st, DSN_FAILED, i, res->error);
	} else if (outcome == QUEUE_TEMPORARY && r->attempts == q->st->queue.delayed_dsn_after_attempt &&
	           !r->is_dmarc_report && !r->is_tls_report) {
		want_dsn(st, DSN_DELAYED, i, res->error);
	}
	if (retire) {
		*dhold -= r->hold;
		queue_store_retire(q, b, rf, r, success, now, dc);
		return -1;
	}
	if (queue_store_put(q, b, &old, r) != 0)
		log_error("queue", "record over its caps after a result; left as it was", "id=%lld", (long long)r->id);
	return 0;
}

/* Builds one DSN per (kind, BaseID) from the pending entries. */
static void make_dsns(struct queue *q, struct settle *st, struct store_batch *b, struct mailbox_deliveries **mb,
                      int64_t now, const struct conf_domains *dc)
{
	bool *used = xcalloc(st->ndsn ? st->ndsn : 1, sizeof *used);
	struct queue_dsn_rcpt *rc = xcalloc(st->ndsn ? st->ndsn : 1, sizeof *rc);
	for (size_t i = 0; i < st->ndsn; i++) {
		if (used[i])
			continue;
		size_t n = 0;
		for (size_t j = i; j < st->ndsn; j++)
			if (!used[j] && st->dsn[j].kind == st->dsn[i].kind && st->dsn[j].base == st->dsn[i].base) {
				used[j] = true;
				rc[n++] = (struct queue_dsn_rcpt){&st->recs[st->dsn[j].rec], st->res[st->dsn[j].rec],
				                                  st->dsn[j].error};
			}
		if (queue_dsn_make(q, b, mb, st->dsn[i].kind, rc, n, now, dc) != 0)
			log_error("queue", "cannot make a DSN", "id=%lld", (long long)rc[0].r->id);
	}
	free(used);
	free(rc);
}

/* The group is settled (or given up): its records may be scheduled again. */
static void settle_end(struct queue *q, struct queue_group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		if (queue_idmap_get(&q->settling, g->r[i].id) == g)
			queue_idmap_del(&q->settling, g->r[i].id);
		/* The router may still hold the record (its DONE comes later): forget the group there. */
		struct queue_flight *f = queue_idmap_get(&q->flight, g->r[i].id);
		if (f && f->g == g)
			f->g = NULL;
	}
	queue_group_free(g);
}

static void settle_done(struct queue *q, int code, const char *err, void *arg)
{
	struct queue_group *g = arg;
	if (code != 0)
		log_error("queue", "results not stored; the records keep their attempt state", "n=%zu", g->n);
	settle_end(q, g);
	queue_wake(q, false);
}

static void settle_run(struct queue *q, void *arg);

/* Loads the records with a result; parks on any locked id. Returns 0, or 1 when parked. */
static int settle_load(struct queue *q, struct queue_group *g, struct settle *st)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->r[i].have && queue_busy(q, g->r[i].id)) {
			queue_park(q, g->r[i].id, settle_run, g);
			return 1;
		}
	st->recs = xcalloc(g->n, sizeof *st->recs);
	st->res = xcalloc(g->n, sizeof *st->res);
	for (size_t i = 0; i < g->n; i++) {
		const struct queue_result *res = &g->r[i];
		if (!res->have)
			continue;
		if (queue_store_load(q, res->id, &st->recs[st->n]) != 0) {
			store_codec_free(&store_rec_queue, &st->recs[st->n]);
			continue; /* gone meanwhile (admin drop), or quarantined */
		}
		if (queue_busy(q, st->recs[st->n].data_id)) {
			queue_park(q, st->recs[st->n].data_id, settle_run, g);
			st->n++;
			settle_free(st);
			return 1;
		}
		st->res[st->n++] = res;
	}
	return 0;
}

static void settle_run(struct queue *q, void *arg)
{
	struct queue_group *g = arg;
	struct settle st = {.g = g};
	if (settle_load(q, g, &st))
		return;
	if (st.n == 0) {
		settle_free(&st);
		settle_end(q, g);
		return;
	}
	struct conf_domains *dc = conf_domains_acquire();
	int64_t now = clock_wall_ms(), jitter = queue_jitter(q), dsize = 0, dhold = 0;
	struct store_batch *b = store_batch_new();
	struct queue_refs rf = {0};
	uint64_t *lock = xmalloc(2 * st.n * sizeof *lock);
	for (size_t i = 0; i < st.n; i++) {
		lock[2 * i] = (uint64_t)st.recs[i].id;
		lock[2 * i + 1] = st.recs[i].data_id;
		if (st.res[i]->outcome == QUEUE_NOT_ATTEMPTED && !last_is_delivering(&st.recs[i]))
			continue; /* given back before its attempt was accounted: nothing to record */
		if (apply(q, &st, i, b, &rf, now, jitter, dc, &dhold) < 0)
			dsize--;
	}
	struct mailbox_deliveries *mb = NULL;
	make_dsns(q, &st, b, &mb, now, dc);
	int r = queue_refs_apply(q, b, &rf);
	queue_refs_free(&rf);
	size_t nlock;
	uint64_t *locks = queue_ids_dup(lock, 2 * st.n, &nlock);
	free(lock);
	settle_free(&st);
	conf_domains_release(dc);
	if (r != 0) {
		store_batch_free(b);
		mailbox_deliveries_free(mb);
		free(locks);
		log_error("queue", "cannot read message data meta; results dropped", "err=%d", r);
		settle_end(q, g);
		return;
	}
	queue_commit(q, b, mb, locks, nlock, dsize, dhold, settle_done, g);
}

void queue_result_settle(struct queue *q, struct queue_group *g)
{
	/* Until the batch commits, even while parked, the scheduler must not hand these out again. */
	for (size_t i = 0; i < g->n; i++)
		if (g->r[i].have)
			queue_idmap_put(&q->settling, g->r[i].id, g);
	settle_run(q, g);
}
