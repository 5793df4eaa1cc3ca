/* The scheduler (queue.md §3, §4, §9): due records in NextAttempt order,
 * attempt accounting before any result, the retry schedule with a moved wall
 * clock, the credit that bounds records in flight (no storm after a forward
 * clock step, badinput.md #77), a bounded working set with 200k queued
 * records, and a restart that resumes without loading the queue. */
#include "check.h"
#include "queue_testlib.h"

#include "core/metrics.h"

static int64_t gauge(const char *name)
{
	return metric_value(metric_gauge(name, "", ""));
}

static uint64_t add_one_at(struct qt *t, const char *lp, int64_t next)
{
	struct qt_rcpt rc = {lp, "example.org"};
	struct queue_add *a = qt_add_new("app", "app", "example.com", &rc, 1, store_next_id(t->s));
	a->recs[0].next_attempt = next;
	CHECK_INT(qt_add_send(t, a), 0);
	return qt_c->add_ids[0];
}

TEST(due_records_in_next_attempt_order)
{
	struct qt t;
	qt_start(&t, true, NULL);
	struct queue_op *op = queue_op_new(QUEUE_OP_HOLDRULE_ADD);
	CHECK_INT(qt_op(&t, op), 0);
	uint64_t rule = qt_c->op_id;
	int64_t now = clock_wall_ms();
	int64_t offs[5] = {-1000, -4000, -2000, -3000, 3600 * 1000};
	uint64_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = add_one_at(&t, "r", now + offs[i]);
	qt_sleep_ms(100);
	CHECK_INT(qt_r->handed, 0);
	op = queue_op_new(QUEUE_OP_HOLDRULE_REMOVE);
	op->rule_id = rule;
	CHECK_INT(qt_op(&t, op), 0);
	CHECK_INT(qt_op(&t, queue_op_new(QUEUE_OP_UNHOLD)), 0);
	CHECK_INT(qt_c->op_count, 5);
	CHECK(qt_wait_ge(&qt_r->handed, 4));
	qt_sleep_ms(100);
	pthread_mutex_lock(&qt_mu);
	CHECK_INT(qt_r->handed, 4); /* the future one waits */
	uint64_t want[4] = {ids[1], ids[3], ids[2], ids[0]};
	for (int i = 0; i < 4 && i < qt_r->nwork; i++)
		CHECK_INT(qt_r->work[i].ids[0], want[i]);
	pthread_mutex_unlock(&qt_mu);
	qt_stop(&t);
}

TEST(attempt_accounting_and_retry_schedule)
{
	struct qt t;
	store_tmp_dir(t.dir);
	qt_start_conf(&t, QT_TCONF_MIN, QT_DCONF, false, qt_outcome_temp);
	struct qt_rcpt rc = {"bob", "example.org"};
	CHECK_INT(qt_add(&t, &rc, 1), 0);
	uint64_t id = qt_c->add_ids[0];
	CHECK(qt_wait_ge(&qt_r->results, 1));
	qt_sleep_ms(100);
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, id, &r), 0);
	CHECK_INT(r.attempts, 1);
	CHECK(r.last_attempt > 0);
	int64_t d = r.next_attempt - r.last_attempt;
	CHECK(d >= 60000 - 5000 && d <= 60000 + 5000);
	CHECK_INT(r.results.n, 1);
	struct store_msg_result *res = r.results.v;
	CHECK_STR(res[0].error, "remote: 451 4.2.0 mailbox busy");
	CHECK_INT(res[0].code, 451);
	CHECK_STR(res[0].secode, "2.0");
	CHECK_INT(res[0].duration_ms, 12);
	CHECK(!res[0].success);
	CHECK_INT(r.dialed_ips.n, 1);
	CHECK_STR(r.dialed_ips.v[0].host, "mx.example.org");
	CHECK_STR(r.dialed_ips.v[0].ips.v[0], "192.0.2.7");
	/* Not due yet: no second attempt. */
	qt_sleep_ms(200);
	CHECK_INT(qt_r->handed, 1);
	/* Move the clock past each interval: attempts 2 and 3 happen, the next gap grows. */
	for (int a = 2; a <= 3; a++) {
		qt_advance(&t, (int64_t)(a - 1) * 60000 + 10000);
		CHECK(qt_wait_ge(&qt_r->results, a));
		qt_sleep_ms(100);
		store_codec_free(&store_rec_queue, &r);
		CHECK_INT(qt_load(&t, id, &r), 0);
		CHECK_INT(r.attempts, a);
		d = r.next_attempt - r.last_attempt;
		CHECK(d >= a * 60000 - 5000 && d <= a * 60000 + 5000);
		struct store_key k;
		store_key_qdue(&k, r.next_attempt, id);
		CHECK(qt_has(&t, STORE_CF_QUEUE, &k));
	}
	CHECK_INT(qt_count(&t, STORE_CF_QUEUE, STORE_K_QDUE), 1);
	store_codec_free(&store_rec_queue, &r);
	qt_stop(&t);
}

TEST(given_back_unattempted_goes_again_unchanged)
{
	struct qt t;
	qt_start(&t, true, NULL);
	struct qt_rcpt rc = {"bob", "example.org"};
	CHECK_INT(qt_add(&t, &rc, 1), 0);
	uint64_t id = qt_c->add_ids[0];
	CHECK(qt_wait_ge(&qt_r->handed, 1));
	/* The router gives it back without accounting an attempt (e.g. shutting down). */
	struct queue_result_evt e = {.id = id, .outcome = 3};
	QUEUE_MSG_RESULT_EVT_send(t.queue, &qt_r->a, &e, NULL);
	struct delivery_done_evt d = {.ids = {.v = &id, .n = 1}};
	DELIVERY_MSG_DONE_EVT_send(t.queue, &qt_r->a, &d, NULL);
	CHECK(qt_wait_ge(&qt_r->handed, 2)); /* after its cool-down */
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, id, &r), 0);
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.results.n, 0);
	CHECK_INT(r.next_attempt, r.queued);
	store_codec_free(&store_rec_queue, &r);
	/* An ATTEMPT_REQ for a record the queue did not hand out is refused (left out). */
	uint64_t bogus = id + 1000;
	struct queue_attempt_req ar = {.ids = {.v = &bogus, .n = 1}};
	QUEUE_MSG_ATTEMPT_REQ_send(t.queue, &qt_r->a, &ar, NULL);
	CHECK(qt_wait_ge(&qt_r->attempt_res, 1));
	CHECK_INT(qt_r->nlast_accounted, 0);
	qt_stop(&t);
}

/* The scheduler keeps bounds on the next-attempt index so passes skip the deletion markers
 * delivered records leave; an entry written below those bounds afterwards (a record due in
 * the past, one due a little later) must still be found. */
TEST(late_entries_below_the_scan_bounds)
{
	struct qt t;
	qt_start(&t, false, NULL);
	int64_t now = clock_wall_ms();
	uint64_t last = 0;
	for (int i = 0; i < 300; i++)
		last = add_one_at(&t, "r", now);
	CHECK(qt_wait_ge(&qt_r->results, 300));
	CHECK(qt_wait_gone(&t, last));
	qt_sleep_ms(50);
	add_one_at(&t, "past", clock_wall_ms() - 60000);
	CHECK(qt_wait_ge(&qt_r->handed, 301));
	uint64_t later = add_one_at(&t, "later", clock_wall_ms() + 1500);
	pthread_mutex_lock(&qt_mu);
	CHECK_INT(qt_r->handed, 301); /* not due yet */
	pthread_mutex_unlock(&qt_mu);
	CHECK(qt_wait_ge(&qt_r->handed, 302));
	CHECK(qt_wait_gone(&t, later));
	CHECK_INT(qt_count(&t, STORE_CF_QUEUE, STORE_K_QDUE), 0);
	qt_stop(&t);
}

/* Adds n records in submissions of 1000 recipients at 1000 different domains. */
static void add_many(struct qt *t, int n)
{
	struct qt_rcpt *rc = xcalloc(1000, sizeof *rc);
	char (*doms)[32] = xcalloc(1000, 32);
	for (int i = 0; i < 1000; i++) {
		snprintf(doms[i], 32, "d%d.example", i);
		rc[i] = (struct qt_rcpt){"user", doms[i]};
	}
	for (int done = 0; done < n; done += 1000)
		CHECK_INT(qt_add(t, rc, 1000), 0);
	free(rc);
	free(doms);
}

TEST(bounded_working_set_and_restart)
{
	const char *env = getenv("TERN_QUEUE_TEST_RECORDS");
	int n = env ? atoi(env) : 200000;
	struct qt t;
	qt_start(&t, true, NULL);
	add_many(&t, n);
	CHECK(qt_wait_ge(&qt_r->handed, 200));
	qt_sleep_ms(300);
	/* Credit: Queue.MaxConnections 50 x 4 records in flight, never more. */
	CHECK_INT(qt_r->max_inflight, 200);
	CHECK_INT(gauge("tern_queue_inflight"), 200);
	CHECK_INT(gauge("tern_queue_messages"), n);
	int64_t mem = gauge("tern_queue_memory_bytes");
	CHECK(mem > 0 && mem < 64 * 1024);
	/* A forward clock step of a day: still no more than the credit. */
	qt_advance(&t, 24 * 3600 * 1000);
	qt_sleep_ms(300);
	CHECK_INT(qt_r->max_inflight, 200);
	/* Restart: the router's records go back to their stored state; delivery resumes at once,
	 * reading only the index, and the memory does not follow the queue length. */
	qt_stop_actors(&t);
	pthread_mutex_lock(&qt_mu);
	qt_r->inflight = qt_r->max_inflight = qt_r->handed = 0;
	pthread_mutex_unlock(&qt_mu);
	int64_t t0 = clock_mono_ms();
	qt_start_actors(&t);
	int64_t t1 = clock_mono_ms();
	CHECK(qt_wait_ge(&qt_r->handed, 200));
	fprintf(stderr, "restart: store open %lld ms, then the first 200 records handed out after %lld ms (%d queued)\n",
	        (long long)(t1 - t0), (long long)(clock_mono_ms() - t1), n);
	qt_sleep_ms(300);
	CHECK_INT(qt_r->max_inflight, 200);
	mem = gauge("tern_queue_memory_bytes");
	CHECK(mem > 0 && mem < 64 * 1024);
	CHECK(qt_wait_ge(&(int64_t){0}, 0));
	for (int i = 0; i < 100 && gauge("tern_queue_messages") != n; i++)
		qt_sleep_ms(50);
	CHECK_INT(gauge("tern_queue_messages"), n);
	qt_stop(&t);
}

TEST_MAIN()
