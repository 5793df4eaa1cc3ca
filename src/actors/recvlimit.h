/* Incoming per-account rate limits (config.md §1.1 IncomingMessagesPerMinute,
 * IncomingMessagesPerDay, IncomingBytesPerMinute, IncomingBytesPerDay; smtp.md §11):
 * messages and bytes delivered to one destination account from one sending IP
 * mask level. In memory, like the other limiters: a restart resets them. */
#ifndef TERN_ACTORS_RECVLIMIT_H
#define TERN_ACTORS_RECVLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/netaddr.h"

struct conf_limits;

/** Most tracked (account, mask level prefix) entries; the least recently used is
 * reused beyond it (its counts are forgotten: the cheaper error). */
#define RECVLIMIT_ENTRIES 65536

/** Whether one more message of size bytes from ip to account stays within the limits
 * of lim (a limit <= 0 is none) at every mask level. Counts nothing. now_ms is a
 * monotonic clock. Thread-safe. */
bool recvlimit_allowed(const struct conf_limits *lim, const char *account, const struct netaddr *ip,
                       int64_t size, int64_t now_ms);

/** Counts one delivered message of size bytes from ip to account (call once it is
 * committed, so a failed commit uses up nothing). Thread-safe. */
void recvlimit_record(const char *account, const struct netaddr *ip, int64_t size, int64_t now_ms);

/** Forgets every count (tests). */
void recvlimit_reset(void);

#endif
