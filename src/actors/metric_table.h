/* A bounded table of labelled series of one metric family, filled on first use.
 *
 * For families whose label sets are too many to register up front (a histogram
 * per command, reply code and enhanced code) but bounded by the caller's
 * encoding: the caller packs the label values into a 63-bit key, the table turns
 * a key into its series once (through labels_cb and core/metrics.h) and then
 * answers lookups of that key with a few relaxed atomic loads, without locks,
 * allocation or string work. At most `cap` keys get a series; lookups of further
 * keys return NULL and the caller counts them in a catch-all series it
 * registered itself. Tables live as long as the process. */
#ifndef TERN_ACTORS_METRIC_TABLE_H
#define TERN_ACTORS_METRIC_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct metric;
struct metric_table;

/** Largest key a table takes. */
#define METRIC_TABLE_KEY_MAX (UINT64_MAX >> 1)
/** Longest label text labels_cb may write, NUL included. */
#define METRIC_TABLE_LABELS_MAX 256

/** Writes the inner label text of key (e.g. `cmd="mail",code="250"`) into out
 * (METRIC_TABLE_LABELS_MAX bytes). Called under the table's lock, at most once
 * per key; must not call back into the table. */
typedef void (*metric_table_labels_fn)(uint64_t key, char *out);

/** What a table holds. Strings and bounds are borrowed for the process's life
 * (string literals and static arrays). bounds NULL: counters; else histograms. */
struct metric_table_def {
	const char *name;
	const char *help;
	const double *bounds;
	int nbounds;
	metric_table_labels_fn labels_cb;
	size_t cap;          /* keys that get a series (> 0) */
};

/** Creates a table (never freed). Call once, e.g. under pthread_once. */
struct metric_table *metric_table_new(const struct metric_table_def *def);

/** The series of key (<= METRIC_TABLE_KEY_MAX), registered on first use; NULL once
 * cap other keys have a series. Thread-safe; lock-free for keys seen before. */
struct metric *metric_table_get(struct metric_table *t, uint64_t key);

#endif
