/* Message data for outgoing transactions: the shared msgdata chunks of a queue
 * record, read straight from the store as the SMTP client engine asks for them.
 *
 * The engine addresses the data by offset and streams it in order, possibly again
 * from the start for another transaction on the same connection; the reader keeps
 * the current chunk, so a message of one chunk (64 KiB) is read once per job. */
#ifndef TERN_ACTORS_DELIVERY_DATA_H
#define TERN_ACTORS_DELIVERY_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

struct store;

struct delivery_data {
	struct store *st;
	uint64_t data_id;
	uint64_t size;        /* bytes of shared data */
	struct slice mem;     /* in-memory data instead of the store (DSNUTF8), when set */
	bool in_mem;
	/* the chunk held */
	struct buf chunk;
	uint32_t idx;
	uint64_t start;       /* offset of chunk's first byte */
	bool valid;
};

/** Sets d up to read data_id (size bytes) from st. */
void delivery_data_init(struct delivery_data *d, struct store *st, uint64_t data_id, uint64_t size);
/** Sets d up to hand out mem (borrowed while in use) instead. */
void delivery_data_init_mem(struct delivery_data *d, struct slice mem);
/** Frees the held chunk. */
void delivery_data_free(struct delivery_data *d);
/** smtp_client_read_cb over d: bytes at off (< size) up to the end of their chunk.
 * Returns 0, or -1 when a chunk is missing, unreadable or empty. */
int delivery_data_read_cb(void *ctx, uint64_t off, struct slice *out);

#endif
