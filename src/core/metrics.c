/* Prometheus metrics registry.
 *
 * DESIGN: series live in one mutex-protected list, only touched on creation and
 * rendering; updates are relaxed atomics on the series itself. Rendering sorts
 * nothing: series of one family are emitted together by scanning per family
 * name in creation order, with HELP/TYPE once per family. */
#include "core/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

enum metric_kind { MK_COUNTER, MK_GAUGE, MK_HISTOGRAM };

struct metric {
	struct metric *next;
	enum metric_kind kind;
	char *name, *labels, *help;
	_Atomic int64_t value;
	/* histogram */
	int nbounds;
	double *bounds;
	_Atomic uint64_t *buckets; /* nbounds + 1 */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;   /* sum scaled by 1e9 to stay integral */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metric *reg_head, **reg_tail = &reg_head;

const double metric_latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                        5,      10,      30,     60};
const int metric_latency_nbounds = sizeof metric_latency_bounds / sizeof metric_latency_bounds[0];

static struct metric *find_or_add(enum metric_kind kind, const char *name, const char *labels,
                                  const char *help, const double *bounds, int nbounds)
{
	pthread_mutex_lock(&reg_lock);
	for (struct metric *m = reg_head; m; m = m->next)
		if (strcmp(m->name, name) == 0 && strcmp(m->labels, labels) == 0) {
			pthread_mutex_unlock(&reg_lock);
			return m;
		}
	struct metric *m = xcalloc(1, sizeof *m);
	m->kind = kind;
	m->name = xstrdup(name);
	m->labels = xstrdup(labels ? labels : "");
	m->help = xstrdup(help ? help : "");
	if (kind == MK_HISTOGRAM) {
		m->nbounds = nbounds;
		m->bounds = xmemdup(bounds, sizeof(double) * (size_t)nbounds);
		m->buckets = xcalloc((size_t)nbounds + 1, sizeof *m->buckets);
	}
	*reg_tail = m;
	reg_tail = &m->next;
	pthread_mutex_unlock(&reg_lock);
	return m;
}

struct metric *metric_counter(const char *name, const char *labels, const char *help)
{
	return find_or_add(MK_COUNTER, name, labels ? labels : "", help, NULL, 0);
}

struct metric *metric_gauge(const char *name, const char *labels, const char *help)
{
	return find_or_add(MK_GAUGE, name, labels ? labels : "", help, NULL, 0);
}

struct metric *metric_histogram(const char *name, const char *labels, const char *help,
                                const double *bounds, int nbounds)
{
	return find_or_add(MK_HISTOGRAM, name, labels ? labels : "", help, bounds, nbounds);
}

void metric_add(struct metric *m, int64_t n)
{
	atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

void metric_set(struct metric *m, int64_t v)
{
	atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

int64_t metric_value(const struct metric *m)
{
	return atomic_load_explicit(&((struct metric *)m)->value, memory_order_relaxed);
}

void metric_observe(struct metric *m, double v)
{
	int i = 0;
	while (i < m->nbounds && v > m->bounds[i])
		i++;
	atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
	if (v > 0 && v < 1e9)
		atomic_fetch_add_explicit(&m->sum_ns, (uint64_t)(v * 1e9), memory_order_relaxed);
}

static void render_labels(struct buf *out, const char *labels, const char *extra)
{
	if (!*labels && !extra)
		return;
	buf_putc(out, '{');
	buf_puts(out, labels);
	if (extra) {
		if (*labels)
			buf_putc(out, ',');
		buf_puts(out, extra);
	}
	buf_putc(out, '}');
}

static void render_one(struct buf *out, struct metric *m)
{
	if (m->kind != MK_HISTOGRAM) {
		buf_puts(out, m->name);
		render_labels(out, m->labels, NULL);
		buf_printf(out, " %lld\n", (long long)metric_value(m));
		return;
	}
	uint64_t cum = 0;
	char le[64];
	for (int i = 0; i <= m->nbounds; i++) {
		cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		if (i < m->nbounds)
			snprintf(le, sizeof le, "le=\"%g\"", m->bounds[i]);
		else
			snprintf(le, sizeof le, "le=\"+Inf\"");
		buf_printf(out, "%s_bucket", m->name);
		render_labels(out, m->labels, le);
		buf_printf(out, " %llu\n", (unsigned long long)cum);
	}
	buf_printf(out, "%s_sum", m->name);
	render_labels(out, m->labels, NULL);
	buf_printf(out, " %.9f\n", (double)atomic_load(&m->sum_ns) / 1e9);
	buf_printf(out, "%s_count", m->name);
	render_labels(out, m->labels, NULL);
	buf_printf(out, " %llu\n", (unsigned long long)atomic_load(&m->count));
}

void metric_render(struct buf *out)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	pthread_mutex_lock(&reg_lock);
	for (struct metric *m = reg_head; m; m = m->next) {
		bool first = true;
		for (struct metric *p = reg_head; p != m; p = p->next)
			if (strcmp(p->name, m->name) == 0) {
				first = false;
				break;
			}
		if (!first)
			continue;
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, types[m->kind]);
		for (struct metric *p = m; p; p = p->next)
			if (strcmp(p->name, m->name) == 0)
				render_one(out, p);
	}
	pthread_mutex_unlock(&reg_lock);
}
