/* MX end of data (smtp.md §14, §9, §11): each recipient's outcome, the
 * reply, DSNs about the message, and the commit through the mailbox store.
 *
 * DESIGN: after DKIM, DMARC and iprev (smtp_session_verify_start) the
 * decisions are made at once on one domains.conf snapshot: a DMARC reject
 * refuses the whole message; otherwise every recipient is resolved again
 * (the config may have changed since RCPT) and checked against its
 * account's incoming rate limits and quota, once per account. Recipients that
 * pass are delivered, each (account, mailbox) once. If none passes, the reply
 * is the common failure, or the multi-line `multiple errors` reply. If some
 * pass, the reply is 250 and a failure DSN covers the others, a `delivered`
 * DSN the successes that asked for it; those DSN records ride in the batch of
 * the mailbox entries, so delivery and DSN commit together. Fields
 * `Authentication-Results: <our host name>` that came with the message are
 * cut out of its header section first (RFC 8601 §5): the one change to the
 * client's bytes, which are otherwise stored as sent. Rate limits are counted
 * only once the commit succeeded. */
#include "actors/smtp_session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/localserve_runtime.h"
#include "actors/mailbox_store.h"
#include "actors/queue.h"
#include "actors/recvlimit.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/authres.h"
#include "proto/dsn.h"
#include "proto/rfc5322.h"
#include "store/store.h"

/** Distinct error lines of a `multiple errors` reply (clients read at most 100 lines). */
#define SMTP_MX_ERROR_LINES_MAX 20
/** Longest error line. */
#define SMTP_MX_ERROR_LINE_MAX 200

/* What the session keeps while the commit is out: the rate limits count it afterwards. */
struct smtp_mx {
	char **accounts; /* distinct accounts delivered to */
	size_t n;
	int64_t size;
	bool partial;    /* some recipients failed (metrics: accept/partial) */
};

/* One recipient's outcome. */
struct outcome {
	const struct conf_account *acc; /* borrowed from the snapshot */
	const char *mailbox;
	int code;                       /* 0: deliver */
	const char *text;
	enum smtp_mx_result why;        /* the failure's reason (metrics) */
};

void smtp_session_mx_free(struct smtp_session *s)
{
	struct smtp_mx *x = s->mx;
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->accounts[i]);
	free(x->accounts);
	free(x);
	s->mx = NULL;
}

/* Removes the header fields `Authentication-Results: <authserv_id>; ...` naming one of our
 * host names from s->data, in one pass (RFC 8601 §5). Returns how many were removed. */
static size_t strip_own_authres(struct smtp_session *s)
{
	struct rfc5322_split sp;
	if (rfc5322_split(buf_slice(&s->data), &sp) != 0)
		return 0;
	const char *ours[2] = {s->ep->l->hostname, server_get()->st->hostname};
	struct rfc5322_iter it;
	struct rfc5322_field f;
	uint8_t *base = s->data.p;
	size_t w = (size_t)(sp.header.p - base), removed = 0;
	rfc5322_iter_init(&it, sp.header);
	/* Fields are moved down over removed ones; writes stay below the field being read. */
	while (rfc5322_iter_next(&it, &f)) {
		bool drop = !f.malformed && slice_eq_nocase(f.name, SLICE_LIT("Authentication-Results")) &&
		            (authres_is_ours(f.value, ours[0]) || (ours[1] && authres_is_ours(f.value, ours[1])));
		if (drop) {
			removed++;
			continue;
		}
		size_t at = (size_t)(f.raw.p - base);
		if (at != w)
			memmove(base + w, f.raw.p, f.raw.len);
		w += f.raw.len;
	}
	if (!removed)
		return 0;
	size_t end = (size_t)(sp.header.p - base) + sp.header.len;
	memmove(base + w, base + end, s->data.len - end);
	s->data.len -= end - w;
	return removed;
}

/* Whether every recipient is a postmaster or reporting address (exempt from DMARC reject). */
static bool all_exempt(const struct smtp_server_txn *t, struct conf_domains *dc)
{
	for (size_t i = 0; i < t->nrcpt; i++) {
		const struct smtp_addr *a = &t->rcpts[i].addr;
		struct conf_dest d;
		if (conf_dest_lookup(dc, a->local, a->local_len, a->domain, a->domain_len, &d) != CONF_DEST_FOUND ||
		    d.kind == CONF_DEST_ADDRESS || d.kind == CONF_DEST_CATCHALL)
			return false;
	}
	return true;
}

/* The rate limits and quota of acc for a message of size bytes: 0, or the failure. */
static int account_check(struct smtp_session *s, struct conf_domains *dc, const struct conf_account *acc,
                         int64_t size, const char **text, enum smtp_mx_result *why)
{
	if (!recvlimit_allowed(&server_get()->st->limits, acc->name, &s->peer, size, clock_mono_ms())) {
		*why = SMTP_MX_RATELIMIT;
		*text = "4.2.2 rate limit reached, try again later";
		log_info("smtp", "incoming rate limit reached", "cid=%s ip=%s account=%s", s->rid, s->peer_str, acc->name);
		return 452;
	}
	int64_t quota = conf_account_quota(dc, acc), used, total;
	if (quota > 0) {
		used = mailbox_store_usage(server_get()->store, acc->name);
		if (__builtin_add_overflow(used, size, &total) || total > quota) {
			*why = SMTP_MX_QUOTA;
			*text = "4.2.2 account storage full";
			log_info("smtp", "account storage full", "cid=%s account=%s used=%lld quota=%lld", s->rid, acc->name,
			         (long long)used, (long long)quota);
			return 452;
		}
	}
	return 0;
}

/* Each recipient's outcome into o (t->nrcpt entries); returns how many are delivered. */
static size_t outcomes(struct smtp_session *s, struct conf_domains *dc, int64_t size, struct outcome *o)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	bool ls = localserve_active();
	size_t ok = 0;
	for (size_t i = 0; i < t->nrcpt; i++) {
		const struct smtp_addr *a = &t->rcpts[i].addr;
		struct conf_dest d;
		int rc = (ls ? localserve_dest_lookup : conf_dest_lookup)(dc, a->local, a->local_len, a->domain,
		                                                          a->domain_len, &d);
		if (rc != CONF_DEST_FOUND || !d.account) {
			o[i] = (struct outcome){.code = 451, .text = "4.3.0 recipient no longer configured",
			                        .why = SMTP_MX_RECIPIENT};
			continue;
		}
		o[i] = (struct outcome){.acc = d.account, .mailbox = d.mailbox ? d.mailbox : "Inbox"};
		size_t j = 0;
		while (j < i && o[j].acc != d.account) /* one check per account */
			j++;
		if (j < i) {
			o[i].code = o[j].code;
			o[i].text = o[j].text;
			o[i].why = o[j].why;
		} else {
			o[i].code = account_check(s, dc, d.account, size, &o[i].text, &o[i].why);
		}
		ok += o[i].code == 0;
	}
	return ok;
}

/* Every recipient failed: one reply with the common code, else `multiple errors`. */
static void reply_failures(struct smtp_session *s, const struct outcome *o, size_t n)
{
	bool same = true, perm = false, one_why = true;
	for (size_t i = 0; i < n; i++) {
		same = same && o[i].code == o[0].code;
		perm = perm || o[i].code >= 500;
		one_why = one_why && o[i].why == o[0].why;
	}
	metric_add(smtp_session_metrics.mx[n && one_why ? o[0].why : SMTP_MX_MIXED], 1);
	if (same) {
		smtp_server_reply(s->eng, o[0].code, o[0].text);
		return;
	}
	char lines[SMTP_MX_ERROR_LINES_MAX + 1][SMTP_MX_ERROR_LINE_MAX];
	const char *texts[SMTP_MX_ERROR_LINES_MAX + 1];
	const char *cls = perm ? "5.3.0" : "4.3.0";
	size_t k = 0;
	for (size_t i = 0; i < n && k < SMTP_MX_ERROR_LINES_MAX; i++) {
		char line[SMTP_MX_ERROR_LINE_MAX];
		snprintf(line, sizeof line, "%s %d %s", cls, o[i].code, o[i].text);
		size_t j = 0;
		while (j < k && strcmp(lines[j], line) != 0)
			j++;
		if (j == k) {
			memcpy(lines[k], line, sizeof line);
			texts[k] = lines[k];
			k++;
		}
	}
	snprintf(lines[k], sizeof lines[k], "%s multiple errors", cls);
	texts[k] = lines[k];
	smtp_server_reply_lines(s->eng, perm ? 554 : 451, texts, k + 1);
}

/* The mailbox entries of the delivered recipients, each (account, mailbox) once. */
static struct mailbox_deliveries *entries(const struct outcome *o, size_t n, uint64_t data_id, int dmarc,
                                          struct slice prefix, int64_t size)
{
	struct mailbox_deliveries *l = mailbox_deliveries_new(n);
	l->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (o[i].code)
			continue;
		bool dup = false;
		for (size_t j = 0; j < l->n && !dup; j++)
			dup = strcmp(l->v[j].account, o[i].acc->name) == 0 && strcmp(l->v[j].mailbox, o[i].mailbox) == 0;
		if (dup)
			continue;
		struct mailbox_delivery *e = &l->v[l->n++];
		e->account = xstrdup(o[i].acc->name);
		e->mailbox = xstrdup(o[i].mailbox);
		e->data_id = data_id;
		e->size = size;
		e->flags = dmarc == 1 ? STORE_MF_JUNK : 0;
		buf_init(&e->prefix);
		buf_append(&e->prefix, prefix.p, prefix.len);
	}
	return l;
}

/* The DSNs due (§9, §14) into *q; their data goes into b. */
static void dsns(struct smtp_session *s, const struct outcome *o, size_t n, struct slice prefix,
                 struct store_batch *b, struct queue_add **q)
{
	struct smtp_mx_dsn_rcpt *failed = xcalloc(n, sizeof *failed), *done = xcalloc(n, sizeof *done);
	size_t nf = 0, nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (o[i].code)
			failed[nf++] = (struct smtp_mx_dsn_rcpt){i, o[i].code, o[i].text};
		else
			done[nd++] = (struct smtp_mx_dsn_rcpt){i, 0, NULL};
	}
	if (nf && localserve_active())
		log_info("smtp", "not queueing dsn for incoming delivery due to localserve", "cid=%s failed=%zu", s->rid, nf);
	else if (nf)
		smtp_session_mx_dsn(s, DSN_FAILED, failed, nf, prefix, b, q);
	smtp_session_mx_dsn(s, DSN_DELIVERED, done, nd, prefix, b, q);
	free(failed);
	free(done);
}

/* Keeps the accounts delivered to, for the rate limits once committed. */
static void remember(struct smtp_session *s, const struct mailbox_deliveries *l, int64_t size)
{
	smtp_session_mx_free(s);
	struct smtp_mx *x = xcalloc(1, sizeof *x);
	x->accounts = xcalloc(l->n ? l->n : 1, sizeof *x->accounts);
	x->size = size;
	for (size_t i = 0; i < l->n; i++) {
		bool dup = false;
		for (size_t j = 0; j < x->n && !dup; j++)
			dup = strcmp(x->accounts[j], l->v[i].account) == 0;
		if (!dup)
			x->accounts[x->n++] = xstrdup(l->v[i].account);
	}
	s->mx = x;
}

/* Runs after DKIM, DMARC and iprev. */
static void mx_deliver(struct smtp_session *s)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	struct conf_domains *dc = conf_domains_acquire();
	int dmarc = smtp_session_dmarc_disposition(s);
	if (dmarc == 2 && !all_exempt(t, dc)) {
		conf_domains_release(dc);
		buf_reset(&s->data);
		metric_add(smtp_session_metrics.mx[SMTP_MX_DMARC], 1);
		smtp_server_reply(s->eng, 550, "5.7.1 rejected by dmarc policy");
		return;
	}
	size_t stripped = strip_own_authres(s);
	if (stripped)
		log_info("smtp", "removed authentication-results claiming our host name", "cid=%s n=%zu", s->rid, stripped);
	char *rcpt = t->nrcpt == 1 ? smtp_session_addr_str(&t->rcpts[0].addr) : NULL;
	struct buf prefix;
	buf_init(&prefix);
	smtp_session_authres(s, &prefix);
	smtp_session_received(s, true, rcpt, t->params.requiretls, &prefix);
	free(rcpt);
	int64_t size = (int64_t)(prefix.len + s->data.len);
	struct outcome *o = xcalloc(t->nrcpt ? t->nrcpt : 1, sizeof *o);
	size_t delivered = outcomes(s, dc, size, o);
	if (delivered == 0) {
		reply_failures(s, o, t->nrcpt);
		free(o);
		conf_domains_release(dc);
		buf_free(&prefix);
		buf_reset(&s->data);
		return;
	}
	uint64_t data_id = store_next_id(server_get()->store);
	struct mailbox_deliveries *l = entries(o, t->nrcpt, data_id, dmarc, buf_slice(&prefix), size);
	struct store_batch *b = store_batch_new();
	dsns(s, o, t->nrcpt, buf_slice(&prefix), b, &l->queue);
	free(o);
	conf_domains_release(dc);
	buf_free(&prefix);
	smtp_session_put_data(b, data_id, buf_slice(&s->data), (int32_t)l->n);
	buf_free(&s->data);
	remember(s, l, size);
	s->mx->partial = delivered < t->nrcpt;
	struct mailbox_deliver_req q = {.batch = b, .list = l};
	uint64_t req = smtp_session_wait(s, SW_COMMIT);
	if (MAILBOX_MSG_DELIVER_REQ_send(server_get()->mailbox, &s->a, &q, &(struct actor_send_opts){.req_id = req}) != 0) {
		s->wait = SW_NONE;
		store_batch_free(b);
		mailbox_deliveries_free(l);
		smtp_session_mx_free(s);
		smtp_session_commit_failed(s, -EAGAIN);
	}
}

void smtp_session_on_delivered(struct actor *self, const struct msg *m, const void *payload)
{
	struct smtp_session *s = (struct smtp_session *)self;
	const struct store_commit_res *p = payload;
	if (!smtp_session_wait_done(s, SW_COMMIT, m->req_id))
		return;
	if (p->code == 0) {
		metric_add(smtp_session_metrics.mx[s->mx && s->mx->partial ? SMTP_MX_PARTIAL : SMTP_MX_OK], 1);
		int64_t now = clock_mono_ms();
		for (size_t i = 0; s->mx && i < s->mx->n; i++)
			recvlimit_record(s->mx->accounts[i], &s->peer, s->mx->size, now);
		smtp_server_accept(s->eng);
	} else {
		char q[300];
		log_error("smtp", "local delivery commit failed", "cid=%s code=%lld error=%s", s->rid, (long long)p->code,
		          log_quote(q, sizeof q, p->error));
		smtp_session_commit_failed(s, (int)p->code);
	}
	smtp_session_mx_free(s);
	smtp_session_drive(s);
}

void smtp_session_mx_message(struct smtp_session *s)
{
	smtp_session_verify_start(s, mx_deliver);
}
