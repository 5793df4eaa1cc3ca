/* Ordered, filtered walks over queue and retired records (queue.md §7, §8, §13).
 *
 * DESIGN: each sort order has an index: Queued follows the id (ids are
 * handed out in queue order), NextAttempt is the scheduler's index for
 * records not held, LastActivity is the retired `l` index. Held records have
 * no time index, so their (NextAttempt, id) pairs are read and sorted in
 * memory and merged into the next-attempt walk. Records are decoded one at a
 * time and streamed to the callback; index entries whose record is gone are
 * skipped. */
#include "actors/queue_fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/store_iter.h"
#include "store/store_rec.h"

struct pair {
	int64_t t;
	uint64_t id;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Loads and filters one record; calls fn. Returns false to stop. */
static bool visit(struct store *s, enum store_cf cf, uint64_t id, const struct queue_filter *f, int64_t *left,
                  queue_walk_fn *fn, void *arg)
{
	if (f->ids && !queue_filter_has_id(f, id))
		return true;
	struct store_key k;
	bool retired = cf == STORE_CF_RETIRED;
	if (retired)
		store_key_rrec(&k, id);
	else
		store_key_qrec(&k, id);
	union {
		struct store_queue_rec q;
		struct store_retired_rec r;
	} rec;
	memset(&rec, 0, sizeof rec);
	const struct store_schema *sch = retired ? &store_rec_retired : &store_rec_queue;
	if (store_load(s, cf, store_key_slice(&k), sch, &rec) != 0)
		return true;
	bool ok = retired ? queue_filter_match_retired(f, &rec.r) : queue_filter_match(f, &rec.q);
	bool go = true;
	if (ok) {
		go = fn(&rec, arg);
		if (--*left == 0)
			go = false;
	}
	store_codec_free(sch, &rec);
	return go;
}

/* Walks the keys of one kind (ids at offset off) in order. */
static int walk_index(struct store *s, enum store_cf cf, uint8_t kind, size_t keylen, size_t off, bool asc,
                      const struct pair *extra, size_t nextra, const struct queue_filter *f, int64_t *left,
                      queue_walk_fn *fn, void *arg)
{
	struct store_iter *it = store_iter_prefix(s, cf, slice_of(&kind, 1));
	if (!asc)
		store_iter_seek_last(it);
	size_t ei = asc ? 0 : nextra; /* next extra: extra[ei] (asc) or extra[ei-1] (desc) */
	bool go = true;
	while (go) {
		bool have = store_iter_valid(it);
		struct pair cur = {0, 0};
		if (have) {
			struct slice key = store_iter_key(it);
			if (key.len != keylen) {
				asc ? store_iter_next(it) : store_iter_prev(it);
				continue;
			}
			cur.t = keylen == 17 ? (int64_t)store_key_u64_at(key, 1) : 0;
			cur.id = store_key_u64_at(key, off);
		}
		bool has_extra = asc ? ei < nextra : ei > 0;
		if (!have && !has_extra)
			break;
		if (has_extra) {
			const struct pair *e = asc ? &extra[ei] : &extra[ei - 1];
			int c = have ? cmp_pair(e, &cur) : 0;
			if (!have || (asc ? c < 0 : c > 0)) {
				go = visit(s, cf, e->id, f, left, fn, arg);
				asc ? ei++ : ei--;
				continue;
			}
		}
		go = visit(s, cf, cur.id, f, left, fn, arg);
		asc ? store_iter_next(it) : store_iter_prev(it);
	}
	int r = store_iter_status(it);
	store_iter_free(it);
	return r;
}

/* The held records' (NextAttempt, id), sorted. */
static int held_pairs(struct store *s, struct pair **out, size_t *n)
{
	uint8_t kind = STORE_K_QHELD;
	struct store_iter *it = store_iter_prefix(s, STORE_CF_QUEUE, slice_of(&kind, 1));
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (; store_iter_valid(it); store_iter_next(it)) {
		struct slice key = store_iter_key(it);
		if (key.len != 9)
			continue;
		uint64_t id = store_key_u64_at(key, 1);
		struct store_key k;
		store_key_qrec(&k, id);
		struct store_queue_rec r = {0};
		if (store_load(s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &r) == 0) {
			if (*n == cap)
				*out = xrealloc(*out, (cap = cap ? 2 * cap : 64) * sizeof **out);
			(*out)[(*n)++] = (struct pair){r.next_attempt, id};
		}
		store_codec_free(&store_rec_queue, &r);
	}
	int rc = store_iter_status(it);
	store_iter_free(it);
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_pair);
	return rc;
}

int queue_walk(struct store *s, const struct queue_filter *f, enum queue_sort sort, bool asc, queue_walk_fn *fn,
               void *arg)
{
	int64_t left = f->max > 0 ? f->max : -1;
	if (sort == QUEUE_SORT_QUEUED)
		return walk_index(s, STORE_CF_QUEUE, STORE_K_QREC, 9, 1, asc, NULL, 0, f, &left, fn, arg);
	struct pair *held = NULL;
	size_t nheld = 0;
	int r = f->hold == 0 ? 0 : held_pairs(s, &held, &nheld);
	if (r == 0 && f->hold == 1) /* only held records: no need for the big index */
		r = walk_index(s, STORE_CF_QUEUE, STORE_K_QHELD, 0, 1, asc, held, nheld, f, &left, fn, arg);
	else if (r == 0)
		r = walk_index(s, STORE_CF_QUEUE, STORE_K_QDUE, 17, 9, asc, held, nheld, f, &left, fn, arg);
	free(held);
	return r;
}

int queue_walk_retired(struct store *s, const struct queue_filter *f, enum queue_sort sort, bool asc,
                       queue_walk_fn *fn, void *arg)
{
	int64_t left = f->max > 0 ? f->max : -1;
	if (sort == QUEUE_SORT_QUEUED)
		return walk_index(s, STORE_CF_RETIRED, STORE_K_RREC, 9, 1, asc, NULL, 0, f, &left, fn, arg);
	return walk_index(s, STORE_CF_RETIRED, STORE_K_RLAST, 17, 9, asc, NULL, 0, f, &left, fn, arg);
}
