/* Bounded, lazily filled tables of labelled series (see metric_table.h).
 *
 * DESIGN: open addressing with linear probing over a power-of-two array at
 * least twice the cap, so a probe always ends at an empty slot. Slots are only
 * ever filled, never emptied or moved, and only under the table's mutex: the
 * writer stores the series pointer first and then publishes the key with
 * release order, so a reader that finds its key with acquire order sees the
 * pointer. A reader that reaches an empty slot takes the mutex and looks again
 * before inserting, so two threads asking for a new key get one series. The
 * series themselves come from core/metrics.h, which finds an existing
 * (name, labels) series instead of making a second one. Once full, a miss
 * returns NULL without the mutex, so unknown keys cost no contention. */
#include "actors/metric_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/metrics.h"
#include "core/xmalloc.h"

struct metric_table_slot {
	_Atomic uint64_t key;              /* key + 1; 0 = empty */
	struct metric *_Atomic m;
};

struct metric_table {
	struct metric_table_def def;
	pthread_mutex_t mu;
	size_t used;                       /* keys with a series (under mu) */
	_Atomic bool full;                 /* used == cap: misses need no lock */
	size_t mask;                       /* slots - 1 */
	struct metric_table_slot *slots;
};

struct metric_table *metric_table_new(const struct metric_table_def *def)
{
	ASSERT(def->name && def->labels_cb && def->cap > 0);
	struct metric_table *t = xcalloc(1, sizeof *t);
	t->def = *def;
	pthread_mutex_init(&t->mu, NULL);
	size_t n = 16;
	while (n < def->cap * 2)
		n *= 2;
	t->mask = n - 1;
	t->slots = xcalloc(n, sizeof *t->slots);
	return t;
}

static size_t home(const struct metric_table *t, uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 17) & t->mask;
}

/* The slot holding k (stored form), or the empty slot where it would go. */
static struct metric_table_slot *probe(struct metric_table *t, uint64_t k, bool *found)
{
	for (size_t i = home(t, k);; i = (i + 1) & t->mask) {
		struct metric_table_slot *s = &t->slots[i];
		uint64_t have = atomic_load_explicit(&s->key, memory_order_acquire);
		if (have == k || have == 0) {
			*found = have == k;
			return s;
		}
	}
}

static struct metric *insert(struct metric_table *t, uint64_t k)
{
	pthread_mutex_lock(&t->mu);
	bool found;
	struct metric_table_slot *s = probe(t, k, &found);
	struct metric *m = NULL;
	if (found) {
		m = atomic_load_explicit(&s->m, memory_order_relaxed);
	} else if (t->used < t->def.cap) {
		char labels[METRIC_TABLE_LABELS_MAX] = "";
		t->def.labels_cb(k - 1, labels);
		m = t->def.bounds ? metric_histogram(t->def.name, labels, t->def.help, t->def.bounds, t->def.nbounds)
		                  : metric_counter(t->def.name, labels, t->def.help);
		atomic_store_explicit(&s->m, m, memory_order_relaxed);
		atomic_store_explicit(&s->key, k, memory_order_release);
		if (++t->used == t->def.cap)
			atomic_store_explicit(&t->full, true, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->mu);
	return m;
}

struct metric *metric_table_get(struct metric_table *t, uint64_t key)
{
	ASSERT(key <= METRIC_TABLE_KEY_MAX);
	uint64_t k = key + 1;
	bool found;
	struct metric_table_slot *s = probe(t, k, &found);
	if (found)
		return atomic_load_explicit(&s->m, memory_order_relaxed);
	if (atomic_load_explicit(&t->full, memory_order_relaxed))
		return NULL;
	return insert(t, k);
}
