/* A delivery job: the queue records of one DELIVERY_MSG_WORK_REQ on their way
 * through the router and a connection, and their results.
 *
 * A job is an in-process object owned by one actor at a time: the router while
 * it resolves hosts, waits for a slot or for attempt accounting, then the
 * connection it was handed to (DELIVERY_MSG_CONN_JOB_CMD), and back to the router
 * when a host failed and another is to be tried. Whoever holds it when every
 * record is settled calls delivery_job_finish(), which sends exactly one
 * QUEUE_MSG_RESULT_EVT per record and one DELIVERY_MSG_DONE_EVT, and frees it.
 * Nothing in a job is shared with another thread (reply lines are copies). */
#ifndef TERN_ACTORS_DELIVERY_JOB_H
#define TERN_ACTORS_DELIVERY_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/actor.h"
#include "core/netaddr.h"
#include "store/store_rec.h"

struct store;
struct delivery_target;
struct delivery_dest;
struct delivery_pool_conn;

/** Outcome values of QUEUE_MSG_RESULT_EVT. */
enum delivery_outcome {
	DELIVERY_DELIVERED = 0,
	DELIVERY_TEMPORARY = 1,
	DELIVERY_PERMANENT = 2,
	DELIVERY_NOT_ATTEMPTED = 3,
};

/** TLS level of a connection, and the least a job accepts (queue.md §3 reuse rule). */
enum delivery_tls {
	DELIVERY_TLS_PLAIN = 0,
	DELIVERY_TLS_ENCRYPTED = 1,
	DELIVERY_TLS_VERIFIED = 2,
};

/** Largest job: the WORK_REQ id cap. */
#define DELIVERY_JOB_RECS_MAX 10000
/** Addresses kept per host, both families together. */
#define DELIVERY_IPS_MAX 16

/** What kind of failure a result is (metrics: the attempt's result label). */
enum delivery_fail {
	DELIVERY_FAIL_REMOTE = 0,  /* a reply, or a network failure other than a timeout */
	DELIVERY_FAIL_TIMEOUT = 1, /* a connect, handshake or SMTP wait expired */
	DELIVERY_FAIL_LOCAL = 2,   /* Tern's own side: data unreadable, no transport, no TLS context */
};

/** One record's result (owned strings). */
struct delivery_res {
	int outcome;            /* enum delivery_outcome */
	int code;               /* SMTP code, 0 when none */
	char secode[16];        /* enhanced code without its class ("1.1"), "" when none */
	char *error;            /* sanitised MsgResult.Error text */
	char **reply;           /* every line of the remote reply, code included */
	size_t nreply;
	char *host;             /* remote host name, NULL when none */
	char ip[NETADDR_STRLEN];/* remote IP dialed, "" when none */
	bool remote_dsn;        /* the next hop announced DSN */
	bool one_family;        /* the host had IPv4 and IPv6 and only one family was dialed */
	uint8_t fail;           /* enum delivery_fail of a failure */
};

/** One queue record of a job. */
struct delivery_rec {
	uint64_t id;
	struct store_queue_rec q; /* loaded from the store (valid when loaded) */
	bool loaded;
	bool accounted;           /* listed in QUEUE_MSG_ATTEMPT_RES */
	bool settled;             /* res is final for this attempt */
	bool tried;               /* sent in a transaction on the current connection */
	struct delivery_res res;
};

/** Where a job handed back by a connection goes next. */
enum delivery_disp {
	DELIVERY_DISP_UNSTARTED = 0, /* never began there: place it again, same host */
	DELIVERY_DISP_RETRY = 1,     /* reused connection failed before MAIL: once more on a new one */
	DELIVERY_DISP_NEXT_HOST = 2, /* the host failed as a whole: try the next one */
};

struct delivery_job {
	struct delivery_job *next;       /* list link (router queues, hand-back lists) */
	uint64_t serial;
	int64_t start_ms;                /* monotonic, for duration_ms */
	int64_t attempt;
	char *transport, *domain;
	const struct delivery_target *target;
	struct delivery_rec *recs;
	size_t n;
	/* hosts, in order; the current one and its addresses in dial order */
	char **hosts;
	size_t nhosts, host_i;
	struct netaddr ips[DELIVERY_IPS_MAX];
	size_t nips;
	bool ips_pref;                   /* DialedIPs named this host: reuse only ips[0]'s connection */
	enum delivery_tls need;
	bool requiretls;                 /* the records ask for REQUIRETLS */
	bool plain_ok;                   /* a failed TLS handshake may be redialed in plaintext */
	/* progress */
	bool accounted;                  /* attempt accounting done */
	bool retried, fresh_conn;        /* the retry-once of queue.md §3 was used / needs a new connection */
	int disp;                        /* enum delivery_disp when handed back */
	bool has_fixed;                  /* fixed: the result of every record (DNS, Fail transport, ...) */
	struct delivery_res fixed;
	bool has_last, any_temp, utf8_fail; /* host failures so far */
	struct delivery_res last;
	/* router bookkeeping */
	int state;
	struct delivery_dest *dest;
	struct delivery_pool_conn *conn;
};

/** A new job for ids (copied; at most DELIVERY_JOB_RECS_MAX), nothing loaded. */
struct delivery_job *delivery_job_new(const uint64_t *ids, size_t n, struct slice transport,
                                      struct slice domain, int64_t attempt);
/** Loads every record from the store; one that is gone or unreadable is settled as
 * not attempted. Returns the number loaded. */
size_t delivery_job_load(struct delivery_job *job, struct store *st);
/** Frees the job and everything it owns (no messages). */
void delivery_job_free(struct delivery_job *job);

/** Records still to be delivered: loaded, accounted (once accounting is done) and unsettled. */
size_t delivery_job_open(const struct delivery_job *job);
/** Settles record i with a copy of res (ignored when already settled). */
void delivery_job_settle(struct delivery_job *job, size_t i, const struct delivery_res *res);
/** Settles every open record with a copy of res. */
void delivery_job_settle_open(struct delivery_job *job, const struct delivery_res *res);
/** Notes that the current host failed as a whole with res (copied): temp says whether
 * it was temporary, utf8 whether it was the missing SMTPUTF8 (queue.md §11.5). */
void delivery_job_host_failed(struct delivery_job *job, const struct delivery_res *res, bool temp, bool utf8);
/** Whether another host is left after the current one. */
bool delivery_job_more_hosts(const struct delivery_job *job);
/** Settles the open records after the last host failed: temporary if any host failed
 * temporarily, else permanent; 554 5.6.7 when only SMTPUTF8 was missing. */
void delivery_job_exhausted(struct delivery_job *job);

/** The outcome record i reports when the job finishes (enum delivery_outcome). */
int delivery_job_outcome(const struct delivery_job *job, size_t i);

/** Sends one QUEUE_MSG_RESULT_EVT per record (unsettled ones: not attempted) and one
 * DELIVERY_MSG_DONE_EVT to queue, from `from`, then frees the job. */
void delivery_job_finish(struct delivery_job *job, struct actor *from, uint64_t queue);

/** Sets res to a local result: outcome, code, enhanced code "c.s.d" (or NULL), text. */
void delivery_res_local(struct delivery_res *res, int outcome, int code, const char *ecode, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/** Deep copy. */
void delivery_res_copy(struct delivery_res *dst, const struct delivery_res *src);
/** Frees what res owns and zeroes it. */
void delivery_res_free(struct delivery_res *res);
/** Sets the remote host (copied) and IP (may be NULL) of res. */
void delivery_res_where(struct delivery_res *res, const char *host, const struct netaddr *ip);

#endif
