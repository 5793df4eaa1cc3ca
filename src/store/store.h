/* The store: DataDir/db (RocksDB) with Tern's column families, ids, reads,
 * synchronous writes and quarantine of corrupt records.
 *
 * Only src/store knows RocksDB. Commits that a client's "250" depends on go
 * through the store_committer actor (group commit, src/actors/store_committer.h);
 * store_commit_wait() here is the blocking form for tools and tests. All
 * functions are safe to call from any thread once store_open() returned. */
#ifndef TERN_STORE_STORE_H
#define TERN_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store_batch.h"
#include "store/store_codec.h"
#include "store/store_keys.h"

struct store;

/** Schema version this build reads and writes (kept in `default`). */
#define STORE_SCHEMA_VERSION 1
/** Ids reserved per persisted high-water mark step (one unsynced write per this many ids). */
#define STORE_ID_BLOCK 65536
/** Size of the shared block cache. */
#define STORE_CACHE_BYTES (64u << 20)

/** Opens DataDir/db, creating DataDir, DataDir/db and DataDir/spool as needed, with every
 * column family of the spec. Then: checks the schema version, takes DataDir/db.lock (a second
 * process gets an error naming the path and the holder's pid), removes message data whose
 * commit never happened, empties DataDir/spool and seeds the id counter. Returns the store,
 * or NULL with *err set to a malloc'd message (caller frees; startup callers fatal() on it). */
struct store *store_open(const char *datadir, char **err);

/** Whether another process holds DataDir's database lock, without opening anything: 0 when
 * free (or never used), else a negative errno with *err set (malloc'd; caller frees). Lets a
 * second server fail with the clear message before it tries to bind ports. */
int store_lock_probe(const char *datadir, char **err);

/** Closes the database and releases the lock. No other thread may use s any more. */
void store_close(struct store *s);

/** DataDir/db of an open store (owned by s). */
const char *store_dbpath(const struct store *s);

/** A new id, unique and increasing across restarts (shared by queue records, message data,
 * hold rules, ...). Never 0. Costs one unsynced write every STORE_ID_BLOCK ids. */
uint64_t store_next_id(struct store *s);

/** Point read: replaces out's contents with the value. Returns 0, -ENOENT or -EIO. */
int store_get(struct store *s, enum store_cf cf, struct slice key, struct buf *out);

/** Reads and decodes the record at key into rec (sch->size bytes; free with store_codec_free).
 * Returns 0, -ENOENT, -EIO, or -EBADMSG when the record failed to decode: it has then been
 * moved to quarantine (store_quarantine) and rec is empty. */
int store_load(struct store *s, enum store_cf cf, struct slice key, const struct store_schema *sch,
               void *rec);

/** Moves the value at cf/key to the quarantine column family with reason (synced, one batch:
 * delete + put), logs it at error level and counts tern_store_corrupt_total. value is the bytes
 * that were read (stored whole up to STORE_CAP_QVALUE). Returns 0 or a negative errno. */
int store_quarantine(struct store *s, enum store_cf cf, struct slice key, struct slice value,
                     const char *reason);

/** Writes n batches as ONE RocksDB WriteBatch (sync as asked). Does not free the batches.
 * Returns 0, or -ENOSPC (disk full), -EROFS (database read-only after an error) or -EIO, with
 * RocksDB's text appended to err when err is not NULL. */
int store_write(struct store *s, struct store_batch *const *bs, int n, bool sync, struct buf *err);

/** Blocking synced commit of b for tools and tests (takes ownership of b and frees it).
 * Returns as store_write. Servers use the store_committer actor instead. */
int store_commit_wait(struct store *s, struct store_batch *b, struct buf *err);

#endif
