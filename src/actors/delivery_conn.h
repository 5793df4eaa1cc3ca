/* Delivery connection actor: one outgoing SMTP connection (queue.md §3, §11).
 *
 * The router spawns one per connection with its first job. The connection dials
 * the host's addresses in order (30 s each; only a failed connect moves on to the
 * next address), does implicit TLS or STARTTLS and AUTH as the target says, and
 * runs the SMTP client engine over netconn. It then takes jobs one after another
 * (DELIVERY_MSG_CONN_JOB_CMD; a few may wait at the connection), and for each:
 * settles every record it can and finishes the job itself (results straight to the
 * queue), or hands it back to the router: to the next host after a host failure,
 * for a new connection after a reused one failed before MAIL, or unstarted.
 *
 * Events to the router (DELIVERY_MSG_CONN_EVT): READY once the session is set
 * up (TLS level, REQUIRETLS), JOB_DONE after every job (with the job when it is
 * handed back), CLOSED when the socket is gone (with every job still held), and
 * RETURN for jobs that arrive after CLOSED. DELIVERY_MSG_CONN_QUIT_CMD asks for
 * QUIT once the current job is done (waiting jobs go back); the actor unregisters
 * only on DELIVERY_MSG_CONN_RELEASE_CMD, which the router sends after CLOSED. */
#ifndef TERN_ACTORS_DELIVERY_CONN_H
#define TERN_ACTORS_DELIVERY_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/delivery_job.h"
#include "actors/delivery_target.h"

struct worker;
struct store;
struct tls_ctx;
struct conf_static;

/** Connect limit (queue.md §11.6). */
#define DELIVERY_CONNECT_MS (30u * 1000)
/** Written but unsent bytes beyond which a data block waits for the socket. */
#define DELIVERY_CONN_WBUF_MAX (512u * 1024)
/** Engine steps taken in one go before yielding to the worker loop. */
#define DELIVERY_CONN_STEPS_MAX 10000

enum delivery_conn_evt_kind {
	DELIVERY_CONN_READY = 1,
	DELIVERY_CONN_JOB_DONE = 2,
	DELIVERY_CONN_CLOSED = 3,
	DELIVERY_CONN_RETURN = 4,
};

/** What a new connection needs; copied at spawn (the pointers are borrowed and must
 * outlive the connection: targets, store, TLS context and config live as long as the
 * router). */
struct delivery_conn_params {
	uint64_t router;
	void *ref;                       /* the router's handle, echoed in events */
	uint64_t queue;                  /* where results go */
	struct store *store;
	struct tls_ctx *tls;             /* client context; NULL: no TLS possible */
	const struct conf_static *st;    /* source addresses */
	const struct delivery_target *target;
	const char *host;                /* copied: MX/transport host (TLS name, results) */
	struct netaddr ips[DELIVERY_IPS_MAX]; /* dial order */
	size_t nips;
	uint16_t port;
	enum delivery_tls need;          /* of the first job: sets up TLS */
	bool plain_ok;                   /* a failed opportunistic handshake may redial in plaintext */
};

/** Spawns a connection actor on w (NULL: the pool picks) with its first job (owned by
 * the connection from now on). Returns the actor id. */
uint64_t delivery_conn_spawn(const struct delivery_conn_params *p, struct delivery_job *first, struct worker *w);

#endif
