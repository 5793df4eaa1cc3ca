/* The delivery router actor: work from the queue, destination resolution, stop
 * (see delivery_router.h).
 *
 * DESIGN: a job moves through DJ_NEW -> DJ_DNS (MX, then the addresses of its
 * current host) -> DJ_WAIT (at its destination, delivery_pool.c) -> DJ_ACCT
 * (attempt accounting, delivery_attempt.c) -> DJ_CONN (owned by a connection
 * actor). A connection hands it back after a host failure and it resumes at its
 * next host here. Failures that need no connection (DNS, the Fail transport, an
 * unknown transport, REQUIRETLS over an unverified transport) settle every record
 * and still go through accounting, since they count as attempts. Jobs waiting for
 * DNS sit in a small table by serial; a reply for a job that is gone is ignored. */
#include "actors/delivery_router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/delivery_ips.h"
#include "actors/delivery_metrics.h"
#include "actors/delivery_router_priv.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/dns_result.h"

uint64_t delivery_router_queue(const struct delivery_router *r)
{
	if (r->env.queue)
		return r->env.queue;
	struct server *s = server_get();
	return s ? s->queue : 0;
}

void delivery_router_finish(struct delivery_router *r, struct delivery_job *job)
{
	delivery_job_finish(job, &r->a, delivery_router_queue(r));
}

/* Every record gets res, after accounting (a failure without a connection is an attempt). */
static void settle_all(struct delivery_router *r, struct delivery_job *job, struct delivery_res *res)
{
	delivery_job_settle_open(job, res);
	delivery_res_free(res);
	job->conn = NULL;
	if (job->accounted) {
		delivery_router_finish(r, job);
		return;
	}
	delivery_attempt_add(r, job);
	delivery_attempt_flush(r);
}

/* ---- DNS waits ---- */

static void dns_put(struct delivery_router *r, struct delivery_job *job)
{
	struct delivery_job **b = &r->dns[job->serial % DELIVERY_DNS_BUCKETS];
	job->state = DJ_DNS;
	job->next = *b;
	*b = job;
	r->ndns++;
}

static struct delivery_job *dns_take(struct delivery_router *r, uint64_t serial)
{
	for (struct delivery_job **pp = &r->dns[serial % DELIVERY_DNS_BUCKETS]; *pp; pp = &(*pp)->next) {
		struct delivery_job *j = *pp;
		if (j->serial == serial) {
			*pp = j->next;
			j->next = NULL;
			r->ndns--;
			return j;
		}
	}
	return NULL;
}

/* ---- hosts ---- */

static void host_failed(struct delivery_router *r, struct delivery_job *job, struct delivery_res *res)
{
	delivery_job_host_failed(job, res, true, false);
	delivery_res_free(res);
	if (delivery_job_more_hosts(job)) {
		job->host_i++;
		delivery_router_host_begin(r, job);
		return;
	}
	delivery_job_exhausted(job);
	struct delivery_res none = {0};
	settle_all(r, job, &none);
}

/* The job's addresses for its current host from n 16-byte addresses, then on to its destination. */
static void with_addrs(struct delivery_router *r, struct delivery_job *job, const uint8_t *addrs, size_t n)
{
	const char *host = job->hosts[job->host_i];
	const struct store_strs *dialed = job->n ? delivery_ips_dialed(&job->recs[0].q, host) : NULL;
	job->ips_pref = dialed && dialed->n > 0;
	job->nips = delivery_ips_order(addrs, n, job->target->no4, job->target->no6, dialed, job->ips,
	                               DELIVERY_IPS_MAX);
	if (job->nips == 0) {
		delivery_pool_release(r, delivery_pool_find(r, host));
		struct delivery_res res = {0};
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.4", "no usable address for host %s", host);
		delivery_res_where(&res, host, NULL);
		host_failed(r, job, &res);
		return;
	}
	delivery_pool_enqueue(r, job, false);
}

/* An IP literal host ("192.0.2.1", "[192.0.2.1]", "[IPv6:2001:db8::1]"): true with *out set. */
static bool literal(const char *host, struct netaddr *out)
{
	size_t n = strlen(host);
	struct slice s = slice_of(host, n);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		s = slice_of(host + 1, n - 2);
		if (s.len > 5 && strncasecmp((const char *)s.p, "IPv6:", 5) == 0)
			s = slice_of(s.p + 5, s.len - 5);
	}
	return netaddr_parse(s, out) == 0;
}

void delivery_router_host_begin(struct delivery_router *r, struct delivery_job *job)
{
	if (r->stopping) {
		delivery_router_finish(r, job);
		return;
	}
	const char *host = job->hosts[job->host_i];
	struct netaddr ip;
	if (literal(host, &ip)) {
		uint8_t a16[16];
		struct netaddr m = ip;
		if (ip.family == 4) { /* as the resolver sends it: ::ffff:a.b.c.d */
			memset(a16, 0, 10);
			a16[10] = a16[11] = 0xff;
			memcpy(a16 + 12, ip.a, 4);
		} else {
			memcpy(a16, m.a, 16);
		}
		with_addrs(r, job, a16, 1);
		return;
	}
	struct delivery_dest *d = delivery_pool_find(r, host);
	uint64_t fam = (job->target->no4 ? 0 : DNS_FAMILY_V4) | (job->target->no6 ? 0 : DNS_FAMILY_V6);
	if (d && d->naddrs && d->addrs_fam == fam && clock_mono_ms() < d->addrs_until) {
		with_addrs(r, job, d->addrs, d->naddrs);
		return;
	}
	struct dns_addr_req q = {.name = slice_str(host), .families = fam};
	dns_put(r, job);
	if (DNS_MSG_ADDR_REQ_send(r->env.resolver, &r->a, &q, &(struct actor_send_opts){.req_id = job->serial}) != 0) {
		dns_take(r, job->serial);
		struct delivery_res res = {0};
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.3", "dns resolver unavailable");
		res.fail = DELIVERY_FAIL_LOCAL;
		host_failed(r, job, &res);
	}
}

static void on_addr(struct actor *self, const struct msg *m, const struct dns_addr_res *p)
{
	struct delivery_router *r = (struct delivery_router *)self;
	struct delivery_job *job = dns_take(r, m->req_id);
	if (!job)
		return;
	const char *host = job->hosts[job->host_i];
	size_t n = p->addrs.len / 16;
	if (p->status == DNS_OK && n > 0) {
		struct delivery_dest *d = delivery_pool_dest(r, host);
		free(d->addrs);
		d->addrs = xmemdup(p->addrs.p, n * 16);
		d->naddrs = n;
		d->addrs_until = clock_mono_ms() + DELIVERY_ADDR_CACHE_MS;
		d->addrs_fam = (job->target->no4 ? 0 : DNS_FAMILY_V4) | (job->target->no6 ? 0 : DNS_FAMILY_V6);
		with_addrs(r, job, p->addrs.p, n);
		return;
	}
	struct delivery_res res = {0};
	delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.3", "looking up address of %s: %s", host,
	                   dns_status_name(p->status));
	delivery_res_where(&res, host, NULL);
	host_failed(r, job, &res);
}

static void on_mx(struct actor *self, const struct msg *m, const struct dns_mx_res *p)
{
	struct delivery_router *r = (struct delivery_router *)self;
	struct delivery_job *job = dns_take(r, m->req_id);
	if (!job)
		return;
	struct delivery_res res = {0};
	switch (p->status) {
	case DNS_OK:
		if (p->hosts.n == 0) {
			delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.3", "no usable mx host for %s", job->domain);
			break;
		}
		job->hosts = xcalloc(p->hosts.n, sizeof *job->hosts);
		for (uint32_t i = 0; i < p->hosts.n; i++)
			job->hosts[i] = slice_strdup(p->hosts.v[i]);
		job->nhosts = p->hosts.n;
		job->host_i = 0;
		delivery_router_host_begin(r, job);
		return;
	case DNS_NULLMX:
		delivery_res_local(&res, DELIVERY_PERMANENT, 0, "5.1.10", "recipient domain %s does not accept email (null mx)",
		                   job->domain);
		break;
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		delivery_res_local(&res, DELIVERY_PERMANENT, 0, "5.1.2", "recipient domain %s does not exist", job->domain);
		break;
	default:
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.3", "looking up mx records of %s: %s", job->domain,
		                   dns_status_name(p->status));
		break;
	}
	settle_all(r, job, &res);
}

/* ---- work ---- */

static void set_hosts1(struct delivery_job *job, const char *host)
{
	job->hosts = xcalloc(1, sizeof *job->hosts);
	job->hosts[0] = xstrdup(host);
	job->nhosts = 1;
}

/* Picks the way to deliver job and starts it. */
static void route(struct delivery_router *r, struct delivery_job *job)
{
	size_t first = 0;
	while (first + 1 < job->n && !job->recs[first].loaded)
		first++;
	const struct store_queue_rec *q0 = &job->recs[first].q;
	const struct delivery_target *t = delivery_targets_find(&r->targets, slice_str(job->transport));
	struct delivery_res res = {0};
	if (!t) {
		delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.0.0", "cannot find transport %s", job->transport);
		res.fail = DELIVERY_FAIL_LOCAL;
		settle_all(r, job, &res);
		return;
	}
	job->target = t;
	job->requiretls = q0->require_tls == 1;
	job->need = delivery_target_need(t, job->requiretls);
	job->plain_ok = !q0->is_dmarc_report;
	switch (t->kind) {
	case DELIVERY_T_FAIL:
		delivery_res_local(&res, t->fail_code / 100 == 5 ? DELIVERY_PERMANENT : DELIVERY_TEMPORARY, t->fail_code,
		                   "5.7.0", "%s", t->fail_msg);
		settle_all(r, job, &res);
		return;
	case DELIVERY_T_RELAY:
		if (job->requiretls && job->need != DELIVERY_TLS_VERIFIED) {
			delivery_res_local(&res, DELIVERY_PERMANENT, 554, "5.7.30",
			                   "requiretls: transport %s does not verify the server's TLS certificate", t->name);
			metric_add(delivery_metrics.requiretls[DELIVERY_METRICS_RTLS_NOPOLICY], 1);
			settle_all(r, job, &res);
			return;
		}
		/* fall through */
	case DELIVERY_T_LOCAL:
		set_hosts1(job, t->host);
		delivery_router_host_begin(r, job);
		return;
	case DELIVERY_T_DIRECT: {
		struct netaddr ip;
		if (job->domain[0] == '[' && literal(job->domain, &ip)) {
			set_hosts1(job, job->domain);
			delivery_router_host_begin(r, job);
			return;
		}
		struct dns_name_req q = {.name = slice_str(job->domain)};
		dns_put(r, job);
		if (DNS_MSG_MX_REQ_send(r->env.resolver, &r->a, &q, &(struct actor_send_opts){.req_id = job->serial}) != 0) {
			dns_take(r, job->serial);
			delivery_res_local(&res, DELIVERY_TEMPORARY, 0, "4.4.3", "dns resolver unavailable");
			res.fail = DELIVERY_FAIL_LOCAL;
			settle_all(r, job, &res);
		}
		return;
	}
	}
}

static void on_work(struct actor *self, const struct msg *m, const struct delivery_work_req *p)
{
	struct delivery_router *r = (struct delivery_router *)self;
	struct delivery_job *job = delivery_job_new(p->ids.v, p->ids.n, p->transport, p->domain, p->attempt);
	if (r->stopping || delivery_job_load(job, r->env.store) == 0) {
		delivery_router_finish(r, job);
		return;
	}
	route(r, job);
}

/* ---- connections, accounting ---- */

static void on_conn_evt(struct actor *self, const struct msg *m, const struct delivery_conn_evt *p)
{
	delivery_pool_conn_evt((struct delivery_router *)self, p);
}

static void on_attempt(struct actor *self, const struct msg *m, const struct queue_attempt_res *p)
{
	delivery_attempt_res((struct delivery_router *)self, m, p);
}

/* ---- life cycle ---- */

void delivery_router_maybe_stopped(struct delivery_router *r)
{
	if (!r->stopping || r->nconns > 0 || r->out > 0 || r->ndns > 0 || delivery_attempt_busy(r))
		return;
	if (r->stopper)
		DELIVERY_MSG_STOPPED_EVT_send(r->stopper, &r->a, &(struct msg_empty){0},
		                              &(struct actor_send_opts){.force = true});
	delivery_pool_free(r);
	delivery_targets_free(&r->targets);
	actor_stop(&r->a);
}

static void on_stop(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct delivery_router *r = (struct delivery_router *)self;
	if (r->stopping)
		return;
	r->stopping = true;
	r->stopper = m->from;
	log_info("delivery", "router stopping", "connections=%d", r->nconns);
	for (size_t b = 0; b < DELIVERY_DNS_BUCKETS; b++) {
		for (struct delivery_job *j = r->dns[b], *next; j; j = next) {
			next = j->next;
			delivery_router_finish(r, j);
		}
		r->dns[b] = NULL;
	}
	r->ndns = 0;
	delivery_pool_stop(r);
	delivery_router_maybe_stopped(r);
}

static void router_start(struct actor *self)
{
	struct delivery_router *r = (struct delivery_router *)self;
	delivery_metrics_init();
	const struct conf_queue *q = &r->env.st->queue;
	r->max_conns = q->max_connections > 0 ? q->max_connections : 1000;
	r->max_per_host = q->max_connections_per_host > 0 ? q->max_connections_per_host : 16;
	r->max_msgs = q->max_messages_per_connection > 0 ? q->max_messages_per_connection : 100;
	r->idle_ms = q->connection_idle_timeout_ms > 0 ? q->connection_idle_timeout_ms : 30000;
	delivery_targets_build(r->env.st, r->env.localserve, r->env.direct_port, r->env.local_port, &r->targets);
	log_info("delivery", "router started", "max_connections=%lld per_host=%lld transports=%zu",
	         (long long)r->max_conns, (long long)r->max_per_host, r->targets.n);
}

static const struct actor_kind delivery_router_kind = {
    .name = "delivery_router",
    .start = router_start,
    .on = {
        ACTOR_ON(DELIVERY_MSG_WORK_REQ, on_work),
        ACTOR_ON(DNS_MSG_MX_RES, on_mx),
        ACTOR_ON(DNS_MSG_ADDR_RES, on_addr),
        ACTOR_ON(QUEUE_MSG_ATTEMPT_RES, on_attempt),
        ACTOR_ON(DELIVERY_MSG_CONN_EVT, on_conn_evt),
        ACTOR_ON(CORE_MSG_STOP_CMD, on_stop),
    },
};

uint64_t delivery_router_start_env(const struct delivery_env *env, struct worker *w)
{
	struct delivery_router *r = xcalloc(1, sizeof *r);
	r->env = *env;
	return actor_spawn(&r->a, &delivery_router_kind, w);
}

uint64_t delivery_router_start(const struct conf_static *st, struct worker *w)
{
	struct server *s = server_get();
	struct delivery_env env = {.st = st};
	if (s) {
		env.store = s->store;
		env.resolver = s->resolver;
		env.tls = s->tls_client;
		env.localserve = s->localserve;
	}
	return delivery_router_start_env(&env, w);
}
