/* A bounded TTL cache of DNS answers keyed by (name, type).
 *
 * Single-threaded (the resolver actor owns it). Time is passed in by the caller. */
#ifndef TERN_PROTO_DNS_CACHE_H
#define TERN_PROTO_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/dns_result.h"

struct dns_cache;

/** A cache holding at most max entries (max >= 1); the least recently used goes first. */
struct dns_cache *dns_cache_new(size_t max);
/** Frees the cache and drops its references to answers. NULL is ignored. */
void dns_cache_free(struct dns_cache *c);
/** The live answer for (name, type) with a new reference for the caller, or NULL
 * (absent or expired at now_ms; an expired entry is removed). */
struct dns_answer *dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, int64_t now_ms);
/** Stores a (the cache takes its own reference) for ttl_s seconds from now_ms,
 * replacing an entry for the same key. ttl_s == 0 stores nothing. */
void dns_cache_put(struct dns_cache *c, const char *name, uint16_t type, struct dns_answer *a,
                   uint32_t ttl_s, int64_t now_ms);
/** Number of entries (expired ones not yet removed included). */
size_t dns_cache_size(const struct dns_cache *c);

#endif
