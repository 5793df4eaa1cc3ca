/* Shared harness of the delivery tests: a real temporary store with queue records,
 * a test actor playing the queue (answers QUEUE_MSG_ATTEMPT_REQ, collects results),
 * routers started and stopped per test, and the receivers of
 * tests/integ/smtp_servers/mxsim.py on loopback. Included by one test file each. */
#ifndef TERN_TESTS_DELIVERY_HARNESS_H
#define TERN_TESTS_DELIVERY_HARNESS_H

#include "check.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/delivery_router.h"
#include "actors/server.h"
#include "conf/conf_static.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/smtp_client_live.h"
#include "store/store.h"
#include "store/store_msgdata.h"
#include "store/store_rec.h"
#include "store/store_tmp.h"

#define H_WAIT_MS 30000 /* upper bound of any wait */
#define H_RESULTS_MAX 4096
#define H_CONFS_MAX 64 /* configs one test binary may parse */

/* The router code asks server_get() only when env.queue is 0; tests always set it. */
struct server *server_get(void)
{
	return NULL;
}

/* ---- store with queue records ---- */

static struct store *h_store;
static char h_dir[64];

static __attribute__((unused)) void h_store_open(void)
{
	const char *lv = getenv("TERN_TEST_LOG"); /* e.g. "trace" while debugging a test */
	if (lv && log_level_parse(lv) >= 0)
		log_set_level((enum log_level)log_level_parse(lv));
	char *err = NULL;
	store_tmp_dir(h_dir);
	h_store = store_open(h_dir, &err);
	if (!h_store) {
		fprintf(stderr, "store_open: %s\n", err ? err : "?");
		exit(1);
	}
}

static __attribute__((unused)) void h_store_close(void)
{
	store_close(h_store);
	store_tmp_rm(h_dir);
}

/* One record to add. Strings may be NULL. */
struct h_rec {
	const char *from_local, *from_domain;
	const char *to_local, *to_domain;
	int64_t base_id;
	int32_t attempts;
	int rtls;                 /* RequireTLS: 0 null, 1 true, -1 false */
	bool has8bit, smtputf8, dmarc;
	const char *dialed_host;  /* DialedIPs: host -> [dialed_ip] */
	const char *dialed_ip;
	const char *notify, *orcpt, *envid, *ret;
	const char *dsn_utf8;
};

/* Writes message data (split in chunks of the given sizes; 0-terminated list, NULL: one
 * chunk) and n records sharing it; ids[] gets their ids. */
static __attribute__((unused)) void h_add(const char *prefix, const char *data, const size_t *chunks, const struct h_rec *recs, size_t n,
                  uint64_t *ids)
{
	struct store_batch *b = store_batch_new();
	uint64_t dataid = store_next_id(h_store);
	size_t len = strlen(data), off = 0;
	int32_t nch = 0;
	do {
		size_t k = chunks && chunks[nch] ? chunks[nch] : len - off;
		if (k > len - off)
			k = len - off;
		store_msgdata_put(b, dataid, (uint32_t)nch++, slice_of(data + off, k));
		off += k;
	} while (off < len);
	struct store_datameta meta = {.size = (int64_t)len, .chunks = nch, .refs = (int32_t)n};
	ASSERT(store_msgdata_commit(b, dataid, &meta) == 0);
	for (size_t i = 0; i < n; i++) {
		const struct h_rec *h = &recs[i];
		struct store_queue_rec q = {0};
		q.id = (int64_t)store_next_id(h_store);
		q.base_id = h->base_id;
		q.queued = clock_wall_ms();
		q.sender_account = xstrdup("acct");
		q.sender_localpart = xstrdup(h->from_local ? h->from_local : "sender");
		q.sender_domain = xstrdup(h->from_domain ? h->from_domain : "src.test");
		q.recipient_localpart = xstrdup(h->to_local ? h->to_local : "rcpt");
		q.recipient_domain = xstrdup(h->to_domain ? h->to_domain : "deliv.test");
		q.attempts = h->attempts;
		q.next_attempt = q.queued;
		q.has_8bit = h->has8bit;
		q.smtputf8 = h->smtputf8;
		q.is_dmarc_report = h->dmarc;
		q.size = (int64_t)(strlen(prefix) + len);
		buf_init(&q.msg_prefix);
		buf_puts(&q.msg_prefix, prefix);
		buf_init(&q.dsn_utf8);
		if (h->dsn_utf8)
			buf_puts(&q.dsn_utf8, h->dsn_utf8);
		q.require_tls = h->rtls == 0 ? -1 : h->rtls > 0 ? 1 : 0;
		q.notify = h->notify ? xstrdup(h->notify) : NULL;
		q.orcpt = h->orcpt ? xstrdup(h->orcpt) : NULL;
		q.env_id = h->envid ? xstrdup(h->envid) : NULL;
		q.ret = h->ret ? xstrdup(h->ret) : NULL;
		q.data_id = dataid;
		if (h->dialed_host) {
			q.dialed_ips.n = 1;
			q.dialed_ips.v = xcalloc(1, sizeof *q.dialed_ips.v);
			q.dialed_ips.v[0].host = xstrdup(h->dialed_host);
			q.dialed_ips.v[0].ips.n = 1;
			q.dialed_ips.v[0].ips.v = xcalloc(1, sizeof(char *));
			q.dialed_ips.v[0].ips.v[0] = xstrdup(h->dialed_ip);
		}
		struct store_key k;
		store_key_qrec(&k, (uint64_t)q.id);
		ASSERT(store_batch_put_rec(b, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &q) == 0);
		ids[i] = (uint64_t)q.id;
		store_codec_free(&store_rec_queue, &q);
	}
	ASSERT(store_commit_wait(h_store, b, NULL) == 0);
}

/* One record with a one-chunk message; returns its id. */
static __attribute__((unused)) uint64_t h_add1(const char *to_local, const char *to_domain, const char *data)
{
	uint64_t id;
	struct h_rec r = {.to_local = to_local, .to_domain = to_domain};
	h_add("Received: by test\r\n", data, NULL, &r, 1, &id);
	return id;
}

/* ---- the queue stand-in ---- */

struct h_result {
	uint64_t id;
	int64_t outcome, code, duration_ms;
	char secode[32], error[4096], host[256], ip[64];
	char *reply[100];
	uint32_t nreply;
	bool remote_dsn, family_retry;
};

struct h_queue {
	struct actor a;
};

static pthread_mutex_t hq_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hq_cv = PTHREAD_COND_INITIALIZER;
static struct h_result hq_res[H_RESULTS_MAX];
static size_t hq_nres, hq_ndone, hq_attempt_reqs, hq_attempt_ids, hq_stopped;
static uint64_t hq_refuse[16]; /* ids left out of ATTEMPT_RES */
static size_t hq_nrefuse;
static bool hq_fail_attempts;  /* answer ATTEMPT_REQ with an error */
static uint64_t hq_id;

static __attribute__((unused)) void hq_attempt(struct actor *self, const struct msg *m, const struct queue_attempt_req *p)
{
	uint64_t *ids = xcalloc(p->ids.n + 1, sizeof *ids);
	uint32_t n = 0;
	pthread_mutex_lock(&hq_mu);
	hq_attempt_reqs++;
	hq_attempt_ids += p->ids.n;
	for (uint32_t i = 0; i < p->ids.n; i++) {
		bool refuse = false;
		for (size_t k = 0; k < hq_nrefuse; k++)
			refuse |= hq_refuse[k] == p->ids.v[i];
		if (!refuse)
			ids[n++] = p->ids.v[i];
	}
	bool fail = hq_fail_attempts;
	pthread_mutex_unlock(&hq_mu);
	struct queue_attempt_res r = {.code = fail ? -5 : 0, .ids = {.v = ids, .n = fail ? 0 : n}};
	QUEUE_MSG_ATTEMPT_RES_reply(self, m, &r);
	free(ids);
}

static __attribute__((unused)) void hq_result(struct actor *self, const struct msg *m, const struct queue_result_evt *p)
{
	pthread_mutex_lock(&hq_mu);
	if (hq_nres < H_RESULTS_MAX) {
		struct h_result *r = &hq_res[hq_nres++];
		memset(r, 0, sizeof *r);
		r->id = p->id;
		r->outcome = p->outcome;
		r->code = p->code;
		r->duration_ms = p->duration_ms;
		snprintf(r->secode, sizeof r->secode, "%.*s", (int)p->secode.len, (const char *)p->secode.p);
		snprintf(r->error, sizeof r->error, "%.*s", (int)p->error.len, (const char *)p->error.p);
		snprintf(r->host, sizeof r->host, "%.*s", (int)p->remote_host.len, (const char *)p->remote_host.p);
		snprintf(r->ip, sizeof r->ip, "%.*s", (int)p->remote_ip.len, (const char *)p->remote_ip.p);
		r->nreply = p->reply.n;
		for (uint32_t i = 0; i < p->reply.n && i < 100; i++)
			r->reply[i] = slice_strdup(p->reply.v[i]);
		r->remote_dsn = p->remote_dsn;
		r->family_retry = p->family_retry;
	}
	pthread_cond_broadcast(&hq_cv);
	pthread_mutex_unlock(&hq_mu);
}

static __attribute__((unused)) void hq_done(struct actor *self, const struct msg *m, const struct delivery_done_evt *p)
{
	pthread_mutex_lock(&hq_mu);
	hq_ndone += p->ids.n;
	pthread_cond_broadcast(&hq_cv);
	pthread_mutex_unlock(&hq_mu);
}

/* TEST_MSG_PING_CMD {seq: router}: stop that router from here, so STOPPED comes back here. */
static __attribute__((unused)) void hq_ping(struct actor *self, const struct msg *m, const struct test_ping *p)
{
	CORE_MSG_STOP_CMD_send(p->seq, self, &(struct msg_empty){0}, NULL);
}

static __attribute__((unused)) void hq_stopped_evt(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	pthread_mutex_lock(&hq_mu);
	hq_stopped++;
	pthread_cond_broadcast(&hq_cv);
	pthread_mutex_unlock(&hq_mu);
}

static const struct actor_kind hq_kind = {
    .name = "test_queue",
    .on = {
        ACTOR_ON(QUEUE_MSG_ATTEMPT_REQ, hq_attempt),
        ACTOR_ON(QUEUE_MSG_RESULT_EVT, hq_result),
        ACTOR_ON(DELIVERY_MSG_DONE_EVT, hq_done),
        ACTOR_ON(TEST_MSG_PING_CMD, hq_ping),
        ACTOR_ON(DELIVERY_MSG_STOPPED_EVT, hq_stopped_evt),
    },
};

static __attribute__((unused)) void h_queue_start(void)
{
	struct h_queue *q = xcalloc(1, sizeof *q);
	hq_id = actor_spawn(&q->a, &hq_kind, NULL);
}

/* Forgets results and settings of earlier tests. */
static __attribute__((unused)) void h_clear(void)
{
	pthread_mutex_lock(&hq_mu);
	for (size_t i = 0; i < hq_nres; i++)
		for (uint32_t k = 0; k < hq_res[i].nreply; k++)
			free(hq_res[i].reply[k]);
	hq_nres = hq_ndone = hq_attempt_reqs = hq_attempt_ids = 0;
	hq_nrefuse = 0;
	hq_fail_attempts = false;
	pthread_mutex_unlock(&hq_mu);
}

/* Waits until *counter >= n (at most ms). Returns whether it got there. */
static __attribute__((unused)) bool h_wait_for(size_t *counter, size_t n, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&hq_mu);
	while (*counter < n)
		if (pthread_cond_timedwait(&hq_cv, &hq_mu, &ts) != 0)
			break;
	bool ok = *counter >= n;
	pthread_mutex_unlock(&hq_mu);
	return ok;
}

/* Waits for n results and n done ids. */
static __attribute__((unused)) bool h_wait_results(size_t n)
{
	bool ok = h_wait_for(&hq_nres, n, H_WAIT_MS) && h_wait_for(&hq_ndone, n, H_WAIT_MS);
	if (!ok)
		CHECK_FAIL("waited for %zu results: %zu results, %zu done", n, hq_nres, hq_ndone);
	return ok;
}

/* The result for id (NULL when none). Valid until h_clear. */
static __attribute__((unused)) const struct h_result *h_result(uint64_t id)
{
	const struct h_result *r = NULL;
	pthread_mutex_lock(&hq_mu);
	for (size_t i = 0; i < hq_nres; i++)
		if (hq_res[i].id == id) {
			if (r)
				CHECK_FAIL("two results for id %llu", (unsigned long long)id);
			r = &hq_res[i];
		}
	pthread_mutex_unlock(&hq_mu);
	if (!r)
		CHECK_FAIL("no result for id %llu", (unsigned long long)id);
	return r;
}

/* ---- routers ---- */

static struct conf_static *h_confs[H_CONFS_MAX]; /* live until exit: routers borrow them */
static int h_nconfs;

/* Parses yaml (exits on error); the harness keeps the config until h_conf_free_all(). */
static __attribute__((unused)) struct conf_static *h_conf(const char *yaml)
{
	struct conf_static *st = NULL;
	struct buf err;
	buf_init(&err);
	if (conf_static_parse("test.conf", yaml, strlen(yaml), "/tmp", &st, &err) != 0) {
		fprintf(stderr, "config: %s\n", buf_cstr(&err));
		exit(1);
	}
	buf_free(&err);
	ASSERT(h_nconfs < H_CONFS_MAX);
	h_confs[h_nconfs++] = st;
	return st;
}

/* Frees every config h_conf made (at exit, after the routers that borrowed them stopped). */
static __attribute__((unused)) void h_conf_free_all(void)
{
	for (int i = 0; i < h_nconfs; i++)
		conf_static_free(h_confs[i]);
	h_nconfs = 0;
}

/* Sends WORK_REQ for ids to the router. */
static __attribute__((unused)) void h_work(uint64_t router, const uint64_t *ids, size_t n, const char *transport, const char *domain,
                   int64_t attempt)
{
	struct delivery_work_req w = {.ids = {.v = (uint64_t *)ids, .n = (uint32_t)n},
	                              .transport = slice_str(transport), .domain = slice_str(domain),
	                              .attempt = attempt};
	ASSERT(DELIVERY_MSG_WORK_REQ_send(router, NULL, &w, NULL) == 0);
}

/* Stops a router through the queue stand-in and waits for DELIVERY_MSG_STOPPED_EVT. */
static __attribute__((unused)) void h_router_stop(uint64_t router)
{
	size_t want = hq_stopped + 1;
	ASSERT(TEST_MSG_PING_CMD_send(hq_id, NULL, &(struct test_ping){.seq = router}, NULL) == 0);
	if (!h_wait_for(&hq_stopped, want, H_WAIT_MS))
		CHECK_FAIL("router did not stop");
}

/* ---- mxsim receivers ---- */

struct h_mx {
	pid_t pid;
	char out[128];
};

/* Starts mxsim.py with a JSON config; false when it could not bind. */
static __attribute__((unused)) bool h_mx_start(struct h_mx *mx, const char *json)
{
	char script[4200]; /* live_src() is up to 4095 bytes */
	snprintf(script, sizeof script, "%s/tests/integ/smtp_servers/mxsim.py", live_src());
	snprintf(mx->out, sizeof mx->out, "%s/mx-%d.jsonl", h_dir, (int)clock_mono_ms() % 100000000);
	unlink(mx->out);
	char *argv[] = {"/usr/bin/python3", script, mx->out, (char *)json, NULL};
	char line[256];
	if (!live_spawn_line(&mx->pid, argv, line, sizeof line))
		return false;
	if (strncmp(line, "ready", 5) != 0) {
		fprintf(stderr, "mxsim: %s\n", line);
		waitpid(mx->pid, NULL, 0);
		mx->pid = 0;
		return false;
	}
	return true;
}

static __attribute__((unused)) void h_mx_stop(struct h_mx *mx)
{
	live_kill(&mx->pid);
}

/* Every event recorded so far (caller decrefs). */
static __attribute__((unused)) json_t *h_mx_events(const struct h_mx *mx)
{
	json_t *arr = json_array();
	FILE *f = fopen(mx->out, "r");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (j)
			json_array_append_new(arr, j);
	}
	free(line);
	if (f)
		fclose(f);
	return arr;
}

/* Number of events of kind ev (and listener l, NULL: any). */
static __attribute__((unused)) size_t h_mx_count(const struct h_mx *mx, const char *ev, const char *l)
{
	json_t *a = h_mx_events(mx);
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *k = json_string_value(json_object_get(e, "ev"));
		const char *name = json_string_value(json_object_get(e, "l"));
		if (k && strcmp(k, ev) == 0 && (!l || (name && strcmp(name, l) == 0)))
			n++;
	}
	json_decref(a);
	return n;
}

/* The i-th event of kind ev (a new reference, or NULL). */
static __attribute__((unused)) json_t *h_mx_event(const struct h_mx *mx, const char *ev, size_t idx)
{
	json_t *a = h_mx_events(mx), *e, *found = NULL;
	size_t i, n = 0;
	json_array_foreach(a, i, e) {
		const char *k = json_string_value(json_object_get(e, "ev"));
		if (k && strcmp(k, ev) == 0 && n++ == idx) {
			found = json_incref(e);
			break;
		}
	}
	json_decref(a);
	return found;
}

static __attribute__((unused)) const char *h_jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The bytes of a receiver's latin-1 decoded text (UTF-8 in the JSON) into out (cap bytes). */
static __attribute__((unused)) size_t h_latin1(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && n + 1 < cap) {
		if (*p < 0x80) {
			out[n++] = (char)*p++;
		} else if ((p[0] & 0xe0) == 0xc0 && p[1]) {
			out[n++] = (char)(((p[0] & 0x1f) << 6) | (p[1] & 0x3f));
			p += 2;
		} else {
			break;
		}
	}
	out[n] = 0;
	return n;
}

/* Item i of the string array o[k] ("" when absent). */
static __attribute__((unused)) const char *h_jidx(json_t *o, const char *k, size_t i)
{
	const char *s = json_string_value(json_array_get(json_object_get(o, k), i));
	return s ? s : "";
}

/* Waits until mxsim recorded at least n events of kind ev (polling, bounded). */
static __attribute__((unused)) bool h_mx_wait(const struct h_mx *mx, const char *ev, size_t n, int64_t ms)
{
	int64_t until = clock_mono_ms() + ms;
	while (clock_mono_ms() < until) {
		if (h_mx_count(mx, ev, NULL) >= n)
			return true;
		usleep(20000);
	}
	return h_mx_count(mx, ev, NULL) >= n;
}

/* ---- ports ---- */

#include <arpa/inet.h>
#include <netinet/in.h>

/* Binds (and closes) a TCP socket on ip:port; whether that worked. */
static __attribute__((unused)) bool h_port_free_on(const char *ip, int port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		len = sizeof *a;
	}
	int fd = socket(fam, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A port that is free on every address of ips (NULL-terminated) right now. */
static __attribute__((unused)) int h_pick_port(const char *const *ips)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		int port = 20000 + (int)((clock_mono_ns() / 1000 + (uint64_t)getpid() * 7919 + attempt * 104729) % 40000);
		bool ok = true;
		for (const char *const *ip = ips; *ip && ok; ip++)
			ok = h_port_free_on(*ip, port);
		if (ok)
			return port;
	}
	return 0;
}

#endif
