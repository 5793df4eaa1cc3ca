/* Admin operations (queue.md §6, §7): hold, unhold, schedule, transport,
 * requiretls, fail, drop, hold rule add/remove.
 *
 * DESIGN: an operation is a job that walks the queue in id order (or only the
 * given ids) in steps: each step examines at most QUEUE_OP_SCAN records and
 * writes at most QUEUE_OP_CHUNK changes in one batch, then yields, so a
 * change over a million records never blocks scheduling or adds. A step that
 * meets a locked record parks until it unlocks and then redoes the step from
 * its start. Records in flight are changed at once for field changes (the
 * running attempt completes, its result lands on the changed record); fail
 * and drop of a record in flight are remembered and applied when the router
 * releases it (unless it was delivered meanwhile), and count as changed. */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/dsn.h"
#include "store/store_iter.h"

struct job {
	struct queue *q;
	struct queue_op *op;
	uint64_t to, req_id;
	uint64_t cursor;     /* ids <= cursor were handled */
	size_t idpos;        /* next index into op->filter.ids (sorted) */
	int64_t matched, changed;
	struct timer t;
	bool finished;
};

struct queue_op *queue_op_new(enum queue_op_kind k)
{
	struct queue_op *op = xcalloc(1, sizeof *op);
	op->kind = k;
	queue_filter_init(&op->filter);
	op->requiretls = -1;
	return op;
}

void queue_op_free(struct queue_op *op)
{
	if (!op)
		return;
	queue_filter_free(&op->filter);
	free(op->transport);
	store_codec_free(&store_rec_holdrule, &op->rule);
	free(op);
}

static void op_reply(struct queue *q, uint64_t to, uint64_t req_id, int64_t code, const char *err, int64_t count,
                     uint64_t id)
{
	if (!to)
		return;
	struct queue_op_res res = {.code = code, .error = slice_str(err ? err : ""), .count = count, .id = id};
	QUEUE_MSG_OP_RES_send(to, &q->a, &res, &(struct actor_send_opts){.req_id = req_id, .force = true});
}

static void job_finish(struct queue *q, struct job *j, int64_t code, const char *err)
{
	timer_stop(&j->t);
	op_reply(q, j->to, j->req_id, code, err, j->changed, j->op->kind == QUEUE_OP_HOLDRULE_ADD ? (uint64_t)j->op->rule.id : 0);
	queue_wake(q, true);
	queue_op_free(j->op);
	q->jobs--;
	free(j);
	queue_maybe_stopped(q);
}

/* Whether r is selected by the job. */
static bool selected(const struct job *j, const struct store_queue_rec *r)
{
	if (j->op->kind == QUEUE_OP_HOLDRULE_ADD)
		return !r->hold && queue_holdrule_matches(&j->op->rule, r);
	return queue_filter_match(&j->op->filter, r);
}

/* Applies a field change to r; returns whether anything changed (schedule: always). */
static bool change(struct queue *q, const struct queue_op *op, struct store_queue_rec *r, int64_t now)
{
	switch (op->kind) {
	case QUEUE_OP_HOLD:
	case QUEUE_OP_HOLDRULE_ADD:
		if (r->hold)
			return false;
		r->hold = true;
		return true;
	case QUEUE_OP_UNHOLD:
		if (!r->hold)
			return false;
		r->hold = false;
		return true;
	case QUEUE_OP_SCHEDULE:
		r->next_attempt = op->from_now ? now + op->dur_ms : r->next_attempt + op->dur_ms;
		return true;
	case QUEUE_OP_TRANSPORT: {
		const char *t = op->transport ? op->transport : "";
		if (strcmp(t, r->transport ? r->transport : "") == 0)
			return false;
		free(r->transport);
		r->transport = xstrdup(t);
		return true;
	}
	case QUEUE_OP_REQUIRETLS:
		if (r->require_tls == op->requiretls)
			return false;
		r->require_tls = op->requiretls;
		return true;
	default:
		return false;
	}
}

struct step {
	struct store_queue_rec *recs;
	size_t n;
	uint64_t last;   /* highest id examined */
	size_t idpos;
	bool end;
};

/* Collects the next selected records after the job's cursor. */
static int collect(struct queue *q, struct job *j, struct step *st)
{
	st->recs = xcalloc(QUEUE_OP_CHUNK, sizeof *st->recs);
	st->last = j->cursor;
	st->idpos = j->idpos;
	const struct queue_filter *f = &j->op->filter;
	int64_t max = f->max > 0 ? f->max : INT64_MAX;
	int examined = 0;
	struct store_iter *it = NULL;
	if (!f->ids) {
		struct store_key lo;
		store_key_qrec(&lo, j->cursor + 1);
		uint8_t kind = STORE_K_QREC;
		struct store_key hi;
		store_key_prefix_end(slice_of(&kind, 1), &hi);
		it = store_iter_new(q->s, STORE_CF_QUEUE, store_key_slice(&lo), store_key_slice(&hi));
	}
	while (st->n < QUEUE_OP_CHUNK && examined < QUEUE_OP_SCAN && j->matched + (int64_t)st->n < max) {
		uint64_t id;
		struct store_queue_rec *r = &st->recs[st->n];
		if (it) {
			if (!store_iter_valid(it))
				break;
			struct slice k = store_iter_key(it);
			id = store_key_u64_at(k, 1);
			char why[128];
			int rc = -1;
			if (k.len == 9) {
				rc = store_codec_decode(&store_rec_queue, store_iter_value(it), r, why, sizeof why);
				if (rc != 0) /* badinput.md #76: set aside, never deleted silently */
					store_quarantine(q->s, STORE_CF_QUEUE, k, store_iter_value(it), why);
			}
			store_iter_next(it);
			if (rc != 0) {
				st->last = id;
				examined++;
				continue;
			}
		} else {
			if (st->idpos >= f->nids)
				break;
			id = f->ids[st->idpos++];
			if (queue_store_load(q, id, r) != 0) {
				store_codec_free(&store_rec_queue, r);
				st->last = id;
				examined++;
				continue;
			}
		}
		st->last = id;
		examined++;
		if (selected(j, r))
			st->n++;
		else
			store_codec_free(&store_rec_queue, r);
	}
	st->end = (it ? !store_iter_valid(it) : st->idpos >= f->nids) || j->matched + (int64_t)st->n >= max;
	int rc = it ? store_iter_status(it) : 0;
	store_iter_free(it);
	return rc;
}

static void step_free(struct step *st)
{
	for (size_t i = 0; i < st->n; i++)
		store_codec_free(&store_rec_queue, &st->recs[i]);
	free(st->recs);
}

static void step_done(struct queue *q, int code, const char *err, void *arg)
{
	struct job *j = arg;
	if (code != 0) {
		job_finish(q, j, code, "cannot store the change");
		return;
	}
	if (j->finished)
		job_finish(q, j, 0, NULL);
	else
		timer_start(&j->t, 0);
}

/* Retires r as failed (with a DSN for fail) or canceled (drop) into the batch. */
static void cancel_one(struct queue *q, struct store_queue_rec *r, uint8_t kind, struct store_batch *b,
                       struct queue_refs *rf, struct mailbox_deliveries **mb, int64_t now,
                       const struct conf_domains *dc)
{
	queue_store_add_result(r, now, QUEUE_ERR_ADMIN);
	if (kind == QUEUE_OP_FAIL && queue_dsn_wanted(r->notify, DSN_FAILED)) {
		struct queue_dsn_rcpt rc = {r, NULL, QUEUE_ERR_ADMIN};
		if (queue_dsn_make(q, b, mb, DSN_FAILED, &rc, 1, now, dc) != 0)
			log_error("queue", "cannot make a DSN", "id=%lld", (long long)r->id);
	}
	queue_store_retire(q, b, rf, r, false, now, dc);
}

static void job_step(struct queue *q, void *arg)
{
	struct job *j = arg;
	struct step st = {0};
	if (q->stopping) {
		job_finish(q, j, -ESHUTDOWN, "queue stopping");
		return;
	}
	if (collect(q, j, &st) != 0) {
		step_free(&st);
		job_finish(q, j, -EIO, "cannot read the queue");
		return;
	}
	bool cancel = j->op->kind == QUEUE_OP_FAIL || j->op->kind == QUEUE_OP_DROP;
	for (size_t i = 0; i < st.n; i++) {
		uint64_t id = (uint64_t)st.recs[i].id;
		uint64_t busy = queue_busy(q, id) ? id : cancel && queue_busy(q, st.recs[i].data_id) ? st.recs[i].data_id : 0;
		if (busy && !(cancel && queue_idmap_get(&q->flight, id))) {
			step_free(&st);
			queue_park(q, busy, job_step, j);
			return;
		}
	}
	struct conf_domains *dc = cancel ? conf_domains_acquire() : NULL;
	int64_t now = clock_wall_ms(), dsize = 0, dhold = 0;
	struct store_batch *b = store_batch_new();
	struct queue_refs rf = {0};
	struct mailbox_deliveries *mb = NULL;
	uint64_t *lock = xmalloc((2 * st.n + 1) * sizeof *lock);
	size_t nlock = 0;
	for (size_t i = 0; i < st.n; i++) {
		struct store_queue_rec *r = &st.recs[i];
		struct queue_flight *f = queue_idmap_get(&q->flight, (uint64_t)r->id);
		if (cancel && f) {
			f->cancel = (uint8_t)j->op->kind; /* applied when the router releases it */
			j->changed++;
			continue;
		}
		lock[nlock++] = (uint64_t)r->id;
		if (cancel) {
			lock[nlock++] = r->data_id;
			dsize--;
			dhold -= r->hold;
			cancel_one(q, r, (uint8_t)j->op->kind, b, &rf, &mb, now, dc);
			j->changed++;
			continue;
		}
		struct store_queue_rec old = {.id = r->id, .hold = r->hold, .next_attempt = r->next_attempt};
		if (change(q, j->op, r, now) && queue_store_put(q, b, &old, r) == 0) {
			dhold += (int64_t)r->hold - old.hold;
			j->changed++;
		}
	}
	j->matched += (int64_t)st.n;
	j->cursor = st.last;
	j->idpos = st.idpos;
	j->finished = st.end;
	int rc = queue_refs_apply(q, b, &rf);
	queue_refs_free(&rf);
	step_free(&st);
	conf_domains_release(dc);
	if (rc != 0) {
		store_batch_free(b);
		mailbox_deliveries_free(mb);
		free(lock);
		job_finish(q, j, rc, "cannot read message data");
		return;
	}
	if (store_batch_count(b) == 0) {
		store_batch_free(b);
		mailbox_deliveries_free(mb);
		free(lock);
		step_done(q, 0, NULL, j);
		return;
	}
	size_t nl;
	uint64_t *locks = queue_ids_dup(lock, nlock, &nl);
	free(lock);
	queue_commit(q, b, mb, locks, nl, dsize, dhold, step_done, j);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void job_timer(struct timer *t)
{
	struct job *j = t->ctx;
	job_step(j->q, j);
}

static void job_start(struct queue *q, struct queue_op *op, uint64_t to, uint64_t req_id)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->op = op;
	j->to = to;
	j->req_id = req_id;
	if (op->filter.ids && op->filter.nids)
		qsort(op->filter.ids, op->filter.nids, sizeof *op->filter.ids, cmp_u64);
	queue_filter_resolve(&op->filter, clock_wall_ms(), false);
	j->q = q;
	timer_init(&j->t, job_timer, j);
	q->jobs++;
	job_step(q, j);
}

void queue_ops_cancel(struct queue *q, const uint64_t *ids, size_t n, uint8_t kind)
{
	struct queue_op *op = queue_op_new((enum queue_op_kind)kind);
	op->filter.ids = xmemdup(ids, n * sizeof *ids);
	op->filter.nids = n;
	job_start(q, op, 0, 0);
}

/* ---- hold rules ---- */

static void rule_added(struct queue *q, int code, const char *err, void *arg)
{
	struct job *j = arg;
	if (code != 0) {
		op_reply(q, j->to, j->req_id, code, "cannot store the hold rule", 0, 0);
		queue_op_free(j->op);
		free(j);
		return;
	}
	struct store_holdrule h = {.id = j->op->rule.id};
	h.account = xstrdup(j->op->rule.account ? j->op->rule.account : "");
	h.sender_domain = xstrdup(j->op->rule.sender_domain ? j->op->rule.sender_domain : "");
	h.recipient_domain = xstrdup(j->op->rule.recipient_domain ? j->op->rule.recipient_domain : "");
	q->rules = xrealloc(q->rules, (q->nrules + 1) * sizeof *q->rules);
	q->rules[q->nrules++] = h;
	struct queue_op *op = j->op;
	uint64_t to = j->to, req = j->req_id;
	free(j);
	job_start(q, op, to, req); /* now hold the matching records */
}

static void rule_removed(struct queue *q, int code, const char *err, void *arg)
{
	struct job *j = arg;
	if (code == 0)
		for (size_t i = 0; i < q->nrules; i++)
			if ((uint64_t)q->rules[i].id == j->op->rule_id) {
				store_codec_free(&store_rec_holdrule, &q->rules[i]);
				q->rules[i] = q->rules[--q->nrules];
				break;
			}
	op_reply(q, j->to, j->req_id, code, code ? "cannot remove the hold rule" : NULL, 0, 0);
	queue_op_free(j->op);
	free(j);
}

static void holdrule_op(struct queue *q, struct queue_op *op, uint64_t to, uint64_t req_id)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->op = op;
	j->to = to;
	j->req_id = req_id;
	struct store_batch *b = store_batch_new();
	struct store_key k;
	if (op->kind == QUEUE_OP_HOLDRULE_ADD) {
		op->rule.id = (int64_t)store_next_id(q->s);
		store_key_holdrule(&k, (uint64_t)op->rule.id);
		if (store_batch_put_rec(b, STORE_CF_HOLDRULES, store_key_slice(&k), &store_rec_holdrule, &op->rule) != 0) {
			store_batch_free(b);
			op_reply(q, to, req_id, -E2BIG, "hold rule fields too long", 0, 0);
			queue_op_free(op);
			free(j);
			return;
		}
		queue_commit(q, b, NULL, NULL, 0, 0, 0, rule_added, j);
		return;
	}
	bool found = false;
	for (size_t i = 0; i < q->nrules; i++)
		found |= (uint64_t)q->rules[i].id == op->rule_id;
	if (!found) {
		store_batch_free(b);
		op_reply(q, to, req_id, -ENOENT, "no such hold rule", 0, 0);
		queue_op_free(op);
		free(j);
		return;
	}
	store_key_holdrule(&k, op->rule_id);
	store_batch_delete(b, STORE_CF_HOLDRULES, store_key_slice(&k));
	queue_commit(q, b, NULL, NULL, 0, 0, 0, rule_removed, j);
}

void queue_op_req(struct actor *self, const struct msg *m, const struct queue_op_req *p)
{
	struct queue *q = (struct queue *)self;
	struct queue_op *op = p->op;
	if (!op || op->kind < QUEUE_OP_HOLD || op->kind > QUEUE_OP_HOLDRULE_REMOVE) {
		op_reply(q, m->from, m->req_id, -EINVAL, "bad operation", 0, 0);
		queue_op_free(op);
		return;
	}
	if (op->kind == QUEUE_OP_TRANSPORT && op->transport && *op->transport &&
	    !conf_static_transport(q->st, op->transport)) {
		op_reply(q, m->from, m->req_id, -ENOENT, "unknown transport", 0, 0);
		queue_op_free(op);
		return;
	}
	if (op->kind == QUEUE_OP_HOLDRULE_ADD || op->kind == QUEUE_OP_HOLDRULE_REMOVE) {
		holdrule_op(q, op, m->from, m->req_id);
		return;
	}
	job_start(q, op, m->from, m->req_id);
}
