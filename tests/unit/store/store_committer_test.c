/* The group-commit actor: requests queued behind a busy committer are written
 * as ONE synced WriteBatch and each requester gets its own reply; concurrent
 * committers are all acknowledged and their records are on disk; a request
 * without a batch gets -EINVAL; stop commits what is queued; and on a full
 * disk every requester gets a negative code while the process keeps running.
 *
 * The disk-full case uses a real 32 MiB tmpfs in a private mount namespace when
 * the test runs as root (real ENOSPC, nothing left mounted after exit), and
 * RLIMIT_FSIZE otherwise (EFBIG). */
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "actors/store_committer.h"
#include "core/actor.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store_tmp.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int events;

static void signal_event(void)
{
	pthread_mutex_lock(&mu);
	events++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits until `events` reaches n (at most seconds); returns 0 or -1. */
static int wait_events(int n, int seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&mu);
	while (events < n)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	int ok = events >= n;
	pthread_mutex_unlock(&mu);
	return ok ? 0 : -1;
}

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

/* ---- a client actor: sends n commit requests, all at once or one after another ---- */

#define CLIENT_MAX 256

struct client {
	struct actor a;
	uint64_t committer;
	uint64_t first_key;
	int n, sent, replies, ok;
	bool sequential, null_batch;
	size_t value_len; /* 0: "v<key>"; else that many bytes */
	int64_t codes[CLIENT_MAX];
	uint8_t seen[CLIENT_MAX + 1];
	int dup_or_bad_req;
};

static void client_send(struct client *c)
{
	struct store_batch *b = NULL;
	if (!c->null_batch) {
		b = store_batch_new();
		struct store_key k;
		store_key_qrec(&k, c->first_key + (uint64_t)c->sent);
		char v[32];
		snprintf(v, sizeof v, "v%llu", (unsigned long long)(c->first_key + (uint64_t)c->sent));
		if (c->value_len) {
			struct buf big;
			buf_init(&big);
			buf_reserve(&big, c->value_len);
			memset(big.p, 'x', c->value_len);
			big.len = c->value_len;
			store_batch_put_buf(b, STORE_CF_QUEUE, store_key_slice(&k), &big);
		} else {
			store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_str(v));
		}
	}
	struct store_commit_req req = {.batch = b};
	c->sent++;
	if (STORE_MSG_COMMIT_REQ_send(c->committer, &c->a, &req, &(struct actor_send_opts){.req_id = (uint64_t)c->sent}) != 0)
		store_batch_free(b);
}

static void client_start(struct actor *self)
{
	struct client *c = (struct client *)self;
	do
		client_send(c);
	while (!c->sequential && c->sent < c->n);
	signal_event(); /* "sent" (or "started" when sequential) */
}

static void client_res(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	struct client *c = (struct client *)self;
	if (m->req_id == 0 || m->req_id > (uint64_t)c->n || c->seen[m->req_id]++)
		c->dup_or_bad_req++;
	else
		c->codes[m->req_id - 1] = p->code;
	c->replies++;
	c->ok += p->code == 0;
	if (c->sequential && c->sent < c->n)
		client_send(c);
	if (c->replies == c->n)
		signal_event();
}

static const struct actor_kind client_kind = {
	.name = "test_commit_client",
	.start = client_start,
	.free_fn = NULL,
	.on = {ACTOR_ON(STORE_MSG_COMMIT_RES, client_res)},
};

static struct client *client_new(uint64_t committer, uint64_t first_key, int n, bool sequential)
{
	struct client *c = xcalloc(1, sizeof *c);
	c->committer = committer;
	c->first_key = first_key;
	c->n = n;
	c->sequential = sequential;
	return c;
}

/* ---- a gate actor that blocks its worker until released ---- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate_ping(struct actor *self, const struct msg *m, const struct test_ping *p)
{
	signal_event(); /* the worker is now blocked here */
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
}

static const struct actor_kind gate_kind = {.name = "test_gate", .on = {ACTOR_ON(TEST_MSG_PING_CMD, gate_ping)}};

static int64_t counter(const char *name)
{
	return metric_value(metric_counter(name, "", ""));
}

static int count_records(struct store *s, uint64_t first, int n, const char **bad)
{
	int found = 0;
	struct buf v;
	buf_init(&v);
	for (int i = 0; i < n; i++) {
		struct store_key k;
		store_key_qrec(&k, first + (uint64_t)i);
		char want[32];
		snprintf(want, sizeof want, "v%llu", (unsigned long long)(first + (uint64_t)i));
		if (store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v) == 0) {
			if (v.len == strlen(want) && memcmp(v.p, want, v.len) == 0)
				found++;
			else
				*bad = "wrong value";
		}
	}
	buf_free(&v);
	return found;
}

TEST(queued_requests_become_one_synced_write)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	struct worker *w = worker_spawn_dedicated("store-test");
	uint64_t committer = store_committer_start(s, w);
	/* Block the committer's worker, queue 100 requests behind it, then let it go. */
	events = 0;
	gate_open = false;
	uint64_t gate = actor_spawn(xcalloc(1, sizeof(struct actor)), &gate_kind, w);
	CHECK_INT(TEST_MSG_PING_CMD_send(gate, NULL, &(struct test_ping){0}, NULL), 0);
	CHECK_INT(wait_events(1, 10), 0);
	int64_t groups0 = counter("tern_store_commits_total"), reqs0 = counter("tern_store_commit_requests_total");
	struct client *c = client_new(committer, 1000, 100, false);
	actor_spawn(&c->a, &client_kind, worker_pool_get(0));
	CHECK_INT(wait_events(2, 10), 0); /* all 100 sent, none handled */
	pthread_mutex_lock(&gate_mu);
	gate_open = true;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	CHECK_INT(wait_events(3, 30), 0);
	CHECK_INT(c->replies, 100);
	CHECK_INT(c->ok, 100);
	CHECK_INT(c->dup_or_bad_req, 0);
	CHECK_INT(counter("tern_store_commit_requests_total") - reqs0, 100);
	CHECK_INT(counter("tern_store_commits_total") - groups0, 1);
	const char *bad = NULL;
	CHECK_INT(count_records(s, 1000, 100, &bad), 100);
	CHECK(bad == NULL);
	CHECK_INT(store_committer_stop(committer), 0);
	store_close(s);
	store_tmp_rm(dir);
}

TEST(concurrent_committers_are_all_acknowledged_and_durable)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	uint64_t committer = store_committer_start(s, NULL);
	enum { CLIENTS = 16, PER = 40 };
	events = 0;
	struct client *cs[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		cs[i] = client_new(committer, 100000 + (uint64_t)i * 1000, PER, true);
		actor_spawn(&cs[i]->a, &client_kind, NULL);
	}
	CHECK_INT(wait_events(2 * CLIENTS, 60), 0);
	int ok = 0, bad_req = 0;
	for (int i = 0; i < CLIENTS; i++) {
		ok += cs[i]->ok;
		bad_req += cs[i]->dup_or_bad_req;
	}
	CHECK_INT(ok, CLIENTS * PER);
	CHECK_INT(bad_req, 0);
	CHECK_INT(store_committer_stop(committer), 0);
	for (int i = 0; i < CLIENTS; i++) {
		const char *bad = NULL;
		CHECK_INT(count_records(s, 100000 + (uint64_t)i * 1000, PER, &bad), PER);
		CHECK(bad == NULL);
	}
	store_close(s);
	store_tmp_rm(dir);
}

TEST(request_without_batch_gets_einval_and_stop_commits_queued)
{
	char dir[64];
	store_tmp_dir(dir);
	struct store *s = open_ok(dir);
	uint64_t committer = store_committer_start(s, NULL);
	events = 0;
	struct client *c = client_new(committer, 1, 1, false);
	c->null_batch = true;
	actor_spawn(&c->a, &client_kind, NULL);
	CHECK_INT(wait_events(2, 10), 0);
	CHECK_INT(c->codes[0], -EINVAL);
	/* Requests sent before the stop are committed by it. */
	events = 0;
	struct client *d = client_new(committer, 500, 50, false);
	actor_spawn(&d->a, &client_kind, NULL);
	CHECK_INT(wait_events(1, 10), 0);
	CHECK_INT(store_committer_stop(committer), 0);
	const char *bad = NULL;
	CHECK_INT(count_records(s, 500, 50, &bad), 50);
	CHECK_INT(wait_events(2, 10), 0);
	CHECK_INT(d->ok, 50);
	CHECK_INT(store_committer_stop(committer), -ESRCH);
	store_close(s);
	store_tmp_rm(dir);
}

/* ---- disk full ---- */

static char tmpfs_dir[64];
static bool have_tmpfs;

/* Before any thread exists: a private mount namespace with a small tmpfs. */
static void tmpfs_setup(void)
{
	store_tmp_dir(tmpfs_dir);
	if (unshare(CLONE_NEWNS) != 0)
		return;
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return;
	have_tmpfs = mount("tern-test", tmpfs_dir, "tmpfs", 0, "size=32m") == 0;
}

TEST(disk_full_fails_every_requester_and_the_process_keeps_running)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/data", tmpfs_dir);
	struct store *s = open_ok(dir);
	uint64_t committer = store_committer_start(s, NULL);
	struct rlimit old;
	getrlimit(RLIMIT_FSIZE, &old);
	if (!have_tmpfs) {
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &(struct rlimit){1 << 20, old.rlim_max});
	}
	/* 1 MiB commits, one after another, until well past the 32 MiB (or the file size limit). */
	enum { N = 64 };
	events = 0;
	struct client *c = client_new(committer, 100, N, true);
	c->value_len = 1 << 20;
	actor_spawn(&c->a, &client_kind, NULL);
	CHECK_INT(wait_events(2, 120), 0);
	CHECK_INT(c->replies, N);
	int first_fail = -1, late_ok = 0, wrong = 0;
	for (int i = 0; i < N; i++) {
		if (c->codes[i] < 0 && first_fail < 0)
			first_fail = i;
		if (first_fail >= 0 && c->codes[i] == 0)
			late_ok++;
		if (have_tmpfs && c->codes[i] < 0 && c->codes[i] != -ENOSPC && c->codes[i] != -EROFS)
			wrong++;
	}
	fprintf(stderr, "disk full via %s: first failure at commit %d, code %lld\n",
	        have_tmpfs ? "tmpfs" : "RLIMIT_FSIZE", first_fail, first_fail >= 0 ? (long long)c->codes[first_fail] : 0LL);
	CHECK(first_fail >= 0);
	CHECK_INT(wrong, 0);
	(void)late_ok; /* RocksDB may or may not accept writes again; either is fine */
	/* Acknowledged commits are readable, failed ones left nothing behind. */
	struct buf v;
	buf_init(&v);
	int mismatch = 0;
	for (int i = 0; i < N; i++) {
		struct store_key k;
		store_key_qrec(&k, 100 + (uint64_t)i);
		bool present = store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v) == 0 && v.len == c->value_len;
		if (present != (c->codes[i] == 0))
			mismatch++;
	}
	buf_free(&v);
	CHECK_INT(mismatch, 0);
	/* The committer still answers. */
	events = 0;
	struct client *c2 = client_new(committer, 500, 3, true);
	actor_spawn(&c2->a, &client_kind, NULL);
	CHECK_INT(wait_events(2, 30), 0);
	CHECK_INT(c2->replies, 3);
	if (!have_tmpfs)
		setrlimit(RLIMIT_FSIZE, &old);
	CHECK_INT(store_committer_stop(committer), 0);
	store_close(s);
	store_tmp_rm(dir);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	tmpfs_setup();
	worker_pool_start(2);
	int r = check_main(argc, argv);
	worker_pool_stop();
	if (have_tmpfs)
		umount(tmpfs_dir);
	rmdir(tmpfs_dir);
	return r;
}
