/* Opening and closing DataDir/db, ids, point reads and writes.
 *
 * DESIGN: store_open() does all startup recovery in a fixed order: lock
 * (before RocksDB, for a clear message), open every column family (unknown
 * ones found on disk are opened too, since RocksDB refuses otherwise, and the
 * schema version decides), check or write the schema version, delete message
 * data whose commit never happened (pending markers, not a scan of msgdata),
 * seed ids, empty the spool.
 *
 * Ids: one counter for every kind of id. A high-water mark in `default` says
 * that ids below it may have been handed out; it is raised by STORE_ID_BLOCK
 * with an unsynced write whenever the counter reaches it. Unsynced is enough:
 * the WAL is one sequential log, so any later synced commit that uses such an
 * id makes the mark durable too, and an id that no durable write uses may be
 * handed out again after a crash without harm. If raising the mark fails (disk
 * full), the mark is "owed" and rides along in the next successful write. At
 * open the counter also starts past the highest record ids on disk, so a lost
 * mark can never cause reuse. */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store_impl.h"

#define WRITE_BUFFER_BIG (64u << 20)   /* msgdata, queue */
#define WRITE_BUFFER_SMALL (16u << 20) /* everything else */
#define MAX_TOTAL_WAL (256u << 20)     /* bounds WAL kept alive by rarely written CFs */
#define BLOB_MIN (4u << 10)            /* msgdata values from this size go to blob files */
#define BLOB_FILE (256u << 20)

/* ---- options ---- */

static rocksdb_options_t *cf_options(struct store *s, enum store_cf cf)
{
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_options_set_block_based_table_factory(o, s->bbto);
	rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
	rocksdb_options_set_compression(o, rocksdb_lz4_compression);
	bool big = cf == STORE_CF_MSGDATA || cf == STORE_CF_QUEUE;
	rocksdb_options_set_write_buffer_size(o, big ? WRITE_BUFFER_BIG : WRITE_BUFFER_SMALL);
	if (cf == STORE_CF_MSGDATA) {
		rocksdb_options_set_enable_blob_files(o, 1);
		rocksdb_options_set_min_blob_size(o, BLOB_MIN);
		rocksdb_options_set_blob_file_size(o, BLOB_FILE);
		rocksdb_options_set_blob_compression_type(o, rocksdb_lz4_compression);
		rocksdb_options_set_enable_blob_gc(o, 1);
	}
	return o;
}

static void options_init(struct store *s)
{
	s->cache = rocksdb_cache_create_lru(STORE_CACHE_BYTES);
	s->bloom = rocksdb_filterpolicy_create_bloom_full(10);
	s->bbto = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_block_cache(s->bbto, s->cache);
	rocksdb_block_based_options_set_filter_policy(s->bbto, s->bloom);
	s->bloom = NULL; /* owned by the table options now */
	s->dbopt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->dbopt, 1);
	rocksdb_options_set_create_missing_column_families(s->dbopt, 1);
	rocksdb_options_increase_parallelism(s->dbopt, 2);
	rocksdb_options_set_max_background_jobs(s->dbopt, 2);
	/* Debian builds RocksDB with assertions on: after a failed append (disk full) the next
	 * line written to the LOG file trips assert(sync_without_flush_called_) and aborts the
	 * process. Only fatal lines are logged, so a full disk cannot take Tern down that way. */
	rocksdb_options_set_info_log_level(s->dbopt, 4 /* FATAL */);
	rocksdb_options_set_keep_log_file_num(s->dbopt, 4);
	rocksdb_options_set_max_total_wal_size(s->dbopt, MAX_TOTAL_WAL);
	for (int i = 0; i < STORE_CF_N; i++)
		s->cfopt[i] = cf_options(s, (enum store_cf)i);
	s->wsync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wsync, 1);
	s->wnosync = rocksdb_writeoptions_create();
	s->ro = rocksdb_readoptions_create();
}

/* Opens the DB with our column families plus any unknown ones already on disk. */
static int open_cfs(struct store *s, char **err)
{
	size_t nold = 0;
	char *e = NULL;
	char **old = rocksdb_list_column_families(s->dbopt, s->dbpath, &nold, &e);
	free(e); /* a new database has none: not an error */
	e = NULL;
	int n = STORE_CF_N;
	const char **names = xcalloc(STORE_CF_N + nold, sizeof *names);
	const rocksdb_options_t **opts = xcalloc(STORE_CF_N + nold, sizeof *opts);
	for (int i = 0; i < STORE_CF_N; i++) {
		names[i] = store_cf_name((enum store_cf)i);
		opts[i] = s->cfopt[i];
	}
	for (size_t i = 0; i < nold; i++) {
		if (store_cf_parse(old[i]) >= 0)
			continue;
		log_info("store", "unknown column family kept open", "cf=%s", old[i]);
		names[n] = old[i];
		opts[n++] = s->cfopt[STORE_CF_DEFAULT];
	}
	rocksdb_column_family_handle_t **h = xcalloc((size_t)n, sizeof *h);
	s->db = rocksdb_open_column_families(s->dbopt, s->dbpath, n, names, opts, h, &e);
	if (s->db) {
		memcpy(s->cf, h, sizeof s->cf);
		s->n_extra_cf = n - STORE_CF_N;
		if (s->n_extra_cf)
			s->extra_cf = xmemdup(h + STORE_CF_N, (size_t)s->n_extra_cf * sizeof *h);
	} else {
		*err = xasprintf("cannot open database %s: %s", s->dbpath, e ? e : "unknown error");
	}
	free(e);
	free(h);
	free(names);
	free(opts);
	if (old)
		rocksdb_list_column_families_destroy(old, nold);
	return s->db ? 0 : -EIO;
}

/* ---- schema version ---- */

static int schema_check(struct store *s, char **err)
{
	struct store_key k;
	store_key_schema(&k);
	struct buf v;
	buf_init(&v);
	int r = store_get(s, STORE_CF_DEFAULT, store_key_slice(&k), &v);
	if (r == -ENOENT) {
		uint8_t be[4] = {0, 0, 0, STORE_SCHEMA_VERSION};
		char *e = NULL;
		rocksdb_put_cf(s->db, s->wsync, s->cf[STORE_CF_DEFAULT], (const char *)k.b, k.len,
		               (const char *)be, sizeof be, &e);
		if (e)
			*err = xasprintf("cannot write the schema version to %s: %s", s->dbpath, e);
		r = e ? -EIO : 0;
		free(e);
	} else if (r == 0) {
		uint32_t ver = v.len == 4 ? (uint32_t)v.p[0] << 24 | v.p[1] << 16 | v.p[2] << 8 | v.p[3] : 0;
		if (ver != STORE_SCHEMA_VERSION) {
			*err = xasprintf("database %s has schema version %u; this tern reads version %d",
			                 s->dbpath, ver, STORE_SCHEMA_VERSION);
			r = -EPROTO;
		}
	} else {
		*err = xasprintf("cannot read the schema version of %s", s->dbpath);
	}
	buf_free(&v);
	return r;
}

/* ---- ids ---- */

/* Highest u64 at key offset `off` among keys starting with prefix (0 when none). */
static uint64_t last_u64(struct store *s, enum store_cf cf, struct slice prefix, size_t off)
{
	struct store_key end;
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	bool bounded = store_key_prefix_end(prefix, &end) == 0;
	if (bounded)
		rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)end.b, end.len);
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
	rocksdb_iter_seek_to_last(it);
	uint64_t v = 0;
	if (rocksdb_iter_valid(it)) {
		size_t klen;
		const char *k = rocksdb_iter_key(it, &klen);
		if (klen >= prefix.len && memcmp(k, prefix.p, prefix.len) == 0)
			v = store_key_u64_at(slice_of(k, klen), off);
	}
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	return v;
}

static int hwm_put(struct store *s, rocksdb_writebatch_t *wb, uint64_t hwm, bool sync)
{
	struct store_key k;
	store_key_idhwm(&k);
	uint8_t be[8];
	be64_put(be, hwm);
	if (wb) {
		rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_DEFAULT], (const char *)k.b, k.len, (const char *)be, 8);
		return 0;
	}
	char *e = NULL;
	rocksdb_put_cf(s->db, sync ? s->wsync : s->wnosync, s->cf[STORE_CF_DEFAULT], (const char *)k.b, k.len,
	               (const char *)be, 8, &e);
	int r = e ? store_errno(e) : 0;
	if (e)
		log_error("store", "cannot raise the id high-water mark", "err=%s", e);
	free(e);
	return r;
}

static int ids_seed(struct store *s, char **err)
{
	struct store_key k;
	store_key_idhwm(&k);
	struct buf v;
	buf_init(&v);
	uint64_t next = 1;
	if (store_get(s, STORE_CF_DEFAULT, store_key_slice(&k), &v) == 0 && v.len == 8)
		next = be64_get(v.p);
	buf_free(&v);
	static const struct { uint8_t cf, kind; } recs[] = {
		{STORE_CF_QUEUE, STORE_K_QREC}, {STORE_CF_RETIRED, STORE_K_RREC}, {STORE_CF_HOLDRULES, STORE_K_HOLDRULE},
	};
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		uint8_t p = recs[i].kind;
		uint64_t last = last_u64(s, recs[i].cf, slice_of(&p, 1), 1);
		if (last >= next)
			next = last + 1;
	}
	uint64_t last = last_u64(s, STORE_CF_MSGDATA, slice_of("", 0), 0);
	if (last >= next)
		next = last + 1;
	if (next == 0)
		next = 1;
	atomic_store(&s->next_id, next);
	if (hwm_put(s, NULL, next + STORE_ID_BLOCK, true) != 0) {
		*err = xasprintf("cannot write the id high-water mark to %s", s->dbpath);
		return -EIO;
	}
	atomic_store(&s->id_hwm, next + STORE_ID_BLOCK);
	return 0;
}

uint64_t store_next_id(struct store *s)
{
	uint64_t id = atomic_fetch_add(&s->next_id, 1);
	if (id < atomic_load(&s->id_hwm))
		return id;
	pthread_mutex_lock(&s->id_lock);
	while (id >= atomic_load(&s->id_hwm)) {
		uint64_t want = id + STORE_ID_BLOCK;
		if (hwm_put(s, NULL, want, false) != 0) {
			atomic_store(&s->id_owed, want); /* written by the next store_write_wb */
			break;
		}
		atomic_store(&s->id_hwm, want);
	}
	pthread_mutex_unlock(&s->id_lock);
	return id;
}

/* ---- open and close ---- */

static void metrics_init(struct store *s)
{
	s->m_writes = metric_counter("tern_store_writes_total", "sync=\"false\"", "RocksDB write batches written.");
	s->m_sync_writes = metric_counter("tern_store_writes_total", "sync=\"true\"", "RocksDB write batches written.");
	s->m_write_errors = metric_counter("tern_store_write_errors_total", "", "RocksDB writes that failed (disk full, read-only, I/O).");
	s->m_sync_seconds = metric_histogram("tern_store_sync_write_seconds", "", "Duration of synced RocksDB writes (WAL fsync included).",
	                                     metric_latency_bounds, metric_latency_nbounds);
	s->m_corrupt = metric_counter("tern_store_corrupt_total", "", "Records that failed to decode and were moved to quarantine.");
}

struct store *store_open(const char *datadir, char **err)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->lockfd = -1;
	pthread_mutex_init(&s->id_lock, NULL);
	s->datadir = xstrdup(datadir);
	s->dbpath = xasprintf("%s/db", datadir);
	metrics_init(s);
	int r = store_spool_mkdirs(s->dbpath);
	if (r != 0) {
		*err = xasprintf("cannot create %s: %s", s->dbpath, strerror(-r));
		goto fail;
	}
	if (store_lock_take(datadir, s->dbpath, &s->lockfd, err) != 0)
		goto fail;
	options_init(s);
	if (open_cfs(s, err) != 0 || schema_check(s, err) != 0)
		goto fail;
	struct buf e;
	buf_init(&e);
	int orphans = store_msgdata_cleanup(s, &e);
	if (orphans < 0) {
		*err = xasprintf("cannot remove uncommitted message data in %s: %s", s->dbpath, buf_cstr(&e));
		buf_free(&e);
		goto fail;
	}
	buf_free(&e);
	if (ids_seed(s, err) != 0)
		goto fail;
	int spooled = store_spool_empty(datadir, err);
	if (spooled < 0)
		goto fail;
	log_info("store", "database opened", "path=%s next_id=%llu orphans_removed=%d spool_removed=%d", s->dbpath,
	         (unsigned long long)atomic_load(&s->next_id), orphans, spooled);
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db) {
		for (int i = 0; i < STORE_CF_N; i++)
			if (s->cf[i])
				rocksdb_column_family_handle_destroy(s->cf[i]);
		for (int i = 0; i < s->n_extra_cf; i++)
			rocksdb_column_family_handle_destroy(s->extra_cf[i]);
		rocksdb_close(s->db);
	}
	free(s->extra_cf);
	for (int i = 0; i < STORE_CF_N; i++)
		if (s->cfopt[i])
			rocksdb_options_destroy(s->cfopt[i]);
	if (s->dbopt)
		rocksdb_options_destroy(s->dbopt);
	if (s->bbto)
		rocksdb_block_based_options_destroy(s->bbto);
	if (s->cache)
		rocksdb_cache_destroy(s->cache);
	if (s->wsync)
		rocksdb_writeoptions_destroy(s->wsync);
	if (s->wnosync)
		rocksdb_writeoptions_destroy(s->wnosync);
	if (s->ro)
		rocksdb_readoptions_destroy(s->ro);
	store_lock_release(s->lockfd);
	pthread_mutex_destroy(&s->id_lock);
	free(s->datadir);
	free(s->dbpath);
	free(s);
}

const char *store_dbpath(const struct store *s)
{
	return s->dbpath;
}

/* ---- reads ---- */

int store_get(struct store *s, enum store_cf cf, struct slice key, struct buf *out)
{
	size_t vlen = 0;
	char *e = NULL;
	char *v = rocksdb_get_cf(s->db, s->ro, s->cf[cf], (const char *)key.p, key.len, &vlen, &e);
	if (e) {
		log_error("store", "read failed", "cf=%s err=%s", store_cf_name(cf), e);
		free(e);
		return -EIO;
	}
	if (!v)
		return -ENOENT;
	buf_reset(out);
	buf_append(out, v, vlen);
	rocksdb_free(v);
	return 0;
}

int store_load(struct store *s, enum store_cf cf, struct slice key, const struct store_schema *sch, void *rec)
{
	struct buf v;
	buf_init(&v);
	memset(rec, 0, sch->size);
	int r = store_get(s, cf, key, &v);
	if (r == 0) {
		char why[256];
		r = store_codec_decode(sch, buf_slice(&v), rec, why, sizeof why);
		if (r != 0) {
			store_quarantine(s, cf, key, buf_slice(&v), why);
			r = -EBADMSG;
		}
	}
	buf_free(&v);
	return r;
}

/* ---- writes ---- */

int store_errno(const char *e)
{
	if (strstr(e, "No space left") || strstr(e, "ENOSPC"))
		return -ENOSPC;
	if (strcasestr(e, "read only") || strcasestr(e, "read-only") || strcasestr(e, "readonly"))
		return -EROFS;
	return -EIO;
}

int store_write_wb(struct store *s, rocksdb_writebatch_t *wb, bool sync, struct buf *err)
{
	static _Atomic int64_t last_log_ms;
	uint64_t owed = atomic_load(&s->id_owed);
	if (owed)
		hwm_put(s, wb, owed, false);
	int64_t t0 = clock_mono_ns();
	char *e = NULL;
	rocksdb_write(s->db, sync ? s->wsync : s->wnosync, wb, &e);
	if (e) {
		int r = store_errno(e);
		metric_add(s->m_write_errors, 1);
		int64_t now = clock_mono_ms(), prev = atomic_load(&last_log_ms);
		if (now - prev >= 1000 && atomic_compare_exchange_strong(&last_log_ms, &prev, now))
			log_error("store", "write failed", "sync=%d code=%d err=%s", sync, r, e);
		if (err)
			buf_puts(err, e);
		free(e);
		return r;
	}
	if (owed) {
		atomic_compare_exchange_strong(&s->id_owed, &owed, 0);
		pthread_mutex_lock(&s->id_lock);
		if (atomic_load(&s->id_hwm) < owed)
			atomic_store(&s->id_hwm, owed);
		pthread_mutex_unlock(&s->id_lock);
	}
	metric_add(sync ? s->m_sync_writes : s->m_writes, 1);
	if (sync)
		metric_observe(s->m_sync_seconds, (double)(clock_mono_ns() - t0) / 1e9);
	return 0;
}

int store_write(struct store *s, struct store_batch *const *bs, int n, bool sync, struct buf *err)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	for (int i = 0; i < n; i++)
		store_batch_apply(bs[i], s, wb);
	int r = store_write_wb(s, wb, sync, err);
	rocksdb_writebatch_destroy(wb);
	return r;
}

int store_commit_wait(struct store *s, struct store_batch *b, struct buf *err)
{
	int r = store_write(s, &b, 1, true, err);
	store_batch_free(b);
	return r;
}

#if defined(__SANITIZE_THREAD__)
/* RocksDB is not built with ThreadSanitizer: its write-group handoffs use atomics that TSan
 * cannot see, so every memcpy it (or libstdc++, which only RocksDB uses in Tern) does on our
 * behalf looks like a race. Our own code is still checked. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "called_from_lib:librocksdb.so.7.8\n"
	       "called_from_lib:libstdc++.so.6\n"
	       "race:librocksdb.so.7.8\n"
	       "race:libstdc++.so.6\n";
}
#endif
