/* The queue actor: start and stop, commits, id locks, gauges.
 *
 * DESIGN: the queue is the only writer of queue state, but its batches commit
 * asynchronously (group commit), so several may be outstanding at once. Every
 * write is computed from the committed state in the store, never from an
 * in-memory copy: each batch locks the record ids and msgdata ids it changes,
 * and any work that needs a locked id parks itself on that id and is re-run
 * from scratch when the id unlocks (after the commit reply). So a failed
 * commit (disk full) leaves the store exactly as it was and later work reads
 * the truth; nothing in memory has to be rolled back. Batches with DSNs go
 * through the mailbox store actor, which adds the mailbox entries and commits. */
#include "actors/queue_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server.h"

/* Weak: the server may not be linked (tests); then the peers come from queue_set_peers. */
#pragma weak server_get
#include "actors/store_committer.h"
#include "conf/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store_iter.h"

struct queue_commit {
	uint64_t *ids;
	size_t nids;
	int64_t dsize, dhold;
	int64_t due;              /* earliest next-attempt entry the batch puts, INT64_MAX none */
	queue_commit_fn *done;
	void *ctx;
};

static _Atomic uint64_t queue_id;
static _Atomic uint64_t peer_router, peer_mailbox;
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv = PTHREAD_COND_INITIALIZER;
static bool stopped;

uint64_t queue_actor_id(void)
{
	return atomic_load(&queue_id);
}

void queue_set_peers(uint64_t router, uint64_t mailbox)
{
	atomic_store(&peer_router, router);
	atomic_store(&peer_mailbox, mailbox);
}

uint64_t queue_router(void)
{
	uint64_t r = atomic_load(&peer_router);
	struct server *sv = server_get ? server_get() : NULL;
	return r ? r : sv ? sv->router : 0;
}

uint64_t queue_mailbox(void)
{
	uint64_t r = atomic_load(&peer_mailbox);
	struct server *sv = server_get ? server_get() : NULL;
	return r ? r : sv ? sv->mailbox : 0;
}

int64_t queue_interval(const struct queue *q, int n)
{
	const struct conf_durs *d = &q->st->queue.retry_intervals;
	if (d->n == 0)
		return 7 * 60 * 1000 + 30 * 1000;
	size_t i = n < 1 ? 0 : (size_t)(n - 1);
	return d->v[i < d->n ? i : d->n - 1];
}

int64_t queue_jitter(struct queue *q)
{
	uint64_t x = q->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	q->rng = x;
	return (int64_t)(x % (2 * QUEUE_JITTER_MS + 1)) - QUEUE_JITTER_MS;
}

void queue_account(struct queue *q, struct store_queue_rec *r, int64_t now, int64_t jitter)
{
	r->attempts++;
	r->last_attempt = now;
	r->next_attempt = now + queue_interval(q, r->attempts) + jitter;
	queue_store_add_result(r, now, QUEUE_ERR_DELIVERING);
}

int queue_max_attempts(const struct queue *q, const struct store_queue_rec *r)
{
	if (r->max_attempts > 0)
		return r->max_attempts;
	size_t n = q->st->queue.retry_intervals.n;
	return (int)(n ? n : 7) + 1;
}

/* ---- locks and parked work ---- */

bool queue_busy(const struct queue *q, uint64_t id)
{
	return queue_idmap_get(&q->busy, id) != NULL;
}

static void lock_id(struct queue *q, uint64_t id)
{
	uintptr_t n = (uintptr_t)queue_idmap_get(&q->busy, id);
	queue_idmap_put(&q->busy, id, (void *)(n + 1));
}

/* Unlocks id; when free, runs the work parked on it (which may park again). */
static void unlock_id(struct queue *q, uint64_t id)
{
	uintptr_t n = (uintptr_t)queue_idmap_get(&q->busy, id);
	if (n > 1) {
		queue_idmap_put(&q->busy, id, (void *)(n - 1));
		return;
	}
	queue_idmap_del(&q->busy, id);
	struct queue_wait *w = queue_idmap_del(&q->waiters, id);
	while (w) {
		struct queue_wait *next = w->next;
		void (*fn)(struct queue *, void *) = w->fn;
		void *ctx = w->ctx;
		free(w);
		fn(q, ctx);
		w = next;
	}
}

void queue_park(struct queue *q, uint64_t id, void (*fn)(struct queue *q, void *ctx), void *ctx)
{
	struct queue_wait *w = xcalloc(1, sizeof *w);
	w->fn = fn;
	w->ctx = ctx;
	struct queue_wait *head = queue_idmap_get(&q->waiters, id);
	if (!head) {
		queue_idmap_put(&q->waiters, id, w);
		return;
	}
	while (head->next)
		head = head->next;
	head->next = w;
}

/* ---- commits ---- */

void queue_maybe_stopped(struct queue *q)
{
	if (!q->stopping || q->commits.n || q->jobs || q->in_commit_cb)
		return;
	atomic_store(&queue_id, 0);
	pthread_mutex_lock(&stop_mu);
	stopped = true;
	pthread_cond_broadcast(&stop_cv);
	pthread_mutex_unlock(&stop_mu);
	actor_stop(&q->a);
}

void queue_commit(struct queue *q, struct store_batch *b, struct mailbox_deliveries *mb, uint64_t *ids,
                  size_t nids, int64_t dsize, int64_t dhold, queue_commit_fn *done, void *ctx)
{
	struct queue_commit *c = xcalloc(1, sizeof *c);
	c->ids = ids;
	c->nids = nids;
	c->dsize = dsize;
	c->dhold = dhold;
	c->due = q->build_due;
	q->build_due = INT64_MAX;
	c->done = done;
	c->ctx = ctx;
	for (size_t i = 0; i < nids; i++)
		lock_id(q, ids[i]);
	uint64_t req = ++q->next_req;
	queue_idmap_put(&q->commits, req, c);
	struct actor_send_opts o = {.req_id = req, .force = true};
	int r;
	if (mb && mb->n) {
		struct mailbox_deliver_req p = {.batch = b, .list = mb};
		r = MAILBOX_MSG_DELIVER_REQ_send(queue_mailbox(), &q->a, &p, &o);
	} else {
		mailbox_deliveries_free(mb);
		mb = NULL;
		struct store_commit_req p = {.batch = b};
		r = STORE_MSG_COMMIT_REQ_send(q->committer, &q->a, &p, &o);
	}
	if (r != 0) {
		store_batch_free(b);
		mailbox_deliveries_free(mb);
		log_error("queue", "cannot send a batch to commit", "err=%d", r);
		/* Complete it as a failed commit, after the caller returned. */
		struct store_commit_res res = {.code = r, .error = slice_str("commit request not sent")};
		STORE_MSG_COMMIT_RES_send(q->a.id, &q->a, &res, &o);
	}
}

static void commit_res(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	struct queue *q = (struct queue *)self;
	struct queue_commit *c = queue_idmap_del(&q->commits, m->req_id);
	if (!c) {
		log_error("queue", "commit reply for no request", "req=%llu", (unsigned long long)m->req_id);
		return;
	}
	char err[1025];
	snprintf(err, sizeof err, "%.*s", (int)p->error.len, (const char *)p->error.p);
	if (p->code != 0) {
		char qe[1100];
		log_error("queue", "commit failed", "code=%lld err=%s", (long long)p->code, log_quote(qe, sizeof qe, p->error));
	}
	else {
		q->nrecs += c->dsize;
		q->nheld += c->dhold;
		metric_set(q->m_msgs, q->nrecs);
		metric_set(q->m_hold, q->nheld);
	}
	queue_sched_lower(q, c->due); /* visible now (or never: lowering is always safe) */
	q->in_commit_cb = true; /* the actor must outlive this handler */
	if (c->done)
		c->done(q, (int)p->code, err, c->ctx);
	for (size_t i = 0; i < c->nids; i++)
		unlock_id(q, c->ids[i]);
	q->in_commit_cb = false;
	free(c->ids);
	free(c);
	queue_maybe_stopped(q);
}

/* ---- gauges: counted in steps at start-up from the two indexes (keys only) ---- */

static void count_step_cb(struct timer *t)
{
	struct queue *q = t->ctx;
	if (!q->count_it) {
		uint8_t kind = q->count_phase == 0 ? STORE_K_QDUE : STORE_K_QHELD;
		q->count_it = store_iter_prefix(q->s, STORE_CF_QUEUE, slice_of(&kind, 1));
	}
	int n = 0;
	size_t want = q->count_phase == 0 ? 17 : 9;
	for (; n < QUEUE_COUNT_STEP && store_iter_valid(q->count_it); store_iter_next(q->count_it), n++) {
		if (store_iter_key(q->count_it).len != want)
			continue;
		q->nrecs++;
		q->nheld += q->count_phase == 1;
	}
	metric_set(q->m_msgs, q->nrecs);
	metric_set(q->m_hold, q->nheld);
	if (n == QUEUE_COUNT_STEP) {
		timer_start(&q->count_timer, 0);
		return;
	}
	store_iter_free(q->count_it);
	q->count_it = NULL;
	if (++q->count_phase < 2)
		timer_start(&q->count_timer, 0);
}

static void metrics_init(struct queue *q)
{
	q->m_msgs = metric_gauge("tern_queue_messages", "", "Records in the queue.");
	q->m_hold = metric_gauge("tern_queue_hold", "", "Held records in the queue.");
	static const char *res[4] = {"delivered", "temporary", "permanent", "notattempted"};
	for (int i = 0; i < 4; i++) {
		char l[64];
		snprintf(l, sizeof l, "result=\"%s\"", res[i]);
		q->m_res[i] = metric_counter("tern_queue_deliveries_total", l, "Delivery results by outcome.");
	}
	q->m_inflight = metric_gauge("tern_queue_inflight", "", "Records handed to the delivery router.");
	q->m_mem = metric_gauge("tern_queue_memory_bytes", "",
	                        "Bytes of the queue's in-memory tables (in flight, locks, waiters, cool-down).");
}

/* ---- start and stop ---- */

static void queue_start_cb(struct actor *self)
{
	struct queue *q = (struct queue *)self;
	metrics_init(q);
	if (queue_holdrule_load(q) != 0)
		log_error("queue", "cannot read the hold rules; none apply until restart", "n=%zu", q->nrules);
	/* The iterator's snapshot is taken before any batch of ours can commit, so the count
	 * plus the deltas of later commits is exact. */
	timer_init(&q->count_timer, count_step_cb, q);
	uint8_t kind = STORE_K_QDUE;
	q->count_it = store_iter_prefix(q->s, STORE_CF_QUEUE, slice_of(&kind, 1));
	timer_start(&q->count_timer, 0);
	queue_sched_init(q);
	queue_cleanup_init(q);
	log_info("queue", "started", "flight_max=%lld rules=%zu", (long long)q->flight_max, q->nrules);
}

static void kick_cmd(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	queue_wake((struct queue *)self, true);
}

static void stop_cmd(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct queue *q = (struct queue *)self;
	q->stopping = true;
	timer_stop(&q->sched_timer);
	timer_stop(&q->cleanup_timer);
	timer_stop(&q->count_timer);
	store_iter_free(q->count_it);
	q->count_it = NULL;
	queue_maybe_stopped(q); /* else after the last commit reply or operation step */
}

static void queue_free_cb(struct actor *self)
{
	struct queue *q = (struct queue *)self;
	/* Stopped with no commit outstanding, so nothing is parked; release what is in flight
	 * (the records keep their stored state). A group is freed with its last open slot. */
	for (size_t i = 0; i < q->flight.cap; i++) {
		struct queue_flight *f = q->flight.keys[i] ? q->flight.vals[i] : NULL;
		if (f && f->g && !f->g->r[f->slot].filled) {
			f->g->r[f->slot].filled = true;
			if (++f->g->nfilled == f->g->n)
				queue_group_free(f->g);
		}
		free(f);
	}
	queue_idmap_free(&q->flight);
	queue_idmap_free(&q->settling);
	queue_idmap_free(&q->commits);
	queue_idmap_free(&q->busy);
	queue_idmap_free(&q->waiters);
	queue_idmap_free(&q->fromids);
	queue_idmap_free(&q->cooldown);
	queue_idmap_free(&q->cooldown_old);
	queue_holdrule_free_all(q);
	free(q);
}

static const struct actor_kind queue_kind = {
	.name = "queue",
	.start = queue_start_cb,
	.free_fn = queue_free_cb,
	.on =
		{
			ACTOR_ON(QUEUE_MSG_ADD_REQ, queue_add_req),
			ACTOR_ON(QUEUE_MSG_ATTEMPT_REQ, queue_attempt_req),
			ACTOR_ON(QUEUE_MSG_RESULT_EVT, queue_result_evt),
			ACTOR_ON(DELIVERY_MSG_DONE_EVT, queue_done_evt),
			ACTOR_ON(QUEUE_MSG_KICK_CMD, kick_cmd),
			ACTOR_ON(QUEUE_MSG_OP_REQ, queue_op_req),
			ACTOR_ON(STORE_MSG_COMMIT_RES, commit_res),
			ACTOR_ON(MAILBOX_MSG_DELIVER_RES, commit_res),
			ACTOR_ON(CORE_MSG_STOP_CMD, stop_cmd),
		},
};

uint64_t queue_start(struct store *s, uint64_t committer, const struct conf_static *st, struct worker *w)
{
	struct queue *q = xcalloc(1, sizeof *q);
	q->s = s;
	q->committer = committer;
	q->st = st;
	q->rng = (uint64_t)clock_mono_ns() | 1;
	q->build_due = INT64_MAX; /* low_ms, low_id, next_ms 0: the first passes scan from the start */
	int64_t fm = st->queue.max_connections * QUEUE_FLIGHT_PER_CONN;
	q->flight_max = fm < QUEUE_FLIGHT_MIN ? QUEUE_FLIGHT_MIN : fm > QUEUE_FLIGHT_MAX ? QUEUE_FLIGHT_MAX : fm;
	pthread_mutex_lock(&stop_mu);
	stopped = false;
	pthread_mutex_unlock(&stop_mu);
	actor_set_mailbox_cap(&q->a, 1u << 20);
	uint64_t id = actor_spawn(&q->a, &queue_kind, w ? w : worker_spawn_dedicated("tern-queue"));
	atomic_store(&queue_id, id);
	return id;
}

void queue_stop(void)
{
	uint64_t id = queue_actor_id();
	if (!id)
		return;
	if (CORE_MSG_STOP_CMD_send(id, NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true}) != 0)
		return;
	pthread_mutex_lock(&stop_mu);
	while (!stopped)
		pthread_cond_wait(&stop_cv, &stop_mu);
	pthread_mutex_unlock(&stop_mu);
}
