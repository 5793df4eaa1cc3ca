/* The store on a real RocksDB in /tmp: column families and schema version,
 * the DataDir lock, ids across reopen, reads, bounded iterators and the
 * next-attempt index, message data with orphan cleanup and spool emptying,
 * quarantine of corrupt records, and the text dump. */
#include "check.h"

#include <errno.h>
#include <rocksdb/c.h>
#include <sys/stat.h>

#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_dump.h"
#include "store/store_impl.h"
#include "store/store_iter.h"
#include "store/store_msgdata.h"
#include "store/store_rec.h"
#include "store_tmp.h"

static struct store *open_ok(const char *dir)
{
	char *err = NULL;
	struct store *s = store_open(dir, &err);
	if (!s) {
		fprintf(stderr, "store_open(%s): %s\n", dir, err);
		exit(1);
	}
	return s;
}

static void put(struct store *s, enum store_cf cf, const struct store_key *k, const char *v)
{
	struct store_batch *b = store_batch_new();
	store_batch_put(b, cf, store_key_slice(k), slice_str(v));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
}

TEST(open_creates_datadir_cfs_schema_and_lock)
{
	char dir[64], path[128];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct stat st;
	snprintf(path, sizeof path, "%s/spool", dir);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof path, "%s/db.lock", dir);
	FILE *f = fopen(path, "r");
	long pid = 0;
	CHECK(f && fscanf(f, "%ld", &pid) == 1);
	if (f)
		fclose(f);
	CHECK_INT(pid, getpid());
	struct store_key k;
	store_key_schema(&k);
	struct buf v;
	buf_init(&v);
	CHECK_INT(store_get(s, STORE_CF_DEFAULT, store_key_slice(&k), &v), 0);
	CHECK(v.len == 4 && v.p[3] == STORE_SCHEMA_VERSION);
	buf_free(&v);
	store_close(s);

	rocksdb_options_t *o = rocksdb_options_create();
	size_t n = 0;
	char *e = NULL;
	snprintf(path, sizeof path, "%s/db", dir);
	char **names = rocksdb_list_column_families(o, path, &n, &e);
	CHECK(e == NULL);
	CHECK_INT(n, STORE_CF_N);
	for (size_t i = 0; i < n; i++)
		CHECK(store_cf_parse(names[i]) >= 0);
	rocksdb_list_column_families_destroy(names, n);
	rocksdb_options_destroy(o);
	store_tmp_rm(dir);
}

TEST(second_open_is_refused_with_path_and_pid)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	char *err = NULL;
	CHECK(store_open(dir, &err) == NULL);
	char want[160];
	snprintf(want, sizeof want, "database %s/db is in use by another tern process (pid %ld,", dir, (long)getpid());
	if (!err || !strstr(err, want))
		CHECK_FAIL("error \"%s\", want it to contain \"%s\"", err ? err : "(null)", want);
	free(err);
	store_close(s);
	s = open_ok(dir); /* released on close */
	store_close(s);
	store_tmp_rm(dir);
}

TEST(newer_schema_is_refused)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct store_key k;
	store_key_schema(&k);
	struct store_batch *b = store_batch_new();
	store_batch_put(b, STORE_CF_DEFAULT, store_key_slice(&k), slice_of("\0\0\0\x63", 4));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	store_close(s);
	char *err = NULL;
	CHECK(store_open(dir, &err) == NULL);
	CHECK(err && strstr(err, "schema version 99") != NULL);
	free(err);
	store_tmp_rm(dir);
}

TEST(ids_are_unique_and_increase_across_reopen)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	uint64_t prev = 0;
	int bad = 0;
	for (int i = 0; i < STORE_ID_BLOCK + 5000; i++) { /* crosses a high-water mark step */
		uint64_t id = store_next_id(s);
		if (id <= prev)
			bad++;
		prev = id;
	}
	CHECK_INT(bad, 0);
	CHECK(prev > 0);
	store_close(s);
	s = open_ok(dir);
	uint64_t id = store_next_id(s);
	CHECK(id > prev);
	/* A lost high-water mark cannot cause reuse: ids also start past the records on disk. */
	struct store_key k;
	store_key_qrec(&k, 5000000000ull);
	put(s, STORE_CF_QUEUE, &k, "x");
	store_key_idhwm(&k);
	struct store_batch *b = store_batch_new();
	store_batch_delete(b, STORE_CF_DEFAULT, store_key_slice(&k));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	store_close(s);
	s = open_ok(dir);
	CHECK(store_next_id(s) > 5000000000ull);
	store_close(s);
	store_tmp_rm(dir);
}

TEST(reads_ranges_and_bounded_iterators)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct store_batch *b = store_batch_new();
	struct store_key k;
	for (uint64_t id = 1; id <= 20; id++) {
		store_key_qrec(&k, id * 100);
		store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str("rec"));
		store_key_qheld(&k, id);
		store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str(""));
	}
	CHECK_INT(store_batch_count(b), 40);
	CHECK_INT(store_commit_wait(s, b, NULL), 0);

	/* The 'q' prefix yields exactly the 20 records, in id order, none of the 'h' entries. */
	uint8_t kind = STORE_K_QREC;
	struct store_iter *it = store_iter_prefix(s, STORE_CF_QUEUE, slice_of(&kind, 1));
	uint64_t prev = 0;
	int n = 0;
	for (; store_iter_valid(it); store_iter_next(it), n++) {
		uint64_t id = store_key_u64_at(store_iter_key(it), 1);
		CHECK(id > prev);
		prev = id;
		CHECK_MEM(store_iter_value(it).p, store_iter_value(it).len, "rec");
	}
	CHECK_INT(n, 20);
	CHECK_INT(store_iter_status(it), 0);
	/* Keyset pagination in both directions. */
	store_key_qrec(&k, 1000);
	store_iter_seek(it, store_key_slice(&k));
	CHECK(store_iter_valid(it) && store_key_u64_at(store_iter_key(it), 1) == 1000);
	store_iter_seek_before(it, store_key_slice(&k));
	CHECK(store_iter_valid(it) && store_key_u64_at(store_iter_key(it), 1) == 900);
	store_iter_seek_last(it);
	CHECK(store_iter_valid(it) && store_key_u64_at(store_iter_key(it), 1) == 2000);
	store_iter_prev(it);
	CHECK(store_iter_valid(it) && store_key_u64_at(store_iter_key(it), 1) == 1900);
	store_iter_free(it);

	/* Delete one key and a range [500, 800). */
	b = store_batch_new();
	store_key_qrec(&k, 100);
	store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
	struct store_key lo, hi;
	store_key_qrec(&lo, 500);
	store_key_qrec(&hi, 800);
	store_batch_delete_range(b, STORE_CF_QUEUE, store_key_slice(&lo), store_key_slice(&hi));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	struct buf v;
	buf_init(&v);
	CHECK_INT(store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v), -ENOENT);
	CHECK_INT(store_get(s, STORE_CF_QUEUE, store_key_slice(&lo), &v), -ENOENT);
	store_key_qrec(&k, 700);
	CHECK_INT(store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v), -ENOENT);
	CHECK_INT(store_get(s, STORE_CF_QUEUE, store_key_slice(&hi), &v), 0);
	buf_free(&v);
	it = store_iter_prefix(s, STORE_CF_QUEUE, slice_of(&kind, 1));
	for (n = 0; store_iter_valid(it); store_iter_next(it))
		n++;
	CHECK_INT(n, 16);
	store_iter_free(it);
	store_close(s);
	store_tmp_rm(dir);
}

TEST(next_attempt_index_is_read_in_bounded_slices)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct store_batch *b = store_batch_new();
	struct store_key k;
	/* 1000 entries, times out of order, two per time; plus other kinds around 'n'. */
	for (uint64_t id = 1; id <= 1000; id++) {
		store_key_qdue(&k, 1000000 + (int64_t)((id * 7919) % 500) * 10, id);
		store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str(""));
	}
	store_key_qheld(&k, 3);
	store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str(""));
	store_key_qrec(&k, 3);
	store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str("r"));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);

	struct store_due d[128];
	int64_t at = 0, total = 0, order_errors = 0;
	uint64_t aid = 0;
	for (int round = 0; round < 100; round++) {
		int n = store_iter_due(s, at, aid, INT64_MAX, d, 64);
		CHECK(n >= 0 && n <= 64);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (d[i].next_ms < at || (d[i].next_ms == at && d[i].id <= aid))
				order_errors++;
			at = d[i].next_ms;
			aid = d[i].id;
		}
		total += n;
	}
	CHECK_INT(total, 1000);
	CHECK_INT(order_errors, 0);
	/* until: only entries due by then. */
	int n = store_iter_due(s, 0, 0, 1000000 + 49 * 10, d, 128);
	CHECK_INT(n, 100);
	CHECK_INT(d[n - 1].next_ms, 1000000 + 49 * 10);
	/* Deleted entries up to until are passed over; the first one after until is not read. */
	b = store_batch_new();
	for (int i = 0; i < n; i++) {
		store_key_qdue(&k, d[i].next_ms, d[i].id);
		store_batch_delete(b, STORE_CF_QUEUE, store_key_slice(&k));
	}
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	CHECK_INT(store_iter_due(s, 0, 0, 1000000 + 49 * 10, d, 128), 0);
	n = store_iter_due(s, 0, 0, 1000000 + 50 * 10, d, 128);
	CHECK_INT(n, 2);
	CHECK_INT(d[0].next_ms, 1000000 + 50 * 10);
	store_close(s);
	store_tmp_rm(dir);
}

TEST(uncommitted_message_data_and_spool_are_removed_at_open)
{
	char dir[64], path[160];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	uint64_t a = store_next_id(s), c = store_next_id(s), small = store_next_id(s);
	char chunk[STORE_CHUNK_SIZE];
	memset(chunk, 'A', sizeof chunk);
	/* a: written ahead, never committed. c: written ahead and committed. */
	for (uint32_t i = 0; i < 3; i++) {
		CHECK_INT(store_msgdata_write(s, a, i, slice_of(chunk, sizeof chunk), NULL), 0);
		CHECK_INT(store_msgdata_write(s, c, i, slice_of(chunk, i == 2 ? 10 : sizeof chunk), NULL), 0);
	}
	CHECK_INT(store_msgdata_pending_count(s), 2);
	struct store_batch *b = store_batch_new();
	struct store_datameta meta = {2 * STORE_CHUNK_SIZE + 10, 3, 1};
	CHECK_INT(store_msgdata_commit(b, c, &meta), 0);
	/* small: in the final batch itself, no marker needed. */
	store_msgdata_put(b, small, 0, SLICE_LIT("Subject: hi\r\n\r\nbody\r\n"));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	CHECK_INT(store_msgdata_pending_count(s), 1);
	store_close(s);
	/* Spool leftovers, including a subdirectory and a symlink that must not be followed. */
	snprintf(path, sizeof path, "%s/spool/incoming-1", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "%s/spool/sub", dir);
	CHECK_INT(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/spool/sub/x", dir);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	char target[160];
	snprintf(target, sizeof target, "%s/keep", dir);
	f = fopen(target, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "%s/spool/link", dir);
	CHECK_INT(symlink(target, path), 0);

	s = open_ok(dir);
	CHECK_INT(store_msgdata_pending_count(s), 0);
	struct buf v;
	buf_init(&v);
	CHECK_INT(store_msgdata_read_all(s, a, &v, 1 << 20), -ENOENT);
	CHECK_INT(store_msgdata_read_all(s, c, &v, 1 << 20), 3);
	CHECK_INT(v.len, 2 * STORE_CHUNK_SIZE + 10);
	buf_reset(&v);
	CHECK_INT(store_msgdata_read_all(s, c, &v, 1000), -EFBIG);
	buf_reset(&v);
	CHECK_INT(store_msgdata_read(s, small, 0, &v), 0);
	CHECK_MEM(v.p, v.len, "Subject: hi\r\n\r\nbody\r\n");
	struct store_key k;
	store_key_datameta(&k, c);
	struct store_datameta md;
	CHECK_INT(store_load(s, STORE_CF_MSGDATA, store_key_slice(&k), &store_rec_datameta, &md), 0);
	CHECK_INT(md.chunks, 3);
	/* Deleting the data removes meta and chunks. */
	struct store_batch *d = store_batch_new();
	store_msgdata_delete(d, c);
	CHECK_INT(store_commit_wait(s, d, NULL), 0);
	buf_reset(&v);
	CHECK_INT(store_msgdata_read_all(s, c, &v, 1 << 20), -ENOENT);
	CHECK_INT(store_get(s, STORE_CF_MSGDATA, store_key_slice(&k), &v), -ENOENT);
	/* The same with point deletes when the meta's chunk count is known; the neighbours stay. */
	uint64_t e[3] = {store_next_id(s), store_next_id(s), store_next_id(s)};
	b = store_batch_new();
	for (int i = 0; i < 3; i++) {
		for (uint32_t j = 0; j < 3; j++)
			store_msgdata_put(b, e[i], j, slice_of(chunk, 100));
		struct store_datameta em = {300, 3, 1};
		CHECK_INT(store_msgdata_commit(b, e[i], &em), 0);
	}
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	d = store_batch_new();
	store_msgdata_delete_known(d, e[1], 3);
	CHECK_INT(store_commit_wait(s, d, NULL), 0);
	buf_reset(&v);
	CHECK_INT(store_msgdata_read_all(s, e[1], &v, 1 << 20), -ENOENT);
	store_key_datameta(&k, e[1]);
	CHECK_INT(store_get(s, STORE_CF_MSGDATA, store_key_slice(&k), &v), -ENOENT);
	CHECK_INT(store_msgdata_read_all(s, e[0], &v, 1 << 20), 3);
	buf_reset(&v);
	CHECK_INT(store_msgdata_read_all(s, e[2], &v, 1 << 20), 3);
	buf_free(&v);
	store_close(s);
	struct stat st;
	snprintf(path, sizeof path, "%s/spool/incoming-1", dir);
	CHECK(stat(path, &st) != 0);
	snprintf(path, sizeof path, "%s/spool/sub", dir);
	CHECK(stat(path, &st) != 0);
	snprintf(path, sizeof path, "%s/spool/link", dir);
	CHECK(lstat(path, &st) != 0);
	CHECK(stat(target, &st) == 0);
	store_tmp_rm(dir);
}

TEST(message_with_a_missing_chunk_is_not_returned)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	uint64_t id = store_next_id(s);
	struct store_batch *b = store_batch_new();
	store_msgdata_put(b, id, 0, SLICE_LIT("part0"));
	store_msgdata_put(b, id, 2, SLICE_LIT("part2"));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	struct buf v;
	buf_init(&v);
	CHECK_INT(store_msgdata_read_all(s, id, &v, 1 << 20), -EBADMSG);
	buf_free(&v);
	store_close(s);
	store_tmp_rm(dir);
}

static int collect_cb(void *arg, const char *line, size_t len)
{
	buf_append(arg, line, len);
	buf_putc(arg, '\n');
	return 0;
}

TEST(corrupt_record_is_quarantined_not_deleted)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct metric *corrupt = metric_counter("tern_store_corrupt_total", "", "");
	int64_t before = metric_value(corrupt);
	struct store_key k;
	store_key_qrec(&k, 77);
	put(s, STORE_CF_QUEUE, &k, "\x01\x85garbage");
	/* The dump shows it as corrupt and leaves it alone. */
	struct buf out;
	buf_init(&out);
	CHECK_INT(store_dump(s, STORE_CF_QUEUE, 64, collect_cb, &out), 1);
	CHECK(strstr(buf_cstr(&out), "queue q/77 CORRUPT reason=") != NULL);
	struct store_queue_rec r;
	CHECK_INT(store_load(s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &r), -EBADMSG);
	CHECK_INT(metric_value(corrupt), before + 1);
	struct buf v;
	buf_init(&v);
	CHECK_INT(store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v), -ENOENT);
	CHECK_INT(store_load(s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &r), -ENOENT);
	uint8_t kind = STORE_K_QUAR;
	struct store_iter *it = store_iter_prefix(s, STORE_CF_QUARANTINE, slice_of(&kind, 1));
	CHECK(store_iter_valid(it));
	if (store_iter_valid(it)) {
		struct store_quarantine_rec q;
		CHECK_INT(store_codec_decode(&store_rec_quarantine, store_iter_value(it), &q, NULL, 0), 0);
		CHECK_STR(q.cf, "queue");
		CHECK(q.key.len == k.len && memcmp(q.key.p, k.b, k.len) == 0);
		CHECK_MEM(q.value.p, q.value.len, "\x01\x85garbage");
		CHECK_INT(q.value_len, 9);
		CHECK(strlen(q.reason) > 0);
		store_codec_free(&store_rec_quarantine, &q);
		store_iter_next(it);
		CHECK(!store_iter_valid(it));
	}
	store_iter_free(it);
	buf_reset(&out);
	CHECK_INT(store_dump(s, STORE_CF_QUARANTINE, 64, collect_cb, &out), 1);
	CHECK(strstr(buf_cstr(&out), "CF=queue Key=\"q\\x00\\x00\\x00\\x00\\x00\\x00\\x00M\"") != NULL);
	buf_free(&out);
	buf_free(&v);
	store_close(s);
	store_tmp_rm(dir);
}

TEST(dump_decodes_every_column_family)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct store_batch *b = store_batch_new();
	struct store_holdrule h = {9, "mjl", "", "example.com"};
	struct store_key k;
	store_key_holdrule(&k, 9);
	CHECK_INT(store_batch_put_rec(b, STORE_CF_HOLDRULES, store_key_slice(&k), &store_rec_holdrule, &h), 0);
	store_key_fromid(&k, SLICE_LIT("abc"));
	uint8_t id[8];
	be64_put(id, 9);
	store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_of(id, 8));
	CHECK_INT(store_commit_wait(s, b, NULL), 0);
	struct buf out;
	buf_init(&out);
	long n = store_dump(s, -1, 64, collect_cb, &out);
	const char *t = buf_cstr(&out);
	CHECK(n >= 4); /* schema, id mark, rule, fromid */
	CHECK(strstr(t, "default v 1\n") != NULL);
	CHECK(strstr(t, "holdrules h/9 holdrule/v1 ID=9 Account=mjl SenderDomainStr=\"\" RecipientDomainStr=example.com\n") != NULL);
	CHECK(strstr(t, "queue f/abc 9\n") != NULL);
	buf_free(&out);
	store_close(s);
	store_tmp_rm(dir);
}

TEST(rocksdb_errors_map_to_errno)
{
	CHECK_INT(store_errno("IO error: No space left on device: While appending to file: x/000012.log"), -ENOSPC);
	CHECK_INT(store_errno("Not implemented: Not supported operation in read only mode."), -EROFS);
	CHECK_INT(store_errno("IO error: File too large"), -EIO);
}

TEST_MAIN()
