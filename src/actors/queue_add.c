/* Adding records (queue.md §2): ids, Queued, BaseID, first NextAttempt, hold
 * rules and FromID uniqueness, in the submitter's batch.
 *
 * DESIGN: the submitter's batch already holds the message data; the records
 * and their indexes join it, so data and records commit in one synced
 * WriteBatch (smtp.md §6). FromID uniqueness is checked against the queue and
 * retired column families and against adds of ours not yet committed (kept
 * as hashes in memory until their commit replies). */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"

/* Most records one add may carry (the reply lists their ids). */
#define QUEUE_ADD_MAX 100000
#define QUEUE_FROMID_ERR "5.1.7 bad fromid in smtp mail from address: fromid not unique"

struct add_ctx {
	uint64_t to, req_id;
	uint64_t *ids;
	size_t n;
	uint64_t *fromids; /* hashes counted in q->fromids */
	size_t nfromids;
	int64_t min_next;
};

struct queue_add *queue_add_new(size_t n)
{
	struct queue_add *a = xcalloc(1, sizeof *a);
	a->recs = xcalloc(n ? n : 1, sizeof *a->recs);
	a->n = n;
	for (size_t i = 0; i < n; i++)
		a->recs[i].require_tls = -1;
	return a;
}

void queue_add_free(struct queue_add *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		store_codec_free(&store_rec_queue, &a->recs[i]);
	free(a->recs);
	free(a);
}

static uint64_t fromid_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h | 1;
}

static void reply(struct queue *q, uint64_t to, uint64_t req_id, int64_t code, const char *err, int64_t smtp,
                  const uint64_t *ids, size_t n)
{
	if (!to)
		return;
	struct queue_add_res res = {.code = code, .error = slice_str(err ? err : ""), .smtp_code = smtp,
	                            .ids = {.v = (uint64_t *)ids, .n = (uint32_t)n}};
	QUEUE_MSG_ADD_RES_send(to, &q->a, &res, &(struct actor_send_opts){.req_id = req_id, .force = true});
}

/* Whether fromid is already used: in this submission (before index i), by an add not yet
 * committed, in the queue or among retired records. */
static bool fromid_taken(struct queue *q, const struct queue_add *a, size_t i)
{
	const char *f = a->recs[i].from_id;
	for (size_t j = 0; j < i; j++)
		if (a->recs[j].from_id && strcmp(a->recs[j].from_id, f) == 0)
			return true;
	if (queue_idmap_get(&q->fromids, fromid_hash(f)))
		return true;
	struct store_key k;
	if (store_key_fromid(&k, slice_str(f)) != 0)
		return true;
	struct buf v;
	buf_init(&v);
	bool taken = store_get(q->s, STORE_CF_QUEUE, store_key_slice(&k), &v) != -ENOENT ||
	             store_get(q->s, STORE_CF_RETIRED, store_key_slice(&k), &v) != -ENOENT;
	buf_free(&v);
	return taken;
}

static bool same_submission(const struct store_queue_rec *a, const struct store_queue_rec *b)
{
	return !(a->from_id && *a->from_id) && !(b->from_id && *b->from_id) &&
	       strcmp(a->sender_localpart ? a->sender_localpart : "", b->sender_localpart ? b->sender_localpart : "") == 0 &&
	       strcmp(a->sender_domain ? a->sender_domain : "", b->sender_domain ? b->sender_domain : "") == 0 &&
	       a->msg_prefix.len == b->msg_prefix.len &&
	       (a->msg_prefix.len == 0 || memcmp(a->msg_prefix.p, b->msg_prefix.p, a->msg_prefix.len) == 0);
}

static void add_done(struct queue *q, int code, const char *err, void *arg)
{
	struct add_ctx *c = arg;
	for (size_t i = 0; i < c->nfromids; i++) {
		uintptr_t n = (uintptr_t)queue_idmap_get(&q->fromids, c->fromids[i]);
		if (n > 1)
			queue_idmap_put(&q->fromids, c->fromids[i], (void *)(n - 1));
		else
			queue_idmap_del(&q->fromids, c->fromids[i]);
	}
	if (code == 0) {
		reply(q, c->to, c->req_id, 0, "", 0, c->ids, c->n);
		queue_wake(q, c->min_next < q->cur_ms);
	} else if (code == -ENOSPC) {
		reply(q, c->to, c->req_id, code, "4.3.1 insufficient system storage", 452, NULL, 0);
	} else {
		reply(q, c->to, c->req_id, code, "4.3.0 error storing message", 451, NULL, 0);
	}
	free(c->ids);
	free(c->fromids);
	free(c);
}

/* Assigns ids, times, BaseID and Hold; returns the number held. */
static int64_t assign(struct queue *q, struct queue_add *a, uint64_t *ids, int64_t now)
{
	int64_t held = 0;
	size_t nsame = 0;
	for (size_t i = 0; i < a->n; i++)
		nsame += i > 0 && same_submission(&a->recs[0], &a->recs[i]);
	for (size_t i = 0; i < a->n; i++) {
		struct store_queue_rec *r = &a->recs[i];
		ids[i] = store_next_id(q->s);
		r->id = (int64_t)ids[i];
		r->queued = now;
		r->next_attempt = r->next_attempt > 0 ? r->next_attempt : now;
		r->attempts = 0;
		r->last_attempt = 0;
		for (uint32_t j = 0; j < r->results.n; j++)
			store_codec_free(&store_rec_result, &((struct store_msg_result *)r->results.v)[j]);
		free(r->results.v);
		r->results.v = NULL;
		r->results.n = 0;
		r->base_id = 0;
		r->hold = queue_holdrule_any(q, r);
		held += r->hold;
	}
	if (nsame > 0) {
		a->recs[0].base_id = (int64_t)ids[0];
		for (size_t i = 1; i < a->n; i++)
			if (same_submission(&a->recs[0], &a->recs[i]))
				a->recs[i].base_id = (int64_t)ids[0];
	}
	return held;
}

void queue_add_req(struct actor *self, const struct msg *m, const struct queue_add_req *p)
{
	struct queue *q = (struct queue *)self;
	struct store_batch *b = p->batch;
	struct queue_add *a = p->recs;
	if (!b || !a || a->n == 0 || a->n > QUEUE_ADD_MAX || q->stopping) {
		reply(q, m->from, m->req_id, q->stopping ? -ESHUTDOWN : -EINVAL,
		      q->stopping ? "4.3.2 service shutting down" : "4.3.0 error storing message", 451, NULL, 0);
		store_batch_free(b);
		queue_add_free(a);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->recs[i].from_id && *a->recs[i].from_id && fromid_taken(q, a, i)) {
			reply(q, m->from, m->req_id, -EEXIST, QUEUE_FROMID_ERR, 554, NULL, 0);
			store_batch_free(b);
			queue_add_free(a);
			return;
		}
	int64_t now = clock_wall_ms();
	uint64_t *ids = xmalloc(a->n * sizeof *ids);
	int64_t held = assign(q, a, ids, now);
	struct add_ctx *c = xcalloc(1, sizeof *c);
	c->to = m->from;
	c->req_id = m->req_id;
	c->ids = ids;
	c->n = a->n;
	c->min_next = INT64_MAX;
	for (size_t i = 0; i < a->n; i++) {
		struct store_queue_rec *r = &a->recs[i];
		if (queue_store_put(q, b, NULL, r) != 0) {
			reply(q, m->from, m->req_id, -E2BIG, "5.3.4 message header fields too large", 554, NULL, 0);
			store_batch_free(b);
			queue_add_free(a);
			free(c->fromids);
			free(c->ids);
			free(c);
			return;
		}
		if (!r->hold && r->next_attempt < c->min_next)
			c->min_next = r->next_attempt;
		if (r->from_id && *r->from_id) {
			c->fromids = xrealloc(c->fromids, (c->nfromids + 1) * sizeof *c->fromids);
			c->fromids[c->nfromids++] = fromid_hash(r->from_id);
		}
	}
	for (size_t i = 0; i < c->nfromids; i++) {
		uintptr_t n = (uintptr_t)queue_idmap_get(&q->fromids, c->fromids[i]);
		queue_idmap_put(&q->fromids, c->fromids[i], (void *)(n + 1));
	}
	int64_t n = (int64_t)a->n;
	queue_add_free(a);
	queue_commit(q, b, NULL, NULL, 0, n, held, add_done, c);
}
