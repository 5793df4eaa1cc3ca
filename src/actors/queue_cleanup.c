/* Retired-record cleanup (queue.md §8): a few seconds after start, then hourly.
 *
 * DESIGN: the retired column family's keep-until index lists records in
 * expiry order, so a cleanup reads only what has expired, in chunks of
 * QUEUE_CLEANUP_CHUNK records per batch (one step per message loop turn).
 * With each retired record go its keep-until, last-activity and FromID keys
 * (the FromID key only while it still names this record). */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_iter.h"

static void cleanup_step(struct queue *q);

static void cleanup_timer_cb(struct timer *t)
{
	cleanup_step(t->ctx);
}

void queue_cleanup_init(struct queue *q)
{
	timer_init(&q->cleanup_timer, cleanup_timer_cb, q);
	timer_start(&q->cleanup_timer, QUEUE_CLEANUP_FIRST_MS);
}

static void cleanup_done(struct queue *q, int code, const char *err, void *arg)
{
	uintptr_t more = (uintptr_t)arg;
	if (q->stopping)
		return;
	if (code != 0)
		timer_start(&q->cleanup_timer, QUEUE_CLEANUP_EVERY_MS);
	else
		timer_start(&q->cleanup_timer, more ? 0 : QUEUE_CLEANUP_EVERY_MS);
}

/* Adds the deletion of retired record id (expiring at keep) and its index keys to b. */
static void delete_one(struct queue *q, struct store_batch *b, int64_t keep, uint64_t id)
{
	struct store_key k;
	store_key_rkeep(&k, keep, id);
	store_batch_delete(b, STORE_CF_RETIRED, store_key_slice(&k));
	store_key_rrec(&k, id);
	struct store_retired_rec r = {0};
	int rc = store_load(q->s, STORE_CF_RETIRED, store_key_slice(&k), &store_rec_retired, &r);
	store_batch_delete(b, STORE_CF_RETIRED, store_key_slice(&k));
	if (rc != 0)
		return; /* gone or quarantined: only the index entry is left to remove */
	store_key_rlast(&k, r.last_activity, id);
	store_batch_delete(b, STORE_CF_RETIRED, store_key_slice(&k));
	if (r.q.from_id && *r.q.from_id && store_key_fromid(&k, slice_str(r.q.from_id)) == 0) {
		struct buf v;
		buf_init(&v);
		if (store_get(q->s, STORE_CF_RETIRED, store_key_slice(&k), &v) == 0 && v.len == 8 && be64_get(v.p) == id)
			store_batch_delete(b, STORE_CF_RETIRED, store_key_slice(&k));
		buf_free(&v);
	}
	store_codec_free(&store_rec_retired, &r);
}

static void cleanup_step(struct queue *q)
{
	if (q->stopping)
		return;
	int64_t now = clock_wall_ms();
	uint8_t kind = STORE_K_RKEEP;
	struct store_iter *it = store_iter_prefix(q->s, STORE_CF_RETIRED, slice_of(&kind, 1));
	struct store_batch *b = store_batch_new();
	int n = 0;
	bool more = false;
	for (; store_iter_valid(it); store_iter_next(it)) {
		struct slice k = store_iter_key(it);
		if (k.len != 17)
			continue;
		int64_t keep = (int64_t)store_key_u64_at(k, 1);
		if (keep > now)
			break;
		if (n == QUEUE_CLEANUP_CHUNK) {
			more = true;
			break;
		}
		delete_one(q, b, keep, store_key_u64_at(k, 9));
		n++;
	}
	int rc = store_iter_status(it);
	store_iter_free(it);
	if (rc != 0 || n == 0) {
		store_batch_free(b);
		timer_start(&q->cleanup_timer, QUEUE_CLEANUP_EVERY_MS);
		return;
	}
	log_info("queue", "removing expired retired records", "n=%d", n);
	queue_commit(q, b, NULL, NULL, 0, 0, 0, cleanup_done, (void *)(uintptr_t)more);
}
