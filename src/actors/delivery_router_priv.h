/* Internals of the delivery router, shared by delivery_router.c (actor, work,
 * DNS, stop), delivery_pool.c (destinations, connections, placing jobs) and
 * delivery_attempt.c (attempt accounting). Nothing else includes this. */
#ifndef TERN_ACTORS_DELIVERY_ROUTER_PRIV_H
#define TERN_ACTORS_DELIVERY_ROUTER_PRIV_H

#include "actors/delivery_conn.h"
#include "actors/delivery_job.h"
#include "actors/delivery_router.h"
#include "actors/delivery_target.h"
#include "core/actor.h"
#include "core/timer.h"

/** Jobs looked at per destination each time it is pumped (head-of-line bound). */
#define DELIVERY_PUMP_SCAN 64
/** Jobs at one connection: the one being delivered plus those queued behind it. */
#define DELIVERY_CONN_JOBS_MAX 3
/** Attempt requests in flight at once; more jobs wait and go in the next batch. */
#define DELIVERY_ATTEMPT_INFLIGHT 4
/** Ids per attempt request (the QUEUE_MSG_ATTEMPT_REQ cap). */
#define DELIVERY_ATTEMPT_IDS_MAX 10000
/** How long a host's resolved addresses are reused for new jobs. */
#define DELIVERY_ADDR_CACHE_MS 10000
/** Buckets of the table of jobs waiting for DNS. */
#define DELIVERY_DNS_BUCKETS 1024

enum delivery_job_state { DJ_NEW, DJ_DNS, DJ_WAIT, DJ_ACCT, DJ_CONN };

enum delivery_pc_state {
	DPC_PENDING,    /* slot reserved for a job being accounted; no actor yet */
	DPC_CONNECTING, /* actor spawned, session not ready */
	DPC_READY,      /* session up: takes jobs that fit */
	DPC_CLOSING,    /* QUIT asked */
	DPC_DEAD,       /* CLOSED seen; kept only while accounted jobs still point here */
};

struct delivery_router;

/** A destination host: its connections, the jobs waiting for one, and its addresses. */
struct delivery_dest {
	char *host;
	struct delivery_dest *hnext;
	int nconns;                       /* connections counting toward the per-host limit */
	struct delivery_pool_conn *conns;
	struct delivery_job *whead, *wtail;
	size_t nwait;
	int nacct;                        /* jobs being accounted for a connection here */
	bool blocked;                     /* waits for a global slot */
	struct delivery_dest *bnext;
	uint8_t *addrs;                   /* cached DNS_MSG_ADDR_RES addresses (16 bytes each) */
	size_t naddrs;
	int64_t addrs_until;              /* monotonic ms */
	uint64_t addrs_fam;               /* DNS_FAMILY_* bits they were asked with */
};

/** The router's view of one connection actor. */
struct delivery_pool_conn {
	struct delivery_router *r;
	struct delivery_dest *dest;
	struct delivery_pool_conn *dnext, *dprev; /* dest->conns */
	struct delivery_pool_conn *inext, *iprev; /* the router's idle list, least recently used first */
	bool in_idle;
	uint64_t actor;
	const struct delivery_target *target;
	enum delivery_pc_state state;
	int assigned;                     /* jobs at the connection or being accounted for it */
	int acct_refs;                    /* of those, being accounted */
	int64_t handed;                   /* jobs given to it over its life */
	enum delivery_tls tls;
	bool requiretls;
	struct netaddr ip;
	struct timer idle;
};

struct delivery_acct_batch {
	uint64_t req;
	struct delivery_job *jobs;
};

struct delivery_router {
	struct actor a;
	struct delivery_env env;
	struct delivery_targets targets;
	int64_t max_conns, max_per_host, max_msgs, idle_ms;
	/* destinations */
	struct delivery_dest **buckets;
	size_t nbuckets, ndests;
	int nconns;                       /* connections counting toward Queue.MaxConnections */
	struct delivery_pool_conn *idle_head, *idle_tail;
	struct delivery_dest *blocked_head, *blocked_tail;
	/* jobs waiting for DNS, by serial */
	struct delivery_job *dns[DELIVERY_DNS_BUCKETS];
	size_t ndns;
	/* attempt accounting */
	struct delivery_job *acct_head, *acct_tail;
	struct delivery_acct_batch inflight[DELIVERY_ATTEMPT_INFLIGHT];
	int ninflight;
	uint64_t next_req;
	/* jobs handed to connections and not yet reported back */
	int64_t out;
	/* stopping */
	bool stopping;
	uint64_t stopper;
	uint64_t rng;
};

/* delivery_router.c */
uint64_t delivery_router_queue(const struct delivery_router *r);
/* Job is back at the router for its current host (new, or after a host failure). */
void delivery_router_host_begin(struct delivery_router *r, struct delivery_job *job);
/* Finishes a job from the router (results and DONE to the queue). */
void delivery_router_finish(struct delivery_router *r, struct delivery_job *job);
/* Stops the actor when stopping and nothing is left. */
void delivery_router_maybe_stopped(struct delivery_router *r);

/* delivery_dest.c */
/* The destination of host: created when missing (_dest), or NULL when missing (_find). */
struct delivery_dest *delivery_pool_dest(struct delivery_router *r, const char *host);
struct delivery_dest *delivery_pool_find(struct delivery_router *r, const char *host);
/* Frees d (may be NULL) if it has no connection, waiting job or claim left. */
void delivery_pool_release(struct delivery_router *r, struct delivery_dest *d);
/* Queues a job whose addresses are known at its destination (front: it was there before). */
void delivery_pool_enqueue(struct delivery_router *r, struct delivery_job *job, bool front);
/* Places waiting jobs of d on connections, opening or closing connections as the limits allow. */
void delivery_pool_pump(struct delivery_router *r, struct delivery_dest *d);

/* delivery_pool.c */
/* A new PENDING connection handle for job j at d, or NULL when a limit is reached. */
struct delivery_pool_conn *delivery_pool_open(struct delivery_router *r, struct delivery_dest *d,
                                              const struct delivery_job *j);
/* Takes pc off the idle list (and stops its idle timer). */
void delivery_pool_idle_remove(struct delivery_router *r, struct delivery_pool_conn *pc);
/* Asks pc to QUIT (it finishes its current job first). */
void delivery_pool_quit(struct delivery_router *r, struct delivery_pool_conn *pc);
/* Hands an accounted job to its connection (spawning it if new), or requeues it. */
void delivery_pool_hand(struct delivery_router *r, struct delivery_job *job);
/* Drops an accounted job's claim on its connection (it will not go there). */
void delivery_pool_unclaim(struct delivery_router *r, struct delivery_job *job);
/* Handles DELIVERY_MSG_CONN_EVT. */
void delivery_pool_conn_evt(struct delivery_router *r, const struct delivery_conn_evt *ev);
/* Stop: finish every waiting job and ask every connection to QUIT. */
void delivery_pool_stop(struct delivery_router *r);
/* Frees every destination (at the end). */
void delivery_pool_free(struct delivery_router *r);

/* delivery_attempt.c */
/* Adds a job to the next attempt request (its records are accounted before it goes on). */
void delivery_attempt_add(struct delivery_router *r, struct delivery_job *job);
/* Sends attempt requests while there is room. */
void delivery_attempt_flush(struct delivery_router *r);
/* Handles QUEUE_MSG_ATTEMPT_RES. */
void delivery_attempt_res(struct delivery_router *r, const struct msg *m, const struct queue_attempt_res *p);
/* Whether attempt accounting is pending. */
bool delivery_attempt_busy(const struct delivery_router *r);

#endif
