/* Attempt accounting (queue.md §3): QUEUE_MSG_ATTEMPT_REQ from the router.
 *
 * DESIGN: just before records go to a connection (or their DNS failed), their
 * Attempts, LastAttempt, NextAttempt and a "delivering..." result are written
 * in ONE synced batch, and only then does the router get QUEUE_MSG_ATTEMPT_RES
 * and send SMTP commands: a crash can cause a duplicate delivery but never an
 * early retry (badinput.md #72). One jitter value per request keeps the
 * records of one attempt together for the next one (§9 gathers by
 * NextAttempt). The accounted records become one group whose results are
 * settled together (one DSN per BaseID, §5). */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"

struct attempt_ctx {
	uint64_t to, req_id;
	uint64_t *ids;   /* requested */
	size_t n;
	uint64_t *done;  /* accounted */
	size_t ndone;
};

static void attempt_reply(struct queue *q, struct attempt_ctx *c, int64_t code)
{
	struct queue_attempt_res res = {.code = code, .ids = {.v = c->done, .n = code ? 0 : (uint32_t)c->ndone}};
	if (c->to)
		QUEUE_MSG_ATTEMPT_RES_send(c->to, &q->a, &res, &(struct actor_send_opts){.req_id = c->req_id, .force = true});
	free(c->ids);
	free(c->done);
	free(c);
}

/* A new group for the accounted records; flight entries point at their slots. */
static void make_group(struct queue *q, const uint64_t *ids, size_t n)
{
	struct queue_group *g = xcalloc(1, sizeof *g);
	g->n = n;
	g->r = xcalloc(n, sizeof *g->r);
	for (size_t i = 0; i < n; i++) {
		g->r[i].id = ids[i];
		struct queue_flight *f = queue_idmap_get(&q->flight, ids[i]);
		if (f && !f->g) {
			f->g = g;
			f->slot = i;
		} else {
			g->r[i].filled = true; /* already released: settle without a result */
			g->nfilled++;
		}
	}
	if (g->nfilled == g->n)
		queue_result_settle(q, g);
}

static void attempt_done(struct queue *q, int code, const char *err, void *arg)
{
	struct attempt_ctx *c = arg;
	if (code == 0) {
		/* Records already in a group (asked twice in one flight) stay in theirs. */
		uint64_t *fresh = xmalloc((c->ndone ? c->ndone : 1) * sizeof *fresh);
		size_t nf = 0;
		for (size_t i = 0; i < c->ndone; i++) {
			struct queue_flight *f = queue_idmap_get(&q->flight, c->done[i]);
			if (!f || !f->g)
				fresh[nf++] = c->done[i];
		}
		if (nf)
			make_group(q, fresh, nf);
		free(fresh);
	}
	attempt_reply(q, c, code);
}

static void attempt_run(struct queue *q, void *arg)
{
	struct attempt_ctx *c = arg;
	for (size_t i = 0; i < c->n; i++)
		if (queue_busy(q, c->ids[i])) {
			queue_park(q, c->ids[i], attempt_run, c);
			return;
		}
	int64_t now = clock_wall_ms(), jitter = queue_jitter(q);
	struct store_batch *b = store_batch_new();
	c->done = xmalloc((c->n ? c->n : 1) * sizeof *c->done);
	c->ndone = 0;
	size_t nwrites = 0;
	for (size_t i = 0; i < c->n; i++) {
		uint64_t id = c->ids[i];
		struct queue_flight *f = queue_idmap_get(&q->flight, id);
		if (!f)
			continue; /* not handed out by us: never account it */
		if (f->g) {
			c->done[c->ndone++] = id; /* accounted earlier in this flight */
			continue;
		}
		struct store_queue_rec r = {0};
		if (queue_store_load(q, id, &r) != 0 || r.hold) {
			store_codec_free(&store_rec_queue, &r);
			continue;
		}
		struct store_queue_rec old = {.id = r.id, .hold = r.hold, .next_attempt = r.next_attempt};
		queue_account(q, &r, now, jitter);
		if (queue_store_put(q, b, &old, &r) == 0) {
			c->done[c->ndone++] = id;
			nwrites++;
		}
		store_codec_free(&store_rec_queue, &r);
	}
	if (nwrites == 0) {
		store_batch_free(b);
		attempt_reply(q, c, 0);
		return;
	}
	size_t nlock;
	uint64_t *lock = queue_ids_dup(c->done, c->ndone, &nlock);
	queue_commit(q, b, NULL, lock, nlock, 0, 0, attempt_done, c);
}

void queue_attempt_req(struct actor *self, const struct msg *m, const struct queue_attempt_req *p)
{
	struct queue *q = (struct queue *)self;
	struct attempt_ctx *c = xcalloc(1, sizeof *c);
	c->to = m->from;
	c->req_id = m->req_id;
	c->n = p->ids.n;
	c->ids = xmalloc((p->ids.n ? p->ids.n : 1) * sizeof *c->ids);
	if (p->ids.n)
		memcpy(c->ids, p->ids.v, p->ids.n * sizeof *c->ids);
	attempt_run(q, c);
}
