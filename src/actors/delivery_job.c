/* Delivery jobs: loading their records, settling results and reporting them.
 *
 * DESIGN: a job carries one result slot per record. Per-recipient outcomes are
 * settled as they are known; failures of a whole host are remembered (the last
 * one, and whether any was temporary) and only applied to the records still open
 * when no host is left. delivery_job_finish() is the single exit: it reports every
 * record exactly once, in id order as given, then tells the queue the ids are free. */
#include "actors/delivery_job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/delivery_metrics.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store.h"

struct delivery_job *delivery_job_new(const uint64_t *ids, size_t n, struct slice transport,
                                      struct slice domain, int64_t attempt)
{
	static _Atomic uint64_t serials;
	if (n > DELIVERY_JOB_RECS_MAX)
		n = DELIVERY_JOB_RECS_MAX;
	struct delivery_job *job = xcalloc(1, sizeof *job);
	job->serial = ++serials;
	job->start_ms = clock_mono_ms();
	job->attempt = attempt;
	job->transport = slice_strdup(transport);
	job->domain = slice_strdup(domain);
	job->recs = xcalloc(n ? n : 1, sizeof *job->recs);
	job->n = n;
	for (size_t i = 0; i < n; i++)
		job->recs[i].id = ids[i];
	return job;
}

size_t delivery_job_load(struct delivery_job *job, struct store *st)
{
	size_t loaded = 0;
	for (size_t i = 0; i < job->n; i++) {
		struct delivery_rec *r = &job->recs[i];
		struct store_key k;
		store_key_qrec(&k, r->id);
		int rc = store_load(st, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &r->q);
		if (rc == 0 && (uint64_t)r->q.id == r->id) {
			r->loaded = true;
			loaded++;
			continue;
		}
		if (rc == 0)
			store_codec_free(&store_rec_queue, &r->q);
		log_error("delivery", "queue record not loaded", "id=%llu rc=%d", (unsigned long long)r->id, rc);
		r->settled = true;
		r->res.outcome = DELIVERY_NOT_ATTEMPTED;
	}
	return loaded;
}

void delivery_res_free(struct delivery_res *res)
{
	free(res->error);
	for (size_t i = 0; i < res->nreply; i++)
		free(res->reply[i]);
	free(res->reply);
	free(res->host);
	memset(res, 0, sizeof *res);
}

void delivery_res_copy(struct delivery_res *dst, const struct delivery_res *src)
{
	*dst = *src;
	dst->error = src->error ? xstrdup(src->error) : NULL;
	dst->host = src->host ? xstrdup(src->host) : NULL;
	dst->reply = src->nreply ? xcalloc(src->nreply, sizeof *dst->reply) : NULL;
	for (size_t i = 0; i < src->nreply; i++)
		dst->reply[i] = xstrdup(src->reply[i]);
}

void delivery_res_local(struct delivery_res *res, int outcome, int code, const char *ecode, const char *fmt, ...)
{
	delivery_res_free(res);
	res->outcome = outcome;
	res->code = code;
	const char *dot = ecode ? strchr(ecode, '.') : NULL;
	snprintf(res->secode, sizeof res->secode, "%s", dot ? dot + 1 : "");
	va_list ap;
	va_start(ap, fmt);
	struct buf b;
	buf_init(&b);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	res->error = buf_cstr(&b);
}

void delivery_res_where(struct delivery_res *res, const char *host, const struct netaddr *ip)
{
	free(res->host);
	res->host = host ? xstrdup(host) : NULL;
	res->ip[0] = 0;
	if (ip && ip->family)
		netaddr_format(ip, res->ip);
}

void delivery_job_free(struct delivery_job *job)
{
	if (!job)
		return;
	for (size_t i = 0; i < job->n; i++) {
		if (job->recs[i].loaded)
			store_codec_free(&store_rec_queue, &job->recs[i].q);
		delivery_res_free(&job->recs[i].res);
	}
	for (size_t i = 0; i < job->nhosts; i++)
		free(job->hosts[i]);
	free(job->hosts);
	delivery_res_free(&job->fixed);
	delivery_res_free(&job->last);
	free(job->recs);
	free(job->transport);
	free(job->domain);
	free(job);
}

size_t delivery_job_open(const struct delivery_job *job)
{
	size_t n = 0;
	for (size_t i = 0; i < job->n; i++) {
		const struct delivery_rec *r = &job->recs[i];
		n += r->loaded && !r->settled && (!job->accounted || r->accounted);
	}
	return n;
}

void delivery_job_settle(struct delivery_job *job, size_t i, const struct delivery_res *res)
{
	struct delivery_rec *r = &job->recs[i];
	if (r->settled)
		return;
	delivery_res_free(&r->res);
	delivery_res_copy(&r->res, res);
	r->settled = true;
}

void delivery_job_settle_open(struct delivery_job *job, const struct delivery_res *res)
{
	for (size_t i = 0; i < job->n; i++) {
		struct delivery_rec *r = &job->recs[i];
		if (r->loaded && !r->settled && (!job->accounted || r->accounted))
			delivery_job_settle(job, i, res);
	}
}

void delivery_job_host_failed(struct delivery_job *job, const struct delivery_res *res, bool temp, bool utf8)
{
	delivery_res_free(&job->last);
	delivery_res_copy(&job->last, res);
	job->has_last = true;
	job->any_temp |= temp;
	job->utf8_fail |= utf8;
}

bool delivery_job_more_hosts(const struct delivery_job *job)
{
	return job->host_i + 1 < job->nhosts;
}

void delivery_job_exhausted(struct delivery_job *job)
{
	struct delivery_res res = {0};
	if (!job->has_last) {
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.0", "no host to deliver to");
	} else if (!job->any_temp && job->utf8_fail) {
		delivery_res_copy(&res, &job->last);
		free(res.error);
		for (size_t i = 0; i < res.nreply; i++)
			free(res.reply[i]);
		free(res.reply);
		res.reply = NULL;
		res.nreply = 0;
		res.error = xstrdup("remote servers do not support smtputf8");
		res.code = 554;
		snprintf(res.secode, sizeof res.secode, "6.7");
		res.outcome = DELIVERY_PERMANENT;
	} else {
		delivery_res_copy(&res, &job->last);
		res.outcome = job->any_temp ? DELIVERY_TEMPORARY : DELIVERY_PERMANENT;
	}
	delivery_job_settle_open(job, &res);
	delivery_res_free(&res);
}

int delivery_job_outcome(const struct delivery_job *job, size_t i)
{
	const struct delivery_rec *r = &job->recs[i];
	if (!r->settled || (r->loaded && job->accounted && !r->accounted))
		return DELIVERY_NOT_ATTEMPTED;
	return r->res.outcome;
}

void delivery_job_finish(struct delivery_job *job, struct actor *from, uint64_t queue)
{
	int64_t dur = clock_mono_ms() - job->start_ms;
	delivery_metrics_attempt(job);
	uint64_t *ids = xcalloc(job->n ? job->n : 1, sizeof *ids);
	struct slice *lines = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < job->n; i++) {
		struct delivery_rec *r = &job->recs[i];
		const struct delivery_res *res = &r->res;
		int outcome = delivery_job_outcome(job, i);
		if (res->nreply > cap) {
			cap = res->nreply;
			lines = xrealloc(lines, cap * sizeof *lines);
		}
		size_t nl = res->nreply > 100 ? 100 : res->nreply;
		for (size_t k = 0; k < nl; k++)
			lines[k] = slice_str(res->reply[k]);
		bool family = outcome == DELIVERY_PERMANENT && job->attempt == 1 && res->one_family &&
		              strncmp(res->secode, "7.", 2) == 0;
		struct queue_result_evt ev = {
		    .id = r->id,
		    .outcome = outcome,
		    .code = outcome == DELIVERY_NOT_ATTEMPTED ? 0 : res->code,
		    .secode = slice_str(outcome == DELIVERY_NOT_ATTEMPTED ? "" : res->secode),
		    .error = slice_str(res->error && outcome != DELIVERY_NOT_ATTEMPTED ? res->error : ""),
		    .reply = {.v = lines, .n = (uint32_t)(outcome == DELIVERY_NOT_ATTEMPTED ? 0 : nl)},
		    .remote_host = slice_str(res->host ? res->host : ""),
		    .remote_ip = slice_str(res->ip),
		    .remote_dsn = res->remote_dsn,
		    .duration_ms = dur,
		    .family_retry = family,
		};
		if (ev.error.len > 4096)
			ev.error.len = 4096;
		int rc = QUEUE_MSG_RESULT_EVT_send(queue, from, &ev, &(struct actor_send_opts){.force = true});
		if (rc != 0)
			log_error("delivery", "result not sent", "id=%llu rc=%d", (unsigned long long)r->id, rc);
		ids[i] = r->id;
	}
	struct delivery_done_evt done = {.ids = {.v = ids, .n = (uint32_t)job->n}};
	int rc = DELIVERY_MSG_DONE_EVT_send(queue, from, &done, &(struct actor_send_opts){.force = true});
	if (rc != 0)
		log_error("delivery", "done event not sent", "n=%zu rc=%d", job->n, rc);
	free(lines);
	free(ids);
	delivery_job_free(job);
}
