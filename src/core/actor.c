/* Actor registry, mailboxes and message dispatch.
 *
 * DESIGN: ids map to actors through a sharded hash table (64 shards, each a
 * mutex and an open-addressing array). A send looks the id up under the shard
 * lock and takes a reference, so the actor cannot be freed while the message is
 * pushed; the home worker drops that reference after running the actor. The
 * message is encoded (msgpack) by the sender and decoded on the home worker,
 * right before the handler, into a stack buffer; decode failures, unknown ids,
 * missing handlers and expired deadlines are counted per message name and
 * dropped — a peer's mistake never stops the receiver. */
#include "core/actor.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"

#define SHARDS 64
#define RUN_BATCH 64

struct shard {
	pthread_mutex_t lock;
	struct actor **slots;
	size_t cap, n, tomb;
};

static struct shard shards[SHARDS];
static _Atomic uint64_t next_id = 1;
static _Atomic int64_t live;
static struct actor *const TOMB = (struct actor *)1;

struct msg_stats {
	struct metric *delivered, *malformed, *unhandled, *expired, *dropped;
	struct metric *handle_seconds;
};
static struct msg_stats stats[MSG_ID_MAX];
static struct metric *m_unknown, *m_full, *m_nosuch;
static pthread_once_t stats_once = PTHREAD_ONCE_INIT;

static void stats_one(const struct msg_type *t, void *arg)
{
	char lab[96];
	snprintf(lab, sizeof lab, "msg=\"%s\"", t->name);
	struct msg_stats *s = &stats[t->id];
	s->delivered = metric_counter("tern_msg_delivered_total", lab, "Actor messages handled.");
	s->malformed = metric_counter("tern_msg_malformed_total", lab, "Actor messages dropped: payload failed to decode.");
	s->unhandled = metric_counter("tern_msg_unhandled_total", lab, "Actor messages dropped: no handler in the receiving actor.");
	s->expired = metric_counter("tern_msg_expired_total", lab, "Actor messages dropped: deadline passed before delivery.");
	s->dropped = metric_counter("tern_msg_dropped_total", lab, "Actor messages dropped: receiver stopped.");
	s->handle_seconds = metric_histogram("tern_msg_handle_seconds", lab, "Time spent in message handlers.",
	                                     metric_latency_bounds, metric_latency_nbounds);
}

static void stats_init(void)
{
	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_init(&shards[i].lock, NULL);
	m_unknown = metric_counter("tern_msg_unknown_total", "", "Actor messages with an unregistered id.");
	m_full = metric_counter("tern_msg_mailbox_full_total", "", "Sends refused because the receiver's mailbox was full.");
	m_nosuch = metric_counter("tern_msg_no_receiver_total", "", "Sends to an actor id that no longer exists.");
	msg_foreach(stats_one, NULL);
}

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct shard *shard_of(uint64_t id)
{
	return &shards[mix(id) % SHARDS];
}

static void shard_grow(struct shard *s)
{
	size_t ocap = s->cap;
	struct actor **old = s->slots;
	s->cap = ocap ? ocap * 2 : 64;
	if (s->n * 4 < ocap) /* mostly tombstones: rehash at the same size */
		s->cap = ocap;
	s->slots = xcalloc(s->cap, sizeof *s->slots);
	s->tomb = 0;
	for (size_t i = 0; i < ocap; i++) {
		struct actor *a = old[i];
		if (!a || a == TOMB)
			continue;
		size_t j = mix(a->id) / SHARDS % s->cap;
		while (s->slots[j])
			j = (j + 1) % s->cap;
		s->slots[j] = a;
	}
	free(old);
}

static void table_put(struct actor *a)
{
	struct shard *s = shard_of(a->id);
	pthread_mutex_lock(&s->lock);
	if ((s->n + s->tomb + 1) * 2 > s->cap)
		shard_grow(s);
	size_t j = mix(a->id) / SHARDS % s->cap;
	while (s->slots[j] && s->slots[j] != TOMB)
		j = (j + 1) % s->cap;
	if (s->slots[j] == TOMB)
		s->tomb--;
	s->slots[j] = a;
	s->n++;
	pthread_mutex_unlock(&s->lock);
}

/* Finds id and takes a reference; NULL when absent. */
static struct actor *table_get_ref(uint64_t id)
{
	struct shard *s = shard_of(id);
	struct actor *found = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->cap) {
		size_t j = mix(id) / SHARDS % s->cap;
		for (size_t k = 0; k < s->cap && s->slots[j]; k++, j = (j + 1) % s->cap) {
			if (s->slots[j] != TOMB && s->slots[j]->id == id) {
				found = s->slots[j];
				atomic_fetch_add(&found->refs, 1);
				break;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

static void table_del(struct actor *a)
{
	struct shard *s = shard_of(a->id);
	pthread_mutex_lock(&s->lock);
	size_t j = mix(a->id) / SHARDS % s->cap;
	for (size_t k = 0; k < s->cap && s->slots[j]; k++, j = (j + 1) % s->cap) {
		if (s->slots[j] == a) {
			s->slots[j] = TOMB;
			s->tomb++;
			s->n--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void drop_mailbox(struct actor *a)
{
	struct mpsc_node *n;
	while ((n = mpsc_pop(&a->mbox))) {
		struct msg *m = (struct msg *)((char *)n - offsetof(struct msg, node));
		if (stats[m->type].dropped)
			metric_add(stats[m->type].dropped, 1);
		free(m);
	}
}

void actor_unref(struct actor *a)
{
	if (atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	drop_mailbox(a);
	atomic_fetch_sub(&live, 1);
	if (a->kind->free_fn)
		a->kind->free_fn(a);
	else
		free(a);
}

static void schedule(struct actor *a)
{
	if (atomic_exchange(&a->scheduled, 1))
		return;
	atomic_fetch_add(&a->refs, 1); /* held by the run queue */
	struct worker *home = a->home; /* once pushed, a may run, stop and be freed */
	mpsc_push(&home->runq, &a->runq_node);
	worker_wake(home);
}

uint64_t actor_spawn(struct actor *a, const struct actor_kind *k, struct worker *home)
{
	pthread_once(&stats_once, stats_init);
	a->kind = k;
	a->home = home ? home : worker_pool_next();
	a->id = atomic_fetch_add(&next_id, 1);
	mpsc_init(&a->mbox);
	atomic_store(&a->mbox_count, 0);
	if (!a->mbox_cap)
		a->mbox_cap = ACTOR_MAILBOX_CAP;
	atomic_store(&a->refs, 1); /* the registration */
	atomic_store(&a->scheduled, 0);
	a->started = a->stopped = false;
	atomic_fetch_add(&live, 1);
	uint64_t id = a->id;
	table_put(a);
	schedule(a); /* runs kind->start on the home worker */
	return id;
}

void actor_set_mailbox_cap(struct actor *a, uint32_t cap)
{
	a->mbox_cap = cap;
}

void actor_stop(struct actor *a)
{
	if (a->stopped)
		return;
	a->stopped = true;
	table_del(a);
	actor_unref(a);
}

int actor_send(uint64_t to, struct actor *from, uint16_t type, const void *p,
               const struct actor_send_opts *o)
{
	pthread_once(&stats_once, stats_init);
	struct actor *a = table_get_ref(to);
	if (!a) {
		metric_add(m_nosuch, 1);
		return -ESRCH;
	}
	if (!(o && o->force) && atomic_load_explicit(&a->mbox_count, memory_order_relaxed) >= a->mbox_cap) {
		metric_add(m_full, 1);
		actor_unref(a);
		return -EAGAIN;
	}
	struct msg *m = msg_new(type, p);
	if (!m) {
		actor_unref(a);
		return -EINVAL;
	}
	m->from = from ? from->id : 0;
	if (o) {
		m->req_id = o->req_id;
		m->deadline_ms = o->deadline_ms;
	}
	atomic_fetch_add_explicit(&a->mbox_count, 1, memory_order_relaxed);
	mpsc_push(&a->mbox, &m->node);
	schedule(a);
	actor_unref(a);
	return 0;
}

int actor_reply(struct actor *self, const struct msg *m, uint16_t type, const void *p)
{
	struct actor_send_opts o = {.req_id = m->req_id, .force = true};
	return actor_send(m->from, self, type, p, &o);
}

static void dispatch(struct actor *a, struct msg *m)
{
	const struct msg_type *t = msg_type_of(m->type);
	if (!t) {
		metric_add(m_unknown, 1);
		log_error("actor", "unknown message id dropped", "actor=%s id=%u", a->kind->name, m->type);
		return;
	}
	struct msg_stats *s = &stats[m->type];
	if (m->deadline_ms && clock_mono_ms() > m->deadline_ms) {
		metric_add(s->expired, 1);
		return;
	}
	actor_handler_fn h = a->kind->on[m->type];
	if (!h) {
		metric_add(s->unhandled, 1);
		log_error("actor", "unhandled message dropped", "actor=%s msg=%s", a->kind->name, t->name);
		return;
	}
	_Alignas(16) uint8_t payload[MSG_PAYLOAD_MAX];
	struct msg_arena arena = {.n = 0};
	msgpack_unpacked up;
	if (msg_decode(m, payload, &arena, &up) != 0) {
		metric_add(s->malformed, 1);
		log_error("actor", "malformed message dropped", "actor=%s msg=%s len=%u", a->kind->name,
		          t->name, m->len);
		msgpack_unpacked_destroy(&up);
		msg_arena_free(&arena);
		return;
	}
	int64_t t0 = clock_mono_ns();
	h(a, m, payload);
	int64_t dt = clock_mono_ns() - t0;
	metric_add(s->delivered, 1);
	metric_observe(s->handle_seconds, (double)dt / 1e9);
	if (log_enabled(LOG_TRACE))
		log_write(LOG_TRACE, "actor", "message handled", "actor=%s id=%llu msg=%s req=%llu queued_us=%lld handle_us=%lld",
		          a->kind->name, (unsigned long long)a->id, t->name, (unsigned long long)m->req_id,
		          (long long)((t0 - m->sent_ns) / 1000), (long long)(dt / 1000));
	msgpack_unpacked_destroy(&up);
	msg_arena_free(&arena);
}

void actor_run(struct actor *a)
{
	atomic_store(&a->scheduled, 0);
	if (a->stopped)
		return;
	if (!a->started) {
		a->started = true;
		if (a->kind->start)
			a->kind->start(a);
	}
	for (int i = 0; i < RUN_BATCH && !a->stopped; i++) {
		struct mpsc_node *n = mpsc_pop(&a->mbox);
		if (!n) {
			if (!mpsc_empty(&a->mbox))
				schedule(a); /* a push is half done: come back */
			return;
		}
		struct msg *m = (struct msg *)((char *)n - offsetof(struct msg, node));
		atomic_fetch_sub_explicit(&a->mbox_count, 1, memory_order_relaxed);
		dispatch(a, m);
		free(m);
		a->handled++;
	}
	if (!a->stopped && !mpsc_empty(&a->mbox))
		schedule(a);
}

int64_t actor_count(void)
{
	return atomic_load(&live);
}
