/* Vyukov's intrusive MPSC queue.
 *
 * DESIGN: producers exchange `head` and then link the previous head to the new
 * node; the consumer walks from `tail`. A stub node lets the queue be empty
 * without NULL special cases. Between a producer's exchange and its link, the
 * consumer sees a gap and returns NULL; the producer's wake-up after the push
 * guarantees a later pop finds the node. */
#include "core/mpsc.h"

#include <stddef.h>

void mpsc_init(struct mpsc *q)
{
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
	q->tail = &q->stub;
}

void mpsc_push(struct mpsc *q, struct mpsc_node *n)
{
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	struct mpsc_node *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

struct mpsc_node *mpsc_pop(struct mpsc *q)
{
	struct mpsc_node *tail = q->tail;
	struct mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (tail == &q->stub) {
		if (!next)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		q->tail = next;
		return tail;
	}
	struct mpsc_node *head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (tail != head)
		return NULL; /* a push is between exchange and link */
	mpsc_push(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next) {
		q->tail = next;
		return tail;
	}
	return NULL;
}

bool mpsc_empty(struct mpsc *q)
{
	struct mpsc_node *tail = q->tail;
	return tail == &q->stub && atomic_load_explicit(&tail->next, memory_order_acquire) == NULL &&
	       atomic_load_explicit(&q->head, memory_order_acquire) == &q->stub;
}
