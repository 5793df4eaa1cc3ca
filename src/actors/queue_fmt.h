/* Reading the queue for people and scripts (queue.md §13): list lines, JSON,
 * and ordered, filtered walks over queue and retired records.
 *
 * These functions only read the store, so they run on any thread (the
 * control thread uses them for `queue list`, `print`, `dump`, `retired ...`,
 * `holdrule list`); the queue actor is never involved. Memory stays bounded
 * by one record at a time, except for the NextAttempt order, which sorts the
 * held records' (NextAttempt, id) pairs (16 bytes each) in memory. */
#ifndef TERN_ACTORS_QUEUE_FMT_H
#define TERN_ACTORS_QUEUE_FMT_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/queue_filter.h"
#include "core/buf.h"
#include "store/store.h"

/** Appends the `queue list` line of r (with '\n'). */
void queue_fmt_line(struct buf *out, const struct store_queue_rec *r, int64_t now);
/** Appends the `retired list` line of r (with '\n'). */
void queue_fmt_retired_line(struct buf *out, const struct store_retired_rec *r, int64_t now);
/** Appends the `holdrule list` line of h (with '\n'). */
void queue_fmt_holdrule(struct buf *out, const struct store_holdrule *h);
/** Appends r as JSON with the queue.md §1 field names (schema: store_rec_queue or
 * store_rec_retired), indented, with '\n'. */
void queue_fmt_json(struct buf *out, const struct store_schema *schema, const void *rec);

/** Called for each record of a walk, in order; return false to stop. */
typedef bool queue_walk_fn(const void *rec, void *arg);

/** Calls fn for each queue record matching f (resolved by the caller), sorted by sort,
 * descending unless asc, at most f->max (0: all). Returns 0 or -EIO. */
int queue_walk(struct store *s, const struct queue_filter *f, enum queue_sort sort, bool asc, queue_walk_fn *fn,
               void *arg);
/** The same over retired records (QUEUE_SORT_NEXT: by LastActivity). */
int queue_walk_retired(struct store *s, const struct queue_filter *f, enum queue_sort sort, bool asc,
                       queue_walk_fn *fn, void *arg);

#endif
