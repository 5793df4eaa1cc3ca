/* Timers on the home worker's heap, monotonic milliseconds.
 *
 * Timers with the same deadline fire in the order they were started. A timer's
 * callback runs on the worker that started it; timer_stop() is safe whether or
 * not it is armed. The struct is owned by the caller and must stay valid while armed. */
#ifndef TERN_CORE_TIMER_H
#define TERN_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct worker;

struct timer {
	int64_t when_ms;
	uint64_t seq;
	void (*cb)(struct timer *t);
	void *ctx;
	struct worker *w;
	int64_t idx; /* position in the heap, -1 when not armed */
};

/** Initialises t unarmed with callback cb and a caller context. */
void timer_init(struct timer *t, void (*cb)(struct timer *t), void *ctx);
/** Arms (or re-arms) t to fire after ms milliseconds on the calling worker. */
void timer_start(struct timer *t, int64_t ms);
/** Arms t at an absolute monotonic deadline on the calling worker. */
void timer_start_at(struct timer *t, int64_t when_ms);
/** Disarms t if armed. */
void timer_stop(struct timer *t);
/** Whether t is armed. */
static inline bool timer_armed(const struct timer *t) { return t->idx >= 0; }

/* Worker-loop internals. */
int64_t timer_next_deadline(struct worker *w); /* -1 when none */
void timer_fire_due(struct worker *w, int64_t now_ms);

#endif
