/* The DNS resolver actor: MX, address, TXT and PTR lookups for other actors.
 *
 * DESIGN: the actor lives on its own dedicated worker and owns all resolver
 * state: a job per request, a table of lookups (one per distinct (name, type)
 * being fetched; concurrent requests for the same name share it), a FIFO of
 * lookups waiting for one of `inflight_max` getdns slots, and the TTL cache.
 * getdns runs on the loop thread (dns_resolver_loop.c); answers come back
 * through its done list, announced by DNS_MSG_LOOP_WAKE_EVT. A job slot chases
 * CNAMEs one answer at a time (dns_chase_step), asking again when the upstream
 * left a chain unfinished, and the job replies when all its slots are done.
 * Shaping the reply (MX order and shuffle, null MX, implicit MX, addresses,
 * TXT joining) is pure code in proto/dns_result.c. Replies are forced sends: a
 * request that was admitted is always answered. */
#include "actors/dns_resolver.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "actors/dns_resolver_loop.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/dns_cache.h"

#define LOOKUP_BUCKETS 4096

enum job_kind { JOB_MX, JOB_ADDR, JOB_TXT, JOB_PTR, JOB_KINDS };
static const char *const kind_names[JOB_KINDS] = {"mx", "addr", "txt", "ptr"};

struct job_slot {
	uint16_t qtype;
	struct dns_chase chase;
	bool done;
	enum dns_status st;
	struct dns_answer *final; /* the answer holding the records, for DNS_OK */
};

struct dns_job {
	struct dns_job *prev, *next; /* all jobs, for shutdown */
	enum job_kind kind;
	uint64_t requester, req_id;
	int nslots, open;
	struct job_slot slot[2];
	char qname[DNS_NAME_MAX + 1];
};

struct waiter {
	struct waiter *next;
	struct dns_job *job;
	int slot;
};

struct lookup {
	struct dns_fetch fetch;   /* name, type; ctx = this lookup */
	struct lookup *hnext;     /* table chain */
	struct lookup *qnext;     /* pending FIFO */
	struct waiter *waiters;
	uint64_t hash;
	size_t retries;           /* after timeouts, one per other resolver */
};

struct dns_resolver {
	struct actor a;
	struct dns_resolver_config cfg;
	struct dns_resolver_loop *loop;
	struct dns_cache *cache;
	struct lookup *table[LOOKUP_BUCKETS];
	struct lookup *pend_head, *pend_tail;
	size_t inflight, npending, njobs;
	struct dns_job *jobs;
	uint64_t rng;
};

static struct metric *m_requests[JOB_KINDS], *m_queries, *m_hits, *m_dropped, *m_overload, *m_inflight;

static void metrics_init(void)
{
	for (int k = 0; k < JOB_KINDS; k++) {
		char lab[32];
		snprintf(lab, sizeof lab, "type=\"%s\"", kind_names[k]);
		m_requests[k] = metric_counter("tern_dns_requests_total", lab, "DNS requests from other actors.");
	}
	m_queries = metric_counter("tern_dns_queries_total", "", "DNS queries sent to the resolvers.");
	m_hits = metric_counter("tern_dns_cache_hits_total", "", "DNS lookups answered from the cache.");
	m_dropped = metric_counter("tern_dns_replies_dropped_total", "", "DNS replies whose requester had stopped.");
	m_overload = metric_counter("tern_dns_overload_total", "", "DNS lookups refused: too many pending.");
	m_inflight = metric_gauge("tern_dns_inflight", "", "DNS queries in flight.");
}

/* ---- replies ---- */

static void send_reply(struct dns_resolver *r, struct dns_job *j, uint16_t type, const void *p)
{
	struct actor_send_opts o = {.req_id = j->req_id, .force = true};
	int rc = actor_send(j->requester, &r->a, type, p, &o);
	if (rc == -ESRCH)
		metric_add(m_dropped, 1);
	else if (rc != 0)
		log_error("dns", "reply not sent", "to=%llu err=%d", (unsigned long long)j->requester, rc);
}

static void reply_mx(struct dns_resolver *r, struct dns_job *j)
{
	struct job_slot *s = &j->slot[0];
	struct dns_mx mx[DNS_MX_MAX];
	struct slice hosts[DNS_MX_MAX];
	uint64_t prefs[DNS_MX_MAX];
	size_t n = 0, ignored = 0;
	struct dns_mx_res p = {.status = s->st, .secure = s->chase.secure, .name = slice_str(s->chase.name)};
	if (s->st == DNS_OK) {
		p.status = dns_result_mx(s->final, s->chase.name, mx, DNS_MX_MAX, &n, &ignored, &r->rng);
	} else if (s->st == DNS_NODATA) { /* RFC 5321 §5.1: the implicit MX */
		mx[0] = (struct dns_mx){s->chase.name, 0};
		n = 1;
		p.status = DNS_OK;
		p.implicit = true;
	}
	for (size_t i = 0; i < n; i++) {
		hosts[i] = slice_str(mx[i].host);
		prefs[i] = mx[i].pref;
	}
	p.hosts = (struct msg_strs){hosts, (uint32_t)n};
	p.prefs = (struct msg_u64s){prefs, (uint32_t)n};
	p.ignored = ignored;
	send_reply(r, j, DNS_MSG_MX_RES, &p);
}

/* Both families: any address wins; then a temporary failure; NXDOMAIN only if every family said so. */
static void reply_addr(struct dns_resolver *r, struct dns_job *j)
{
	struct buf addrs;
	buf_init(&addrs);
	bool secure = true, all_nx = true;
	uint64_t temp = DNS_OK;
	for (int i = 0; i < j->nslots; i++) {
		struct job_slot *s = &j->slot[i];
		secure = secure && s->chase.secure;
		all_nx = all_nx && s->st == DNS_NXDOMAIN;
		if (s->st == DNS_OK)
			dns_result_addrs(s->final, s->chase.name, s->qtype, &addrs, DNS_ADDR_MAX);
		else if (dns_status_is_temp(s->st) || s->st == DNS_BADNAME)
			temp = s->st;
	}
	struct dns_addr_res p = {.secure = secure, .name = slice_str(j->slot[0].chase.name),
	                         .addrs = buf_slice(&addrs)};
	p.status = addrs.len ? DNS_OK : temp != DNS_OK ? temp : all_nx ? DNS_NXDOMAIN : DNS_NODATA;
	send_reply(r, j, DNS_MSG_ADDR_RES, &p);
	buf_free(&addrs);
}

static void reply_list(struct dns_resolver *r, struct dns_job *j)
{
	struct job_slot *s = &j->slot[0];
	struct slice items[DNS_TXT_MAX > DNS_PTR_MAX ? DNS_TXT_MAX : DNS_PTR_MAX];
	size_t n = 0;
	if (s->st == DNS_OK && j->kind == JOB_TXT)
		n = dns_result_texts(s->final, s->chase.name, items, DNS_TXT_MAX);
	else if (s->st == DNS_OK)
		n = dns_result_names(s->final, s->chase.name, items, DNS_PTR_MAX);
	uint64_t st = s->st == DNS_OK && n == 0 ? DNS_NODATA : s->st;
	struct msg_strs list = {items, (uint32_t)n};
	if (j->kind == JOB_TXT) {
		struct dns_txt_res p = {st, s->chase.secure, slice_str(s->chase.name), list};
		send_reply(r, j, DNS_MSG_TXT_RES, &p);
	} else {
		struct dns_ptr_res p = {st, s->chase.secure, slice_str(s->chase.name), list};
		send_reply(r, j, DNS_MSG_PTR_RES, &p);
	}
}

static void job_free(struct dns_resolver *r, struct dns_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		r->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	for (int i = 0; i < j->nslots; i++)
		dns_answer_unref(j->slot[i].final);
	free(j);
	r->njobs--;
}

static void job_finish(struct dns_resolver *r, struct dns_job *j)
{
	switch (j->kind) {
	case JOB_MX: reply_mx(r, j); break;
	case JOB_ADDR: reply_addr(r, j); break;
	default: reply_list(r, j); break;
	}
	job_free(r, j);
}

/* ---- lookups ---- */

static void slot_lookup(struct dns_resolver *r, struct dns_job *j, int i);

/* Feeds one answer to a job slot; may finish (and free) the job. */
static void slot_answer(struct dns_resolver *r, struct dns_job *j, int i, struct dns_answer *a)
{
	struct job_slot *s = &j->slot[i];
	enum dns_status st = DNS_SERVFAIL;
	if (dns_chase_step(&s->chase, a, s->qtype, &st) == DNS_CHASE_MORE) {
		slot_lookup(r, j, i); /* tail call: the job may be gone afterwards */
		return;
	}
	s->st = st;
	s->done = true;
	if (st == DNS_OK)
		s->final = dns_answer_ref(a);
	if (--j->open == 0)
		job_finish(r, j);
}

static uint64_t key_hash(const char *name, uint16_t type)
{
	uint64_t h = 1469598103934665603ULL ^ type;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

static struct lookup **lookup_slot(struct dns_resolver *r, const char *name, uint16_t type, uint64_t h)
{
	struct lookup **pp = &r->table[h % LOOKUP_BUCKETS];
	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->fetch.type == type && strcmp((*pp)->fetch.name, name) == 0)
			break;
	return pp;
}

static void lookup_submit(struct dns_resolver *r, struct lookup *lk)
{
	r->inflight++;
	metric_add(m_queries, 1);
	metric_set(m_inflight, (int64_t)r->inflight);
	dns_resolver_loop_submit(r->loop, &lk->fetch);
}

static void slot_lookup(struct dns_resolver *r, struct dns_job *j, int i)
{
	struct job_slot *s = &j->slot[i];
	const char *name = s->chase.name;
	if (r->cache) {
		struct dns_answer *a = dns_cache_get(r->cache, name, s->qtype, clock_mono_ms());
		if (a) {
			metric_add(m_hits, 1);
			slot_answer(r, j, i, a);
			dns_answer_unref(a);
			return;
		}
	}
	uint64_t h = key_hash(name, s->qtype);
	struct lookup **pp = lookup_slot(r, name, s->qtype, h), *lk = *pp;
	if (!lk) {
		bool now = r->inflight < r->cfg.inflight_max && !r->pend_head; /* FIFO: no overtaking */
		if (!now && r->npending >= r->cfg.pending_max) {
			metric_add(m_overload, 1);
			struct dns_answer *a = dns_answer_new(DNS_FETCH_OVERLOAD);
			slot_answer(r, j, i, a);
			dns_answer_unref(a);
			return;
		}
		lk = xcalloc(1, sizeof *lk);
		snprintf(lk->fetch.name, sizeof lk->fetch.name, "%s", name);
		lk->fetch.type = s->qtype;
		lk->fetch.ctx = lk;
		lk->hash = h;
		*pp = lk;
		if (now) {
			lookup_submit(r, lk);
		} else {
			if (r->pend_tail)
				r->pend_tail->qnext = lk;
			else
				r->pend_head = lk;
			r->pend_tail = lk;
			r->npending++;
		}
	}
	struct waiter *w = xcalloc(1, sizeof *w);
	*w = (struct waiter){lk->waiters, j, i};
	lk->waiters = w;
}

static void lookup_done(struct dns_resolver *r, struct lookup *lk)
{
	struct dns_answer *a = lk->fetch.answer;
	r->inflight--;
	/* getdns moves to its next upstream after a timeout, but only for later
	 * queries: ask again, once per other resolver, before giving up. */
	if (a->fetch == DNS_FETCH_TIMEOUT && lk->retries + 1 < r->cfg.nservers) {
		lk->retries++;
		dns_answer_unref(a);
		lk->fetch.answer = NULL;
		lookup_submit(r, lk);
		return;
	}
	if (r->cache)
		dns_cache_put(r->cache, lk->fetch.name, lk->fetch.type, a,
		              dns_answer_cache_ttl(a, DNS_RESOLVER_CACHE_TTL_MAX), clock_mono_ms());
	*lookup_slot(r, lk->fetch.name, lk->fetch.type, lk->hash) = lk->hnext;
	/* Waiters were pushed in front: reverse to serve them in arrival order. */
	struct waiter *w = lk->waiters, *rev = NULL;
	while (w) {
		struct waiter *next = w->next;
		w->next = rev;
		rev = w;
		w = next;
	}
	for (w = rev; w;) {
		struct waiter *next = w->next;
		slot_answer(r, w->job, w->slot, a);
		free(w);
		w = next;
	}
	dns_answer_unref(a);
	free(lk);
}

static void on_wake(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct dns_resolver *r = (struct dns_resolver *)self;
	struct dns_fetch *f = dns_resolver_loop_take_done(r->loop);
	while (f) {
		struct dns_fetch *next = f->next;
		lookup_done(r, f->ctx);
		f = next;
	}
	while (r->pend_head && r->inflight < r->cfg.inflight_max) {
		struct lookup *lk = r->pend_head;
		r->pend_head = lk->qnext;
		if (!r->pend_head)
			r->pend_tail = NULL;
		r->npending--;
		lookup_submit(r, lk);
	}
	metric_set(m_inflight, (int64_t)r->inflight);
}

/* ---- requests ---- */

static void job_start(struct dns_resolver *r, const struct msg *m, enum job_kind kind, const char *name,
                      const uint16_t *types, int ntypes)
{
	metric_add(m_requests[kind], 1);
	bool overload = r->njobs >= r->cfg.jobs_max;
	struct dns_job *j = xcalloc(1, sizeof *j);
	r->njobs++;
	j->kind = kind;
	j->requester = m->from;
	j->req_id = m->req_id;
	j->nslots = j->open = ntypes;
	snprintf(j->qname, sizeof j->qname, "%s", name ? name : "");
	j->next = r->jobs;
	if (r->jobs)
		r->jobs->prev = j;
	r->jobs = j;
	for (int i = 0; i < ntypes; i++) {
		j->slot[i].qtype = types[i];
		j->slot[i].st = DNS_SERVFAIL;
		dns_chase_init(&j->slot[i].chase, j->qname);
	}
	if (!name || overload) { /* answer at once */
		for (int i = 0; i < ntypes; i++)
			j->slot[i].st = name ? DNS_OVERLOAD : DNS_BADNAME;
		if (overload)
			metric_add(m_overload, 1);
		j->open = 0;
		job_finish(r, j);
		return;
	}
	for (int i = 0; i < ntypes; i++)
		slot_lookup(r, j, i); /* the job may be finished and freed by the last one */
}

static const char *norm_or_null(struct slice in, char *buf)
{
	return dns_name_norm(in, buf) == 0 ? buf : NULL;
}

static void on_mx(struct actor *self, const struct msg *m, const struct dns_name_req *p)
{
	char buf[DNS_NAME_MAX + 1];
	job_start((struct dns_resolver *)self, m, JOB_MX, norm_or_null(p->name, buf), (uint16_t[]){DNS_T_MX}, 1);
}

static void on_txt(struct actor *self, const struct msg *m, const struct dns_name_req *p)
{
	char buf[DNS_NAME_MAX + 1];
	job_start((struct dns_resolver *)self, m, JOB_TXT, norm_or_null(p->name, buf), (uint16_t[]){DNS_T_TXT}, 1);
}

static void on_addr(struct actor *self, const struct msg *m, const struct dns_addr_req *p)
{
	char buf[DNS_NAME_MAX + 1];
	uint16_t types[2];
	int n = 0;
	uint64_t fam = p->families ? p->families : (DNS_FAMILY_V4 | DNS_FAMILY_V6);
	if (fam & DNS_FAMILY_V4)
		types[n++] = DNS_T_A;
	if (fam & DNS_FAMILY_V6)
		types[n++] = DNS_T_AAAA;
	if (n == 0) { /* unknown family bits only */
		job_start((struct dns_resolver *)self, m, JOB_ADDR, NULL, (uint16_t[]){DNS_T_A}, 1);
		return;
	}
	job_start((struct dns_resolver *)self, m, JOB_ADDR, norm_or_null(p->name, buf), types, n);
}

static void on_ptr(struct actor *self, const struct msg *m, const struct dns_ptr_req *p)
{
	char buf[DNS_NAME_MAX + 1];
	const char *name = dns_name_reverse(p->ip.p, p->ip.len, buf) == 0 ? buf : NULL;
	job_start((struct dns_resolver *)self, m, JOB_PTR, name, (uint16_t[]){DNS_T_PTR}, 1);
}

/* ---- life cycle ---- */

static void on_stop(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct dns_resolver *r = (struct dns_resolver *)self;
	dns_resolver_loop_stop(r->loop); /* joins; the fetches it returns are embedded in lookups */
	r->loop = NULL;
	while (r->jobs) { /* every admitted request gets an answer */
		struct dns_job *j = r->jobs;
		for (int i = 0; i < j->nslots; i++)
			if (!j->slot[i].done)
				j->slot[i].st = DNS_SERVFAIL;
		job_finish(r, j);
	}
	for (size_t b = 0; b < LOOKUP_BUCKETS; b++) {
		for (struct lookup *lk = r->table[b], *next; lk; lk = next) {
			next = lk->hnext;
			for (struct waiter *w = lk->waiters, *wn; w; w = wn) {
				wn = w->next;
				free(w);
			}
			dns_answer_unref(lk->fetch.answer);
			free(lk);
		}
	}
	dns_cache_free(r->cache);
	uint64_t to = m->from;
	struct actor as_self = {.id = self->id}; /* self may be freed once stopped */
	log_info("dns", "resolver stopped", "id=%llu", (unsigned long long)self->id);
	actor_stop(self);
	/* Only now: whoever hears of the stop finds the id gone (-ESRCH). */
	if (to)
		DNS_MSG_STOPPED_EVT_send(to, &as_self, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
}

static const struct actor_kind dns_resolver_kind = {
	.name = "dns_resolver",
	.on = {
		ACTOR_ON(DNS_MSG_MX_REQ, on_mx),
		ACTOR_ON(DNS_MSG_ADDR_REQ, on_addr),
		ACTOR_ON(DNS_MSG_TXT_REQ, on_txt),
		ACTOR_ON(DNS_MSG_PTR_REQ, on_ptr),
		ACTOR_ON(DNS_MSG_LOOP_WAKE_EVT, on_wake),
		ACTOR_ON(CORE_MSG_STOP_CMD, on_stop),
	},
};

/* Runs on the getdns thread: one wake message per batch of answers. */
static void wake_cb(void *arg)
{
	struct dns_resolver *r = arg;
	DNS_MSG_LOOP_WAKE_EVT_send(r->a.id, NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
}

int dns_resolver_config_servers(struct dns_resolver_config *cfg, const struct slice *entries, size_t n,
                                char *err, size_t errlen)
{
	if (n > DNS_UPSTREAM_MAX) {
		snprintf(err, errlen, "DNS.Resolvers: at most %d entries", DNS_UPSTREAM_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (dns_upstream_parse(entries[i], &cfg->servers[i]) != 0) {
			char q[128];
			snprintf(err, errlen, "DNS.Resolvers: bad entry %s (want ip, ip:port or [ipv6]:port)",
			         log_quote(q, sizeof q, entries[i]));
			return -1;
		}
	}
	cfg->nservers = n;
	return 0;
}

uint64_t dns_resolver_start(const struct dns_resolver_config *cfg, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, metrics_init);
	struct dns_resolver *r = xcalloc(1, sizeof *r);
	r->cfg = *cfg;
	if (r->cfg.nservers == 0) {
		int n = dns_upstream_from_resolv_conf(DNS_RESOLV_CONF, r->cfg.servers, DNS_UPSTREAM_MAX);
		if (n <= 0) {
			snprintf(err, errlen, "no DNS resolvers: DNS.Resolvers is empty and %s has none", DNS_RESOLV_CONF);
			free(r);
			return 0;
		}
		r->cfg.nservers = (size_t)n;
	}
	if (!r->cfg.timeout_ms)
		r->cfg.timeout_ms = DNS_RESOLVER_TIMEOUT_MS;
	if (!r->cfg.inflight_max)
		r->cfg.inflight_max = DNS_RESOLVER_INFLIGHT_MAX;
	if (!r->cfg.pending_max)
		r->cfg.pending_max = DNS_RESOLVER_PENDING_MAX;
	if (!r->cfg.jobs_max)
		r->cfg.jobs_max = DNS_RESOLVER_JOBS_MAX;
	if (!r->cfg.cache_max)
		r->cfg.cache_max = DNS_RESOLVER_CACHE_MAX;
	if (!r->cfg.no_cache)
		r->cache = dns_cache_new(r->cfg.cache_max);
	if (getrandom(&r->rng, sizeof r->rng, 0) != sizeof r->rng || r->rng == 0)
		r->rng = (uint64_t)clock_mono_ns() | 1;
	struct dns_resolver_loop_opts lo = {
		.servers = r->cfg.servers, .nservers = r->cfg.nservers, .timeout_ms = r->cfg.timeout_ms,
		.trust_ad_any = r->cfg.trust_ad_any, .wake = wake_cb, .wake_arg = r,
	};
	r->loop = dns_resolver_loop_start(&lo, err, errlen);
	if (!r->loop) {
		dns_cache_free(r->cache);
		free(r);
		return 0;
	}
	char first[64];
	uint64_t id = actor_spawn(&r->a, &dns_resolver_kind, worker_spawn_dedicated("tern-dns"));
	log_info("dns", "resolver started", "id=%llu resolvers=%zu first=%s timeout_ms=%lld",
	         (unsigned long long)id, r->cfg.nservers, dns_upstream_format(&r->cfg.servers[0], first, sizeof first),
	         (long long)r->cfg.timeout_ms);
	return id;
}
