/* Message data chunks, pending markers and the startup removal of orphans.
 *
 * DESIGN: a chunk written ahead of its commit goes out in one WriteBatch with
 * the pending marker `default/'p'<dataid>`, so no chunk can survive a crash
 * without its marker (a WriteBatch is atomic across column families, and the
 * WAL replays a prefix of writes). The commit deletes the marker. At startup
 * only the markers are read — a handful, whatever the size of msgdata — and
 * each one's chunks go with one range delete. Reads of a whole message use a
 * bounded iterator over `<dataid>` .. `<dataid+1>`, which also yields the meta
 * record (8-byte key, sorts first) and skips it. */
#include "store/store_msgdata.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/store_impl.h"
#include "store/store_iter.h"

static void chunk_range(uint64_t dataid, struct store_key *lo, struct store_key *hi)
{
	store_key_datameta(lo, dataid);
	store_key_datameta(hi, dataid + 1);
}

int store_msgdata_write(struct store *s, uint64_t dataid, uint32_t chunk, struct slice data, struct buf *err)
{
	if (data.len > STORE_CHUNK_MAX)
		return -EINVAL;
	struct store_key k, m;
	store_key_chunk(&k, dataid, chunk);
	store_key_pending(&m, dataid);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_DEFAULT], (const char *)m.b, m.len, "", 0);
	rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_MSGDATA], (const char *)k.b, k.len, (const char *)data.p, data.len);
	int r = store_write_wb(s, wb, false, err);
	rocksdb_writebatch_destroy(wb);
	return r;
}

void store_msgdata_put(struct store_batch *b, uint64_t dataid, uint32_t chunk, struct slice data)
{
	struct store_key k;
	store_key_chunk(&k, dataid, chunk);
	store_batch_put(b, STORE_CF_MSGDATA, store_key_slice(&k), data);
}

int store_msgdata_commit(struct store_batch *b, uint64_t dataid, const struct store_datameta *meta)
{
	struct store_key k;
	store_key_datameta(&k, dataid);
	int r = store_batch_put_rec(b, STORE_CF_MSGDATA, store_key_slice(&k), &store_rec_datameta, meta);
	if (r)
		return r;
	store_key_pending(&k, dataid);
	store_batch_delete(b, STORE_CF_DEFAULT, store_key_slice(&k));
	return 0;
}

void store_msgdata_delete(struct store_batch *b, uint64_t dataid)
{
	struct store_key lo, hi;
	chunk_range(dataid, &lo, &hi);
	store_batch_delete_range(b, STORE_CF_MSGDATA, store_key_slice(&lo), store_key_slice(&hi));
}

void store_msgdata_delete_known(struct store_batch *b, uint64_t dataid, int32_t chunks)
{
	if (chunks < 0 || chunks > STORE_MSGDATA_POINT_DELETES_MAX) {
		store_msgdata_delete(b, dataid);
		return;
	}
	struct store_key k;
	store_key_datameta(&k, dataid);
	store_batch_delete(b, STORE_CF_MSGDATA, store_key_slice(&k));
	for (int32_t i = 0; i < chunks; i++) {
		store_key_chunk(&k, dataid, (uint32_t)i);
		store_batch_delete(b, STORE_CF_MSGDATA, store_key_slice(&k));
	}
}

/* Adds the removal of dataid's chunks and marker to wb. */
static void abort_wb(struct store *s, rocksdb_writebatch_t *wb, uint64_t dataid)
{
	struct store_key lo, hi, m;
	chunk_range(dataid, &lo, &hi);
	store_key_pending(&m, dataid);
	rocksdb_writebatch_delete_range_cf(wb, s->cf[STORE_CF_MSGDATA], (const char *)lo.b, lo.len,
	                                   (const char *)hi.b, hi.len);
	rocksdb_writebatch_delete_cf(wb, s->cf[STORE_CF_DEFAULT], (const char *)m.b, m.len);
}

int store_msgdata_abort(struct store *s, uint64_t dataid)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	abort_wb(s, wb, dataid);
	int r = store_write_wb(s, wb, false, NULL);
	rocksdb_writebatch_destroy(wb);
	return r;
}

int store_msgdata_cleanup(struct store *s, struct buf *err)
{
	uint8_t kind = STORE_K_PENDING;
	struct store_iter *it = store_iter_prefix(s, STORE_CF_DEFAULT, slice_of(&kind, 1));
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	int n = 0;
	for (; store_iter_valid(it); store_iter_next(it)) {
		struct slice k = store_iter_key(it);
		if (k.len != 9)
			continue;
		uint64_t dataid = store_key_u64_at(k, 1);
		abort_wb(s, wb, dataid);
		log_info("store", "removing message data of a commit that never happened", "dataid=%llu",
		         (unsigned long long)dataid);
		n++;
	}
	int r = store_iter_status(it);
	store_iter_free(it);
	if (r == 0 && n > 0)
		r = store_write_wb(s, wb, true, err);
	rocksdb_writebatch_destroy(wb);
	return r ? r : n;
}

int store_msgdata_pending_count(struct store *s)
{
	uint8_t kind = STORE_K_PENDING;
	struct store_iter *it = store_iter_prefix(s, STORE_CF_DEFAULT, slice_of(&kind, 1));
	int n = 0;
	for (; store_iter_valid(it); store_iter_next(it))
		n++;
	store_iter_free(it);
	return n;
}

int store_msgdata_read(struct store *s, uint64_t dataid, uint32_t chunk, struct buf *out)
{
	struct store_key k;
	store_key_chunk(&k, dataid, chunk);
	struct buf v;
	buf_init(&v);
	int r = store_get(s, STORE_CF_MSGDATA, store_key_slice(&k), &v);
	if (r == 0)
		buf_append(out, v.p, v.len);
	buf_free(&v);
	return r;
}

int store_msgdata_read_all(struct store *s, uint64_t dataid, struct buf *out, size_t max)
{
	struct store_key lo, hi;
	chunk_range(dataid, &lo, &hi);
	struct store_iter *it = store_iter_new(s, STORE_CF_MSGDATA, store_key_slice(&lo), store_key_slice(&hi));
	int n = 0;
	size_t total = 0;
	for (; store_iter_valid(it); store_iter_next(it)) {
		struct slice k = store_iter_key(it);
		if (k.len != 12)
			continue; /* the meta record */
		uint32_t chunk = (uint32_t)k.p[8] << 24 | (uint32_t)k.p[9] << 16 | (uint32_t)k.p[10] << 8 | k.p[11];
		if (chunk != (uint32_t)n) {
			n = -EBADMSG; /* a missing chunk: never hand out a message with a hole */
			break;
		}
		struct slice v = store_iter_value(it);
		if (total + v.len > max) {
			n = -EFBIG;
			break;
		}
		buf_append(out, v.p, v.len);
		total += v.len;
		n++;
	}
	int r = store_iter_status(it);
	store_iter_free(it);
	if (r)
		return r;
	return n == 0 ? -ENOENT : n;
}
