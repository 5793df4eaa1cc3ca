/* The delivery router: the delivery side of the outgoing queue (queue.md §3, §4,
 * §9, §11, §12).
 *
 * The queue sends DELIVERY_MSG_WORK_REQ {ids, transport, domain, attempt}. The
 * router loads the records, resolves the destination (MX and addresses through the
 * resolver actor, or the transport's host), waits while the destination host is at
 * Queue.MaxConnectionsPerHost or all connections are at Queue.MaxConnections
 * (closing idle ones first), reuses an idle connection that fits (same transport,
 * host, IP, TLS level; queue.md §3) or opens a new one, and just before a record
 * goes to a connection (or when DNS failed) asks the queue for attempt accounting
 * (QUEUE_MSG_ATTEMPT_REQ, batched). Every record ends with exactly one
 * QUEUE_MSG_RESULT_EVT, then DELIVERY_MSG_DONE_EVT lists the ids the router no
 * longer holds. CORE_MSG_STOP_CMD stops it: records not started are given back
 * (outcome 3), connections finish their transaction and QUIT, then the sender
 * gets DELIVERY_MSG_STOPPED_EVT. */
#ifndef TERN_ACTORS_DELIVERY_ROUTER_H
#define TERN_ACTORS_DELIVERY_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

struct conf_static;
struct store;
struct tls_ctx;
struct worker;

/** What the router works with. Pointers are borrowed and must outlive the router. */
struct delivery_env {
	const struct conf_static *st;
	struct store *store;
	uint64_t resolver;          /* DNS resolver actor */
	uint64_t queue;             /* queue actor; 0: server_get()->queue at each use */
	struct tls_ctx *tls;        /* outgoing TLS client context; NULL: no TLS */
	bool localserve;            /* every delivery goes to Tern's own SMTP listener */
	uint16_t direct_port;       /* 0: 25 (tests use their own) */
	uint16_t local_port;        /* 0: 1025 */
};

/** Starts the router for the running server (server_get(): store, resolver, queue,
 * tls_client, localserve) with st's Queue limits and transports, on w (NULL: a pool
 * worker). Returns the actor id. */
uint64_t delivery_router_start(const struct conf_static *st, struct worker *w);

/** Starts a router with an explicit environment (copied). Returns the actor id. */
uint64_t delivery_router_start_env(const struct delivery_env *env, struct worker *w);

#endif
