/* Worker threads: each owns one io_uring ring, a run queue of actors and a timer heap.
 *
 * The pool has one worker per online CPU for protocol actors; dedicated workers
 * host single actors that may block (store commits, the getdns loop). Every
 * worker runs the same loop, so blocking actors still get messages, timers and
 * io_uring completions. */
#ifndef TERN_CORE_WORKER_H
#define TERN_CORE_WORKER_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/io.h"
#include "core/mpsc.h"

struct actor;
struct timer;

/** One thread with its ring. Fields are private to core/. */
struct worker {
	int index;
	char name[32];
	pthread_t thread;
	struct io_uring ring;
	int efd;                    /* eventfd for cross-thread wake-ups */
	uint64_t efd_val;
	struct io_op efd_op;
	_Atomic int sleeping;
	_Atomic bool stop;
	struct mpsc runq;           /* actors scheduled from other threads */
	struct actor *local_head, *local_tail; /* ready actors, this thread only */
	struct timer **heap;        /* timer min-heap */
	size_t nheap, capheap;
	uint64_t timer_seq;
	int64_t ios_inflight;
	bool dedicated;
	struct worker *next_all;
};

/** Starts the pool with n workers (n <= 0: online CPUs). Call once, before any actor. */
void worker_pool_start(int n);
/** Number of pool workers (dedicated ones excluded). */
int worker_pool_size(void);
/** Pool worker i (0 <= i < size). */
struct worker *worker_pool_get(int i);
/** A pool worker chosen round-robin, for new actors. */
struct worker *worker_pool_next(void);
/** Starts a dedicated worker thread for actors that may block. */
struct worker *worker_spawn_dedicated(const char *name);
/** Asks every worker to stop and joins them; actors are not destroyed. */
void worker_pool_stop(void);
/** The worker running the calling thread, or NULL on a non-worker thread. */
struct worker *worker_self(void);
/** Sets a function every worker thread calls just before it exits (e.g. to free
 * a library's thread-local caches). Call before worker_pool_start. */
void worker_set_exit_hook(void (*fn)(void));
/** Wakes w if it sleeps (any thread). */
void worker_wake(struct worker *w);
/** Gets an SQE on the calling worker's ring, submitting to make room if full. */
struct io_uring_sqe *worker_sqe(void);

#endif
