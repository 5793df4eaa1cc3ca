/* Attempt accounting for the delivery router (queue.md §3).
 *
 * DESIGN: before a record goes to a connection (or gets its DNS failure), the queue
 * must have counted the attempt and synced it. Jobs ready for that are collected
 * and sent as one QUEUE_MSG_ATTEMPT_REQ; at most DELIVERY_ATTEMPT_INFLIGHT
 * requests are outstanding, so under load each request carries many jobs (like a
 * group commit) while a lone job goes out at once. Only the ids the reply lists
 * may be attempted; the others (gone or held meanwhile) end as "not attempted",
 * and a failed request gives the whole batch back that way. */
#include "actors/delivery_router_priv.h"

#include <stdlib.h>

#include "core/log.h"
#include "core/xmalloc.h"

void delivery_attempt_add(struct delivery_router *r, struct delivery_job *job)
{
	job->state = DJ_ACCT;
	job->next = NULL;
	if (r->acct_tail)
		r->acct_tail->next = job;
	else
		r->acct_head = job;
	r->acct_tail = job;
}

bool delivery_attempt_busy(const struct delivery_router *r)
{
	return r->acct_head || r->ninflight > 0;
}

static size_t job_ids(const struct delivery_job *job)
{
	size_t n = 0;
	for (size_t i = 0; i < job->n; i++)
		n += job->recs[i].loaded;
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The batch's jobs after the reply: accounted ones go on, the rest end. */
static void settle_batch(struct delivery_router *r, struct delivery_job *jobs, const uint64_t *ids, size_t nids)
{
	uint64_t *sorted = xcalloc(nids ? nids : 1, sizeof *sorted);
	for (size_t i = 0; i < nids; i++)
		sorted[i] = ids[i];
	qsort(sorted, nids, sizeof *sorted, cmp_u64);
	for (struct delivery_job *j = jobs, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->accounted = true;
		for (size_t i = 0; i < j->n; i++) {
			struct delivery_rec *rec = &j->recs[i];
			rec->accounted = rec->loaded && nids && bsearch(&rec->id, sorted, nids, sizeof *sorted, cmp_u64);
		}
		if (j->conn && !r->stopping && delivery_job_open(j) > 0) {
			delivery_pool_hand(r, j);
			continue;
		}
		if (j->conn)
			delivery_pool_unclaim(r, j);
		delivery_router_finish(r, j);
	}
	free(sorted);
}

void delivery_attempt_flush(struct delivery_router *r)
{
	while (r->acct_head && r->ninflight < DELIVERY_ATTEMPT_INFLIGHT) {
		struct delivery_job *jobs = r->acct_head, *last = NULL;
		size_t n = 0;
		for (struct delivery_job *j = r->acct_head; j; j = j->next) {
			size_t k = job_ids(j);
			if (last && n + k > DELIVERY_ATTEMPT_IDS_MAX)
				break;
			n += k;
			last = j;
		}
		r->acct_head = last->next;
		if (!r->acct_head)
			r->acct_tail = NULL;
		last->next = NULL;
		uint64_t *ids = xcalloc(n ? n : 1, sizeof *ids);
		size_t k = 0;
		for (struct delivery_job *j = jobs; j; j = j->next)
			for (size_t i = 0; i < j->n; i++)
				if (j->recs[i].loaded && k < n)
					ids[k++] = j->recs[i].id;
		uint64_t req = ++r->next_req;
		struct queue_attempt_req p = {.ids = {.v = ids, .n = (uint32_t)k}};
		int rc = QUEUE_MSG_ATTEMPT_REQ_send(delivery_router_queue(r), &r->a, &p,
		                                    &(struct actor_send_opts){.req_id = req, .force = true});
		free(ids);
		if (rc != 0) {
			log_error("delivery", "attempt request not sent", "rc=%d n=%zu", rc, k);
			settle_batch(r, jobs, NULL, 0);
			continue;
		}
		r->inflight[r->ninflight++] = (struct delivery_acct_batch){.req = req, .jobs = jobs};
	}
}

void delivery_attempt_res(struct delivery_router *r, const struct msg *m, const struct queue_attempt_res *p)
{
	int k = 0;
	while (k < r->ninflight && r->inflight[k].req != m->req_id)
		k++;
	if (k == r->ninflight) {
		log_error("delivery", "attempt reply for no request", "req=%llu", (unsigned long long)m->req_id);
		return;
	}
	struct delivery_job *jobs = r->inflight[k].jobs;
	r->inflight[k] = r->inflight[--r->ninflight];
	if (p->code < 0)
		settle_batch(r, jobs, NULL, 0);
	else
		settle_batch(r, jobs, p->ids.v, p->ids.n);
	delivery_attempt_flush(r);
	delivery_router_maybe_stopped(r);
}
