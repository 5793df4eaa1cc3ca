/* The resolver's getdns thread: one getdns stub context on its own libevent loop.
 *
 * Only the resolver actor uses this. Fetches go in from the actor's thread and come
 * back, answered, through a done list; the loop calls a wake function when that
 * list becomes non-empty. getdns is never touched outside the loop thread. */
#ifndef TERN_ACTORS_DNS_RESOLVER_LOOP_H
#define TERN_ACTORS_DNS_RESOLVER_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/dns_result.h"
#include "proto/dns_upstream.h"

/** One query. Owned by the submitter, lent to the loop from submit until it is taken back from the done list. */
struct dns_fetch {
	char name[DNS_NAME_MAX + 1]; /* normalised query name */
	uint16_t type;
	void *ctx;                   /* submitter's */
	struct dns_answer *answer;   /* set by the loop; one reference, owned with the fetch */
	/* loop-private */
	struct dns_resolver_loop *loop;
	struct dns_fetch *next, *oprev, *onext;
	bool done;
};

/** Loop settings. */
struct dns_resolver_loop_opts {
	const struct dns_upstream *servers; /* at least one */
	size_t nservers;
	int64_t timeout_ms;                 /* per query, all retries included */
	bool trust_ad_any;                  /* trust the AD bit from any resolver, not only loopback ones */
	void (*wake)(void *arg);            /* runs on the loop thread when answers are ready */
	void *wake_arg;
};

struct dns_resolver_loop;

/** Starts the thread and its getdns context. Returns NULL with a message in err on failure. */
struct dns_resolver_loop *dns_resolver_loop_start(const struct dns_resolver_loop_opts *o, char *err, size_t errlen);
/** Queues f (name, type, ctx set) for the loop. Any thread; f must stay valid until taken back. */
void dns_resolver_loop_submit(struct dns_resolver_loop *l, struct dns_fetch *f);
/** Takes every answered fetch (linked by ->next, in completion order), or NULL. Re-arms the wake. */
struct dns_fetch *dns_resolver_loop_take_done(struct dns_resolver_loop *l);
/** Stops and joins the thread and frees l. Returns every fetch not yet taken back,
 * unfinished ones answered DNS_FETCH_ERROR; the caller owns them. */
struct dns_fetch *dns_resolver_loop_stop(struct dns_resolver_loop *l);

#endif
