/* The failed-authentication limiter of smtp.md §12 / badinput.md #43: one
 * instance shared by SMTP, IMAP, webapi and the web pages, keyed on the
 * client's IP mask levels (config.md §1.1 AuthFailuresPerMinute/PerDay).
 *
 * Pure data structure: the caller builds the key of each mask level (for
 * example "4:192.0.2.0/26") and passes the time in, so tests need no clock.
 * Thread-safe (one mutex, O(1) per call) and bounded in memory. */
#ifndef TERN_PROTO_AUTHLIMIT_H
#define TERN_PROTO_AUTHLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** IP mask levels (README: IPv4 /32, /26, /21; IPv6 /64, /48, /32). */
#define AUTHLIMIT_LEVELS 3
/** Longest key of one level, in octets. */
#define AUTHLIMIT_KEY_MAX 64
/** Default bound on tracked (level, key) entries (about 130 bytes each). */
#define AUTHLIMIT_ENTRIES_DEFAULT 32768

struct authlimit_cfg {
	uint32_t per_minute[AUTHLIMIT_LEVELS]; /* failures per 60 s; 0 = unlimited */
	uint32_t per_day[AUTHLIMIT_LEVELS];    /* failures per 24 h; 0 = unlimited */
	size_t max_entries;                    /* 0 = AUTHLIMIT_ENTRIES_DEFAULT */
};

/** Fills cfg with the defaults: 10/30/90 per minute, 50/150/450 per day. */
void authlimit_cfg_default(struct authlimit_cfg *cfg);

struct authlimit;

/** Creates a limiter (cfg is copied). Free with authlimit_free. */
struct authlimit *authlimit_new(const struct authlimit_cfg *cfg);
/** Frees l. NULL is allowed. */
void authlimit_free(struct authlimit *l);

/**
 * Whether one more authentication attempt may be checked: false once any
 * level has used up its minute or day allowance. keys[i] is the key of mask
 * level i+1 (borrowed; at most AUTHLIMIT_KEY_MAX octets, longer panics); an
 * empty key skips that level. now_ms is any monotonic millisecond clock.
 */
bool authlimit_allowed(struct authlimit *l, const struct slice keys[AUTHLIMIT_LEVELS],
                       int64_t now_ms);

/**
 * Counts one failed authentication against every level's key. Allowances
 * refill continuously (a limit of 10 per minute frees one attempt every 6 s).
 * When the table is full the least recently failed entry is dropped.
 */
void authlimit_failed(struct authlimit *l, const struct slice keys[AUTHLIMIT_LEVELS],
                      int64_t now_ms);

/** Number of tracked entries (for metrics and tests). */
size_t authlimit_count(struct authlimit *l);

#endif
