/* Per-IP connection limits for SMTP (smtp.md §12, config.md §1.1 Limits):
 * concurrent connections and new connections per minute, at the three mask levels.
 * Shared by all workers; memory bounded by CONNLIMIT_ENTRIES. */
#ifndef TERN_ACTORS_CONNLIMIT_H
#define TERN_ACTORS_CONNLIMIT_H

#include <stdint.h>

#include "core/netaddr.h"

/** Most tracked keys; the least recently used idle entry is evicted beyond it. */
#define CONNLIMIT_ENTRIES 65536

/** Verdicts of connlimit_open. */
enum connlimit_verdict { CONNLIMIT_OK = 0, CONNLIMIT_TOO_MANY, CONNLIMIT_TOO_FAST };

/** Sets the limits (three levels each; 0 = unlimited). Call once at start-up. */
void connlimit_configure(const int64_t concurrent[3], const int64_t per_minute[3]);
/** Counts a new connection from a (now_ms monotonic). On CONNLIMIT_OK the caller must
 * later call connlimit_close(a) once; otherwise nothing was counted as open. */
enum connlimit_verdict connlimit_open(const struct netaddr *a, int64_t now_ms);
/** A connection counted by connlimit_open ended. */
void connlimit_close(const struct netaddr *a);

#endif
