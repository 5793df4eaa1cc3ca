/* The scheduler (queue.md §3, §9, §12): hands due records to the delivery router.
 *
 * DESIGN: the store's next-attempt index is the schedule; nothing is loaded
 * at start-up. A pass reads the index in slices of QUEUE_SCAN_BATCH from a
 * cursor, up to "now", and dispatches each record that is not in flight, not
 * locked and not cooling down, with the records gathered for combined
 * delivery. Memory is the in-flight set (at most flight_max records, the
 * credit) plus one slice, whatever the queue length. When the credit runs out
 * the cursor stays, and DELIVERY_MSG_DONE_EVT resumes from it; at the end of
 * the due entries the cursor goes back to the start. Between passes the
 * scheduler sleeps until the earliest NextAttempt, at most QUEUE_SLEEP_MAX_MS
 * so that a wall-clock step is noticed; the credit is what keeps a forward
 * step from becoming a storm (badinput.md #77). An index entry whose record is
 * gone (or quarantined), held, or at another NextAttempt is stale and removed. */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_dname.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store_iter.h"

/* Index slices per pass before yielding to other messages. */
#define QUEUE_PASS_SLICES 16

static void sched_timer_cb(struct timer *t)
{
	queue_sched_pass(t->ctx);
}

void queue_sched_init(struct queue *q)
{
	timer_init(&q->sched_timer, sched_timer_cb, q);
	q->cooldown_rot = clock_mono_ms();
	queue_wake(q, true);
}

void queue_wake(struct queue *q, bool reset)
{
	if (reset) {
		q->cur_ms = 0;
		q->cur_id = 0;
	}
	if (q->stopping || q->pass_posted)
		return;
	q->pass_posted = true;
	timer_start(&q->sched_timer, 0);
}

static bool cooling(struct queue *q, uint64_t id)
{
	return queue_idmap_get(&q->cooldown, id) || queue_idmap_get(&q->cooldown_old, id);
}

static void cooldown_rotate(struct queue *q, int64_t mono)
{
	if (mono - q->cooldown_rot < QUEUE_COOLDOWN_MS)
		return;
	queue_idmap_free(&q->cooldown_old);
	q->cooldown_old = q->cooldown;
	memset(&q->cooldown, 0, sizeof q->cooldown);
	q->cooldown_rot = mono;
}

/* The transport for r's next attempt: its own, else the first matching route (§12). */
static const char *resolve_transport(const struct conf_domains *dc, const struct store_queue_rec *r)
{
	if (r->transport && *r->transport)
		return r->transport;
	if (!dc)
		return "";
	const struct conf_account *acc = r->sender_account ? conf_account_get(dc, r->sender_account) : NULL;
	char from[CONF_DNAME_MAX + 1] = "", to[CONF_DNAME_MAX + 1] = "";
	const char *sd = r->sender_domain ? r->sender_domain : "", *rd = r->recipient_domain ? r->recipient_domain : "";
	if (conf_dname_key(sd, strlen(sd), from, sizeof from) < 0)
		from[0] = 0;
	if (conf_dname_key(rd, strlen(rd), to, sizeof to) < 0)
		snprintf(to, sizeof to, "%s", rd);
	const struct conf_route *rt = conf_route_find(dc, acc, from, to, r->attempts);
	return rt && rt->transport ? rt->transport : "";
}

static void stale_done(struct queue *q, int code, const char *err, void *ctx)
{
}

/* Removes an index entry that points at no matching record. */
static void drop_stale(struct queue *q, const struct store_due *e)
{
	struct store_batch *b = store_batch_new();
	struct store_key k;
	store_key_qdue(&k, e->next_ms, e->id);
	store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
	uint64_t *ids = xmalloc(sizeof *ids);
	ids[0] = e->id;
	log_info("queue", "removing a stale next-attempt index entry", "id=%llu", (unsigned long long)e->id);
	queue_commit(q, b, NULL, ids, 1, 0, 0, stale_done, NULL);
}

/* Whether record s may go in the same attempt as m0 (§9). */
static bool gatherable(const struct store_queue_rec *m0, const struct store_queue_rec *s, const char *t0,
                       const struct conf_domains *dc)
{
	return s->attempts == m0->attempts && !s->hold && s->next_attempt <= m0->next_attempt &&
	       s->require_tls == m0->require_tls && strcmp(resolve_transport(dc, s), t0) == 0;
}

/* Adds to ids the records of m0's BaseID that go with it. */
static void gather(struct queue *q, const struct conf_domains *dc, const struct store_queue_rec *m0,
                   const char *t0, uint64_t *ids, size_t *n)
{
	struct store_key pk;
	store_key_qbase(&pk, (uint64_t)m0->base_id, 0);
	pk.len = 9;
	struct store_iter *it = store_iter_prefix(q->s, STORE_CF_QUEUE, store_key_slice(&pk));
	const char *dom = m0->recipient_domain ? m0->recipient_domain : "";
	int examined = 0;
	for (; store_iter_valid(it) && examined < QUEUE_GATHER_SCAN; store_iter_next(it), examined++) {
		if (*n >= QUEUE_GATHER_MAX || q->nflight + (int64_t)*n >= q->flight_max)
			break;
		struct slice k = store_iter_key(it), v = store_iter_value(it);
		if (k.len != 17)
			continue;
		uint64_t sid = store_key_u64_at(k, 9);
		if (sid == (uint64_t)m0->id || v.len != strlen(dom) || strncasecmp((const char *)v.p, dom, v.len) != 0)
			continue;
		if (queue_idmap_get(&q->flight, sid) || queue_idmap_get(&q->settling, sid) || queue_busy(q, sid) ||
		    cooling(q, sid))
			continue;
		struct store_queue_rec s = {0};
		if (queue_store_load(q, sid, &s) == 0 && gatherable(m0, &s, t0, dc))
			ids[(*n)++] = sid;
		store_codec_free(&store_rec_queue, &s);
	}
	store_iter_free(it);
}

/* Dispatches the record of index entry e with its gathered records. Returns 0, or -EAGAIN when
 * the router cannot take work now (stop the pass). */
static int dispatch(struct queue *q, const struct conf_domains *dc, const struct store_due *e, uint64_t router)
{
	struct store_queue_rec m0 = {0};
	int r = queue_store_load(q, e->id, &m0);
	if (r == -ENOENT || r == -EBADMSG || (r == 0 && (m0.hold || m0.next_attempt != e->next_ms))) {
		store_codec_free(&store_rec_queue, &m0);
		drop_stale(q, e);
		return 0;
	}
	if (r)
		return -EAGAIN;
	const char *t0 = resolve_transport(dc, &m0);
	uint64_t *ids = xmalloc(QUEUE_GATHER_MAX * sizeof *ids);
	size_t n = 1;
	ids[0] = e->id;
	if (m0.base_id)
		gather(q, dc, &m0, t0, ids, &n);
	const char *rd = m0.recipient_domain ? m0.recipient_domain : "";
	char dom[CONF_DNAME_MAX + 1];
	if (conf_dname_key(rd, strlen(rd), dom, sizeof dom) < 0)
		snprintf(dom, sizeof dom, "%s", rd);
	struct delivery_work_req w = {.ids = {.v = ids, .n = (uint32_t)n}, .transport = slice_str(t0),
	                              .domain = slice_str(dom), .attempt = m0.attempts + 1};
	r = DELIVERY_MSG_WORK_REQ_send(router, &q->a, &w, NULL);
	store_codec_free(&store_rec_queue, &m0);
	if (r != 0) {
		free(ids);
		return -EAGAIN;
	}
	for (size_t i = 0; i < n; i++)
		queue_idmap_put(&q->flight, ids[i], xcalloc(1, sizeof(struct queue_flight)));
	q->nflight += (int64_t)n;
	free(ids);
	return 0;
}

void queue_sched_lower(struct queue *q, int64_t due_ms)
{
	if (due_ms == INT64_MAX)
		return;
	if (due_ms < 0)
		due_ms = 0; /* keys clamp times at 0 */
	if (due_ms < q->low_ms || (due_ms == q->low_ms && q->low_id > 0)) {
		q->low_ms = due_ms;
		q->low_id = 0;
	}
	/* An entry due already is the due scan's (it starts at low); next_ms is about later ones. */
	if (due_ms < q->next_ms && due_ms > clock_wall_ms())
		q->next_ms = due_ms;
}

/* Reads the next slice of due entries. The scan starts after the cursor, or at the low mark
 * when that is further on; a scan from the low mark raises it to the first live entry. */
static int scan_due(struct queue *q, int64_t now, struct store_due *due)
{
	bool at_start = q->cur_ms == 0 && q->cur_id == 0;
	bool from_low = at_start || q->low_ms > q->cur_ms || (q->low_ms == q->cur_ms && q->low_id > q->cur_id);
	int64_t after_ms = q->cur_ms;
	uint64_t after_id = q->cur_id;
	if (from_low) { /* "after" the entry just before low */
		after_ms = q->low_id ? q->low_ms : q->low_ms > 0 ? q->low_ms - 1 : 0;
		after_id = q->low_id ? q->low_id - 1 : q->low_ms > 0 ? UINT64_MAX : 0;
	}
	int n = store_iter_due(q->s, after_ms, after_id, now, due, QUEUE_SCAN_BATCH);
	if (from_low && n > 0) {
		q->low_ms = due[0].next_ms;
		q->low_id = due[0].id;
	} else if (from_low && n == 0) {
		q->low_ms = now + 1;
		q->low_id = 0;
	}
	return n;
}

/* Delay until the earliest entry after now, at most QUEUE_SLEEP_MAX_MS. Seeks only when the
 * last known bound has been reached: between seeks, commits lower next_ms. */
static int64_t next_delay(struct queue *q, int64_t now)
{
	if (q->next_ms <= now) {
		struct store_due next;
		int k = store_iter_due(q->s, now, UINT64_MAX, now + QUEUE_SLEEP_MAX_MS, &next, 1);
		if (k < 0)
			return QUEUE_RETRY_MS;
		q->next_ms = k == 1 ? next.next_ms : now + QUEUE_SLEEP_MAX_MS + 1;
		if (q->low_ms == now + 1 && q->low_id == 0) { /* that seek started at low */
			q->low_ms = q->next_ms;
			q->low_id = k == 1 ? next.id : 0;
		}
	}
	return q->next_ms - now;
}

/* Runs slices of the index from the cursor. Returns the delay until the next pass. */
static int64_t pass(struct queue *q, uint64_t router, const struct conf_domains *dc)
{
	int64_t now = clock_wall_ms();
	struct store_due due[QUEUE_SCAN_BATCH];
	for (int slice = 0; slice < QUEUE_PASS_SLICES; slice++) {
		if (q->nflight >= q->flight_max)
			return QUEUE_SLEEP_MAX_MS; /* DONE events resume us */
		int n = scan_due(q, now, due);
		if (n < 0)
			return QUEUE_RETRY_MS;
		for (int i = 0; i < n; i++) {
			if (q->nflight >= q->flight_max)
				return QUEUE_SLEEP_MAX_MS;
			uint64_t id = due[i].id;
			if (queue_idmap_get(&q->flight, id) || queue_idmap_get(&q->settling, id) || queue_busy(q, id) ||
			    cooling(q, id)) {
				q->skipped = true;
			} else if (dispatch(q, dc, &due[i], router) != 0) {
				return QUEUE_RETRY_MS; /* the cursor stays before this entry */
			}
			q->cur_ms = due[i].next_ms;
			q->cur_id = id;
		}
		if (n < QUEUE_SCAN_BATCH) {
			q->cur_ms = 0;
			q->cur_id = 0;
			int64_t d = next_delay(q, now);
			if (q->skipped && d > QUEUE_COOLDOWN_MS)
				d = QUEUE_COOLDOWN_MS;
			q->skipped = false;
			return d < 0 ? 0 : d > QUEUE_SLEEP_MAX_MS ? QUEUE_SLEEP_MAX_MS : d;
		}
	}
	return 0; /* more due entries: continue after other messages */
}

void queue_sched_pass(struct queue *q)
{
	q->pass_posted = false;
	if (q->stopping)
		return;
	cooldown_rotate(q, clock_mono_ms());
	uint64_t router = queue_router();
	int64_t delay = QUEUE_SLEEP_MAX_MS;
	if (router) {
		struct conf_domains *dc = conf_domains_acquire();
		delay = pass(q, router, dc);
		conf_domains_release(dc);
	}
	metric_set(q->m_inflight, q->nflight);
	metric_set(q->m_mem, (int64_t)(queue_idmap_bytes(&q->flight) + queue_idmap_bytes(&q->busy) +
	                               queue_idmap_bytes(&q->waiters) + queue_idmap_bytes(&q->cooldown) +
	                               queue_idmap_bytes(&q->cooldown_old) + queue_idmap_bytes(&q->commits) + queue_idmap_bytes(&q->settling) +
	                               (size_t)q->nflight * sizeof(struct queue_flight)));
	timer_start(&q->sched_timer, delay);
}

void queue_done_evt(struct actor *self, const struct msg *m, const struct delivery_done_evt *p)
{
	struct queue *q = (struct queue *)self;
	uint64_t *cancel[2] = {NULL, NULL};
	size_t ncancel[2] = {0, 0};
	for (uint32_t i = 0; i < p->ids.n; i++) {
		uint64_t id = p->ids.v[i];
		struct queue_flight *f = queue_idmap_del(&q->flight, id);
		if (!f)
			continue;
		q->nflight--;
		if (f->g) {
			struct queue_group *g = f->g;
			if (!g->r[f->slot].filled) {
				g->r[f->slot].filled = true;
				if (++g->nfilled == g->n)
					queue_result_settle(q, g);
			}
		} else {
			queue_idmap_put(&q->cooldown, id, (void *)1);
		}
		if (f->cancel == QUEUE_OP_FAIL || f->cancel == QUEUE_OP_DROP) {
			int c = f->cancel == QUEUE_OP_DROP;
			cancel[c] = xrealloc(cancel[c], (ncancel[c] + 1) * sizeof(uint64_t));
			cancel[c][ncancel[c]++] = id;
		}
		free(f);
	}
	for (int c = 0; c < 2; c++)
		if (ncancel[c]) {
			queue_ops_cancel(q, cancel[c], ncancel[c], c ? QUEUE_OP_DROP : QUEUE_OP_FAIL);
			free(cancel[c]);
		}
	queue_wake(q, false);
}
