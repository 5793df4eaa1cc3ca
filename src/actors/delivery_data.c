/* Chunked message data reader for the SMTP client (see delivery_data.h).
 *
 * DESIGN: chunk numbers start at 0 and chunks follow each other without gaps, but
 * their sizes are whatever the writer used; so the reader walks forward chunk by
 * chunk from the one it holds, and goes back to chunk 0 when asked for an earlier
 * offset. Each chunk is one RocksDB point read straight into the reader's buffer. */
#include "actors/delivery_data.h"

#include <string.h>

#include "store/store.h"

void delivery_data_init(struct delivery_data *d, struct store *st, uint64_t data_id, uint64_t size)
{
	memset(d, 0, sizeof *d);
	d->st = st;
	d->data_id = data_id;
	d->size = size;
	buf_init(&d->chunk);
}

void delivery_data_init_mem(struct delivery_data *d, struct slice mem)
{
	memset(d, 0, sizeof *d);
	d->mem = mem;
	d->in_mem = true;
	d->size = mem.len;
	buf_init(&d->chunk);
}

void delivery_data_free(struct delivery_data *d)
{
	buf_free(&d->chunk);
	d->valid = false;
}

static int load(struct delivery_data *d, uint32_t idx, uint64_t start)
{
	struct store_key k;
	store_key_chunk(&k, d->data_id, idx);
	d->valid = false;
	if (store_get(d->st, STORE_CF_MSGDATA, store_key_slice(&k), &d->chunk) != 0 || d->chunk.len == 0)
		return -1;
	d->idx = idx;
	d->start = start;
	d->valid = true;
	return 0;
}

int delivery_data_read_cb(void *ctx, uint64_t off, struct slice *out)
{
	struct delivery_data *d = ctx;
	if (off >= d->size)
		return -1;
	if (d->in_mem) {
		*out = slice_of(d->mem.p + off, d->mem.len - off);
		return 0;
	}
	if (!d->valid || off < d->start) {
		if (load(d, 0, 0) < 0)
			return -1;
	}
	/* Bounded: every step moves past at least one byte of data. */
	while (off >= d->start + d->chunk.len) {
		if (load(d, d->idx + 1, d->start + d->chunk.len) < 0)
			return -1;
	}
	size_t at = (size_t)(off - d->start);
	*out = slice_of(d->chunk.p + at, d->chunk.len - at);
	return 0;
}
