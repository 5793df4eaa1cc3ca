/* End of data: submission queueing (smtp.md §13), and the helpers the MX side
 * (smtp_session_mx.c, local delivery, §14) shares with it.
 *
 * DESIGN: the message bytes are written once as msgdata (64 KiB chunks) into a
 * store batch that also carries everything the "250" depends on; the batch
 * goes to the single writer of the records it needs — the mailbox store for
 * MX deliveries, the queue for submissions — which commits it with sync
 * through the group committer and answers. Only then does the engine send the
 * final 250; on any failure it sends a 4xx and nothing is kept. Per-record
 * headers (Received, and Message-Id/Date when missing) go into the records'
 * prefix, so the client's bytes are stored exactly as sent. */
#include "actors/smtp_session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/dkim_keys.h"
#include "actors/localserve_runtime.h"
#include "actors/queue.h"
#include "actors/sendlimit.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/extra.h"
#include "proto/msgid.h"
#include "proto/received.h"
#include "proto/rfc2047.h"
#include "proto/rfc5322.h"
#include "proto/rfc5322_addr.h"
#include "proto/tls.h"
#include "store/store.h"
#include "store/store_msgdata.h"

void smtp_session_put_data(struct store_batch *b, uint64_t data_id, struct slice data, int32_t refs)
{
	uint32_t chunk = 0;
	for (size_t off = 0; off < data.len || chunk == 0; off += STORE_CHUNK_SIZE, chunk++) {
		size_t n = data.len - off < STORE_CHUNK_SIZE ? data.len - off : STORE_CHUNK_SIZE;
		store_msgdata_put(b, data_id, chunk, slice_of(data.p + off, n));
		if (data.len == 0)
			break;
	}
	struct store_datameta meta = {.size = (int64_t)data.len, .chunks = (int32_t)(chunk ? chunk : 1), .refs = refs};
	store_msgdata_commit(b, data_id, &meta);
}

void smtp_session_received(struct smtp_session *s, bool mx, const char *rcpt, bool requiretls, struct buf *out)
{
	char local[NETADDR_STRLEN];
	netaddr_format(&s->ep->addr, local);
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	struct tls_conn *tc = s->nc.tls;
	bool tls = tc && tls_conn_established(tc);
	struct received_info ri = {
		.kind = mx ? RECEIVED_MX : RECEIVED_SUBMISSION,
		.hostname = {.ascii = s->ep->l->hostname},
		.ehlo = {.ascii = smtp_server_ehlo_name(s->eng)},
		.ptr = mx ? smtp_session_ptr_name(s) : NULL,
		.client_ip = s->peer_str,
		.local_ip = netaddr_is_unspecified(&s->ep->addr) ? NULL : local,
		.helo = !smtp_server_esmtp(s->eng),
		.smtputf8 = t->params.smtputf8,
		.tls = tls,
		.auth = smtp_server_authenticated(s->eng),
		.requiretls = requiretls,
		.tls_version = tls ? tls_conn_version(tc) : NULL,
		.tls_cipher = tls ? tls_conn_cipher(tc) : NULL,
		.id = s->rid,
		.rcpt = rcpt,
		.now_ms = clock_wall_ms(),
	};
	received_compose(&ri, out);
}

char *smtp_session_addr_str(const struct smtp_addr *a)
{
	if (a->null)
		return xstrdup("");
	struct buf b;
	buf_init(&b);
	rfc5322_addr_put_localpart(&b, a->local);
	if (a->domain_len) {
		buf_putc(&b, '@');
		buf_append(&b, a->domain, a->domain_len);
	}
	return buf_cstr(&b);
}

void smtp_session_commit_failed(struct smtp_session *s, int code)
{
	struct smtp_session_metrics *m = &smtp_session_metrics;
	metric_add(m->errors[SMTP_ERR_COMMIT], 1);
	metric_add(s->ep->svc == SMTP_SVC_MX ? m->mx[SMTP_MX_COMMIT] : m->sub[SMTP_SUB_COMMIT], 1);
	if (code == -ENOSPC)
		smtp_server_reply(s->eng, 452, "4.3.1 insufficient system storage");
	else
		smtp_server_reply(s->eng, 451, "4.3.0 error storing message");
}

/* ============================= submission ============================= */

/* Per-message facts gathered by the checks, used to build the records. */
struct sub {
	struct rfc5322_split split;
	struct rfc5322_addr from;
	struct extra extra;
	int require_tls;
	char *message_id, *subject;
	struct buf prefix_tail; /* Message-Id / Date added when missing */
	bool has8bit;
	const char *fromid_sep; /* FromID sending: separator to use */
	char *fromid_client;    /* FromID given by the client in MAIL FROM */
};

static void sub_free(struct sub *x)
{
	rfc5322_addr_free(&x->from);
	extra_free(&x->extra);
	free(x->message_id);
	free(x->subject);
	free(x->fromid_client);
	buf_free(&x->prefix_tail);
}

/* smtp.md §13 steps 2-8 and 10; returns SMTP_SUB_OK (0), or replies with the error and
 * returns the failure's enum smtp_sub_result. */
static int sub_checks(struct smtp_session *s, struct conf_domains *dc, struct sub *x)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	struct slice msg = buf_slice(&s->data);
	if (rfc5322_split(msg, &x->split) != 0 ||
	    rfc5322_addr_from(x->split.header, t->params.smtputf8 ? RFC5322_ADDR_UTF8 : 0, &x->from) != 0) {
		smtp_server_reply(s->eng, 550, "5.6.0 cannot parse header or From address");
		return SMTP_SUB_BADMESSAGE;
	}
	const struct conf_domain *fd = conf_domain_get(dc, x->from.domain, strlen(x->from.domain));
	if (fd && fd->disabled) {
		smtp_server_reply(s->eng, 451, "4.3.0 domain of message from header is temporarily disabled");
		return SMTP_SUB_DISABLED;
	}
	const struct conf_account *acc = conf_account_get(dc, s->account ? s->account : "");
	if (smtp_server_authenticated(s->eng)) {
		if (!acc || !conf_account_has_login(dc, acc, x->from.localpart, strlen(x->from.localpart), x->from.domain,
		                                    strlen(x->from.domain), true)) {
			smtp_server_reply(s->eng, 550, "5.7.1 message from address must belong to authenticated user");
			return SMTP_SUB_BADFROM;
		}
	} else if (!s->ep->l->submission.relay_any_sender && !fd) {
		smtp_server_reply(s->eng, 550, "5.7.1 relaying denied for sender domain");
		return SMTP_SUB_BADFROM;
	}
	struct rfc5322_field f;
	if (rfc5322_find(x->split.header, "Return-Path", &f)) {
		smtp_server_reply(s->eng, 550, "5.6.0 message should not have Return-Path header");
		return SMTP_SUB_BADMESSAGE;
	}
	struct buf err;
	buf_init(&err);
	if (extra_parse(x->split.header, &x->extra, &err) != 0) {
		char text[600];
		snprintf(text, sizeof text, "5.6.0 %s", buf_cstr(&err));
		buf_free(&err);
		smtp_server_reply(s->eng, 554, text);
		return SMTP_SUB_BADMESSAGE;
	}
	buf_free(&err);
	if (acc) {
		char why[300];
		if (sendlimit_check(acc, t, why, sizeof why) != 0) {
			smtp_server_reply(s->eng, 451, why);
			return SMTP_SUB_SENDLIMIT;
		}
	}
	extra_require_tls(x->split.header, t->params.requiretls, &x->require_tls);
	/* FromID (§13 step 10): only for authenticated logins listed in FromIDLoginAddresses. */
	if (acc && smtp_server_authenticated(s->eng) && !t->from.null) {
		char *mf = smtp_session_addr_str(&t->from);
		const char *sep = NULL;
		/* The configured login address is the MAIL FROM without its catch-all suffix. */
		char *base = xstrdup(mf);
		const struct conf_domain *md = conf_domain_get(dc, t->from.domain, t->from.domain_len);
		char *at = strrchr(base, '@');
		for (size_t i = 0; md && at && i < md->nseps; i++) {
			char *cut = strstr(base, md->seps[i]);
			if (cut && cut < at) {
				free(x->fromid_client);
				x->fromid_client = xstrndup(cut + strlen(md->seps[i]), (size_t)(at - cut) - strlen(md->seps[i]));
				memmove(cut, at, strlen(at) + 1);
				break;
			}
		}
		if (conf_account_fromid_sep(dc, acc, base, &sep)) {
			x->fromid_sep = sep;
			if (x->fromid_client && t->nrcpt > 1) {
				free(mf);
				free(base);
				smtp_server_reply(s->eng, 554, "5.5.3 cannot send to multiple recipients with chosen fromid");
				return SMTP_SUB_FROMID;
			}
		} else {
			free(x->fromid_client);
			x->fromid_client = NULL;
		}
		free(mf);
		free(base);
	}
	return 0;
}

static char *header_value(struct slice header, const char *name, bool decode)
{
	struct rfc5322_field f;
	if (!rfc5322_find(header, name, &f))
		return NULL;
	struct buf u, d;
	buf_init(&u);
	rfc5322_unfold(f.value, true, &u);
	if (!decode)
		return buf_cstr(&u);
	buf_init(&d);
	rfc2047_decode(buf_slice(&u), &d);
	buf_free(&u);
	return buf_cstr(&d);
}

static void sub_facts(struct smtp_session *s, struct sub *x)
{
	const char *host = s->ep->l->hostname;
	buf_init(&x->prefix_tail);
	x->message_id = header_value(x->split.header, "Message-Id", false);
	if (!x->message_id) {
		struct buf id;
		buf_init(&id);
		msgid_new(host, &id);
		x->message_id = buf_cstr(&id);
		buf_printf(&x->prefix_tail, "Message-Id: %s\r\n", x->message_id);
	}
	struct rfc5322_field f;
	if (!rfc5322_find(x->split.header, "Date", &f)) {
		char d[40];
		buf_printf(&x->prefix_tail, "Date: %s\r\n", clock_rfc5322(d, clock_wall_ms()));
	}
	x->subject = header_value(x->split.header, "Subject", true);
	for (size_t i = 0; i < s->data.len && !x->has8bit; i++)
		x->has8bit = s->data.p[i] >= 0x80;
}

char *smtp_session_notify_str(unsigned n)
{
	if (!n)
		return xstrdup("");
	if (n & SMTP_NOTIFY_NEVER)
		return xstrdup("NEVER");
	struct buf b;
	buf_init(&b);
	if (n & SMTP_NOTIFY_SUCCESS)
		buf_puts(&b, "SUCCESS,");
	if (n & SMTP_NOTIFY_FAILURE)
		buf_puts(&b, "FAILURE,");
	if (n & SMTP_NOTIFY_DELAY)
		buf_puts(&b, "DELAY,");
	if (b.len)
		b.len--;
	return buf_cstr(&b);
}

static void fill_rec(struct smtp_session *s, struct sub *x, size_t i, const char *postmaster, uint64_t data_id,
                     struct store_queue_rec *r)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	const struct smtp_server_rcpt *rc = &t->rcpts[i];
	r->sender_account = xstrdup(t->from.null ? postmaster : s->account);
	if (t->from.null) {
		r->sender_localpart = xstrdup("");
		r->sender_domain = xstrdup("");
	} else if (x->fromid_sep) {
		char *lp = xstrndup(t->from.local, t->from.local_len);
		char *cut = strstr(lp, x->fromid_sep);
		if (cut)
			*cut = 0;
		char rnd[MSGID_RANDOM_LEN + 1];
		if (!x->fromid_client)
			msgid_random(rnd);
		r->from_id = xstrdup(x->fromid_client ? x->fromid_client : rnd);
		r->sender_localpart = xasprintf("%s%s%s", lp, x->fromid_sep, r->from_id);
		free(lp);
		r->sender_domain = xstrndup(t->from.domain, t->from.domain_len);
	} else {
		r->sender_localpart = xstrndup(t->from.local, t->from.local_len);
		r->sender_domain = xstrndup(t->from.domain, t->from.domain_len);
	}
	r->recipient_localpart = xstrndup(rc->addr.local, rc->addr.local_len);
	r->recipient_domain = xstrndup(rc->addr.domain, rc->addr.domain_len);
	r->has_8bit = x->has8bit;
	r->smtputf8 = t->from.utf8 || rc->addr.utf8;
	r->message_id = xstrdup(x->message_id);
	r->subject = xstrdup(x->subject ? x->subject : "");
	r->require_tls = (int8_t)x->require_tls;
	r->env_id = t->params.has_envid ? slice_strdup(buf_slice(&t->params.envid)) : xstrdup("");
	r->ret = xstrdup(t->params.ret == SMTP_RET_FULL ? "FULL" : t->params.ret == SMTP_RET_HDRS ? "HDRS" : "");
	r->notify = smtp_session_notify_str(rc->params.notify);
	if (rc->params.has_orcpt)
		r->orcpt = xasprintf("%s;%.*s", rc->params.orcpt_type, (int)rc->params.orcpt.len, (const char *)rc->params.orcpt.p);
	else
		r->orcpt = xstrdup("");
	r->data_id = data_id;
	if (t->params.has_holdfor) {
		r->next_attempt = clock_wall_ms() + (int64_t)t->params.holdfor_s * 1000;
		r->future_release_request = xasprintf("for;%llu", (unsigned long long)t->params.holdfor_s);
	} else if (t->params.has_holduntil) {
		char ts[32];
		r->next_attempt = t->params.holduntil_ms;
		r->future_release_request = xasprintf("until;%s", clock_rfc3339(ts, t->params.holduntil_ms));
	} else {
		r->future_release_request = xstrdup("");
	}
	r->extra.n = (uint32_t)x->extra.n;
	r->extra.v = x->extra.n ? xcalloc(x->extra.n, sizeof *r->extra.v) : NULL;
	for (size_t k = 0; k < x->extra.n; k++) {
		r->extra.v[k].k = xstrdup(x->extra.v[k].key);
		r->extra.v[k].v = xstrdup(x->extra.v[k].value);
	}
	r->transport = xstrdup("");
}

/* DKIM-signs the message as it will be delivered (added headers + data) for the From domain. */
static int dkim_sign_submission(const struct sub *x, const struct buf *data, struct buf *prefix)
{
	struct conf_domains *dc = conf_domains_acquire();
	const struct conf_domain *dom = conf_domain_get(dc, x->from.domain, strlen(x->from.domain));
	int r = 0;
	if (dom && dom->dkim && dom->dkim->sign.n) {
		struct buf whole;
		buf_init(&whole);
		struct slice msg = buf_slice(data);
		if (x->prefix_tail.len) {
			buf_append(&whole, x->prefix_tail.p, x->prefix_tail.len);
			buf_append(&whole, data->p, data->len);
			msg = buf_slice(&whole);
		}
		r = dkim_keys_sign(dom, msg, prefix) < 0 ? -1 : 0;
		buf_free(&whole);
	}
	conf_domains_release(dc);
	return r;
}

static void submission_message(struct smtp_session *s)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	struct conf_domains *dc = conf_domains_acquire();
	struct sub x;
	memset(&x, 0, sizeof x);
	x.require_tls = -1;
	int bad = sub_checks(s, dc, &x);
	if (bad != SMTP_SUB_OK) {
		metric_add(smtp_session_metrics.sub[bad], 1);
		conf_domains_release(dc);
		sub_free(&x);
		buf_reset(&s->data);
		return;
	}
	conf_domains_release(dc);
	sub_facts(s, &x);
	char *rcpt = t->nrcpt == 1 ? smtp_session_addr_str(&t->rcpts[0].addr) : NULL;
	struct buf prefix;
	buf_init(&prefix);
	smtp_session_received(s, false, rcpt, t->params.requiretls, &prefix);
	free(rcpt);
	if (dkim_sign_submission(&x, &s->data, &prefix) != 0) {
		buf_free(&prefix);
		sub_free(&x);
		buf_reset(&s->data);
		metric_add(smtp_session_metrics.sub[SMTP_SUB_DKIMSIGN], 1);
		metric_add(smtp_session_metrics.errors[SMTP_ERR_DKIMSIGN], 1);
		smtp_server_reply(s->eng, 451, "4.3.0 error signing message");
		return;
	}
	buf_append(&prefix, x.prefix_tail.p, x.prefix_tail.len);
	uint64_t data_id = store_next_id(server_get()->store);
	struct queue_add *add = queue_add_new(t->nrcpt);
	const char *postmaster = server_get()->st->postmaster.account;
	for (size_t i = 0; i < t->nrcpt; i++) {
		struct store_queue_rec *r = &add->recs[i];
		fill_rec(s, &x, i, postmaster, data_id, r);
		buf_append(&r->msg_prefix, prefix.p, prefix.len);
		r->size = (int64_t)(prefix.len + s->data.len);
	}
	buf_free(&prefix);
	sub_free(&x);
	struct store_batch *b = store_batch_new();
	smtp_session_put_data(b, data_id, buf_slice(&s->data), (int32_t)t->nrcpt);
	buf_free(&s->data);
	struct queue_add_req q = {.batch = b, .recs = add};
	uint64_t req = smtp_session_wait(s, SW_COMMIT);
	if (QUEUE_MSG_ADD_REQ_send(server_get()->queue, &s->a, &q, &(struct actor_send_opts){.req_id = req}) != 0) {
		s->wait = SW_NONE;
		store_batch_free(b);
		queue_add_free(add);
		smtp_session_commit_failed(s, -EAGAIN);
	}
}

void smtp_session_on_queued(struct actor *self, const struct msg *m, const void *payload)
{
	struct smtp_session *s = (struct smtp_session *)self;
	const struct queue_add_res *p = payload;
	if (!smtp_session_wait_done(s, SW_COMMIT, m->req_id))
		return;
	if (p->code == 0) {
		metric_add(smtp_session_metrics.sub[SMTP_SUB_OK], 1);
		/* Counted only now: a failed commit uses up none of the send limits. */
		struct conf_domains *dc = conf_domains_acquire();
		const struct conf_account *acc = conf_account_get(dc, s->account ? s->account : "");
		if (acc)
			sendlimit_record(acc, smtp_server_txn(s->eng));
		conf_domains_release(dc);
		smtp_server_accept(s->eng);
	} else if (p->smtp_code >= 400 && p->error.len) {
		char text[1100];
		snprintf(text, sizeof text, "%.*s", (int)p->error.len, (const char *)p->error.p);
		metric_add(smtp_session_metrics.sub[SMTP_SUB_QUEUE], 1);
		smtp_server_reply(s->eng, (int)p->smtp_code, text);
	} else {
		log_error("smtp", "queue commit failed", "cid=%s code=%lld", s->rid, (long long)p->code);
		smtp_session_commit_failed(s, (int)p->code);
	}
	smtp_session_drive(s);
}

void smtp_session_message(struct smtp_session *s)
{
	buf_reset(&s->data);
	smtp_server_take_message(s->eng, &s->data);
	if (!smtp_session_disk_ok(s)) {
		struct smtp_session_metrics *m = &smtp_session_metrics;
		metric_add(s->ep->svc == SMTP_SVC_MX ? m->mx[SMTP_MX_STORAGE] : m->sub[SMTP_SUB_STORAGE], 1);
		buf_reset(&s->data);
		smtp_server_reply(s->eng, 452, "4.3.1 insufficient system storage");
		return;
	}
	/* localserve: a special recipient answers for the whole transaction (localserve.md §5). */
	if (localserve_active() && smtp_session_localserve_data(s))
		return;
	if (s->ep->svc == SMTP_SVC_MX)
		smtp_session_mx_message(s);
	else
		submission_message(s);
}
