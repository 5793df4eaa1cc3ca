/* Group commit vs a single synced writer, measured in the same run.
 *
 * Peer: plain RocksDB, one thread doing rocksdb_put with sync=true (one WAL
 * fdatasync per record), in its own database next to Tern's. Tern: K actors on
 * the worker pool (K = 1, 8, 64), each committing one record per store batch
 * through the store_committer actor and waiting for its reply before the next
 * (like SMTP sessions waiting to say 250). Every row writes records of the same
 * size. Rows are interleaved over the runs so a noisy neighbour hits them alike;
 * after a one-second warm-up of each row, the table shows the median and min-max of the runs, the ratio to the peer's
 * median, and how many batches one fsync carried. A raw write+fdatasync loop is
 * printed as the disk's own reference.
 *
 * Usage: store_commit_bench [-seconds S] [-runs N] [-size BYTES] [-dir DIR] */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "actors/store_committer.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store.h"

#define MAX_RUNS 15
#define NROWS 5 /* peer, K=1, K=8, K=64, raw fdatasync */

static const int committers[] = {1, 8, 64};
static int seconds = 5, runs = 3;
static size_t rec_size = 512;
static char dir[256] = "/tmp";

/* ---- peer: single-writer synced puts ---- */

static double peer_run(const char *path, uint64_t *seq)
{
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(o, 1);
	char *err = NULL;
	rocksdb_t *db = rocksdb_open(o, path, &err);
	if (!db)
		fatal("rocksdb_open %s: %s", path, err);
	rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(w, 1);
	char *val = xmalloc(rec_size);
	memset(val, 'v', rec_size);
	int64_t t0 = clock_mono_ns(), end = t0 + (int64_t)seconds * 1000000000;
	uint64_t n = 0;
	while (clock_mono_ns() < end) {
		uint8_t key[9] = {'q'};
		be64_put(key + 1, ++*seq);
		rocksdb_put(db, w, (const char *)key, sizeof key, val, rec_size, &err);
		if (err)
			fatal("rocksdb_put: %s", err);
		n++;
	}
	double rate = (double)n / ((double)(clock_mono_ns() - t0) / 1e9);
	free(val);
	rocksdb_writeoptions_destroy(w);
	rocksdb_close(db);
	rocksdb_options_destroy(o);
	return rate;
}

/* ---- Tern: K committing actors ---- */

struct bench_client {
	struct actor a;
	struct store *s;
	uint64_t committer;
	int64_t end_ns;
};

static _Atomic uint64_t acks, clients_done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void client_commit(struct bench_client *c)
{
	struct store_batch *b = store_batch_new();
	struct store_key k;
	store_key_qrec(&k, store_next_id(c->s));
	struct buf v;
	buf_init(&v);
	buf_reserve(&v, rec_size);
	memset(v.p, 'v', rec_size);
	v.len = rec_size;
	store_batch_put_buf(b, STORE_CF_QUEUE, store_key_slice(&k), &v);
	struct store_commit_req req = {.batch = b};
	if (STORE_MSG_COMMIT_REQ_send(c->committer, &c->a, &req, NULL) != 0)
		fatal("commit send failed");
}

static void client_start(struct actor *self)
{
	client_commit((struct bench_client *)self);
}

static void client_res(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	struct bench_client *c = (struct bench_client *)self;
	if (p->code != 0)
		fatal("commit failed: %.*s", (int)p->error.len, (const char *)p->error.p);
	atomic_fetch_add(&acks, 1);
	if (clock_mono_ns() < c->end_ns) {
		client_commit(c);
		return;
	}
	pthread_mutex_lock(&mu);
	atomic_fetch_add(&clients_done, 1);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	actor_stop(self);
}

static const struct actor_kind client_kind = {
	.name = "bench_commit_client",
	.start = client_start,
	.on = {ACTOR_ON(STORE_MSG_COMMIT_RES, client_res)},
};

static double tern_run(struct store *s, uint64_t committer, int k, double *per_fsync)
{
	struct metric *groups = metric_counter("tern_store_commits_total", "", "");
	int64_t g0 = metric_value(groups);
	atomic_store(&acks, 0);
	atomic_store(&clients_done, 0);
	int64_t t0 = clock_mono_ns();
	for (int i = 0; i < k; i++) {
		struct bench_client *c = xcalloc(1, sizeof *c);
		c->s = s;
		c->committer = committer;
		c->end_ns = t0 + (int64_t)seconds * 1000000000;
		actor_spawn(&c->a, &client_kind, NULL);
	}
	pthread_mutex_lock(&mu);
	while (atomic_load(&clients_done) < (uint64_t)k)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	double dt = (double)(clock_mono_ns() - t0) / 1e9;
	int64_t g = metric_value(groups) - g0;
	*per_fsync = g ? (double)atomic_load(&acks) / (double)g : 0;
	return (double)atomic_load(&acks) / dt;
}

/* ---- the disk's own reference: write(200 B) + fdatasync ---- */

static double raw_fdatasync(void)
{
	char path[300];
	snprintf(path, sizeof path, "%s/fdatasync.tmp", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fatal("open %s", path);
	char b[200];
	memset(b, 'x', sizeof b);
	int64_t t0 = clock_mono_ns(), end = t0 + (int64_t)seconds * 1000000000;
	uint64_t n = 0;
	while (clock_mono_ns() < end) {
		if (write(fd, b, sizeof b) != (ssize_t)sizeof b || fdatasync(fd) != 0)
			fatal("write/fdatasync failed");
		n++;
	}
	close(fd);
	unlink(path);
	return (double)n / ((double)(clock_mono_ns() - t0) / 1e9);
}

/* ---- table ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	double t[MAX_RUNS];
	memcpy(t, v, (size_t)n * sizeof *v);
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void minmax(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-runs") == 0)
			runs = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-size") == 0)
			rec_size = (size_t)atol(argv[i + 1]);
		else if (strcmp(argv[i], "-dir") == 0)
			snprintf(dir, sizeof dir, "%s", argv[i + 1]);
		else
			fatal("usage: store_commit_bench [-seconds S] [-runs N] [-size BYTES] [-dir DIR]");
	}
	if (seconds < 1 || runs < 1 || runs > MAX_RUNS || rec_size < 1 || rec_size > (1u << 20))
		fatal("bad arguments");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	log_set_level(LOG_ERROR);
	char base[300], peer[320];
	snprintf(base, sizeof base, "%s/tern-commit-bench-XXXXXX", dir);
	if (!mkdtemp(base))
		fatal("mkdtemp %s", base);
	snprintf(peer, sizeof peer, "%s/peer", base);
	worker_pool_start(0);
	char *err = NULL;
	struct store *s = store_open(base, &err);
	if (!s)
		fatal("%s", err);
	uint64_t committer = store_committer_start(s, NULL);

	double rate[NROWS][MAX_RUNS], per_fsync[NROWS][MAX_RUNS] = {{0}};
	uint64_t seq = 0;
	printf("store_commit_bench: %zu-byte records, %d s per row, %d runs after a warm-up, %d pool workers, dir %s\n",
	       rec_size, seconds, runs, worker_pool_size(), dir);
	/* Warm-up: one untimed second of each row (files created, caches and threads up). */
	int measured = seconds;
	seconds = 1;
	double scratch;
	peer_run(peer, &seq);
	for (int i = 0; i < 3; i++)
		tern_run(s, committer, committers[i], &scratch);
	seconds = measured;
	for (int r = 0; r < runs; r++) {
		rate[0][r] = peer_run(peer, &seq);
		per_fsync[0][r] = 1;
		for (int i = 0; i < 3; i++)
			rate[1 + i][r] = tern_run(s, committer, committers[i], &per_fsync[1 + i][r]);
		rate[4][r] = raw_fdatasync();
		per_fsync[4][r] = 1;
		fprintf(stderr, "run %d: peer %.0f/s, K=1 %.0f/s, K=8 %.0f/s, K=64 %.0f/s, raw fdatasync %.0f/s\n", r + 1,
		        rate[0][r], rate[1][r], rate[2][r], rate[3][r], rate[4][r]);
	}
	static const char *names[NROWS] = {
		"RocksDB single-writer synced put", "Tern group commit, 1 committer",
		"Tern group commit, 8 committers", "Tern group commit, 64 committers", "raw write(200 B)+fdatasync",
	};
	double peer_med = median(rate[0], runs);
	printf("\n| %-34s | %10s | %17s | %8s | %17s |\n", "mode", "commits/s", "min-max", "vs peer", "records per fsync");
	printf("|------------------------------------|------------|-------------------|----------|-------------------|\n");
	for (int i = 0; i < NROWS; i++) {
		double lo, hi;
		minmax(rate[i], runs, &lo, &hi);
		double m = median(rate[i], runs);
		printf("| %-34s | %10.0f | %8.0f-%-8.0f | %7.2fx | %17.1f |\n", names[i], m, lo, hi, m / peer_med,
		       median(per_fsync[i], runs));
	}
	double ratio = median(rate[3], runs) / peer_med;
	printf("\n64 committers / single writer = %.1fx (goal >= 5x): %s\n", ratio, ratio >= 5 ? "met" : "NOT met");

	store_committer_stop(committer);
	store_close(s);
	worker_pool_stop();
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return 0;
}
