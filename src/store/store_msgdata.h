/* Message data in `msgdata`: chunks of one submission's bytes, shared by all
 * its recipient records, written before or inside the commit that refers to them.
 *
 * Two ways to write: small messages put their chunks into the final batch
 * (store_msgdata_put); large ones write chunks ahead, unsynced, as they arrive
 * (store_msgdata_write), each write also leaving a pending marker in `default`,
 * and the final batch then calls store_msgdata_commit() which removes the
 * marker. A crash before that commit leaves the marker, and the next
 * store_open() deletes the chunks (smtp.md §6, badinput.md #69). The final
 * commit is synced and the WAL is sequential, so it makes the earlier
 * unsynced chunk writes durable as well. */
#ifndef TERN_STORE_STORE_MSGDATA_H
#define TERN_STORE_STORE_MSGDATA_H

#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"
#include "store/store_rec.h"

/** Chunk size writers should use. */
#define STORE_CHUNK_SIZE (64u << 10)
/** Largest chunk accepted. */
#define STORE_CHUNK_MAX (1u << 20)

/** Writes one chunk now, unsynced, with the pending marker of dataid in the same write.
 * Returns 0 or a negative errno (-EINVAL for an oversize chunk), error text into err. */
int store_msgdata_write(struct store *s, uint64_t dataid, uint32_t chunk, struct slice data, struct buf *err);

/** Adds one chunk to batch b (copied). For data committed in the same batch as its records. */
void store_msgdata_put(struct store_batch *b, uint64_t dataid, uint32_t chunk, struct slice data);

/** Adds to b the meta record of dataid and the removal of its pending marker: put this in the
 * batch that commits the records referring to the data. Returns 0 or -E2BIG. */
int store_msgdata_commit(struct store_batch *b, uint64_t dataid, const struct store_datameta *meta);

/** Adds to b the deletion of all of dataid's chunks and meta (last reference gone). */
void store_msgdata_delete(struct store_batch *b, uint64_t dataid);

/** Most chunks deleted one key each by store_msgdata_delete_known(); beyond, a range delete. */
#define STORE_MSGDATA_POINT_DELETES_MAX 64

/** Like store_msgdata_delete() for data whose meta record says it has `chunks` chunks:
 * point deletes of the meta and each chunk when chunks is within
 * STORE_MSGDATA_POINT_DELETES_MAX, else the range delete. (Every read of a column family
 * rebuilds the list of range deletions still in its memtable, so one per delivered message
 * made each read cost more the busier the queue.) */
void store_msgdata_delete_known(struct store_batch *b, uint64_t dataid, int32_t chunks);

/** Removes chunks written ahead for a transaction that will not commit (unsynced; a crash
 * before it leaves the marker for startup). Returns 0 or a negative errno. */
int store_msgdata_abort(struct store *s, uint64_t dataid);

/** Appends chunk `chunk` of dataid to out. Returns 0, -ENOENT or -EIO. */
int store_msgdata_read(struct store *s, uint64_t dataid, uint32_t chunk, struct buf *out);

/** Appends every chunk of dataid, in order, to out; at most max bytes. Returns the number of
 * chunks, -ENOENT when there are none, -EFBIG when over max, -EBADMSG when a chunk number is
 * missing, or -EIO. */
int store_msgdata_read_all(struct store *s, uint64_t dataid, struct buf *out, size_t max);

/** Number of pending markers (uncommitted message data) right now; for tests and stats. */
int store_msgdata_pending_count(struct store *s);

#endif
