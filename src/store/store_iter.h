/* Ordered reads: bounded iterators over one column family, and the queue's
 * next-attempt index read in bounded slices.
 *
 * Iterators see a consistent snapshot of the moment they were created and
 * never leave [lo, hi). Keys and values returned are valid until the next
 * move or store_iter_free(). An iterator belongs to one thread at a time. */
#ifndef TERN_STORE_STORE_ITER_H
#define TERN_STORE_STORE_ITER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

struct store_iter;

/** Iterator over keys in [lo, hi) of cf (empty lo: from the start, empty hi: to the end),
 * positioned on the first key. Free with store_iter_free(). */
struct store_iter *store_iter_new(struct store *s, enum store_cf cf, struct slice lo, struct slice hi);
/** Iterator over the keys that start with prefix, positioned on the first one. */
struct store_iter *store_iter_prefix(struct store *s, enum store_cf cf, struct slice prefix);
/** Frees it (NULL is fine). */
void store_iter_free(struct store_iter *it);

/** Whether it is on a key. */
bool store_iter_valid(const struct store_iter *it);
/** Moves to the next key. */
void store_iter_next(struct store_iter *it);
/** Moves to the previous key. */
void store_iter_prev(struct store_iter *it);
/** Moves to the first key >= key (within the bounds). */
void store_iter_seek(struct store_iter *it, struct slice key);
/** Moves to the last key < key (within the bounds); for descending keyset pagination. */
void store_iter_seek_before(struct store_iter *it, struct slice key);
/** Moves to the first key in the bounds. */
void store_iter_seek_first(struct store_iter *it);
/** Moves to the last key in the bounds. */
void store_iter_seek_last(struct store_iter *it);
/** The current key (valid iterators only). */
struct slice store_iter_key(const struct store_iter *it);
/** The current value (valid iterators only). */
struct slice store_iter_value(const struct store_iter *it);
/** 0, or -EIO when iteration stopped on an error (check once store_iter_valid turns false). */
int store_iter_status(const struct store_iter *it);

/** One entry of the queue's next-attempt index. */
struct store_due {
	int64_t next_ms;
	uint64_t id;
};

/** Reads up to max entries of the next-attempt index (records with Hold=false) in order,
 * starting after (after_ms, after_id) — pass (0, 0) to start at the beginning — and stopping
 * before entries with next_ms > until_ms (INT64_MAX: no limit). Memory is bounded by max,
 * whatever the queue length. Returns the number read (0 .. max) or -EIO. */
int store_iter_due(struct store *s, int64_t after_ms, uint64_t after_id, int64_t until_ms,
                   struct store_due *out, int max);

#endif
