/* Private to the queue actor's files (src/actors/queue_*.c): its state and the
 * functions they share. Nothing outside the queue includes this.
 *
 * The queue is one actor on a dedicated worker. It is the only writer of the
 * queue, retired and holdrules column families. Its in-memory state is
 * bounded: records in flight (at most flight_max), ids locked by uncommitted
 * batches, a cursor into the next-attempt index, the hold rules. */
#ifndef TERN_ACTORS_QUEUE_IMPL_H
#define TERN_ACTORS_QUEUE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/mailbox_store.h"
#include "actors/queue.h"
#include "actors/queue_idmap.h"
#include "core/actor.h"
#include "core/timer.h"
#include "store/store.h"

struct conf_domains;
struct metric;
struct queue;

/* ---- named limits ---- */
#define QUEUE_SCAN_BATCH 256        /* next-attempt index entries read per step */
#define QUEUE_GATHER_MAX 1000       /* records per DELIVERY_MSG_WORK_REQ (m0 + gathered) */
#define QUEUE_GATHER_SCAN 5000      /* BaseID index entries examined per gathering (big
                                     * submissions to many domains stay linear) */
#define QUEUE_FLIGHT_MIN 64         /* in-flight records at least, whatever MaxConnections */
#define QUEUE_FLIGHT_MAX 10000      /* in-flight records at most (credit) */
#define QUEUE_FLIGHT_PER_CONN 4     /* in-flight records per Queue.MaxConnections */
#define QUEUE_JITTER_MS 5000        /* ± on every retry interval */
#define QUEUE_COOLDOWN_MS 1000      /* a record given back unattempted waits this long */
#define QUEUE_SLEEP_MAX_MS 1000     /* longest scheduler sleep: notices wall-clock steps */
#define QUEUE_RETRY_MS 1000         /* after a store error, try again in */
#define QUEUE_OP_CHUNK 500          /* records per operation batch */
#define QUEUE_OP_SCAN 5000          /* records examined per operation step */
#define QUEUE_COUNT_STEP 50000      /* index keys counted per step at start-up */
#define QUEUE_CLEANUP_FIRST_MS 5000 /* first retired cleanup after start */
#define QUEUE_CLEANUP_EVERY_MS (3600 * 1000)
#define QUEUE_CLEANUP_CHUNK 1000    /* retired records deleted per batch */
#define QUEUE_KEEP_GONE_MS ((int64_t)7 * 24 * 3600 * 1000) /* KeepUntil when the account is gone */
#define QUEUE_HEADERS_MAX (1u << 20) /* header section read for a DSN's part 3 */
#define QUEUE_RESULTS_KEEP 64      /* Results kept per record (first and latest) */
#define QUEUE_ERR_ADMIN "delivery canceled by admin"
#define QUEUE_ERR_DELIVERING "delivering..."

/** RESULT_EVT outcomes. */
enum queue_outcome {
	QUEUE_DELIVERED = 0,
	QUEUE_TEMPORARY = 1,
	QUEUE_PERMANENT = 2,
	QUEUE_NOT_ATTEMPTED = 3,
};

/** An owned copy of one QUEUE_MSG_RESULT_EVT. */
struct queue_result {
	uint64_t id;
	bool have;        /* a result arrived (else: released without one) */
	bool filled;      /* have, or released by DONE */
	int outcome;
	int code;
	char *secode, *error;
	char **reply;
	size_t nreply;
	char *host, *ip;
	bool remote_dsn, family_retry;
	int64_t duration_ms;
	uint8_t cancel;   /* admin fail/drop asked while in flight (enum queue_op_kind) */
};

/** Records accounted by one ATTEMPT_REQ: settled together (one DSN per BaseID). */
struct queue_group {
	size_t n, nfilled;
	struct queue_result *r;
};

/** A record handed to the router. */
struct queue_flight {
	struct queue_group *g; /* set once accounted */
	size_t slot;
	uint8_t cancel;        /* QUEUE_OP_FAIL / QUEUE_OP_DROP asked meanwhile, else 0 */
	bool given_back;       /* result "not attempted" */
};

/** A continuation parked until an id is unlocked. */
struct queue_wait {
	void (*fn)(struct queue *q, void *ctx);
	void *ctx;
	struct queue_wait *next;
};

/** Called when a batch committed (code 0) or failed. */
typedef void queue_commit_fn(struct queue *q, int code, const char *err, void *ctx);

/** The actor. */
struct queue {
	struct actor a;
	struct store *s;
	uint64_t committer;
	const struct conf_static *st;
	bool stopping;
	bool in_commit_cb;           /* inside a commit reply: never stop there */
	/* commits and locks */
	uint64_t next_req;
	struct queue_idmap commits; /* req_id -> struct queue_commit */
	struct queue_idmap busy;    /* id -> lock count (records and data ids) */
	struct queue_idmap waiters; /* id -> struct queue_wait list */
	struct queue_idmap fromids; /* FromID hash -> count, adds not yet committed */
	/* scheduler */
	struct queue_idmap flight;   /* id -> struct queue_flight */
	struct queue_idmap settling; /* id -> group: results being settled (maybe parked) */
	struct queue_idmap cooldown; /* ids given back unattempted, this period and the last */
	struct queue_idmap cooldown_old;
	int64_t cooldown_rot;        /* mono ms of the last rotation */
	uint64_t rng;                /* xorshift state for jitter */
	int64_t flight_max, nflight;
	int64_t cur_ms;              /* cursor into the next-attempt index */
	uint64_t cur_id;
	/* Bounds that keep passes off the deletion markers of the next-attempt index (every
	 * delivered record leaves two until compaction): no live entry is below (low_ms,
	 * low_id), and none later than now is before next_ms. Lowered by every commit that
	 * puts an entry (at its reply, when the entry is visible), raised by what scans find. */
	int64_t low_ms;
	uint64_t low_id;
	int64_t next_ms;
	int64_t build_due;           /* earliest entry put into the batch being built */
	bool skipped;                /* the last pass passed over due records it could not take */
	bool pass_posted;
	struct timer sched_timer;
	/* hold rules, all in memory */
	struct store_holdrule *rules;
	size_t nrules;
	/* counts (gauges) */
	int64_t nrecs, nheld;
	struct timer count_timer;
	struct store_iter *count_it;
	int count_phase;
	struct timer cleanup_timer;
	bool cleanup_running;
	int64_t jobs;                /* operations running */
	struct metric *m_msgs, *m_hold, *m_inflight, *m_mem;
	struct metric *m_res[4];
};

/* ---- queue_actor.c ---- */
/** Locks ids and data ids (nids), sends b (and mb: then through the mailbox store) for a synced
 * commit; done runs after the reply, then the ids unlock and parked work resumes. dsize/dhold
 * are applied to the gauges on success. Takes ownership of b and mb, and of ids. */
void queue_commit(struct queue *q, struct store_batch *b, struct mailbox_deliveries *mb, uint64_t *ids,
                  size_t nids, int64_t dsize, int64_t dhold, queue_commit_fn *done, void *ctx);
/** Stops the actor when it is stopping and no commit or operation is outstanding. */
void queue_maybe_stopped(struct queue *q);
/** Whether id (record or data id) is locked by an uncommitted batch. */
bool queue_busy(const struct queue *q, uint64_t id);
/** Parks fn(q, ctx) until id is unlocked. */
void queue_park(struct queue *q, uint64_t id, void (*fn)(struct queue *q, void *ctx), void *ctx);
/** Schedules a scheduler pass soon (coalesced); reset restarts from the oldest due entry. */
void queue_wake(struct queue *q, bool reset);
/** The delivery router and mailbox store ids. */
uint64_t queue_router(void);
uint64_t queue_mailbox(void);
/** Gap after attempt n (1-based), the last interval repeating. */
int64_t queue_interval(const struct queue *q, int n);
/** A random jitter in [-QUEUE_JITTER_MS, QUEUE_JITTER_MS]. */
int64_t queue_jitter(struct queue *q);
/** Attempt accounting (queue.md §3) on r: Attempts++, LastAttempt, NextAttempt, a
 * "delivering..." result. */
void queue_account(struct queue *q, struct store_queue_rec *r, int64_t now, int64_t jitter);
/** MaxAttempts of r (default len(RetryIntervals)+1). */
int queue_max_attempts(const struct queue *q, const struct store_queue_rec *r);

/* ---- queue_store.c ---- */
/** Loads record id (0, -ENOENT, -EBADMSG: quarantined, -EIO). */
int queue_store_load(struct queue *q, uint64_t id, struct store_queue_rec *r);
/** Adds to b the record r (new state) and its index moves from old (NULL: new record).
 * Returns 0, or -E2BIG when r is over its caps (nothing added). A next-attempt entry put
 * is noted in q->build_due, which the next queue_commit() takes (build, then commit). */
int queue_store_put(struct queue *q, struct store_batch *b, const struct store_queue_rec *old,
                    const struct store_queue_rec *r);
/** Per-batch msgdata reference changes. */
struct queue_refs {
	uint64_t *ids;
	int *delta;
	size_t n;
};
/** Adds one reference change of data id to rf. */
void queue_refs_add(struct queue_refs *rf, uint64_t data_id, int delta);
/** Adds to b the datameta updates (deleting data at 0 refs). Returns 0 or -EIO. */
int queue_refs_apply(struct queue *q, struct store_batch *b, const struct queue_refs *rf);
void queue_refs_free(struct queue_refs *rf);
/** Adds to b the retirement of r (queue keys deleted, retired record kept when the account's
 * period says so) and its data reference drop into rf. Frees nothing; r keeps its contents. */
void queue_store_retire(struct queue *q, struct store_batch *b, struct queue_refs *rf,
                        const struct store_queue_rec *r, bool success, int64_t now,
                        const struct conf_domains *dc);
/** Appends a completed result to r (start now, no duration). */
void queue_store_add_result(struct store_queue_rec *r, int64_t start, const char *error);
/** A sorted, de-duplicated copy of ids plus extra (the lock set of a batch). */
uint64_t *queue_ids_dup(const uint64_t *ids, size_t n, size_t *nout);

/* ---- queue_holdrule.c ---- */
int queue_holdrule_load(struct queue *q);
bool queue_holdrule_matches(const struct store_holdrule *h, const struct store_queue_rec *r);
bool queue_holdrule_any(const struct queue *q, const struct store_queue_rec *r);
void queue_holdrule_free_all(struct queue *q);

/* ---- handlers and steps of the other files ---- */
void queue_add_req(struct actor *self, const struct msg *m, const struct queue_add_req *p);
void queue_attempt_req(struct actor *self, const struct msg *m, const struct queue_attempt_req *p);
void queue_result_evt(struct actor *self, const struct msg *m, const struct queue_result_evt *p);
void queue_done_evt(struct actor *self, const struct msg *m, const struct delivery_done_evt *p);
void queue_op_req(struct actor *self, const struct msg *m, const struct queue_op_req *p);
void queue_sched_pass(struct queue *q);
/** A next-attempt entry at due_ms (INT64_MAX: none) may have become visible: passes must not
 * skip it. */
void queue_sched_lower(struct queue *q, int64_t due_ms);
void queue_sched_init(struct queue *q);
/** Settles a group of results in one batch (queue_result.c); frees g when done. */
void queue_result_settle(struct queue *q, struct queue_group *g);
void queue_group_free(struct queue_group *g);
/** Starts an internal fail/drop of ids (cancel asked while they were in flight). */
void queue_ops_cancel(struct queue *q, const uint64_t *ids, size_t n, uint8_t kind);
void queue_cleanup_init(struct queue *q);

/* ---- queue_dsn.c ---- */
/** A DSN being collected for one submission within one batch. */
struct queue_dsn_rcpt {
	const struct store_queue_rec *r;   /* borrowed for the batch's life */
	const struct queue_result *res;    /* NULL: admin or local error */
	const char *error;                 /* Tern's error text */
};
enum dsn_kind;
/** Writes one DSN (kind) about rcpts (same BaseID, same kind) into b as new message data and
 * appends its mailbox delivery to *mb (created when NULL). Returns 0 or a negative errno. */
int queue_dsn_make(struct queue *q, struct store_batch *b, struct mailbox_deliveries **mb, int kind,
                   const struct queue_dsn_rcpt *rcpts, size_t n, int64_t now, const struct conf_domains *dc);
/** Whether NOTIFY (as stored) asks for a DSN of this kind. */
bool queue_dsn_wanted(const char *notify, int kind);

#endif
