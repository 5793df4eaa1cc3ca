/* Actor message throughput across threads: ping-pong (latency-bound) and
 * fan-in (N senders on other threads into one actor).
 * Usage: build/bench/actor_bench [rounds]   Prints msgs/s for each pattern. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/actor.h"
#include "core/clock.h"
#include "core/xmalloc.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;
static uint64_t rounds = 200000;

static void done(void)
{
	pthread_mutex_lock(&mu);
	finished++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void wait_for(int n)
{
	pthread_mutex_lock(&mu);
	while (finished < n)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

struct pp {
	struct actor a;
	uint64_t peer;
};

static void on_ping(struct actor *self, const struct msg *m, const struct test_ping *p)
{
	struct test_ping r = {.seq = p->seq};
	TEST_MSG_PONG_EVT_send(m->from, self, &r, NULL);
}

static void on_pong(struct actor *self, const struct msg *m, const struct test_ping *p)
{
	struct pp *s = (struct pp *)self;
	if (p->seq + 1 >= rounds) {
		done();
		return;
	}
	struct test_ping q = {.seq = p->seq + 1};
	TEST_MSG_PING_CMD_send(s->peer, self, &q, NULL);
}

static void pp_start(struct actor *self)
{
	struct pp *s = (struct pp *)self;
	if (s->peer) {
		struct test_ping q = {.seq = 0};
		TEST_MSG_PING_CMD_send(s->peer, self, &q, NULL);
	}
}

static const struct actor_kind pp_kind = {
	.name = "bench_pp",
	.start = pp_start,
	.on = {ACTOR_ON(TEST_MSG_PING_CMD, on_ping), ACTOR_ON(TEST_MSG_PONG_EVT, on_pong)},
};

struct sink {
	struct actor a;
	uint64_t got, want;
};

static void on_sample(struct actor *self, const struct msg *m, const struct test_sample *p)
{
	struct sink *s = (struct sink *)self;
	if (++s->got == s->want)
		done();
}

static const struct actor_kind sink_kind = {
	.name = "bench_sink",
	.on = {ACTOR_ON(TEST_MSG_SAMPLE_CMD, on_sample)},
};

static uint64_t sink_id;
static uint64_t per_sender;

static void *sender(void *arg)
{
	for (uint64_t i = 0; i < per_sender; i++) {
		struct test_sample p = {.u = i};
		while (TEST_MSG_SAMPLE_CMD_send(sink_id, NULL, &p, NULL) == -EAGAIN)
			sched_yield();
	}
	return NULL;
}

/* Peer: the same ping-pong between two plain threads over mutex/condvar slots,
 * the textbook way to hand a message to another thread. */
struct slot {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t val;
	bool full;
};

static struct slot to_b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
static struct slot to_a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

static void slot_put(struct slot *s, uint64_t v)
{
	pthread_mutex_lock(&s->mu);
	while (s->full)
		pthread_cond_wait(&s->cv, &s->mu);
	s->val = v;
	s->full = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static uint64_t slot_take(struct slot *s)
{
	pthread_mutex_lock(&s->mu);
	while (!s->full)
		pthread_cond_wait(&s->cv, &s->mu);
	uint64_t v = s->val;
	s->full = false;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return v;
}

static void *peer_b(void *arg)
{
	for (uint64_t i = 0; i < rounds; i++)
		slot_put(&to_a, slot_take(&to_b));
	return NULL;
}

static double peer_pingpong(void)
{
	pthread_t b;
	pthread_create(&b, NULL, peer_b, NULL);
	int64_t t0 = clock_mono_ns();
	for (uint64_t i = 0; i < rounds; i++) {
		slot_put(&to_b, i);
		slot_take(&to_a);
	}
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	pthread_join(b, NULL);
	return 2.0 * (double)rounds / secs;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = strtoull(argv[1], NULL, 10);
	worker_pool_start(2);

	struct pp *b = xcalloc(1, sizeof *b), *a = xcalloc(1, sizeof *a);
	uint64_t bid = actor_spawn(&b->a, &pp_kind, worker_pool_get(1));
	a->peer = bid;
	int64_t t0 = clock_mono_ns();
	actor_spawn(&a->a, &pp_kind, worker_pool_get(0));
	wait_for(1);
	double secs = (double)(clock_mono_ns() - t0) / 1e9;
	double tern_rate = 2.0 * (double)rounds / secs;
	printf("ping-pong across 2 workers: %llu round trips in %.3f s = %.0f msgs/s\n",
	       (unsigned long long)rounds, secs, tern_rate);

	int senders = 4;
	per_sender = rounds * 2 / (uint64_t)senders;
	struct sink *s = xcalloc(1, sizeof *s);
	s->want = per_sender * (uint64_t)senders;
	actor_set_mailbox_cap(&s->a, 4096);
	sink_id = actor_spawn(&s->a, &sink_kind, worker_pool_get(0));
	pthread_t th[8];
	t0 = clock_mono_ns();
	for (int i = 0; i < senders; i++)
		pthread_create(&th[i], NULL, sender, NULL);
	for (int i = 0; i < senders; i++)
		pthread_join(th[i], NULL);
	wait_for(2);
	secs = (double)(clock_mono_ns() - t0) / 1e9;
	printf("fan-in %d threads -> 1 actor: %llu msgs in %.3f s = %.0f msgs/s\n", senders,
	       (unsigned long long)s->want, secs, (double)s->want / secs);
	worker_pool_stop();
	double peer = peer_pingpong();
	printf("peer (2 threads, mutex+condvar slots): %.0f msgs/s; tern / peer = %.2f\n", peer, tern_rate / peer);
	return 0;
}
