/* Worker threads and their loop.
 *
 * DESIGN: each worker owns a ring (IORING_SETUP_SINGLE_ISSUER where the kernel
 * has it), an eventfd read kept armed in that ring for cross-thread wake-ups,
 * an MPSC run queue of actors scheduled by other threads, a local ready list,
 * and a timer heap. One loop iteration: run ready actors (bounded batches, so
 * I/O is not starved), move remote wake-ups to the ready list, fire due
 * timers, then submit and wait for completions with the next timer deadline as
 * timeout. Before sleeping the worker publishes `sleeping` and re-checks its
 * run queue (Dekker with the sender's push-then-check), so no wake-up is lost. */
#include "core/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/actor.h"
#include "core/clock.h"
#include "core/io.h"
#include "core/log.h"
#include "core/timer.h"
#include "core/xmalloc.h"

#define RING_ENTRIES 1024
#define CQE_BATCH 256

static struct worker **pool;
static int pool_n;
static _Atomic unsigned pool_rr;
static struct worker *all_workers;
/* Kept reachable after stop (actors may still point at them); volatile so the store stays. */
static struct worker *volatile stopped_workers;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct worker *self;
static void (*exit_hook)(void);

void worker_set_exit_hook(void (*fn)(void))
{
	exit_hook = fn;
}

struct worker *worker_self(void)
{
	return self;
}

static void efd_cb(struct io_op *op, int res, uint32_t flags);

static void ring_init(struct worker *w)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
	int r = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	if (r < 0) {
		memset(&p, 0, sizeof p);
		r = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	}
	if (r < 0)
		fatal("io_uring_queue_init: %s (io_uring disabled by the kernel or seccomp?)", strerror(-r));
}

static void efd_arm(struct worker *w)
{
	struct io_uring_sqe *sqe = worker_sqe();
	io_uring_prep_read(sqe, w->efd, &w->efd_val, sizeof w->efd_val, 0);
	io_uring_sqe_set_data(sqe, &w->efd_op);
	w->efd_op.busy = true;
}

static void efd_cb(struct io_op *op, int res, uint32_t flags)
{
	struct worker *w = op->ctx;
	if (!atomic_load(&w->stop))
		efd_arm(w);
}

struct io_uring_sqe *worker_sqe(void)
{
	struct worker *w = self;
	if (!w)
		panic("worker_sqe outside a worker thread");
	struct io_uring_sqe *sqe;
	while (!(sqe = io_uring_get_sqe(&w->ring))) {
		int r = io_uring_submit(&w->ring);
		if (r < 0 && r != -EBUSY && r != -EAGAIN && r != -EINTR)
			panic("io_uring_submit: %s", strerror(-r));
	}
	w->ios_inflight++;
	return sqe;
}

void worker_wake(struct worker *w)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_exchange(&w->sleeping, 0)) {
		uint64_t one = 1;
		ssize_t n = write(w->efd, &one, sizeof one);
		(void)n;
	}
}

static void run_ready(struct worker *w)
{
	struct mpsc_node *n;
	while ((n = mpsc_pop(&w->runq))) {
		struct actor *a = (struct actor *)((char *)n - offsetof(struct actor, runq_node));
		a->local_next = NULL;
		if (w->local_tail)
			w->local_tail->local_next = a;
		else
			w->local_head = a;
		w->local_tail = a;
	}
	/* Run only the actors ready now; ones scheduled meanwhile wait for the next round. */
	struct actor *a = w->local_head;
	w->local_head = w->local_tail = NULL;
	while (a) {
		struct actor *next = a->local_next;
		actor_run(a);
		actor_unref(a);
		a = next;
	}
}

static void reap(struct worker *w)
{
	struct io_uring_cqe *cqes[CQE_BATCH];
	unsigned n;
	while ((n = io_uring_peek_batch_cqe(&w->ring, cqes, CQE_BATCH)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct io_op *op = io_uring_cqe_get_data(cqes[i]);
			int res = cqes[i]->res;
			uint32_t flags = cqes[i]->flags;
			io_uring_cqe_seen(&w->ring, cqes[i]);
			if (!(flags & IORING_CQE_F_MORE))
				w->ios_inflight--;
			if (!op)
				continue;
			if (!(flags & IORING_CQE_F_MORE))
				op->busy = false;
			op->cb(op, res, flags);
		}
	}
}

static void *loop(void *arg)
{
	struct worker *w = arg;
	self = w;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ring_init(w);
	io_op_init(&w->efd_op, efd_cb, w);
	efd_arm(w);
	while (!atomic_load(&w->stop)) {
		run_ready(w);
		timer_fire_due(w, clock_mono_ms());
		reap(w);
		if (w->local_head || !mpsc_empty(&w->runq)) {
			io_uring_submit(&w->ring);
			continue;
		}
		atomic_store(&w->sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (!mpsc_empty(&w->runq) || atomic_load(&w->stop)) {
			atomic_store(&w->sleeping, 0);
			continue;
		}
		int64_t next = timer_next_deadline(w);
		struct io_uring_cqe *cqe;
		if (next >= 0) {
			int64_t d = next - clock_mono_ms();
			if (d < 0)
				d = 0;
			struct __kernel_timespec ts = {.tv_sec = d / 1000, .tv_nsec = (d % 1000) * 1000000};
			io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		} else {
			io_uring_submit_and_wait(&w->ring, 1);
		}
		atomic_store(&w->sleeping, 0);
	}
	if (exit_hook)
		exit_hook();
	return NULL;
}

static struct worker *worker_new(const char *name, int index, bool dedicated)
{
	struct worker *w = xcalloc(1, sizeof *w);
	w->index = index;
	snprintf(w->name, sizeof w->name, "%s", name);
	w->dedicated = dedicated;
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->efd < 0)
		fatal("eventfd: %s", strerror(errno));
	mpsc_init(&w->runq);
	pthread_mutex_lock(&all_lock);
	w->next_all = all_workers;
	all_workers = w;
	pthread_mutex_unlock(&all_lock);
	if (pthread_create(&w->thread, NULL, loop, w) != 0)
		fatal("pthread_create failed");
	pthread_setname_np(w->thread, w->name);
	return w;
}

void worker_pool_start(int n)
{
	if (n <= 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	pool = xcalloc((size_t)n, sizeof *pool);
	pool_n = n;
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "tern-w%d", i);
		pool[i] = worker_new(name, i, false);
	}
}

int worker_pool_size(void)
{
	return pool_n;
}

struct worker *worker_pool_get(int i)
{
	return pool[i];
}

struct worker *worker_pool_next(void)
{
	return pool[atomic_fetch_add(&pool_rr, 1) % (unsigned)pool_n];
}

struct worker *worker_spawn_dedicated(const char *name)
{
	static _Atomic int next = 128;
	return worker_new(name, atomic_fetch_add(&next, 1), true);
}

void worker_pool_stop(void)
{
	pthread_mutex_lock(&all_lock);
	struct worker *list = all_workers;
	all_workers = NULL;
	stopped_workers = list; /* kept reachable: actors may still reference them during exit */
	pthread_mutex_unlock(&all_lock);
	for (struct worker *w = list; w; w = w->next_all) {
		atomic_store(&w->stop, true);
		atomic_store(&w->sleeping, 1);
		worker_wake(w);
	}
	for (struct worker *w = list; w; w = w->next_all)
		pthread_join(w->thread, NULL);
	/* Workers and rings stay allocated: actors may still reference them during exit. */
	stopped_workers = list;
	pool_n = 0;
}
