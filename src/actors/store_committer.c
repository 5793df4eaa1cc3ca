/* Group commit: many commit requests, one synced RocksDB write.
 *
 * DESIGN: the committer lives alone on a dedicated worker because its handler
 * blocks in fsync. A COMMIT_REQ only queues its batch; the first request of a
 * group also posts a FLUSH_CMD to the committer itself. Mailboxes are FIFO, so
 * by the time FLUSH_CMD is handled every request that arrived before it has
 * been queued: that is "drain everything queued" using only the runtime's own
 * ordering. FLUSH merges all queued batches into ONE WriteBatch, writes it with
 * sync=true and then replies to each requester. While that fsync runs, new
 * requests pile up in the mailbox and become the next group — the slower the
 * disk, the bigger the groups. A group also closes early at
 * STORE_COMMITTER_GROUP_MAX batches or STORE_COMMITTER_GROUP_BYTES, bounding
 * the WriteBatch. A failed write (disk full, read-only) gives every requester
 * of that group the same negative code; the committer itself carries on. */
#include "actors/store_committer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store.h"

struct pending {
	uint64_t from, req_id;
	int64_t sent_ns;
};

struct store_committer {
	struct actor a; /* first: the runtime frees the struct through it */
	struct store *s;
	struct store_batch **bs;
	struct pending *p;
	uint32_t n, cap;
	size_t bytes;
	bool flush_queued;
};

/** What STORE_MSG_STOP_CMD signals once the committer has stopped. */
struct store_committer_done {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
static const double byte_bounds[] = {1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20};

static struct {
	struct metric *groups, *requests, *errors, *group_batches, *group_bytes, *latency;
} m;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
	m.groups = metric_counter("tern_store_commits_total", "", "Group commits (synced WriteBatches) written or attempted.");
	m.requests = metric_counter("tern_store_commit_requests_total", "", "Commit requests handled.");
	m.errors = metric_counter("tern_store_commit_errors_total", "", "Commit requests answered with an error.");
	m.group_batches = metric_histogram("tern_store_commit_group_batches", "", "Batches merged per group commit.",
	                                   batch_bounds, sizeof batch_bounds / sizeof batch_bounds[0]);
	m.group_bytes = metric_histogram("tern_store_commit_group_bytes", "", "Bytes per group commit.",
	                                 byte_bounds, sizeof byte_bounds / sizeof byte_bounds[0]);
	m.latency = metric_histogram("tern_store_commit_seconds", "", "Commit request to reply, fsync included.",
	                             metric_latency_bounds, metric_latency_nbounds);
}

static void reply(struct store_committer *c, const struct pending *p, int code, struct slice err)
{
	metric_observe(m.latency, (double)(clock_mono_ns() - p->sent_ns) / 1e9);
	if (code)
		metric_add(m.errors, 1);
	if (!p->from)
		return;
	struct store_commit_res res = {.code = code, .error = err};
	STORE_MSG_COMMIT_RES_send(p->from, &c->a, &res, &(struct actor_send_opts){.req_id = p->req_id, .force = true});
}

static void flush(struct store_committer *c)
{
	if (c->n == 0)
		return;
	struct buf err;
	buf_init(&err);
	int r = store_write(c->s, c->bs, (int)c->n, true, &err);
	metric_add(m.groups, 1);
	metric_observe(m.group_batches, c->n);
	metric_observe(m.group_bytes, (double)c->bytes);
	if (err.len > 1024)
		err.len = 1024;
	for (uint32_t i = 0; i < c->n; i++) {
		store_batch_free(c->bs[i]);
		reply(c, &c->p[i], r, buf_slice(&err));
	}
	c->n = 0;
	c->bytes = 0;
	buf_free(&err);
}

static void on_commit(struct actor *self, const struct msg *msg, const struct store_commit_req *p)
{
	struct store_committer *c = (struct store_committer *)self;
	metric_add(m.requests, 1);
	struct pending pe = {msg->from, msg->req_id, msg->sent_ns};
	if (!p->batch) {
		reply(c, &pe, -EINVAL, SLICE_LIT("commit request without a batch"));
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->bs = xrealloc(c->bs, c->cap * sizeof *c->bs);
		c->p = xrealloc(c->p, c->cap * sizeof *c->p);
	}
	c->bs[c->n] = p->batch;
	c->p[c->n++] = pe;
	c->bytes += store_batch_bytes(p->batch);
	if (c->n >= STORE_COMMITTER_GROUP_MAX || c->bytes >= STORE_COMMITTER_GROUP_BYTES) {
		flush(c);
		return;
	}
	if (!c->flush_queued) {
		c->flush_queued = true;
		STORE_MSG_FLUSH_CMD_send(self->id, self, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
	}
}

static void on_flush(struct actor *self, const struct msg *msg, const struct msg_empty *p)
{
	struct store_committer *c = (struct store_committer *)self;
	c->flush_queued = false;
	flush(c);
}

static void stop(struct store_committer *c, struct store_committer_done *d)
{
	flush(c);
	log_info("store", "committer stopped", "id=%llu", (unsigned long long)c->a.id);
	/* Unregister before waking the stopper, so that once store_committer_stop() returns a
	 * new send fails with -ESRCH instead of landing in a mailbox nobody reads. */
	actor_stop(&c->a);
	if (d) {
		pthread_mutex_lock(&d->mu);
		d->done = true;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
	}
}

static void on_stop(struct actor *self, const struct msg *msg, const struct store_stop_cmd *p)
{
	stop((struct store_committer *)self, p->done);
}

static void on_core_stop(struct actor *self, const struct msg *msg, const struct msg_empty *p)
{
	stop((struct store_committer *)self, NULL);
}

static void committer_free(struct actor *a)
{
	struct store_committer *c = (struct store_committer *)a;
	for (uint32_t i = 0; i < c->n; i++)
		store_batch_free(c->bs[i]);
	free(c->bs);
	free(c->p);
	free(c);
}

static const struct actor_kind committer_kind = {
	.name = "store_committer",
	.free_fn = committer_free,
	.on = {
		ACTOR_ON(STORE_MSG_COMMIT_REQ, on_commit),
		ACTOR_ON(STORE_MSG_FLUSH_CMD, on_flush),
		ACTOR_ON(STORE_MSG_STOP_CMD, on_stop),
		ACTOR_ON(CORE_MSG_STOP_CMD, on_core_stop),
	},
};

uint64_t store_committer_start(struct store *s, struct worker *w)
{
	pthread_once(&metrics_once, metrics_init);
	struct store_committer *c = xcalloc(1, sizeof *c);
	c->s = s;
	return actor_spawn(&c->a, &committer_kind, w ? w : worker_spawn_dedicated("store"));
}

int store_committer_stop(uint64_t id)
{
	struct store_committer_done d = {.done = false};
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	struct store_stop_cmd cmd = {.done = &d};
	int r = STORE_MSG_STOP_CMD_send(id, NULL, &cmd, &(struct actor_send_opts){.force = true});
	if (r == 0) {
		pthread_mutex_lock(&d.mu);
		while (!d.done)
			pthread_cond_wait(&d.cv, &d.mu);
		pthread_mutex_unlock(&d.mu);
	}
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	return r;
}
