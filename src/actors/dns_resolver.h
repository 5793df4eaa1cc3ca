/* The DNS resolver actor: MX, address, TXT and PTR lookups for other actors.
 *
 * Send DNS_MSG_MX_REQ / _ADDR_REQ / _TXT_REQ / _PTR_REQ (include/tern/msg.def) to
 * the id dns_resolver_start() returned, with a req_id; the reply (_RES) echoes it
 * and always comes, unless the requester stopped meanwhile (then it is counted
 * in tern_dns_replies_dropped_total and dropped). Statuses: enum dns_status in
 * proto/dns_result.h. CORE_MSG_STOP_CMD stops the resolver: pending requests are
 * answered DNS_SERVFAIL, then the sender gets DNS_MSG_STOPPED_EVT. */
#ifndef TERN_ACTORS_DNS_RESOLVER_H
#define TERN_ACTORS_DNS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/dns_result.h"
#include "proto/dns_upstream.h"

/** Default time for one query, retries included. */
#define DNS_RESOLVER_TIMEOUT_MS 5000
/** Default most queries handed to getdns at once. */
#define DNS_RESOLVER_INFLIGHT_MAX 256
/** Default most distinct queries waiting for an in-flight slot; beyond: DNS_OVERLOAD. */
#define DNS_RESOLVER_PENDING_MAX 16384
/** Default most requests being worked on at once; beyond: DNS_OVERLOAD at once. */
#define DNS_RESOLVER_JOBS_MAX 65536
/** Default most answers cached. */
#define DNS_RESOLVER_CACHE_MAX 10000
/** Longest time an answer is cached, whatever its TTL (seconds). */
#define DNS_RESOLVER_CACHE_TTL_MAX 3600

/** Resolver settings; zero fields take the defaults above. */
struct dns_resolver_config {
	struct dns_upstream servers[DNS_UPSTREAM_MAX];
	size_t nservers;       /* 0: the nameservers of /etc/resolv.conf */
	int64_t timeout_ms;
	size_t inflight_max;
	size_t pending_max;
	size_t jobs_max;
	size_t cache_max;
	bool no_cache;         /* every request goes to the resolvers */
	bool trust_ad_any;     /* trust AD from non-loopback resolvers too (default: loopback only) */
};

/** Sets cfg's servers from `DNS.Resolvers` entries (`ip`, `ip:port`, `[ipv6]:port`).
 * Returns 0, or -1 with a message naming the bad entry in err. */
int dns_resolver_config_servers(struct dns_resolver_config *cfg, const struct slice *entries, size_t n,
                                char *err, size_t errlen);

/** Starts the resolver actor on a dedicated worker, with its getdns thread. cfg is
 * copied. Returns the actor id, or 0 with a message in err (no resolvers, getdns
 * setup failed). Needs a running worker pool. */
uint64_t dns_resolver_start(const struct dns_resolver_config *cfg, char *err, size_t errlen);

/** Result of a synchronous lookup; owned by the caller, freed with dns_resolver_sync_free(). */
struct dns_sync_result {
	uint64_t status;            /* enum dns_status */
	bool secure, implicit;
	uint64_t ignored;
	char name[DNS_NAME_MAX + 1];
	size_t n;                   /* items: MX hosts, TXT texts or PTR names */
	char **items;               /* NUL-terminated copies (TXT may hold NULs: see lens) */
	size_t *lens;
	uint64_t *prefs;            /* MX preferences, parallel to items */
	uint8_t (*addrs)[16];       /* ADDR: IPv6 or IPv4-mapped */
	size_t naddrs;
};

/** Sends one request (req_type DNS_MSG_*_REQ with its payload) to the resolver from a
 * temporary actor and waits for the reply. For tools and tests, never from a worker
 * thread. Returns 0 with *out filled, -ETIMEDOUT, or a negative send error. */
int dns_resolver_sync(uint64_t resolver, uint16_t req_type, const void *req, struct dns_sync_result *out,
                      int64_t timeout_ms);
/** Frees what dns_resolver_sync() stored in r. */
void dns_resolver_sync_free(struct dns_sync_result *r);

#endif
