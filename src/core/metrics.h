/* Prometheus metrics: counters, gauges and histograms, rendered as text.
 *
 * A series is found or created by (name, labels) once — callers keep the
 * returned pointer (stable for the life of the process) and update it with
 * relaxed atomics on hot paths. */
#ifndef TERN_CORE_METRICS_H
#define TERN_CORE_METRICS_H

#include <stdint.h>

#include "core/buf.h"

struct metric;

/** Finds or creates a counter series. labels is the inner label text, e.g. `code="250"`, or "". */
struct metric *metric_counter(const char *name, const char *labels, const char *help);
/** Finds or creates a gauge series. */
struct metric *metric_gauge(const char *name, const char *labels, const char *help);
/** Finds or creates a histogram with the given upper bounds (seconds, ascending; +Inf implied). */
struct metric *metric_histogram(const char *name, const char *labels, const char *help,
                                const double *bounds, int nbounds);
/** Adds n to a counter or gauge. */
void metric_add(struct metric *m, int64_t n);
/** Sets a gauge. */
void metric_set(struct metric *m, int64_t v);
/** Records one observation in a histogram. */
void metric_observe(struct metric *m, double v);
/** Current value of a counter or gauge (tests, CLI stats). */
int64_t metric_value(const struct metric *m);
/** Appends every series in Prometheus text exposition format 0.0.4. */
void metric_render(struct buf *out);

/** Default latency buckets in seconds (100 µs .. 60 s). */
extern const double metric_latency_bounds[];
extern const int metric_latency_nbounds;

#endif
