/* Destinations and the connection pool of the delivery router (queue.md §3).
 *
 * DESIGN: a destination is a host (MX name, IP literal, or a transport's host);
 * it holds its connections and the jobs waiting for one. Pumping a destination
 * places each waiting job, in order, on (1) an idle connection that fits it, (2) a
 * new connection when the per-host and global limits allow, or (3) the queue of a
 * busy connection that fits (at most DELIVERY_CONN_JOBS_MAX jobs per connection,
 * so the next transaction is ready when one ends). A job that fits nowhere waits
 * and is no attempt. When a limit blocks, an idle connection that did not fit is
 * closed to make room (per host first, then the least recently used one
 * anywhere), and the destination is remembered until a connection closes.
 * "Fits" is the reuse rule: same target (transport, so same EHLO and source
 * address family), an address the job would dial (the preferred one when the
 * record's DialedIPs named this host), a TLS level at least the job's need, and
 * for REQUIRETLS a verified session that announced it; never for a job that must
 * retry on a new connection, never past Queue.MaxMessagesPerConnection. */
#include "actors/delivery_router_priv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"

static struct metric *m_conns(void)
{
	static struct metric *m;
	if (!m)
		m = metric_gauge("tern_delivery_connections", "", "Open outgoing SMTP connections, idle ones included.");
	return m;
}

/* ---- destinations ---- */

static uint64_t hash_host(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)(*s | 0x20)) * 1099511628211ull;
	return h;
}

static void grow(struct delivery_router *r)
{
	size_t n = r->nbuckets ? r->nbuckets * 2 : 64;
	struct delivery_dest **b = xcalloc(n, sizeof *b);
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct delivery_dest *d = r->buckets[i], *next; d; d = next) {
			next = d->hnext;
			size_t k = hash_host(d->host) & (n - 1);
			d->hnext = b[k];
			b[k] = d;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

struct delivery_dest *delivery_pool_dest(struct delivery_router *r, const char *host)
{
	if (r->nbuckets) {
		for (struct delivery_dest *d = r->buckets[hash_host(host) & (r->nbuckets - 1)]; d; d = d->hnext)
			if (strcasecmp(d->host, host) == 0)
				return d;
	}
	if (r->ndests >= r->nbuckets)
		grow(r);
	struct delivery_dest *d = xcalloc(1, sizeof *d);
	d->host = xstrdup(host);
	size_t k = hash_host(host) & (r->nbuckets - 1);
	d->hnext = r->buckets[k];
	r->buckets[k] = d;
	r->ndests++;
	return d;
}

static void dest_free(struct delivery_dest *d)
{
	free(d->host);
	free(d->addrs);
	free(d);
}

/* Frees d when nothing refers to it any more. */
static void dest_maybe_free(struct delivery_router *r, struct delivery_dest *d)
{
	if (d->nconns || d->conns || d->whead || d->nacct || d->blocked || r->stopping)
		return;
	struct delivery_dest **pp = &r->buckets[hash_host(d->host) & (r->nbuckets - 1)];
	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = d->hnext;
		r->ndests--;
		dest_free(d);
	}
}

void delivery_pool_enqueue(struct delivery_router *r, struct delivery_job *job, bool front)
{
	if (r->stopping) {
		job->conn = NULL;
		delivery_router_finish(r, job);
		return;
	}
	struct delivery_dest *d = delivery_pool_dest(r, job->hosts[job->host_i]);
	job->dest = d;
	job->state = DJ_WAIT;
	job->conn = NULL;
	if (front) {
		job->next = d->whead;
		d->whead = job;
		if (!d->wtail)
			d->wtail = job;
	} else {
		job->next = NULL;
		if (d->wtail)
			d->wtail->next = job;
		else
			d->whead = job;
		d->wtail = job;
	}
	d->nwait++;
	delivery_pool_pump(r, d);
}

/* ---- connections ---- */

static void idle_remove(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	if (!pc->in_idle)
		return;
	if (pc->iprev)
		pc->iprev->inext = pc->inext;
	else
		r->idle_head = pc->inext;
	if (pc->inext)
		pc->inext->iprev = pc->iprev;
	else
		r->idle_tail = pc->iprev;
	pc->inext = pc->iprev = NULL;
	pc->in_idle = false;
	timer_stop(&pc->idle);
}

static void quit(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	idle_remove(r, pc);
	pc->state = DPC_CLOSING;
	DELIVERY_MSG_CONN_QUIT_CMD_send(pc->actor, &r->a, &(struct msg_empty){0},
	                                &(struct actor_send_opts){.force = true});
}

static void idle_cb(struct timer *t)
{
	struct delivery_pool_conn *pc = t->ctx;
	if (pc->state == DPC_READY && pc->assigned == 0)
		quit(pc->r, pc);
}

/* pc has nothing to do: QUIT it when it is spent, else park it on the idle list. */
static void idle_add(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	if (pc->state != DPC_READY || pc->assigned > 0 || pc->in_idle)
		return;
	if (r->stopping || pc->handed >= r->max_msgs) {
		quit(r, pc);
		return;
	}
	pc->iprev = r->idle_tail;
	pc->inext = NULL;
	if (r->idle_tail)
		r->idle_tail->inext = pc;
	else
		r->idle_head = pc;
	r->idle_tail = pc;
	pc->in_idle = true;
	timer_start(&pc->idle, r->idle_ms);
}

static bool fits(const struct delivery_router *r, const struct delivery_pool_conn *pc, const struct delivery_job *j)
{
	if (pc->state != DPC_READY || pc->target != j->target || j->fresh_conn || pc->handed >= r->max_msgs)
		return false;
	if (pc->tls < j->need)
		return false;
	if (j->requiretls && !(pc->tls == DELIVERY_TLS_VERIFIED && pc->requiretls))
		return false;
	if (j->nips == 0)
		return false;
	if (j->ips_pref)
		return netaddr_eq(&pc->ip, &j->ips[0]);
	for (size_t i = 0; i < j->nips; i++)
		if (netaddr_eq(&pc->ip, &j->ips[i]))
			return true;
	return false;
}

static struct delivery_pool_conn *find_conn(struct delivery_router *r, struct delivery_dest *d,
                                            const struct delivery_job *j, bool busy)
{
	struct delivery_pool_conn *best = NULL;
	for (struct delivery_pool_conn *pc = d->conns; pc; pc = pc->dnext) {
		if (!fits(r, pc, j))
			continue;
		if (!busy && pc->assigned == 0)
			return pc;
		if (busy && pc->assigned < DELIVERY_CONN_JOBS_MAX && (!best || pc->assigned < best->assigned))
			best = pc;
	}
	return best;
}

static struct delivery_pool_conn *open_conn(struct delivery_router *r, struct delivery_dest *d,
                                            const struct delivery_job *j)
{
	if (d->nconns >= r->max_per_host || r->nconns >= r->max_conns)
		return NULL;
	struct delivery_pool_conn *pc = xcalloc(1, sizeof *pc);
	pc->r = r;
	pc->dest = d;
	pc->target = j->target;
	pc->state = DPC_PENDING;
	timer_init(&pc->idle, idle_cb, pc);
	pc->dnext = d->conns;
	if (d->conns)
		d->conns->dprev = pc;
	d->conns = pc;
	d->nconns++;
	r->nconns++;
	metric_add(m_conns(), 1);
	return pc;
}

/* Removes pc from its destination and the counts; frees it unless accounted jobs point at it. */
static void conn_gone(struct delivery_router *r, struct delivery_pool_conn *pc)
{
	struct delivery_dest *d = pc->dest;
	idle_remove(r, pc);
	if (pc->state != DPC_DEAD) {
		if (pc->dprev)
			pc->dprev->dnext = pc->dnext;
		else
			d->conns = pc->dnext;
		if (pc->dnext)
			pc->dnext->dprev = pc->dprev;
		pc->dnext = pc->dprev = NULL;
		d->nconns--;
		r->nconns--;
		metric_add(m_conns(), -1);
		pc->state = DPC_DEAD;
	}
	if (pc->acct_refs == 0)
		free(pc);
}

/* A slot was freed somewhere: pump d, then destinations waiting for a global slot. */
static void slot_freed(struct delivery_router *r, struct delivery_dest *d)
{
	delivery_pool_pump(r, d);
	while (r->blocked_head && r->nconns < r->max_conns) {
		struct delivery_dest *b = r->blocked_head;
		r->blocked_head = b->bnext;
		if (!r->blocked_head)
			r->blocked_tail = NULL;
		b->bnext = NULL;
		b->blocked = false;
		delivery_pool_pump(r, b);
		dest_maybe_free(r, b);
	}
	dest_maybe_free(r, d);
}

/* ---- placing jobs ---- */

static void place(struct delivery_router *r, struct delivery_job *j, struct delivery_pool_conn *pc)
{
	j->conn = pc;
	if (pc->state == DPC_PENDING)
		j->fresh_conn = false;
	pc->assigned++;
	pc->handed++;
	idle_remove(r, pc);
	if (j->accounted) {
		delivery_pool_hand(r, j);
		return;
	}
	pc->acct_refs++;
	j->dest->nacct++;
	delivery_attempt_add(r, j);
}

/* Closes an idle connection to make room for d's waiting jobs, and remembers d. */
static void make_room(struct delivery_router *r, struct delivery_dest *d)
{
	if (d->nconns >= r->max_per_host) {
		for (struct delivery_pool_conn *pc = d->conns; pc; pc = pc->dnext) {
			if (pc->in_idle) {
				quit(r, pc);
				return;
			}
		}
		return; /* a connection of d will free up or close */
	}
	if (r->nconns < r->max_conns)
		return;
	if (r->idle_head)
		quit(r, r->idle_head);
	if (!d->blocked) {
		d->blocked = true;
		d->bnext = NULL;
		if (r->blocked_tail)
			r->blocked_tail->bnext = d;
		else
			r->blocked_head = d;
		r->blocked_tail = d;
	}
}

/* Whether b would fit exactly where a did not (same requirements): then b need not be tried. */
static bool same_needs(const struct delivery_job *a, const struct delivery_job *b)
{
	return a->target == b->target && a->need == b->need && a->requiretls == b->requiretls &&
	       a->fresh_conn == b->fresh_conn && a->ips_pref == b->ips_pref && a->nips == b->nips &&
	       (a->nips == 0 || netaddr_eq(&a->ips[0], &b->ips[0]));
}

void delivery_pool_pump(struct delivery_router *r, struct delivery_dest *d)
{
	if (r->stopping)
		return;
	struct delivery_job *prev = NULL, *j = d->whead, *stuck = NULL;
	for (int scanned = 0; j && scanned < DELIVERY_PUMP_SCAN; scanned++) {
		struct delivery_job *next = j->next;
		struct delivery_pool_conn *pc = NULL;
		if (!stuck || !same_needs(stuck, j)) {
			pc = find_conn(r, d, j, false);
			if (!pc)
				pc = open_conn(r, d, j);
			if (!pc)
				pc = find_conn(r, d, j, true);
			if (!pc)
				stuck = j;
		}
		if (pc) {
			if (prev)
				prev->next = next;
			else
				d->whead = next;
			if (d->wtail == j)
				d->wtail = prev;
			d->nwait--;
			j->next = NULL;
			place(r, j, pc);
		} else {
			prev = j;
		}
		j = next;
	}
	if (d->whead)
		make_room(r, d);
	delivery_attempt_flush(r);
}

void delivery_pool_unclaim(struct delivery_router *r, struct delivery_job *job)
{
	struct delivery_pool_conn *pc = job->conn;
	job->conn = NULL;
	if (!pc)
		return;
	struct delivery_dest *d = pc->dest;
	pc->assigned--;
	pc->acct_refs--;
	d->nacct--;
	if (pc->state == DPC_PENDING) {
		if (pc->assigned == 0) {
			conn_gone(r, pc);
			slot_freed(r, d);
		}
		return;
	}
	if (pc->state == DPC_DEAD) {
		if (pc->acct_refs == 0)
			free(pc);
		return;
	}
	idle_add(r, pc);
	delivery_pool_pump(r, d);
}

void delivery_pool_hand(struct delivery_router *r, struct delivery_job *j)
{
	struct delivery_pool_conn *pc = j->conn;
	struct delivery_dest *d = j->dest;
	bool was_acct = j->state == DJ_ACCT;
	if (was_acct) {
		pc->acct_refs--;
		d->nacct--;
	}
	if (pc->state == DPC_DEAD || pc->state == DPC_CLOSING) {
		pc->assigned--;
		if (pc->state == DPC_DEAD && pc->acct_refs == 0)
			free(pc);
		delivery_pool_enqueue(r, j, true); /* accounted already: goes on at once elsewhere */
		return;
	}
	j->state = DJ_CONN;
	r->out++;
	if (pc->state == DPC_PENDING) {
		struct delivery_conn_params p = {
		    .router = r->a.id, .ref = pc, .queue = delivery_router_queue(r), .store = r->env.store,
		    .tls = r->env.tls, .st = r->env.st, .target = j->target, .host = d->host,
		    .nips = j->nips, .port = j->target->port, .need = j->need, .plain_ok = j->plain_ok,
		};
		memcpy(p.ips, j->ips, j->nips * sizeof j->ips[0]);
		pc->state = DPC_CONNECTING;
		pc->actor = delivery_conn_spawn(&p, j, NULL);
		return;
	}
	int rc = DELIVERY_MSG_CONN_JOB_CMD_send(pc->actor, &r->a, &(struct delivery_conn_job_cmd){.job = j},
	                                        &(struct actor_send_opts){.force = true});
	if (rc != 0) {
		log_error("delivery", "job not sent to connection", "rc=%d", rc);
		r->out--;
		pc->assigned--;
		delivery_pool_enqueue(r, j, true);
	}
}

/* ---- connection events ---- */

static void take_back(struct delivery_router *r, struct delivery_job *j)
{
	j->conn = NULL;
	if (r->stopping) {
		delivery_router_finish(r, j);
		return;
	}
	switch (j->disp) {
	case DELIVERY_DISP_NEXT_HOST:
		j->host_i++;
		j->fresh_conn = false;
		j->dest = NULL;
		delivery_router_host_begin(r, j);
		break;
	default: /* UNSTARTED, RETRY (fresh_conn is set) */
		delivery_pool_enqueue(r, j, true);
		break;
	}
}

void delivery_pool_conn_evt(struct delivery_router *r, const struct delivery_conn_evt *ev)
{
	struct delivery_pool_conn *pc = ev->ref;
	int64_t over = (int64_t)ev->finished;
	for (struct delivery_job *j = ev->jobs; j; j = j->next)
		over++;
	r->out -= over;
	struct delivery_dest *d = pc ? pc->dest : NULL;
	if (pc)
		pc->assigned -= (int)over;
	switch (ev->kind) {
	case DELIVERY_CONN_READY:
		if (pc->state == DPC_CONNECTING)
			pc->state = DPC_READY;
		pc->tls = (enum delivery_tls)ev->tls;
		pc->requiretls = ev->requiretls;
		if (netaddr_parse(ev->remote_ip, &pc->ip) != 0)
			pc->ip.family = 0;
		if (r->stopping)
			quit(r, pc);
		break;
	case DELIVERY_CONN_CLOSED:
		DELIVERY_MSG_CONN_RELEASE_CMD_send(pc->actor, &r->a, &(struct msg_empty){0},
		                                   &(struct actor_send_opts){.force = true});
		conn_gone(r, pc);
		pc = NULL;
		break;
	default:
		break;
	}
	for (struct delivery_job *j = ev->jobs, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		take_back(r, j);
	}
	if (d) {
		if (pc)
			delivery_pool_pump(r, d);
		if (pc && pc->assigned == 0)
			idle_add(r, pc);
		if (!pc)
			slot_freed(r, d);
		else
			dest_maybe_free(r, d);
	}
	delivery_attempt_flush(r);
	delivery_router_maybe_stopped(r);
}

/* ---- stop ---- */

void delivery_pool_stop(struct delivery_router *r)
{
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct delivery_dest *d = r->buckets[i]; d; d = d->hnext) {
			for (struct delivery_job *j = d->whead, *next; j; j = next) {
				next = j->next;
				delivery_router_finish(r, j);
			}
			d->whead = d->wtail = NULL;
			d->nwait = 0;
			for (struct delivery_pool_conn *pc = d->conns, *next; pc; pc = next) {
				next = pc->dnext;
				if (pc->state == DPC_READY)
					quit(r, pc); /* connecting ones QUIT at READY */
			}
		}
	}
}

void delivery_pool_free(struct delivery_router *r)
{
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct delivery_dest *d = r->buckets[i], *next; d; d = next) {
			next = d->hnext;
			for (struct delivery_pool_conn *pc = d->conns, *pn; pc; pc = pn) {
				pn = pc->dnext;
				timer_stop(&pc->idle);
				free(pc);
			}
			dest_free(d);
		}
	}
	free(r->buckets);
	r->buckets = NULL;
	r->nbuckets = r->ndests = 0;
}
