/* Queue record writes: a record and its indexes, retirement, msgdata references.
 *
 * DESIGN: every change of a record goes through queue_store_put(old, new), which
 * derives the index moves from the difference (next-attempt key for records
 * not held, held key otherwise, BaseID key, FromID key), so the indexes cannot
 * drift from the records (docs/store.md). Message data references are summed
 * per batch (queue_refs) and applied once, reading the committed meta record:
 * the caller holds the data id's lock, so no other batch of ours changes it
 * meanwhile. */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_lookup.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_msgdata.h"

int queue_store_load(struct queue *q, uint64_t id, struct store_queue_rec *r)
{
	struct store_key k;
	store_key_qrec(&k, id);
	return store_load(q->s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, r);
}

static void index_keys(struct queue *q, struct store_batch *b, const struct store_queue_rec *r, bool put)
{
	struct store_key k;
	if (r->hold)
		store_key_qheld(&k, (uint64_t)r->id);
	else
		store_key_qdue(&k, r->next_attempt, (uint64_t)r->id);
	if (put && !r->hold && r->next_attempt < q->build_due)
		q->build_due = r->next_attempt;
	if (put)
		store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str(""));
	else
		store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
}

int queue_store_put(struct queue *q, struct store_batch *b, const struct store_queue_rec *old,
                    const struct store_queue_rec *r)
{
	struct store_key k;
	store_key_qrec(&k, (uint64_t)r->id);
	if (store_batch_put_rec(b, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, r) != 0)
		return -E2BIG;
	if (!old || old->hold != r->hold || old->next_attempt != r->next_attempt) {
		if (old)
			index_keys(q, b, old, false);
		index_keys(q, b, r, true);
	}
	if (!old) {
		if (r->base_id) {
			const char *d = r->recipient_domain ? r->recipient_domain : "";
			store_key_qbase(&k, (uint64_t)r->base_id, (uint64_t)r->id);
			store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str(d));
		}
		if (r->from_id && *r->from_id && store_key_fromid(&k, slice_str(r->from_id)) == 0) {
			uint8_t v[8];
			be64_put(v, (uint64_t)r->id);
			store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_of(v, 8));
		}
	}
	return 0;
}

void queue_refs_add(struct queue_refs *rf, uint64_t data_id, int delta)
{
	if (!data_id)
		return;
	for (size_t i = 0; i < rf->n; i++)
		if (rf->ids[i] == data_id) {
			rf->delta[i] += delta;
			return;
		}
	rf->ids = xrealloc(rf->ids, (rf->n + 1) * sizeof *rf->ids);
	rf->delta = xrealloc(rf->delta, (rf->n + 1) * sizeof *rf->delta);
	rf->ids[rf->n] = data_id;
	rf->delta[rf->n++] = delta;
}

int queue_refs_apply(struct queue *q, struct store_batch *b, const struct queue_refs *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		if (rf->delta[i] == 0)
			continue;
		struct store_key k;
		store_key_datameta(&k, rf->ids[i]);
		struct store_datameta meta = {0};
		int r = store_load(q->s, STORE_CF_MSGDATA, store_key_slice(&k), &store_rec_datameta, &meta);
		if (r == -ENOENT || r == -EBADMSG) {
			log_error("queue", "message data meta missing; dropping its chunks", "dataid=%llu err=%d",
			          (unsigned long long)rf->ids[i], r);
			store_msgdata_delete(b, rf->ids[i]);
			continue;
		}
		if (r)
			return r;
		meta.refs += rf->delta[i];
		if (meta.refs <= 0)
			store_msgdata_delete_known(b, rf->ids[i], meta.chunks);
		else
			store_batch_put_rec(b, STORE_CF_MSGDATA, store_key_slice(&k), &store_rec_datameta, &meta);
	}
	return 0;
}

void queue_refs_free(struct queue_refs *rf)
{
	free(rf->ids);
	free(rf->delta);
	memset(rf, 0, sizeof *rf);
}

/* KeepRetiredMessagePeriod of the sender account; 7 days when the account is gone. */
static int64_t keep_period(const struct store_queue_rec *r, const struct conf_domains *dc)
{
	const struct conf_account *acc = dc && r->sender_account ? conf_account_get(dc, r->sender_account) : NULL;
	if (!acc)
		return QUEUE_KEEP_GONE_MS;
	return acc->keep_retired_message_period_ms;
}

void queue_store_retire(struct queue *q, struct store_batch *b, struct queue_refs *rf,
                        const struct store_queue_rec *r, bool success, int64_t now,
                        const struct conf_domains *dc)
{
	struct store_key k;
	store_key_qrec(&k, (uint64_t)r->id);
	store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
	index_keys(q, b, r, false);
	if (r->base_id) {
		store_key_qbase(&k, (uint64_t)r->base_id, (uint64_t)r->id);
		store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
	}
	bool fromid = r->from_id && *r->from_id && store_key_fromid(&k, slice_str(r->from_id)) == 0;
	if (fromid)
		store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
	queue_refs_add(rf, r->data_id, -1);
	int64_t period = keep_period(r, dc);
	if (period <= 0)
		return;
	/* The retired record shares the queue record's strings (a shallow copy): encoded here,
	 * never freed through it. */
	struct store_retired_rec rr = {.q = *r, .last_activity = now, .success = success, .keep_until = now + period};
	memset(&rr.q.msg_prefix, 0, sizeof rr.q.msg_prefix);
	memset(&rr.q.dsn_utf8, 0, sizeof rr.q.dsn_utf8);
	rr.q.hold = false;
	rr.q.next_attempt = 0;
	struct buf addr;
	buf_init(&addr);
	queue_filter_addr(&addr, r->recipient_localpart, r->recipient_domain);
	rr.recipient_address = buf_cstr(&addr);
	store_key_rrec(&k, (uint64_t)r->id);
	if (store_batch_put_rec(b, STORE_CF_RETIRED, store_key_slice(&k), &store_rec_retired, &rr) != 0)
		log_error("queue", "retired record over its caps; not kept", "id=%lld", (long long)r->id);
	else {
		store_key_rkeep(&k, rr.keep_until, (uint64_t)r->id);
		store_batch_put(b, STORE_CF_RETIRED, store_key_slice(&k), slice_str(""));
		store_key_rlast(&k, now, (uint64_t)r->id);
		store_batch_put(b, STORE_CF_RETIRED, store_key_slice(&k), slice_str(""));
		if (fromid) {
			store_key_fromid(&k, slice_str(r->from_id));
			uint8_t v[8];
			be64_put(v, (uint64_t)r->id);
			store_batch_put(b, STORE_CF_RETIRED, store_key_slice(&k), slice_of(v, 8));
		}
	}
	buf_free(&addr);
}

void queue_store_add_result(struct store_queue_rec *r, int64_t start, const char *error)
{
	struct store_recs *rs = &r->results;
	struct store_msg_result *v = rs->v;
	if (rs->n >= QUEUE_RESULTS_KEEP) {
		/* Keep the first and the latest ones: drop the second oldest. */
		free(v[1].secode);
		free(v[1].error);
		memmove(&v[1], &v[2], (rs->n - 2) * sizeof *v);
		rs->n--;
	}
	v = xrealloc(v, (rs->n + 1) * sizeof *v);
	v[rs->n] = (struct store_msg_result){.start = start, .secode = xstrdup(""), .error = xstrdup(error)};
	rs->v = v;
	rs->n++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t *queue_ids_dup(const uint64_t *ids, size_t n, size_t *nout)
{
	uint64_t *v = xmalloc((n ? n : 1) * sizeof *v);
	if (n) {
		memcpy(v, ids, n * sizeof *v);
		qsort(v, n, sizeof *v, cmp_u64);
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] && (k == 0 || v[k - 1] != v[i]))
			v[k++] = v[i];
	*nout = k;
	return v;
}
