/* Timer heap per worker.
 *
 * DESIGN: a binary min-heap ordered by (deadline, start sequence), so equal
 * deadlines fire in start order. The worker sleeps in io_uring with the top
 * deadline as its timeout; no io_uring timeout SQEs are needed. */
#include "core/timer.h"

#include "core/clock.h"
#include "core/worker.h"
#include "core/xmalloc.h"

static bool less(const struct timer *a, const struct timer *b)
{
	return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->seq < b->seq);
}

static void set(struct worker *w, size_t i, struct timer *t)
{
	w->heap[i] = t;
	t->idx = (int64_t)i;
}

static void sift_up(struct worker *w, size_t i)
{
	struct timer *t = w->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!less(t, w->heap[parent]))
			break;
		set(w, i, w->heap[parent]);
		i = parent;
	}
	set(w, i, t);
}

static void sift_down(struct worker *w, size_t i)
{
	struct timer *t = w->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct timer *best = t;
		if (l < w->nheap && less(w->heap[l], best)) {
			m = l;
			best = w->heap[l];
		}
		if (r < w->nheap && less(w->heap[r], best)) {
			m = r;
			best = w->heap[r];
		}
		if (m == i)
			break;
		set(w, i, best);
		i = m;
	}
	set(w, i, t);
}

static void heap_remove(struct worker *w, struct timer *t)
{
	size_t i = (size_t)t->idx;
	struct timer *last = w->heap[--w->nheap];
	t->idx = -1;
	if (i == w->nheap)
		return;
	set(w, i, last);
	if (i > 0 && less(last, w->heap[(i - 1) / 2]))
		sift_up(w, i);
	else
		sift_down(w, i);
}

void timer_init(struct timer *t, void (*cb)(struct timer *t), void *ctx)
{
	t->cb = cb;
	t->ctx = ctx;
	t->idx = -1;
	t->w = NULL;
	t->when_ms = 0;
	t->seq = 0;
}

void timer_start_at(struct timer *t, int64_t when_ms)
{
	struct worker *w = worker_self();
	if (!w)
		panic("timer_start outside a worker");
	if (t->idx >= 0) {
		if (t->w != w)
			panic("timer re-armed on another worker");
		heap_remove(w, t);
	}
	if (w->nheap == w->capheap) {
		w->capheap = w->capheap ? w->capheap * 2 : 64;
		w->heap = xrealloc(w->heap, w->capheap * sizeof *w->heap);
	}
	t->w = w;
	t->when_ms = when_ms;
	t->seq = ++w->timer_seq;
	w->heap[w->nheap] = t;
	t->idx = (int64_t)w->nheap++;
	sift_up(w, (size_t)t->idx);
}

void timer_start(struct timer *t, int64_t ms)
{
	timer_start_at(t, clock_mono_ms() + ms);
}

void timer_stop(struct timer *t)
{
	if (t->idx < 0)
		return;
	heap_remove(t->w, t);
}

int64_t timer_next_deadline(struct worker *w)
{
	return w->nheap ? w->heap[0]->when_ms : -1;
}

void timer_fire_due(struct worker *w, int64_t now_ms)
{
	/* Fire at most what is due now; timers armed by callbacks for "now" wait one round. */
	size_t budget = w->nheap;
	while (budget-- && w->nheap && w->heap[0]->when_ms <= now_ms) {
		struct timer *t = w->heap[0];
		heap_remove(w, t);
		t->cb(t);
	}
}
