/* logfmt logging on standard error.
 *
 * One line per event: `t=<RFC 3339 UTC ms> level=<lvl> pkg=<pkg> msg="..." k=v ...`.
 * Lines are formatted in a stack buffer and written with one write(2), so lines
 * from different threads never interleave. */
#ifndef TERN_CORE_LOG_H
#define TERN_CORE_LOG_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/buf.h"

/** Levels, most severe first; config `LogLevel` names them. */
enum log_level {
	LOG_ERROR = 0,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,     /* protocol transcripts */
	LOG_TRACEAUTH, /* also credentials */
	LOG_TRACEDATA, /* also message data */
};

extern _Atomic int log_level_cur;

/** Whether events at level l are written. */
#define log_enabled(l) ((int)(l) <= atomic_load_explicit(&log_level_cur, memory_order_relaxed))

/** Sets the current level. */
void log_set_level(enum log_level l);
/** Parses a config level name; returns -1 when unknown. */
int log_level_parse(const char *name);
/** Name of a level. */
const char *log_level_name(enum log_level l);

/** Writes one event. kvfmt is a printf format for the `k=v ...` tail (may be NULL or ""). */
void log_write(enum log_level l, const char *pkg, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Writes s as a logfmt value into dst (quoted and escaped if needed, non-printables as \xNN,
 * truncated to fit n). Returns dst. */
char *log_quote(char *dst, size_t n, struct slice s);

#define log_error(pkg, msg, ...) log_write(LOG_ERROR, pkg, msg, __VA_ARGS__)
#define log_info(pkg, msg, ...) \
	do { if (log_enabled(LOG_INFO)) log_write(LOG_INFO, pkg, msg, __VA_ARGS__); } while (0)
#define log_debug(pkg, msg, ...) \
	do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, pkg, msg, __VA_ARGS__); } while (0)
#define log_trace(pkg, msg, ...) \
	do { if (log_enabled(LOG_TRACE)) log_write(LOG_TRACE, pkg, msg, __VA_ARGS__); } while (0)

#endif
