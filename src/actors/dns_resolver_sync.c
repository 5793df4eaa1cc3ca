/* Synchronous DNS lookups through the resolver actor, for tools and tests.
 *
 * DESIGN: replies go to actors, so a blocking caller spawns a one-shot waiter
 * actor, sends the request in its name and sleeps on a condition variable. The
 * waiter copies the reply into a heap state shared with the caller (two
 * references), and a timer bounds its life, so it always stops even when no
 * reply ever comes. Whoever drops the last reference frees the state. */
#include "actors/dns_resolver.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/actor.h"
#include "core/timer.h"
#include "core/xmalloc.h"

struct sync_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool done;
	int rc;
	struct dns_sync_result res;
	int64_t timeout_ms;
};

struct sync_waiter {
	struct actor a;
	struct sync_state *st;
	struct timer t;
	bool finished;
};

static void state_unref(struct sync_state *st)
{
	pthread_mutex_lock(&st->mu);
	int left = --st->refs;
	pthread_mutex_unlock(&st->mu);
	if (left)
		return;
	dns_resolver_sync_free(&st->res);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st);
}

/* Publishes the result (already in st->res) and ends the waiter. */
static void finish(struct sync_waiter *w, int rc)
{
	if (w->finished)
		return;
	w->finished = true;
	timer_stop(&w->t);
	struct sync_state *st = w->st;
	pthread_mutex_lock(&st->mu);
	st->rc = rc;
	st->done = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	state_unref(st);
	actor_stop(&w->a);
}

static void copy_list(struct dns_sync_result *r, struct msg_strs l)
{
	r->n = l.n;
	r->items = xcalloc(l.n + 1, sizeof *r->items);
	r->lens = xcalloc(l.n + 1, sizeof *r->lens);
	for (uint32_t i = 0; i < l.n; i++) {
		r->items[i] = slice_strdup(l.v[i]);
		r->lens[i] = l.v[i].len;
	}
}

static void head(struct dns_sync_result *r, uint64_t status, bool secure, struct slice name)
{
	r->status = status;
	r->secure = secure;
	size_t n = name.len < DNS_NAME_MAX ? name.len : DNS_NAME_MAX;
	if (n)
		memcpy(r->name, name.p, n);
	r->name[n] = 0;
}

static void on_mx(struct actor *self, const struct msg *m, const struct dns_mx_res *p)
{
	struct sync_waiter *w = (struct sync_waiter *)self;
	struct dns_sync_result *r = &w->st->res;
	head(r, p->status, p->secure, p->name);
	r->implicit = p->implicit;
	r->ignored = p->ignored;
	copy_list(r, p->hosts);
	r->prefs = xcalloc(p->prefs.n + 1, sizeof *r->prefs);
	if (p->prefs.n)
		memcpy(r->prefs, p->prefs.v, p->prefs.n * sizeof *r->prefs);
	finish(w, 0);
}

static void on_addr(struct actor *self, const struct msg *m, const struct dns_addr_res *p)
{
	struct sync_waiter *w = (struct sync_waiter *)self;
	struct dns_sync_result *r = &w->st->res;
	head(r, p->status, p->secure, p->name);
	r->naddrs = p->addrs.len / 16;
	r->addrs = xcalloc(r->naddrs + 1, 16);
	if (r->naddrs)
		memcpy(r->addrs, p->addrs.p, r->naddrs * 16);
	finish(w, 0);
}

static void on_txt(struct actor *self, const struct msg *m, const struct dns_txt_res *p)
{
	struct sync_waiter *w = (struct sync_waiter *)self;
	head(&w->st->res, p->status, p->secure, p->name);
	copy_list(&w->st->res, p->texts);
	finish(w, 0);
}

static void on_ptr(struct actor *self, const struct msg *m, const struct dns_ptr_res *p)
{
	struct sync_waiter *w = (struct sync_waiter *)self;
	head(&w->st->res, p->status, p->secure, p->name);
	copy_list(&w->st->res, p->names);
	finish(w, 0);
}

static void on_cancel(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	finish((struct sync_waiter *)self, -ECANCELED);
}

static void timeout_cb(struct timer *t)
{
	finish(t->ctx, -ETIMEDOUT);
}

static void waiter_start(struct actor *self)
{
	struct sync_waiter *w = (struct sync_waiter *)self;
	timer_init(&w->t, timeout_cb, w);
	if (!w->finished)
		timer_start(&w->t, w->st->timeout_ms);
}

static const struct actor_kind sync_waiter_kind = {
	.name = "dns_sync_waiter",
	.start = waiter_start,
	.on = {
		ACTOR_ON(DNS_MSG_MX_RES, on_mx),
		ACTOR_ON(DNS_MSG_ADDR_RES, on_addr),
		ACTOR_ON(DNS_MSG_TXT_RES, on_txt),
		ACTOR_ON(DNS_MSG_PTR_RES, on_ptr),
		ACTOR_ON(CORE_MSG_STOP_CMD, on_cancel),
	},
};

int dns_resolver_sync(uint64_t resolver, uint16_t req_type, const void *req, struct dns_sync_result *out,
                      int64_t timeout_ms)
{
	memset(out, 0, sizeof *out);
	struct sync_state *st = xcalloc(1, sizeof *st);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	st->refs = 2;
	st->timeout_ms = timeout_ms;
	struct sync_waiter *w = xcalloc(1, sizeof *w);
	w->st = st;
	uint64_t wid = actor_spawn(&w->a, &sync_waiter_kind, NULL);
	/* The waiter may end (timer) at any time: send in its name without touching it. */
	struct actor as_waiter = {.id = wid};
	int rc = actor_send(resolver, &as_waiter, req_type, req, &(struct actor_send_opts){.req_id = wid});
	if (rc != 0) /* nothing will answer: end the waiter now */
		CORE_MSG_STOP_CMD_send(wid, NULL, &(struct msg_empty){0}, &(struct actor_send_opts){.force = true});
	pthread_mutex_lock(&st->mu);
	while (!st->done)
		pthread_cond_wait(&st->cv, &st->mu); /* the waiter's timer bounds this */
	if (rc == 0)
		rc = st->rc;
	if (rc == 0) {
		*out = st->res;
		memset(&st->res, 0, sizeof st->res);
	}
	pthread_mutex_unlock(&st->mu);
	state_unref(st);
	return rc;
}

void dns_resolver_sync_free(struct dns_sync_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i]);
	free(r->items);
	free(r->lens);
	free(r->prefs);
	free(r->addrs);
	memset(r, 0, sizeof *r);
}
