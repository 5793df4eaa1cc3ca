/* The queue actor's public contract: adding records, admin operations, start.
 *
 * A submitter (SMTP session, webapi, DSN generator, reporter) writes the message
 * data into a store batch (store_msgdata_put/commit with refs = number of
 * records), fills one struct store_queue_rec per recipient and sends
 * QUEUE_MSG_ADD_REQ {batch, recs}. The queue assigns ids, Queued, BaseID
 * (queue.md §9), the first NextAttempt (now, unless the record carries a
 * future-release time), applies hold rules, checks FromID uniqueness, adds
 * its records to the same batch and commits it with sync through the store
 * committer. QUEUE_MSG_ADD_RES answers only after that commit; on an error
 * nothing of the batch is written (a submitter that wrote chunks ahead with
 * store_msgdata_write calls store_msgdata_abort then).
 *
 * Admin operations (queue.md §7) go as QUEUE_MSG_OP_REQ {struct queue_op *}
 * and are answered by QUEUE_MSG_OP_RES {code, error, count, id}. Reads
 * (list, print, dump) need no message: they read the store directly
 * (queue_fmt.h, queue_filter.h). See docs/queue.md. */
#ifndef TERN_ACTORS_QUEUE_H
#define TERN_ACTORS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/queue_filter.h"
#include "store/store_rec.h"

struct conf_static;
struct store;
struct worker;

/** Records to add; owned by the queue once sent (it frees them with queue_add_free). */
struct queue_add {
	struct store_queue_rec *recs; /* fields the submitter fills: everything of queue.md §1
	                               * except ID, BaseID, Queued, Hold, Attempts, Results,
	                               * LastAttempt; NextAttempt 0 means "now", else it is the
	                               * future-release time; DataID names the shared msgdata */
	size_t n;
};

/** A new list of n zeroed records (RequireTLS of each set to -1, null). */
struct queue_add *queue_add_new(size_t n);
/** Frees the list and every record in it (NULL is fine). */
void queue_add_free(struct queue_add *a);

/** Admin operations (queue.md §7, §6). */
enum queue_op_kind {
	QUEUE_OP_HOLD = 1,
	QUEUE_OP_UNHOLD,
	QUEUE_OP_SCHEDULE,        /* NextAttempt += dur, or = now + dur with from_now */
	QUEUE_OP_TRANSPORT,       /* Transport = transport ("" clears); the name must exist */
	QUEUE_OP_REQUIRETLS,      /* RequireTLS = requiretls (-1 null, 0 false, 1 true) */
	QUEUE_OP_FAIL,            /* failure DSN, retire as failed ("delivery canceled by admin") */
	QUEUE_OP_DROP,            /* retire as canceled, no DSN */
	QUEUE_OP_HOLDRULE_ADD,    /* rule (id assigned); holds matching records; OP_RES id = rule id */
	QUEUE_OP_HOLDRULE_REMOVE, /* rule_id; -ENOENT when unknown; changes no record */
};

/** One admin operation; owned by the queue once sent in QUEUE_MSG_OP_REQ. */
struct queue_op {
	enum queue_op_kind kind;
	struct queue_filter filter; /* record selection (all records when empty) */
	int64_t dur_ms;             /* SCHEDULE */
	bool from_now;              /* SCHEDULE -now */
	char *transport;            /* TRANSPORT (owned; NULL = "") */
	int8_t requiretls;          /* REQUIRETLS */
	struct store_holdrule rule; /* HOLDRULE_ADD (owned strings; NULL/"" = any) */
	uint64_t rule_id;           /* HOLDRULE_REMOVE */
};

/** A new zeroed operation of kind k. */
struct queue_op *queue_op_new(enum queue_op_kind k);
/** Frees op and what it owns (NULL is fine). */
void queue_op_free(struct queue_op *op);

/** Starts the queue actor on w (NULL: a new dedicated worker; it reads the store
 * synchronously). s and st must outlive it; committer is the store committer's id. Loads the
 * hold rules, counts the queue in the background, starts the scheduler (first pass at once,
 * reading the next-attempt index only) and the retired-record cleanup (a few seconds after
 * start, then hourly). Returns the actor id. One queue per process. */
uint64_t queue_start(struct store *s, uint64_t committer, const struct conf_static *st, struct worker *w);

/** Stops the queue actor after its outstanding commits finished, and waits for that (call
 * from a thread that is not the queue's worker). Records in flight keep their stored state. */
void queue_stop(void);

/** The queue actor's id (0 before it started and after it stopped). */
uint64_t queue_actor_id(void);

/** Overrides where work goes and where DSNs are stored (tests; 0 = from server_get()). */
void queue_set_peers(uint64_t router, uint64_t mailbox);

/** The store the read commands use when no server runs (tests); NULL: server_get()->store. */
void queue_cmds_set_store(struct store *s);

/** Registers the `queue ...` control commands (queue_cmds.c). Call before control_start. */
void queue_cmds_register(void);

#endif
