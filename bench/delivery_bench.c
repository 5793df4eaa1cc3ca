/* Delivery-side throughput: records pushed through the delivery router and its
 * connections into Postfix's smtp-sink, against smtp-source straight into the
 * same sink (C0, the ceiling) measured in the same run.
 *
 * Tern side: N queue records of SIZE bytes (each with its own message data and a
 * Received prefix, like one smtp-source message each) are written to a temporary
 * store first; a stand-in for the queue actor then keeps K one-record
 * DELIVERY_MSG_WORK_REQs outstanding, answers QUEUE_MSG_ATTEMPT_REQ at once (no
 * disk sync: this measures delivery, not the queue) and counts results. The
 * router uses an SMTP transport to the sink (no DNS, no TLS), default limits:
 * MaxConnectionsPerHost 16, 100 messages per connection. Reported per run: msg/s
 * from the first request to the last result, and the CPU time of this process
 * (all threads: workers, RocksDB reads, the stand-in) per message. C0: smtp-source
 * with S sessions and one message per session (its default, as in bench.md), and
 * with -d (every message of a session over one connection, like Tern's reuse).
 *
 * Usage: delivery_bench [-n N] [-k K] [-size BYTES] [-s SESSIONS] [-runs R] [-perhost P] */
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "actors/delivery_router.h"
#include "conf/conf_static.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_msgdata.h"
#include "store/store_rec.h"

extern char **environ;

static int n_msgs = 20000, k_out = 200, size = 1024, sessions = 20, runs = 3, per_host = 16;
static struct store *st;
static uint64_t *ids;

struct server *server_get(void);
struct server *server_get(void)
{
	return NULL;
}

/* ---- the queue stand-in ---- */

struct bq {
	struct actor a;
	uint64_t router;
	int next, done, delivered;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;
static struct bq *bq;

static void bq_send(struct bq *q)
{
	struct delivery_work_req w = {.ids = {.v = &ids[q->next], .n = 1}, .transport = SLICE_LIT("sink"),
	                              .domain = SLICE_LIT("dest.test"), .attempt = 1};
	q->next++;
	DELIVERY_MSG_WORK_REQ_send(q->router, &q->a, &w, &(struct actor_send_opts){.force = true});
}

static void bq_ping(struct actor *self, const struct msg *m, const struct test_ping *p)
{
	struct bq *q = (struct bq *)self;
	q->router = p->seq;
	q->next = q->done = q->delivered = 0;
	for (int i = 0; i < k_out && q->next < n_msgs; i++)
		bq_send(q);
}

static void bq_attempt(struct actor *self, const struct msg *m, const struct queue_attempt_req *p)
{
	struct queue_attempt_res r = {.code = 0, .ids = p->ids};
	QUEUE_MSG_ATTEMPT_RES_reply(self, m, &r);
}

static void bq_result(struct actor *self, const struct msg *m, const struct queue_result_evt *p)
{
	struct bq *q = (struct bq *)self;
	q->delivered += p->outcome == 0;
	if (p->outcome != 0 && q->delivered + 1 < 5)
		fprintf(stderr, "result %lld: %.*s\n", (long long)p->outcome, (int)p->error.len, (const char *)p->error.p);
}

static void bq_done(struct actor *self, const struct msg *m, const struct delivery_done_evt *p)
{
	struct bq *q = (struct bq *)self;
	q->done += (int)p->ids.n;
	for (uint32_t i = 0; i < p->ids.n && q->next < n_msgs; i++)
		bq_send(q);
	if (q->done >= n_msgs) {
		pthread_mutex_lock(&mu);
		finished = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static void bq_stopped(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	pthread_mutex_lock(&mu);
	finished = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void bq_stop_router(struct actor *self, const struct msg *m, const struct test_sample *p)
{
	CORE_MSG_STOP_CMD_send(p->u, self, &(struct msg_empty){0}, NULL);
}

static const struct actor_kind bq_kind = {
    .name = "bench_queue",
    .on = {
        ACTOR_ON(TEST_MSG_PING_CMD, bq_ping),
        ACTOR_ON(QUEUE_MSG_ATTEMPT_REQ, bq_attempt),
        ACTOR_ON(QUEUE_MSG_RESULT_EVT, bq_result),
        ACTOR_ON(DELIVERY_MSG_DONE_EVT, bq_done),
        ACTOR_ON(DELIVERY_MSG_STOPPED_EVT, bq_stopped),
        ACTOR_ON(TEST_MSG_SAMPLE_CMD, bq_stop_router),
    },
};

static void wait_finished(int v)
{
	pthread_mutex_lock(&mu);
	while (finished != v)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

/* ---- records ---- */

static void write_records(void)
{
	char *data = xmalloc((size_t)size + 1);
	for (int i = 0; i < size; i++)
		data[i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	if (size >= 2) {
		data[size - 2] = '\r';
		data[size - 1] = '\n';
	}
	ids = xcalloc((size_t)n_msgs, sizeof *ids);
	const char *prefix = "Received: from source.test by mail.tern.test with ESMTP id 1; Mon, 1 Jan 2026 00:00:00 +0000\r\n";
	struct store_batch *b = store_batch_new();
	for (int i = 0; i < n_msgs; i++) {
		uint64_t dataid = store_next_id(st);
		store_msgdata_put(b, dataid, 0, slice_of(data, (size_t)size));
		struct store_datameta meta = {.size = size, .chunks = 1, .refs = 1};
		store_msgdata_commit(b, dataid, &meta);
		struct store_queue_rec q = {0};
		q.id = (int64_t)store_next_id(st);
		q.queued = q.next_attempt = clock_wall_ms();
		q.sender_localpart = "bench";
		q.sender_domain = "source.test";
		q.recipient_localpart = "sink";
		q.recipient_domain = "dest.test";
		q.size = (int64_t)(strlen(prefix) + (size_t)size);
		q.msg_prefix = (struct buf){.p = (uint8_t *)prefix, .len = strlen(prefix), .cap = strlen(prefix)};
		q.require_tls = -1;
		q.data_id = dataid;
		struct store_key k;
		store_key_qrec(&k, (uint64_t)q.id);
		store_batch_put_rec(b, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &q);
		ids[i] = (uint64_t)q.id;
		if (store_batch_count(b) > 3000 || i == n_msgs - 1) {
			if (store_write(st, &b, 1, false, NULL) != 0)
				fatal("store_write failed");
			store_batch_free(b);
			b = store_batch_new();
		}
	}
	store_batch_free(b);
	free(data);
}

/* ---- peers ---- */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		fatal("no free port");
	close(fd);
	return ntohs(a.sin_port);
}

static pid_t spawn(char *const argv[], bool quiet)
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		fatal("cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static pid_t start_sink(int port)
{
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	char *argv[] = {"/usr/sbin/smtp-sink", "-u", "nobody", "-m", "1000", addr, "1000", NULL};
	pid_t pid = spawn(argv, true);
	usleep(300000);
	return pid;
}

/* smtp-source into the sink; returns msg/s. */
static double c0(int port, int per_session)
{
	char addr[64], s[16], m[16], l[16];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	snprintf(s, sizeof s, "%d", sessions);
	snprintf(m, sizeof m, "%d", n_msgs);
	snprintf(l, sizeof l, "%d", size);
	char *argv[16] = {"/usr/sbin/smtp-source", "-s", s, "-m", m, "-l", l, "-f", "a@source.test", "-t", "b@dest.test"};
	int n = 11;
	if (per_session > 1)
		argv[n++] = "-d"; /* keep each session for all its messages */
	argv[n++] = addr;
	argv[n] = NULL;
	int64_t t0 = clock_mono_ns();
	pid_t pid = spawn(argv, true);
	int status;
	waitpid(pid, &status, 0);
	return n_msgs / ((clock_mono_ns() - t0) / 1e9);
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			n_msgs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-k"))
			k_out = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-size"))
			size = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-s"))
			sessions = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-runs"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-perhost"))
			per_host = atoi(argv[i + 1]);
	}
	if (runs > 15)
		runs = 15;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	char dir[] = "/tmp/tern-dbench-XXXXXX";
	if (!mkdtemp(dir))
		fatal("mkdtemp");
	char *err = NULL;
	st = store_open(dir, &err);
	if (!st)
		fatal("store_open: %s", err);
	write_records();
	worker_pool_start(2);
	bq = xcalloc(1, sizeof *bq);
	uint64_t bq_id = actor_spawn(&bq->a, &bq_kind, NULL);
	int port = free_port();
	pid_t sink = start_sink(port);
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
	         "Hostname: mail.tern.test\nDataDir: %s\nPostmaster: {Account: admin, Mailbox: Postmaster}\n"
	         "Listeners:\n  local:\n    IPs: [127.0.0.1]\n"
	         "Queue: {MaxConnectionsPerHost: %d}\n"
	         "Transports:\n  sink:\n    SMTP: {Host: 127.0.0.1, Port: %d, NoSTARTTLS: true}\n",
	         dir, per_host, port);
	struct conf_static *cs = NULL;
	struct buf cerr;
	buf_init(&cerr);
	if (conf_static_parse("bench.conf", yaml, strlen(yaml), dir, &cs, &cerr) != 0)
		fatal("config: %s", buf_cstr(&cerr));
	double rate[15], cpu[15], c0a[15], c0b[15];
	for (int r = 0; r < runs; r++) {
		c0a[r] = c0(port, 1);
		c0b[r] = c0(port, 100);
		struct delivery_env env = {.st = cs, .store = st, .queue = bq_id};
		uint64_t router = delivery_router_start_env(&env, NULL);
		finished = 0;
		double cpu0 = cpu_s();
		int64_t t0 = clock_mono_ns();
		TEST_MSG_PING_CMD_send(bq_id, NULL, &(struct test_ping){.seq = router}, NULL);
		wait_finished(1);
		double secs = (clock_mono_ns() - t0) / 1e9;
		double used = cpu_s() - cpu0;
		if (bq->delivered != n_msgs)
			fprintf(stderr, "run %d: %d of %d delivered\n", r, bq->delivered, n_msgs);
		rate[r] = n_msgs / secs;
		cpu[r] = used * 1e6 / n_msgs;
		TEST_MSG_SAMPLE_CMD_send(bq_id, NULL, &(struct test_sample){.u = router}, NULL);
		wait_finished(2);
		printf("run %d: tern %.0f msg/s, %.1f us CPU/msg; C0 %.0f msg/s (1 msg/conn), %.0f msg/s (-d)\n", r,
		       rate[r], cpu[r], c0a[r], c0b[r]);
	}
	double mr = median(rate, runs), mc = median(cpu, runs), ma = median(c0a, runs), mb = median(c0b, runs);
	printf("\n%d x %d B, %d runs, medians (K=%d outstanding, MaxConnectionsPerHost %d, C0 %d sessions):\n", n_msgs,
	       size, runs, k_out, per_host, sessions);
	printf("| path | msg/s | vs C0 (1 msg/connection) | vs C0 (-d) | CPU us/msg (Tern process) |\n");
	printf("|---|---|---|---|---|\n");
	printf("| smtp-source -> smtp-sink, 1 msg/connection | %.0f | 1.00x | | |\n", ma);
	printf("| smtp-source -d -> smtp-sink | %.0f | | 1.00x | |\n", mb);
	printf("| Tern router+connections -> smtp-sink | %.0f | %.2fx | %.2fx | %.1f |\n", mr, mr / ma, mr / mb, mc);
	kill(sink, SIGTERM);
	waitpid(sink, NULL, 0);
	worker_pool_stop();
	store_close(st);
	conf_static_free(cs);
	buf_free(&cerr);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(ids);
	return 0;
}
