/* A hash map from non-zero 64-bit ids to pointers, for the queue's in-memory
 * state (records in flight, locked ids, waiters, pending commits).
 *
 * Open addressing with linear probing and backward-shift deletion, so there
 * are no tombstones and memory follows the live entry count (it shrinks when
 * emptied). Single-threaded: owned by one actor. */
#ifndef TERN_ACTORS_QUEUE_IDMAP_H
#define TERN_ACTORS_QUEUE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

/** The map; zero-initialised is empty. */
struct queue_idmap {
	uint64_t *keys; /* 0 = free slot */
	void **vals;
	size_t cap, n;
};

/** The value for id, or NULL. */
void *queue_idmap_get(const struct queue_idmap *m, uint64_t id);
/** Sets id's value (id != 0, v != NULL), replacing any old one. */
void queue_idmap_put(struct queue_idmap *m, uint64_t id, void *v);
/** Removes id; returns its old value or NULL. */
void *queue_idmap_del(struct queue_idmap *m, uint64_t id);
/** Frees the table (not the values). */
void queue_idmap_free(struct queue_idmap *m);
/** Bytes the table uses (tests: memory must follow the live count). */
size_t queue_idmap_bytes(const struct queue_idmap *m);

#endif
