/* Record selection for queue and retired listings and operations (queue.md §7, §8, §13).
 *
 * A filter holds only the fields that were set; they are ANDed. Times are kept
 * relative (`<dur`, `>dur`, `<now`, `>now`) and resolved against a "now" when a
 * listing or operation starts (queue_filter_resolve). */
#ifndef TERN_ACTORS_QUEUE_FILTER_H
#define TERN_ACTORS_QUEUE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_rec.h"

/** One relative time comparison: op '<' (before) or '>' (after), 0 = unset. */
struct queue_filter_time {
	char op;
	int64_t dur_ms;   /* as written; "now" is 0 */
	int64_t at_ms;    /* resolved absolute time */
};

/** A filter; strings owned (free with queue_filter_free). */
struct queue_filter {
	int64_t max;                  /* 0: no limit */
	uint64_t *ids;                /* NULL: any */
	size_t nids;
	char *account;                /* SenderAccount equals */
	char *from, *to;              /* substring of sender / recipient address */
	int hold;                     /* -1 any, 0, 1 (queue only) */
	struct queue_filter_time submitted; /* against Queued: past, T = now - dur */
	struct queue_filter_time next;      /* NextAttempt (T = now + dur), or LastActivity for
	                                     * retired records (T = now - dur) */
	char *transport;              /* NULL: any; "" = records without a transport */
	int success;                  /* retired: -1 any, 0 failure, 1 success */
};

/** Sort orders of listings. */
enum queue_sort {
	QUEUE_SORT_NEXT,     /* NextAttempt (queue) / LastActivity (retired): the default */
	QUEUE_SORT_QUEUED,
};

/** An empty filter (everything matches). */
void queue_filter_init(struct queue_filter *f);
/** Frees what f owns and re-initialises it. */
void queue_filter_free(struct queue_filter *f);
/** Deep copy of src into dst (dst uninitialised). */
void queue_filter_copy(struct queue_filter *dst, const struct queue_filter *src);

/** Parses `<dur`, `>dur`, `<now`, `>now` into t. Returns 0 or -1. */
int queue_filter_parse_time(const char *s, struct queue_filter_time *t);
/** Parses `1,2,3` into f->ids. Returns 0 or -1. */
int queue_filter_parse_ids(const char *s, struct queue_filter *f);

/** Resolves the relative times of f against now_ms (retired: LastActivity is in the past). */
void queue_filter_resolve(struct queue_filter *f, int64_t now_ms, bool retired);

/** Whether id is one of f->ids (true when f has no ids). */
bool queue_filter_has_id(const struct queue_filter *f, uint64_t id);

/** Whether queue record r matches resolved filter f (Max not applied). */
bool queue_filter_match(const struct queue_filter *f, const struct store_queue_rec *r);
/** Whether retired record r matches resolved filter f (Max not applied). */
bool queue_filter_match_retired(const struct queue_filter *f, const struct store_retired_rec *r);

/** Appends `localpart@domain` (or "" for a null sender / empty parts) to out; a helper for
 * listings and DSNs. out gets a NUL terminator past len (buf_cstr). */
struct buf;
void queue_filter_addr(struct buf *out, const char *localpart, const char *domain);

#endif
