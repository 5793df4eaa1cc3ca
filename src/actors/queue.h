/* The queue actor's public contract: how submitters add records.
 *
 * A submitter (SMTP session, webapi, DSN generator, reporter) writes the message
 * data into a store batch (store_msgdata_put/commit with refs = number of
 * records), fills one struct store_queue_rec per recipient and sends
 * QUEUE_MSG_ADD_REQ {batch, recs}. The queue assigns ids, Queued, BaseID
 * (queue.md §9), the first NextAttempt (now, unless the record carries a
 * future-release time), applies hold rules, checks FromID uniqueness, adds
 * its records to the same batch and commits it with sync through the store
 * committer. QUEUE_MSG_ADD_RES answers only after that commit. */
#ifndef TERN_ACTORS_QUEUE_H
#define TERN_ACTORS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_rec.h"

/** Records to add; owned by the queue once sent (it frees them with queue_add_free). */
struct queue_add {
	struct store_queue_rec *recs; /* fields the submitter fills: everything of queue.md §1
	                               * except ID, BaseID, Queued, Hold, Attempts, Results,
	                               * LastAttempt; NextAttempt 0 means "now" */
	size_t n;
};

/** A new, empty add list. */
struct queue_add *queue_add_new(size_t n);
/** Frees the list and every record in it. */
void queue_add_free(struct queue_add *a);

/** The queue actor's id (0 before it started). */
uint64_t queue_actor_id(void);

#endif
