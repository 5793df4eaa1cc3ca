/* Clocks: monotonic for timeouts and rate windows, wall (UTC) for schedules.
 *
 * The wall clock has a process-wide offset that tests move forward through the
 * control socket (`tern debug clock advance`) so queue schedules can be tested
 * without waiting real minutes (badinput.md #77: schedules use absolute UTC). */
#ifndef TERN_CORE_CLOCK_H
#define TERN_CORE_CLOCK_H

#include <stdint.h>

/** Monotonic milliseconds since an arbitrary origin. */
int64_t clock_mono_ms(void);
/** Monotonic nanoseconds since an arbitrary origin. */
int64_t clock_mono_ns(void);
/** Wall-clock Unix milliseconds, plus the test offset. */
int64_t clock_wall_ms(void);
/** Adds delta_ms to the wall-clock offset (tests only; logged by the caller). */
void clock_wall_advance(int64_t delta_ms);
/** Formats Unix ms as RFC 3339 UTC with seconds (`2025-03-27T10:00:02Z`) into out (>= 21 bytes). */
char *clock_rfc3339(char *out, int64_t unix_ms);
/** Parses RFC 3339 (with `Z` or an offset, optional fraction) into Unix ms; returns 0 or -1. */
int clock_parse_rfc3339(const char *s, int64_t *unix_ms);
/** Formats Unix ms as an RFC 5322 date (`Tue, 24 Nov 2026 22:44:47 +0000`) into out (>= 32 bytes). */
char *clock_rfc5322(char *out, int64_t unix_ms);

#endif
