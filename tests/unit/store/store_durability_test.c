/* Durability: every acknowledged commit survives kill -9 (badinput.md #71).
 *
 * The test binary re-executes itself in child mode. The child opens the store,
 * starts the group committer and 16 committer actors on the pool; each commits
 * records like a submission does (message data written ahead unsynced for
 * odd ids, in the final batch for even ids; queue record; next-attempt index
 * entry) and, after each successful STORE_MSG_COMMIT_RES, writes "<id>\n" to a
 * pipe. The parent kills the child with SIGKILL right after M acknowledgements,
 * drains the pipe, reopens the database and checks that every acknowledged
 * record is present byte for byte with its message data, that every record
 * that made it (acknowledged or not) is whole, that no pending marker survived
 * startup, and that ids keep increasing across the restarts. Four rounds on the
 * same DataDir, each bounded in time. */
#include "check.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "actors/store_committer.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_iter.h"
#include "store/store_msgdata.h"
#include "store/store_rec.h"
#include "store_tmp.h"

#define COMMITTERS 16
#define ROUNDS 4
#define CHUNK 8192
#define CHILD_MAX_SECONDS 120

/* ---- what a record and its data look like, derived from the id ---- */

static void expected_rec(uint64_t id, uint64_t dataid, struct store_queue_rec *r)
{
	memset(r, 0, sizeof *r);
	r->id = (int64_t)id;
	r->queued = 1700000000000 + (int64_t)id;
	r->next_attempt = r->queued;
	r->sender_account = xasprintf("acct%llu", (unsigned long long)(id % 7));
	r->sender_localpart = xstrdup("sender");
	r->sender_domain = xstrdup("example.org");
	r->recipient_localpart = xasprintf("rcpt%llu", (unsigned long long)id);
	r->recipient_domain = xstrdup("example.com");
	r->subject = xasprintf("durability %llu", (unsigned long long)id);
	r->require_tls = -1;
	buf_printf(&r->msg_prefix, "Received: from test; id %llu\r\n", (unsigned long long)id);
	r->extra.n = 1;
	r->extra.v = xcalloc(1, sizeof *r->extra.v);
	r->extra.v[0] = (struct store_kv){xstrdup("n"), xasprintf("%llu", (unsigned long long)id)};
	r->data_id = dataid;
	r->size = (int64_t)r->msg_prefix.len + (id % 2 ? 2 * CHUNK : 32);
}

static void expected_chunk(uint64_t id, uint32_t chunk, struct buf *out)
{
	if (id % 2 == 0) {
		buf_printf(out, "%-30llu\r\n", (unsigned long long)id); /* 32 bytes */
		return;
	}
	for (int i = 0; i < CHUNK; i++)
		buf_putc(out, (uint8_t)('a' + (id * 31 + chunk * 7 + (uint64_t)i) % 26));
}

/* ---- child: committer actors ---- */

struct dur {
	struct actor a;
	struct store *s;
	uint64_t committer;
	uint64_t id;
	int ackfd;
};

static void dur_commit_next(struct dur *d)
{
	d->id = store_next_id(d->s);
	uint64_t dataid = store_next_id(d->s);
	struct store_batch *b = store_batch_new();
	struct buf c;
	buf_init(&c);
	if (d->id % 2) { /* large: chunks written ahead, unsynced, with a pending marker */
		for (uint32_t i = 0; i < 2; i++) {
			buf_reset(&c);
			expected_chunk(d->id, i, &c);
			if (store_msgdata_write(d->s, dataid, i, buf_slice(&c), NULL) != 0)
				_exit(3);
		}
	} else {
		expected_chunk(d->id, 0, &c);
		store_msgdata_put(b, dataid, 0, buf_slice(&c));
	}
	buf_free(&c);
	struct store_datameta meta = {d->id % 2 ? 2 * CHUNK : 32, d->id % 2 ? 2 : 1, 1};
	store_msgdata_commit(b, dataid, &meta);
	struct store_queue_rec r;
	expected_rec(d->id, dataid, &r);
	struct store_key k;
	store_key_qrec(&k, d->id);
	if (store_batch_put_rec(b, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &r) != 0)
		_exit(4);
	store_key_qdue(&k, r.next_attempt, d->id);
	store_batch_put(b, STORE_CF_QUEUE, store_key_slice(&k), slice_of("", 0));
	store_codec_free(&store_rec_queue, &r);
	struct store_commit_req req = {.batch = b};
	if (STORE_MSG_COMMIT_REQ_send(d->committer, &d->a, &req, &(struct actor_send_opts){.req_id = d->id}) != 0)
		_exit(5);
}

static void dur_start(struct actor *self)
{
	dur_commit_next((struct dur *)self);
}

static void dur_res(struct actor *self, const struct msg *m, const struct store_commit_res *p)
{
	struct dur *d = (struct dur *)self;
	char line[32];
	int n = p->code == 0 ? snprintf(line, sizeof line, "%llu\n", (unsigned long long)m->req_id)
	                     : snprintf(line, sizeof line, "E%lld\n", (long long)p->code);
	if (write(d->ackfd, line, (size_t)n) != n) /* one write: atomic on a pipe */
		_exit(6);
	dur_commit_next(d);
}

static const struct actor_kind dur_kind = {
	.name = "test_durability",
	.start = dur_start,
	.on = {ACTOR_ON(STORE_MSG_COMMIT_RES, dur_res)},
};

static int child_main(const char *dir, int ackfd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	log_set_level(LOG_ERROR);
	worker_pool_start(2);
	char *err = NULL;
	struct store *s = store_open(dir, &err);
	if (!s) {
		fprintf(stderr, "child: %s\n", err);
		return 2;
	}
	uint64_t committer = store_committer_start(s, NULL);
	for (int i = 0; i < COMMITTERS; i++) {
		struct dur *d = xcalloc(1, sizeof *d);
		d->s = s;
		d->committer = committer;
		d->ackfd = ackfd;
		actor_spawn(&d->a, &dur_kind, NULL);
	}
	sleep(CHILD_MAX_SECONDS); /* the parent kills us long before */
	return 7;
}

/* ---- parent ---- */

static uint64_t *acked;
static size_t nacked, capacked;

/* Runs one child until `want` acks, kills it, collects all acks. Returns 0 or -1. */
static int run_child(const char *dir, int want, int *errors)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		char fdarg[16];
		snprintf(fdarg, sizeof fdarg, "%d", pfd[1]);
		execl("/proc/self/exe", "store_durability_test", "--child", dir, fdarg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char buf[4096], line[64];
	size_t ll = 0;
	int got = 0;
	bool killed = false;
	int64_t deadline = clock_mono_ms() + 60000;
	for (;;) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "child gave %d of %d acks in time\n", got, want);
			kill(pid, SIGKILL);
			killed = true;
			deadline = clock_mono_ms() + 5000; /* drain what is left */
			if (left <= -5000)
				break;
			continue;
		}
		ssize_t n = read(pfd[0], buf, sizeof buf);
		if (n <= 0)
			break; /* EOF: the child is dead */
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof line - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			if (line[0] == 'E') {
				(*errors)++;
				continue;
			}
			if (nacked == capacked) {
				capacked = capacked ? capacked * 2 : 1024;
				acked = xrealloc(acked, capacked * sizeof *acked);
			}
			acked[nacked++] = strtoull(line, NULL, 10);
			if (++got == want && !killed) {
				kill(pid, SIGKILL); /* right after the M-th acknowledgement */
				killed = true;
			}
		}
	}
	close(pfd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
		fprintf(stderr, "child ended with status %d\n", st);
		return -1;
	}
	return got >= want ? 0 : -1;
}

/* Checks record id: stored bytes equal the expected encoding, its index entry and data exist. */
static int check_record(struct store *s, uint64_t id, const char **why)
{
	struct store_key k;
	store_key_qrec(&k, id);
	struct buf v, want, data, chunk;
	buf_init(&v), buf_init(&want), buf_init(&data), buf_init(&chunk);
	int r = -1;
	struct store_queue_rec rec;
	*why = "record missing or corrupt";
	if (store_load(s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &rec) != 0)
		goto out;
	uint64_t dataid = rec.data_id;
	store_codec_free(&store_rec_queue, &rec);
	expected_rec(id, dataid, &rec);
	store_codec_encode(&store_rec_queue, &rec, &want);
	store_codec_free(&store_rec_queue, &rec);
	store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v);
	*why = "record bytes differ";
	if (v.len != want.len || memcmp(v.p, want.p, v.len) != 0)
		goto out;
	*why = "next-attempt index entry missing";
	store_key_qdue(&k, 1700000000000 + (int64_t)id, id);
	if (store_get(s, STORE_CF_QUEUE, store_key_slice(&k), &v) != 0)
		goto out;
	*why = "message data missing or differs";
	int nchunks = id % 2 ? 2 : 1;
	if (store_msgdata_read_all(s, dataid, &data, 1 << 20) != nchunks)
		goto out;
	for (int i = 0; i < nchunks; i++)
		expected_chunk(id, (uint32_t)i, &chunk);
	if (data.len != chunk.len || memcmp(data.p, chunk.p, data.len) != 0)
		goto out;
	r = 0;
out:
	buf_free(&v), buf_free(&want), buf_free(&data), buf_free(&chunk);
	return r;
}

TEST(acknowledged_commits_survive_kill_9)
{
	char dir[64];
	store_tmp_dir(dir);
	uint64_t prev_max = 0;
	for (int round = 0; round < ROUNDS; round++) {
		size_t first = nacked;
		int errors = 0, want = 300 + round * 211;
		CHECK_INT(run_child(dir, want, &errors), 0);
		CHECK_INT(errors, 0);
		char *err = NULL;
		struct store *s = store_open(dir, &err);
		if (!s) {
			CHECK_FAIL("reopen after kill: %s", err);
			free(err);
			break;
		}
		CHECK_INT(store_msgdata_pending_count(s), 0);
		/* Every acknowledged record of every round so far is there and intact. */
		int lost = 0;
		for (size_t i = 0; i < nacked; i++) {
			const char *why;
			if (check_record(s, acked[i], &why) != 0 && lost++ < 5)
				CHECK_FAIL("round %d: acknowledged id %llu: %s", round, (unsigned long long)acked[i], why);
		}
		CHECK_INT(lost, 0);
		/* Ids of this round are above everything acknowledged before. */
		for (size_t i = first; i < nacked; i++)
			if (acked[i] <= prev_max)
				CHECK_FAIL("round %d: id %llu not above %llu", round, (unsigned long long)acked[i],
				           (unsigned long long)prev_max);
		for (size_t i = first; i < nacked; i++)
			prev_max = acked[i] > prev_max ? acked[i] : prev_max;
		/* Every record that made it, acknowledged or not, is whole. */
		uint8_t kind = STORE_K_QREC;
		struct store_iter *it = store_iter_prefix(s, STORE_CF_QUEUE, slice_of(&kind, 1));
		int half = 0, total = 0;
		for (; store_iter_valid(it); store_iter_next(it), total++) {
			const char *why;
			uint64_t id = store_key_u64_at(store_iter_key(it), 1);
			if (check_record(s, id, &why) != 0 && half++ < 5)
				CHECK_FAIL("round %d: stored id %llu: %s", round, (unsigned long long)id, why);
		}
		store_iter_free(it);
		CHECK_INT(half, 0);
		CHECK(total >= (int)nacked);
		fprintf(stderr, "round %d: %zu acknowledged this round, %d records stored, all intact\n", round,
		        nacked - first, total);
		store_close(s);
	}
	store_tmp_rm(dir);
	free(acked);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], atoi(argv[3]));
	return check_main(argc, argv);
}
