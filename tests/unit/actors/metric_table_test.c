/* metric_table: one series per key, the cap, the rendered labels, and concurrent
 * first use of the same keys from several threads (one series each; run under
 * TSan to see the publication order). */
#include <pthread.h>
#include <string.h>

#include "actors/metric_table.h"
#include "check.h"
#include "core/metrics.h"

static void labels_cb(uint64_t key, char *out)
{
	snprintf(out, METRIC_TABLE_LABELS_MAX, "k=\"%llu\"", (unsigned long long)key);
}

/* Tables live as long as the process: kept here so LeakSanitizer sees them reachable. */
struct metric_table *t1, *t2, *t3; /* not static: the stores must stay */

/* The value of `name{labels}` in the rendered metrics, or -1 when absent. */
static long long rendered(const char *series)
{
	struct buf b;
	buf_init(&b);
	metric_render(&b);
	const char *s = buf_cstr(&b);
	long long v = -1;
	size_t n = strlen(series);
	for (const char *p = s; (p = strstr(p, series)) != NULL; p += n)
		if ((p == s || p[-1] == '\n') && p[n] == ' ') {
			v = atoll(p + n + 1);
			break;
		}
	free((void *)s);
	return v;
}

TEST(same_key_same_series)
{
	struct metric_table *t = t1 = metric_table_new(&(struct metric_table_def){
	    .name = "test_table_total", .help = "test", .labels_cb = labels_cb, .cap = 4});
	struct metric *a = metric_table_get(t, 7), *b = metric_table_get(t, 7), *c = metric_table_get(t, 8);
	CHECK(a && a == b && c && c != a);
	metric_add(a, 2);
	metric_add(b, 3);
	metric_add(c, 1);
	CHECK_INT(rendered("test_table_total{k=\"7\"}"), 5);
	CHECK_INT(rendered("test_table_total{k=\"8\"}"), 1);
	CHECK(metric_table_get(t, METRIC_TABLE_KEY_MAX) != NULL);
	CHECK(metric_table_get(t, 0) != NULL);
}

TEST(cap_is_kept)
{
	struct metric_table *t = t2 = metric_table_new(&(struct metric_table_def){
	    .name = "test_capped_total", .help = "test", .labels_cb = labels_cb, .cap = 3});
	for (uint64_t k = 100; k < 103; k++)
		CHECK(metric_table_get(t, k) != NULL);
	CHECK(metric_table_get(t, 103) == NULL);
	CHECK(metric_table_get(t, 1u << 20) == NULL);
	CHECK(metric_table_get(t, 101) != NULL); /* known keys still answer once full */
	CHECK_INT(rendered("test_capped_total{k=\"103\"}"), -1);
}

TEST(histogram_series)
{
	static const double bounds[] = {0.1, 1};
	struct metric_table *t = t3 = metric_table_new(&(struct metric_table_def){
	    .name = "test_table_seconds", .help = "test", .bounds = bounds, .nbounds = 2, .labels_cb = labels_cb, .cap = 2});
	struct metric *m = metric_table_get(t, 1);
	metric_observe(m, 0.5);
	metric_observe(m, 5);
	CHECK_INT(rendered("test_table_seconds_count{k=\"1\"}"), 2);
	CHECK_INT(rendered("test_table_seconds_bucket{k=\"1\",le=\"1\"}"), 1);
}

#define THREADS 4
#define KEYS 64

static struct metric_table *shared;
static struct metric *seen[THREADS][KEYS];

static void *worker(void *arg)
{
	struct metric **mine = arg;
	for (int round = 0; round < 50; round++)
		for (uint64_t k = 0; k < KEYS; k++) {
			struct metric *m = metric_table_get(shared, k * 1000003);
			metric_add(m, 1);
			mine[k] = m;
		}
	return NULL;
}

TEST(concurrent_first_use)
{
	shared = metric_table_new(&(struct metric_table_def){
	    .name = "test_shared_total", .help = "test", .labels_cb = labels_cb, .cap = KEYS});
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, seen[i]);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int k = 0; k < KEYS; k++) {
		for (int i = 1; i < THREADS; i++)
			CHECK(seen[i][k] == seen[0][k]);
		CHECK_INT(metric_value(seen[0][k]), THREADS * 50);
	}
	CHECK(metric_table_get(shared, 1) == NULL); /* exactly KEYS series were made */
}

TEST_MAIN()
