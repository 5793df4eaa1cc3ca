/* Actors: state owned by one worker thread, driven by messages and completions.
 *
 * An actor is embedded in its owner's struct (first member or with a free_fn).
 * Messages from any thread go into its lock-free mailbox and are handled on its
 * home worker, one at a time, in order per sender. I/O completions and timers
 * for the actor also run on the home worker, so an actor's state needs no locks.
 *
 * Lifetime: actors are addressed by id; a send looks the id up and holds a
 * reference while it enqueues. actor_stop() unregisters (later sends fail with
 * -ESRCH and are counted); the memory is freed when the last reference drops. */
#ifndef TERN_CORE_ACTOR_H
#define TERN_CORE_ACTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"
#include "core/mpsc.h"
#include "core/worker.h"

struct actor;

/** Generic handler signature; use ACTOR_ON to register typed handlers. */
typedef void (*actor_handler_fn)(struct actor *self, const struct msg *m, const void *payload);

/** What kind of actor this is: name (for tracing and metrics) and its handlers. */
struct actor_kind {
	const char *name;
	/** Runs once on the home worker before the first message. May be NULL. */
	void (*start)(struct actor *self);
	/** Frees the containing object when the last reference drops (any thread). NULL: free(self). */
	void (*free_fn)(struct actor *self);
	/** Handlers by message id; NULL entries are counted as unhandled and dropped. */
	actor_handler_fn on[MSG_ID_MAX];
};

/** Registers fn for message NAME in an actor_kind initializer, type-checked against NAME##_fn. */
#define ACTOR_ON(NAME, fn) [NAME] = (actor_handler_fn)(1 ? (fn) : (NAME##_fn *)0)

/** Default mailbox capacity: sends beyond it fail with -EAGAIN unless forced. */
#define ACTOR_MAILBOX_CAP 65536

/** The runtime's part of an actor. Fields are private to core/. */
struct actor {
	const struct actor_kind *kind;
	struct worker *home;
	uint64_t id;
	struct mpsc mbox;
	_Atomic uint32_t mbox_count;
	uint32_t mbox_cap;
	_Atomic int refs;
	_Atomic int scheduled;
	bool started, stopped;
	struct mpsc_node runq_node;
	struct actor *local_next;
	int64_t handled;
};

/** Registers a (zeroed or fresh) actor on worker home (NULL: the pool picks one). Returns its id. */
uint64_t actor_spawn(struct actor *a, const struct actor_kind *k, struct worker *home);
/** Unregisters the actor (home worker only). Pending messages are dropped and counted.
 * The actor may be freed before this returns: call it last and do not touch the actor after.
 * Its memory is released through kind->free_fn once no sender holds a reference. */
void actor_stop(struct actor *a);
/** Sets the mailbox capacity (before spawn or on the home worker). */
void actor_set_mailbox_cap(struct actor *a, uint32_t cap);

/** Send options. */
struct actor_send_opts {
	uint64_t req_id;
	int64_t deadline_ms; /* monotonic ms; 0 = none */
	bool force;          /* ignore the mailbox cap (replies to requests already admitted) */
};

/** Encodes payload p as message `type` and queues it for actor `to`, from actor `from` (may be NULL).
 * Returns 0, -ESRCH (no such actor), -EAGAIN (mailbox full) or -EINVAL (encode failed). */
int actor_send(uint64_t to, struct actor *from, uint16_t type, const void *p,
               const struct actor_send_opts *o);
/** Replies to request m with message `type`, echoing its req_id; always forced. */
int actor_reply(struct actor *self, const struct msg *m, uint16_t type, const void *p);

/** Typed send: NAME##_send(to, from, &payload, opts). */
#define PAYLOAD_BEGIN(name)
#define FIELD(num, type, field, cap)
#define PAYLOAD_END(name)
#define MSG(NAME, id, payload, sender, receiver) \
	static inline int NAME##_send(uint64_t to, struct actor *from, const struct payload *p, \
	                              const struct actor_send_opts *o) \
	{ \
		return actor_send(to, from, NAME, p, o); \
	} \
	static inline int NAME##_reply(struct actor *self, const struct msg *m, const struct payload *p) \
	{ \
		return actor_reply(self, m, NAME, p); \
	}
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

/** Number of live actors (for stats). */
int64_t actor_count(void);
/** Runs a ready actor's mailbox (worker loop only). */
void actor_run(struct actor *a);
/** Drops one reference (worker loop only). */
void actor_unref(struct actor *a);

#endif
