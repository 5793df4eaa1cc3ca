/* Bounded iterators over a column family, and next-attempt index slices.
 *
 * DESIGN: every iterator carries both bounds in RocksDB's read options
 * (iterate_lower_bound / iterate_upper_bound). The bounds are copied into the
 * iterator because RocksDB keeps pointers to them. Bounds rather than prefix
 * extractors: key kinds share a column family and have different lengths, and
 * an upper bound lets RocksDB stop at the end of a kind without reading on
 * into the next one (and skip tombstones beyond it). store_iter_due() opens
 * an iterator per slice and keeps nothing between calls, so the scheduler's
 * memory does not grow with the queue. */
#include "store/store_iter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_impl.h"

struct store_iter {
	rocksdb_iterator_t *it;
	rocksdb_readoptions_t *ro;
	struct store_key lo, hi;
	bool has_lo, has_hi;
};

struct store_iter *store_iter_new(struct store *s, enum store_cf cf, struct slice lo, struct slice hi)
{
	struct store_iter *it = xcalloc(1, sizeof *it);
	it->ro = rocksdb_readoptions_create();
	if (lo.len > STORE_KEY_MAX || hi.len > STORE_KEY_MAX)
		panic("store_iter_new: bound longer than STORE_KEY_MAX");
	if (lo.len) {
		memcpy(it->lo.b, lo.p, lo.len);
		it->lo.len = lo.len;
		it->has_lo = true;
		rocksdb_readoptions_set_iterate_lower_bound(it->ro, (const char *)it->lo.b, it->lo.len);
	}
	if (hi.len) {
		memcpy(it->hi.b, hi.p, hi.len);
		it->hi.len = hi.len;
		it->has_hi = true;
		rocksdb_readoptions_set_iterate_upper_bound(it->ro, (const char *)it->hi.b, it->hi.len);
	}
	it->it = rocksdb_create_iterator_cf(s->db, it->ro, s->cf[cf]);
	store_iter_seek_first(it);
	return it;
}

struct store_iter *store_iter_prefix(struct store *s, enum store_cf cf, struct slice prefix)
{
	struct store_key end;
	if (store_key_prefix_end(prefix, &end) != 0)
		return store_iter_new(s, cf, prefix, slice_of("", 0));
	return store_iter_new(s, cf, prefix, store_key_slice(&end));
}

void store_iter_free(struct store_iter *it)
{
	if (!it)
		return;
	rocksdb_iter_destroy(it->it);
	rocksdb_readoptions_destroy(it->ro);
	free(it);
}

bool store_iter_valid(const struct store_iter *it)
{
	return rocksdb_iter_valid(it->it);
}

void store_iter_next(struct store_iter *it)
{
	rocksdb_iter_next(it->it);
}

void store_iter_prev(struct store_iter *it)
{
	rocksdb_iter_prev(it->it);
}

void store_iter_seek(struct store_iter *it, struct slice key)
{
	rocksdb_iter_seek(it->it, (const char *)key.p, key.len);
}

void store_iter_seek_before(struct store_iter *it, struct slice key)
{
	rocksdb_iter_seek_for_prev(it->it, (const char *)key.p, key.len);
	if (rocksdb_iter_valid(it->it)) {
		size_t n;
		const char *k = rocksdb_iter_key(it->it, &n);
		if (n == key.len && memcmp(k, key.p, n) == 0)
			rocksdb_iter_prev(it->it); /* seek_for_prev lands on key itself when it exists */
	}
}

void store_iter_seek_first(struct store_iter *it)
{
	if (it->has_lo)
		rocksdb_iter_seek(it->it, (const char *)it->lo.b, it->lo.len);
	else
		rocksdb_iter_seek_to_first(it->it);
}

void store_iter_seek_last(struct store_iter *it)
{
	rocksdb_iter_seek_to_last(it->it);
}

struct slice store_iter_key(const struct store_iter *it)
{
	size_t n;
	const char *k = rocksdb_iter_key(it->it, &n);
	return slice_of(k, n);
}

struct slice store_iter_value(const struct store_iter *it)
{
	size_t n;
	const char *v = rocksdb_iter_value(it->it, &n);
	return slice_of(v ? v : "", n);
}

int store_iter_status(const struct store_iter *it)
{
	char *e = NULL;
	rocksdb_iter_get_error(it->it, &e);
	if (!e)
		return 0;
	log_error("store", "iteration failed", "err=%s", e);
	free(e);
	return -EIO;
}

int store_iter_due(struct store *s, int64_t after_ms, uint64_t after_id, int64_t until_ms,
                   struct store_due *out, int max)
{
	if (max <= 0)
		return 0;
	struct store_key start, end;
	store_key_qdue(&start, after_ms, after_id);
	/* The upper bound stops the iterator itself at until_ms: past the last due entry it
	 * would otherwise step over every deletion marker up to the next live key, which in a
	 * busy queue are the settled records' future entries (thousands per pass). */
	if (until_ms < INT64_MAX) {
		store_key_qdue(&end, until_ms + 1, 0);
	} else {
		uint8_t kind = STORE_K_QDUE;
		store_key_prefix_end(slice_of(&kind, 1), &end);
	}
	struct store_iter *it = store_iter_new(s, STORE_CF_QUEUE, store_key_slice(&start), store_key_slice(&end));
	bool skip_first = after_ms > 0 || after_id > 0; /* "after": the start entry itself is excluded */
	int n = 0;
	for (; store_iter_valid(it) && n < max; store_iter_next(it)) {
		struct slice k = store_iter_key(it);
		if (k.len != 17)
			continue; /* not an index entry this version writes; the dump shows it */
		int64_t t = (int64_t)store_key_u64_at(k, 1);
		uint64_t id = store_key_u64_at(k, 9);
		if (skip_first && t == after_ms && id == after_id)
			continue;
		if (t > until_ms)
			break;
		out[n++] = (struct store_due){t, id};
	}
	int r = store_iter_status(it);
	store_iter_free(it);
	return r ? r : n;
}
