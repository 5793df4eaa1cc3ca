/* Lock-free multi-producer single-consumer intrusive queue (Vyukov).
 *
 * Producers on any thread push; exactly one consumer (the owning thread) pops.
 * FIFO per producer. Push is wait-free (one exchange); pop may briefly report
 * empty while a push is half done, which callers treat as "try again later" —
 * the pusher always wakes the consumer after pushing, so nothing is stranded. */
#ifndef TERN_CORE_MPSC_H
#define TERN_CORE_MPSC_H

#include <stdatomic.h>
#include <stdbool.h>

/** Embed in the element; the queue never allocates. */
struct mpsc_node {
	_Atomic(struct mpsc_node *) next;
};

/** The queue. Must not be moved after mpsc_init. */
struct mpsc {
	_Atomic(struct mpsc_node *) head; /* producers swap here */
	struct mpsc_node *tail;           /* consumer only */
	struct mpsc_node stub;
};

/** Initialises an empty queue. */
void mpsc_init(struct mpsc *q);
/** Pushes n (any thread). The queue does not own n; the consumer takes it on pop. */
void mpsc_push(struct mpsc *q, struct mpsc_node *n);
/** Pops the oldest node (consumer thread only), or NULL when empty or a push is in progress. */
struct mpsc_node *mpsc_pop(struct mpsc *q);
/** Whether the queue looks empty (consumer thread only). */
bool mpsc_empty(struct mpsc *q);

#endif
