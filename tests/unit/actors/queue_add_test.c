/* Adding to the queue (queue.md §2, §6, §9): ids, Queued, first NextAttempt,
 * indexes, BaseID for submissions, hold rules with AND matching, FromID
 * uniqueness over queue and retired records, future release. Real store,
 * committer and queue actor; the router peer only records what it is handed. */
#include "check.h"
#include "queue_testlib.h"

static const struct qt_rcpt ONE[] = {{"bob", "example.org"}};
static const struct qt_rcpt THREE[] = {{"a", "x.example"}, {"b", "x.example"}, {"c", "y.example"}};

TEST(add_single_record_and_indexes)
{
	struct qt t;
	qt_start(&t, true, NULL);
	int64_t before = clock_wall_ms();
	CHECK_INT(qt_add(&t, ONE, 1), 0);
	CHECK_INT(qt_c->nadd_ids, 1);
	uint64_t id = qt_c->add_ids[0];
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, id, &r), 0);
	CHECK_INT(r.id, (int64_t)id);
	CHECK_INT(r.base_id, 0);
	CHECK(r.queued >= before && r.queued <= clock_wall_ms());
	CHECK_INT(r.next_attempt, r.queued);
	CHECK_INT(r.attempts, 0);
	CHECK(!r.hold);
	struct store_key k;
	store_key_qdue(&k, r.next_attempt, id);
	CHECK(qt_has(&t, STORE_CF_QUEUE, &k));
	store_key_qheld(&k, id);
	CHECK(!qt_has(&t, STORE_CF_QUEUE, &k));
	CHECK_INT(qt_count(&t, STORE_CF_QUEUE, STORE_K_QBASE), 0);
	store_codec_free(&store_rec_queue, &r);
	/* The scheduler handed it to the router at once. */
	CHECK(qt_wait_ge(&qt_r->handed, 1));
	CHECK_INT(qt_r->work[0].ids[0], id);
	CHECK_STR(qt_r->work[0].domain, "example.org");
	CHECK_INT(qt_r->work[0].attempt, 1);
	qt_stop(&t);
}

TEST(add_submission_gets_base_id)
{
	struct qt t;
	qt_start(&t, true, NULL);
	CHECK_INT(qt_add(&t, THREE, 3), 0);
	CHECK_INT(qt_c->nadd_ids, 3);
	uint64_t ids[3];
	memcpy(ids, qt_c->add_ids, sizeof ids);
	CHECK(ids[0] < ids[1] && ids[1] < ids[2]);
	int64_t queued = 0;
	for (int i = 0; i < 3; i++) {
		struct store_queue_rec r;
		CHECK_INT(qt_load(&t, ids[i], &r), 0);
		CHECK_INT(r.base_id, (int64_t)ids[0]);
		if (i == 0)
			queued = r.queued;
		CHECK_INT(r.queued, queued);
		CHECK_INT(r.next_attempt, queued);
		struct store_key k;
		store_key_qbase(&k, ids[0], ids[i]);
		struct buf v;
		buf_init(&v);
		CHECK_INT(store_get(t.s, STORE_CF_QUEUE, store_key_slice(&k), &v), 0);
		CHECK_MEM(v.p, v.len, THREE[i].dom);
		buf_free(&v);
		store_codec_free(&store_rec_queue, &r);
	}
	/* The two x.example records go in one attempt, y.example in another. */
	CHECK(qt_wait_ge(&qt_r->handed, 3));
	pthread_mutex_lock(&qt_mu);
	CHECK_INT(qt_r->nwork, 2);
	CHECK_INT(qt_r->work[0].n, 2);
	CHECK_INT(qt_r->work[0].ids[0], ids[0]);
	CHECK_INT(qt_r->work[0].ids[1], ids[1]);
	CHECK_INT(qt_r->work[1].n, 1);
	CHECK_INT(qt_r->work[1].ids[0], ids[2]);
	pthread_mutex_unlock(&qt_mu);
	/* A different sender in the same add does not share the BaseID; a FromID never does. */
	struct queue_add *a = qt_add_new("app", "app", "example.com", THREE, 3, store_next_id(t.s));
	free(a->recs[2].sender_localpart);
	a->recs[2].sender_localpart = xstrdup("other");
	CHECK_INT(qt_add_send(&t, a), 0);
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, qt_c->add_ids[2], &r), 0);
	CHECK_INT(r.base_id, 0);
	store_codec_free(&store_rec_queue, &r);
	CHECK_INT(qt_load(&t, qt_c->add_ids[1], &r), 0);
	CHECK_INT(r.base_id, (int64_t)qt_c->add_ids[0]);
	store_codec_free(&store_rec_queue, &r);
	qt_stop(&t);
}

static uint64_t add_rule(struct qt *t, const char *acc, const char *sdom, const char *rdom)
{
	struct queue_op *op = queue_op_new(QUEUE_OP_HOLDRULE_ADD);
	op->rule.account = xstrdup(acc);
	op->rule.sender_domain = xstrdup(sdom);
	op->rule.recipient_domain = xstrdup(rdom);
	CHECK_INT(qt_op(t, op), 0);
	return qt_c->op_id;
}

TEST(hold_rules_match_with_and)
{
	struct qt t;
	qt_start(&t, true, NULL);
	uint64_t rule = add_rule(&t, "app", "", "x.example");
	CHECK(rule != 0);
	CHECK_INT(qt_add(&t, THREE, 3), 0);
	uint64_t ids[3];
	memcpy(ids, qt_c->add_ids, sizeof ids);
	for (int i = 0; i < 3; i++) {
		struct store_queue_rec r;
		CHECK_INT(qt_load(&t, ids[i], &r), 0);
		bool want = strcmp(THREE[i].dom, "x.example") == 0; /* account AND recipient domain */
		CHECK_INT(r.hold, want);
		struct store_key k;
		store_key_qheld(&k, ids[i]);
		CHECK_INT(qt_has(&t, STORE_CF_QUEUE, &k), want);
		store_key_qdue(&k, r.next_attempt, ids[i]);
		CHECK_INT(qt_has(&t, STORE_CF_QUEUE, &k), !want);
		store_codec_free(&store_rec_queue, &r);
	}
	/* Only the y.example record was handed out. */
	CHECK(qt_wait_ge(&qt_r->handed, 1));
	qt_sleep_ms(100);
	CHECK_INT(qt_r->handed, 1);
	/* A rule for another account holds nothing of ours; an empty rule holds everything already
	 * queued (the 1 record not held yet). Removing rules changes no record. */
	add_rule(&t, "admin", "", "");
	CHECK_INT(qt_c->op_count, 0);
	uint64_t all = add_rule(&t, "", "", "");
	CHECK_INT(qt_c->op_count, 1);
	struct queue_op *op = queue_op_new(QUEUE_OP_HOLDRULE_REMOVE);
	op->rule_id = all;
	CHECK_INT(qt_op(&t, op), 0);
	op = queue_op_new(QUEUE_OP_HOLDRULE_REMOVE);
	op->rule_id = all;
	CHECK_INT(qt_op(&t, op), -ENOENT);
	CHECK_INT(qt_count(&t, STORE_CF_QUEUE, STORE_K_QHELD), 3);
	CHECK_INT(qt_count(&t, STORE_CF_HOLDRULES, STORE_K_HOLDRULE), 2);
	qt_stop(&t);
}

/* Adds one record with FromID f for account acc; returns the code. */
static int64_t add_fromid(struct qt *t, const char *acc, const char *f)
{
	struct queue_add *a = qt_add_new(acc, "app+abc", "example.com", ONE, 1, store_next_id(t->s));
	a->recs[0].from_id = xstrdup(f);
	return qt_add_send(t, a);
}

TEST(fromid_unique_over_queue_and_retired)
{
	struct qt t;
	qt_start(&t, true, NULL);
	CHECK_INT(add_fromid(&t, "app", "f1"), 0);
	uint64_t id1 = qt_c->add_ids[0];
	CHECK_INT(add_fromid(&t, "app", "f1"), -EEXIST);
	CHECK_INT(qt_c->add_smtp, 554);
	CHECK_STR(qt_c->add_err, "5.1.7 bad fromid in smtp mail from address: fromid not unique");
	/* Two records of one submission with the same FromID. */
	struct queue_add *a = qt_add_new("app", "app", "example.com", THREE, 2, store_next_id(t.s));
	a->recs[0].from_id = xstrdup("f2");
	a->recs[1].from_id = xstrdup("f2");
	CHECK_INT(qt_add_send(&t, a), -EEXIST);
	/* Retired (kept for the account's period): still taken. */
	struct queue_op *op = queue_op_new(QUEUE_OP_DROP);
	op->filter.ids = xmemdup(&id1, sizeof id1);
	op->filter.nids = 1;
	CHECK_INT(qt_op(&t, op), 0);
	/* The record is in flight with the router (manual): dropped when released. */
	CHECK_INT(qt_c->op_count, 1);
	struct delivery_done_evt d = {.ids = {.v = &id1, .n = 1}};
	DELIVERY_MSG_DONE_EVT_send(t.queue, &qt_r->a, &d, NULL);
	struct store_retired_rec rr;
	CHECK(qt_wait_retired(&t, id1));
	CHECK_INT(qt_load_retired(&t, id1, &rr), 0);
	CHECK(!rr.success);
	CHECK_STR(((struct store_msg_result *)rr.q.results.v)[rr.q.results.n - 1].error, "delivery canceled by admin");
	store_codec_free(&store_rec_retired, &rr);
	CHECK_INT(add_fromid(&t, "app", "f1"), -EEXIST);
	/* An account that keeps no retired records frees its FromIDs on retirement. */
	CHECK_INT(add_fromid(&t, "nokeep", "f3"), 0);
	uint64_t id3 = qt_c->add_ids[0];
	op = queue_op_new(QUEUE_OP_DROP);
	op->filter.ids = xmemdup(&id3, sizeof id3);
	op->filter.nids = 1;
	CHECK_INT(qt_op(&t, op), 0);
	d.ids.v = &id3;
	DELIVERY_MSG_DONE_EVT_send(t.queue, &qt_r->a, &d, NULL);
	CHECK(qt_wait_gone(&t, id3));
	CHECK_INT(qt_load_retired(&t, id3, &rr), -ENOENT);
	CHECK_INT(add_fromid(&t, "nokeep", "f3"), 0);
	qt_stop(&t);
}

TEST(future_release_keeps_next_attempt)
{
	struct qt t;
	qt_start(&t, true, NULL);
	int64_t later = clock_wall_ms() + 3600 * 1000;
	struct queue_add *a = qt_add_new("app", "app", "example.com", ONE, 1, store_next_id(t.s));
	a->recs[0].next_attempt = later;
	a->recs[0].future_release_request = xstrdup("for;3600");
	CHECK_INT(qt_add_send(&t, a), 0);
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, qt_c->add_ids[0], &r), 0);
	CHECK_INT(r.next_attempt, later);
	store_codec_free(&store_rec_queue, &r);
	qt_sleep_ms(200);
	CHECK_INT(qt_r->handed, 0);
	qt_stop(&t);
}

TEST_MAIN()
