/* A store batch: an owned list of puts and deletes over any column families,
 * committed atomically (store_write, or the store_committer actor).
 *
 * Built by one thread, then handed over whole: after a commit request is sent
 * the batch belongs to the committer, which frees it. A batch may hold message
 * bodies (put_buf moves a buffer in without copying). */
#ifndef TERN_STORE_STORE_BATCH_H
#define TERN_STORE_STORE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store_codec.h"
#include "store/store_keys.h"

struct store_batch;

/** A new empty batch. Caller owns it until it is committed or freed. */
struct store_batch *store_batch_new(void);
/** Frees b and everything it holds (NULL is fine). */
void store_batch_free(struct store_batch *b);

/** Adds a put; key and value are copied. */
void store_batch_put(struct store_batch *b, enum store_cf cf, struct slice key, struct slice value);
/** Adds a put whose value storage moves into the batch (value is left empty). */
void store_batch_put_buf(struct store_batch *b, enum store_cf cf, struct slice key, struct buf *value);
/** Encodes rec with schema s and adds it as a put. Returns 0, or -E2BIG (nothing added). */
int store_batch_put_rec(struct store_batch *b, enum store_cf cf, struct slice key,
                        const struct store_schema *s, const void *rec);
/** Adds a delete of one key. */
void store_batch_delete(struct store_batch *b, enum store_cf cf, struct slice key);
/** Adds a delete of every key in [lo, hi). */
void store_batch_delete_range(struct store_batch *b, enum store_cf cf, struct slice lo, struct slice hi);

/** Number of operations in b. */
uint32_t store_batch_count(const struct store_batch *b);
/** Bytes of keys and values in b. */
size_t store_batch_bytes(const struct store_batch *b);

#endif
