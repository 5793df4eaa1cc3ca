/* Store batches: the op list that becomes (part of) one RocksDB WriteBatch.
 *
 * DESIGN: keys and small values are copied into one growing byte arena and
 * ops refer to them by offset (the arena may move while the batch is built);
 * values handed over with put_buf keep their own storage, so a message body is
 * never copied until RocksDB serialises the WriteBatch. The batch knows nothing
 * of RocksDB until store_batch_apply(), which the committer calls for every
 * batch of a group on one shared WriteBatch. */
#include "store/store_batch.h"

#include <stdlib.h>

#include "core/xmalloc.h"
#include "store/store_impl.h"

enum op_kind { OP_PUT, OP_DELETE, OP_DELETE_RANGE };

struct op {
	uint8_t cf, kind;
	size_t koff, klen;   /* key (or range start) in the arena */
	size_t voff, vlen;   /* value (or range end) in the arena, unless own */
	uint8_t *own;        /* moved-in value storage, or NULL */
};

struct store_batch {
	struct op *ops;
	uint32_t n, cap;
	struct buf arena;
	size_t bytes;
};

struct store_batch *store_batch_new(void)
{
	return xcalloc(1, sizeof(struct store_batch));
}

void store_batch_free(struct store_batch *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->n; i++)
		free(b->ops[i].own);
	free(b->ops);
	buf_free(&b->arena);
	free(b);
}

static struct op *op_add(struct store_batch *b, enum store_cf cf, uint8_t kind, struct slice key)
{
	if ((unsigned)cf >= STORE_CF_N)
		panic("store_batch: bad column family %d", (int)cf);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->ops = xrealloc(b->ops, b->cap * sizeof *b->ops);
	}
	struct op *o = &b->ops[b->n++];
	*o = (struct op){.cf = (uint8_t)cf, .kind = kind, .koff = b->arena.len, .klen = key.len};
	buf_append(&b->arena, key.p, key.len);
	b->bytes += key.len;
	return o;
}

void store_batch_put(struct store_batch *b, enum store_cf cf, struct slice key, struct slice value)
{
	struct op *o = op_add(b, cf, OP_PUT, key);
	o->voff = b->arena.len;
	o->vlen = value.len;
	buf_append(&b->arena, value.p, value.len);
	b->bytes += value.len;
}

void store_batch_put_buf(struct store_batch *b, enum store_cf cf, struct slice key, struct buf *value)
{
	struct op *o = op_add(b, cf, OP_PUT, key);
	o->vlen = value->len;
	o->own = value->len ? buf_steal(value, &o->vlen) : NULL;
	buf_free(value);
	b->bytes += o->vlen;
}

int store_batch_put_rec(struct store_batch *b, enum store_cf cf, struct slice key,
                        const struct store_schema *s, const void *rec)
{
	struct buf v;
	buf_init(&v);
	int r = store_codec_encode(s, rec, &v);
	if (r == 0)
		store_batch_put_buf(b, cf, key, &v);
	buf_free(&v);
	return r;
}

void store_batch_delete(struct store_batch *b, enum store_cf cf, struct slice key)
{
	op_add(b, cf, OP_DELETE, key);
}

void store_batch_delete_range(struct store_batch *b, enum store_cf cf, struct slice lo, struct slice hi)
{
	struct op *o = op_add(b, cf, OP_DELETE_RANGE, lo);
	o->voff = b->arena.len;
	o->vlen = hi.len;
	buf_append(&b->arena, hi.p, hi.len);
	b->bytes += hi.len;
}

uint32_t store_batch_count(const struct store_batch *b)
{
	return b->n;
}

size_t store_batch_bytes(const struct store_batch *b)
{
	return b->bytes;
}

void store_batch_apply(const struct store_batch *b, struct store *s, rocksdb_writebatch_t *wb)
{
	const char *base = b->arena.p ? (const char *)b->arena.p : "";
	for (uint32_t i = 0; i < b->n; i++) {
		const struct op *o = &b->ops[i];
		rocksdb_column_family_handle_t *h = s->cf[o->cf];
		const char *k = base + o->koff;
		const char *v = o->own ? (const char *)o->own : base + o->voff;
		switch (o->kind) {
		case OP_PUT:
			rocksdb_writebatch_put_cf(wb, h, k, o->klen, v, o->vlen);
			break;
		case OP_DELETE:
			rocksdb_writebatch_delete_cf(wb, h, k, o->klen);
			break;
		case OP_DELETE_RANGE:
			rocksdb_writebatch_delete_range_cf(wb, h, k, o->klen, v, o->vlen);
			break;
		}
	}
}
