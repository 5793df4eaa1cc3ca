/* MPSC queue: many producers on all threads, no lost or duplicated node, FIFO per producer. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/mpsc.h"
#include "core/xmalloc.h"

#define PRODUCERS 8
#define PER_PRODUCER 200000

struct item {
	struct mpsc_node node;
	int producer;
	int seq;
};

static struct mpsc q;
static _Atomic int done_producers;

static void *produce(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		struct item *it = xmalloc(sizeof *it);
		it->producer = id;
		it->seq = i;
		mpsc_push(&q, &it->node);
	}
	atomic_fetch_add(&done_producers, 1);
	return NULL;
}

TEST(many_producers_fifo_per_producer)
{
	mpsc_init(&q);
	pthread_t th[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, produce, (void *)(intptr_t)i);
	int next[PRODUCERS] = {0};
	long got = 0, order_errors = 0;
	while (got < (long)PRODUCERS * PER_PRODUCER) {
		struct mpsc_node *n = mpsc_pop(&q);
		if (!n)
			continue;
		struct item *it = (struct item *)n;
		if (it->seq != next[it->producer])
			order_errors++;
		next[it->producer] = it->seq + 1;
		got++;
		free(it);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(order_errors, 0);
	for (int i = 0; i < PRODUCERS; i++)
		CHECK_INT(next[i], PER_PRODUCER);
	CHECK(mpsc_pop(&q) == NULL);
	CHECK(mpsc_empty(&q));
}

TEST(empty_queue)
{
	mpsc_init(&q);
	CHECK(mpsc_empty(&q));
	CHECK(mpsc_pop(&q) == NULL);
	struct item a = {.seq = 1}, b = {.seq = 2};
	mpsc_push(&q, &a.node);
	CHECK(!mpsc_empty(&q));
	mpsc_push(&q, &b.node);
	CHECK(mpsc_pop(&q) == &a.node);
	CHECK(mpsc_pop(&q) == &b.node);
	CHECK(mpsc_pop(&q) == NULL);
	mpsc_push(&q, &a.node);
	CHECK(mpsc_pop(&q) == &a.node);
	CHECK(mpsc_empty(&q));
}

TEST_MAIN()
