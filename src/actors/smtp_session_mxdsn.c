/* DSNs about incoming (MX) mail (smtp.md §9, §14): the `delivered` DSN for
 * recipients with NOTIFY=SUCCESS and the failure DSN for recipients that
 * failed after the data was accepted, both to the MAIL FROM address.
 *
 * DESIGN: a DSN about incoming mail is mailed like any other message: it
 * becomes one queue record (null reverse path, SenderAccount = the
 * postmaster account) whose message data goes into the same store batch as
 * the mailbox entries it reports on, so the DSN exists exactly when the
 * delivery was committed (the mailbox store hands that batch to the queue).
 * The message is composed by proto/dsn with the MX variant (From:
 * postmaster@<recipient domain>, Received-From-MTA) and DKIM-signed with that
 * domain's DKIM.Sign selectors; when a UTF-8 variant is needed it is stored,
 * signed separately, as the record's DSNUTF8. RequireTLS is inherited from
 * the original's REQUIRETLS. */
#include "actors/smtp_session_int.h"

#include <stdlib.h>
#include <string.h>

#include "actors/dkim_keys.h"
#include "actors/queue.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/dsn.h"
#include "proto/rfc5322.h"
#include "store/store.h"
#include "store/store_msgdata.h"

/* Whether a recipient's NOTIFY asks for a DSN of kind (no NOTIFY means FAILURE,DELAY). */
static bool wanted(unsigned notify, int kind)
{
	if (notify & SMTP_NOTIFY_NEVER)
		return false;
	if (kind == DSN_DELIVERED)
		return notify & SMTP_NOTIFY_SUCCESS;
	return notify == 0 || (notify & SMTP_NOTIFY_FAILURE);
}

/* The original for the DSN's third part: Tern's headers, then all of the data when it may
 * be returned whole (RET=FULL, small enough, no REQUIRETLS), else its header section. */
static void original(struct smtp_session *s, struct slice prefix, bool full, struct buf *out)
{
	buf_append(out, prefix.p, prefix.len);
	struct rfc5322_split sp;
	if (full || rfc5322_split(buf_slice(&s->data), &sp) != 0)
		buf_append(out, s->data.p, full ? s->data.len : 0);
	else
		buf_append(out, sp.header.p, sp.header.len);
}

/* Appends to out the DKIM signatures of msg for domain (0 when it signs nothing); -1 on failure. */
static int sign(const char *domain, struct slice msg, struct buf *out)
{
	struct conf_domains *dc = conf_domains_acquire();
	const struct conf_domain *dom = conf_domain_get(dc, domain, strlen(domain));
	int r = dom && dom->dkim && dom->dkim->sign.n ? dkim_keys_sign(dom, msg, out) : 0;
	conf_domains_release(dc);
	if (r < 0)
		metric_add(smtp_session_metrics.errors[SMTP_ERR_DKIMSIGN], 1);
	return r < 0 ? -1 : 0;
}

static char *header_copy(struct slice msg, const char *name)
{
	struct rfc5322_split sp;
	struct rfc5322_field f;
	if (rfc5322_split(msg, &sp) != 0 || !rfc5322_find(sp.header, name, &f))
		return xstrdup("");
	struct buf b;
	buf_init(&b);
	rfc5322_unfold(f.value, true, &b);
	return buf_cstr(&b);
}

static struct store_queue_rec *new_rec(struct queue_add **q)
{
	if (!*q)
		*q = queue_add_new(0);
	struct queue_add *a = *q;
	a->recs = xrealloc(a->recs, (a->n + 1) * sizeof *a->recs);
	struct store_queue_rec *r = &a->recs[a->n++];
	memset(r, 0, sizeof *r);
	r->require_tls = -1;
	return r;
}

/* Fills the record of a composed DSN (ascii, and utf8 when not empty) and puts its data into b. */
static void fill(struct smtp_session *s, struct buf *ascii, struct buf *utf8, struct buf *sig,
                 struct store_batch *b, struct queue_add **q)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	struct store_queue_rec *r = new_rec(q);
	r->sender_account = xstrdup(server_get()->st->postmaster.account);
	r->sender_localpart = xstrdup("");
	r->sender_domain = xstrdup("");
	r->recipient_localpart = xstrndup(t->from.local, t->from.local_len);
	r->recipient_domain = xstrndup(t->from.domain, t->from.domain_len);
	for (size_t i = 0; i < ascii->len && !r->has_8bit; i++)
		r->has_8bit = ascii->p[i] >= 0x80;
	r->smtputf8 = t->from.utf8;
	r->message_id = header_copy(buf_slice(ascii), "Message-Id");
	r->subject = header_copy(buf_slice(ascii), "Subject");
	r->require_tls = t->params.requiretls ? 1 : -1;
	r->env_id = xstrdup("");
	r->ret = xstrdup("");
	r->notify = xstrdup("");
	r->orcpt = xstrdup("");
	r->future_release_request = xstrdup("");
	r->transport = xstrdup("");
	r->data_id = store_next_id(server_get()->store);
	r->msg_prefix = *sig;
	buf_init(sig);
	r->size = (int64_t)(r->msg_prefix.len + ascii->len);
	if (utf8->len) {
		r->dsn_utf8 = *utf8;
		buf_init(utf8);
	}
	smtp_session_put_data(b, r->data_id, buf_slice(ascii), 1);
}

/* One recipient block: the address, ORCPT, and for a failure the enhanced code without
 * its class (the class follows the DSN kind) and the words of the reply text. */
struct block {
	char *addr;
	char *orcpt;
	char secode[12];
};

static void block_fill(const struct smtp_server_rcpt *rc, const struct smtp_mx_dsn_rcpt *r, struct block *bk,
                       struct dsn_rcpt *d)
{
	bk->addr = smtp_session_addr_str(&rc->addr);
	if (rc->params.has_orcpt)
		bk->orcpt = xasprintf("%s;%.*s", rc->params.orcpt_type, (int)rc->params.orcpt.len,
		                      (const char *)rc->params.orcpt.p);
	d->recipient = bk->addr;
	d->orcpt = bk->orcpt;
	const char *text = r->text, *sp = text ? strchr(text, ' ') : NULL;
	if (sp && text[0] >= '2' && text[0] <= '5' && text[1] == '.' && (size_t)(sp - text - 2) < sizeof bk->secode) {
		memcpy(bk->secode, text + 2, (size_t)(sp - text - 2));
		d->secode = bk->secode;
		d->error = sp + 1;
	} else if (text) {
		d->error = text;
	}
}

bool smtp_session_mx_dsn(struct smtp_session *s, int kind, const struct smtp_mx_dsn_rcpt *rs, size_t n,
                         struct slice prefix, struct store_batch *b, struct queue_add **q)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	if (t->from.null || n == 0)
		return false; /* nothing is ever sent to <> (badinput #24, #81) */
	struct dsn_rcpt *dr = xcalloc(n, sizeof *dr);
	struct block *bk = xcalloc(n, sizeof *bk);
	size_t k = 0;
	char *rdomain = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct smtp_server_rcpt *rc = &t->rcpts[rs[i].rcpt];
		if (!wanted(rc->params.notify, kind))
			continue;
		if (!rdomain && rc->addr.domain_len)
			rdomain = xstrndup(rc->addr.domain, rc->addr.domain_len);
		block_fill(rc, &rs[i], &bk[k], &dr[k]);
		k++;
	}
	bool made = false;
	if (k > 0) {
		const char *host = s->ep->l->hostname;
		char *mail_from = smtp_session_addr_str(&t->from);
		bool full = t->params.ret == SMTP_RET_FULL && !t->params.requiretls &&
		            prefix.len + s->data.len <= DSN_FULL_MAX;
		struct buf orig, ascii, utf8, sig;
		buf_init(&orig);
		buf_init(&ascii);
		buf_init(&utf8);
		buf_init(&sig);
		original(s, prefix, full, &orig);
		char *msgid = header_copy(buf_slice(&orig), "Message-Id");
		char *envid = t->params.has_envid ? slice_strdup(buf_slice(&t->params.envid)) : NULL;
		struct dsn_mx mx = {.rcpt_domain = rdomain ? rdomain : host, .client_ehlo = smtp_server_ehlo_name(s->eng),
		                    .client_ip = s->peer_str};
		int64_t now = clock_wall_ms();
		struct dsn_msg m = {
			.kind = kind, .hostname = host, .now_ms = now, .mail_from = mail_from,
			.message_id = *msgid ? msgid : NULL, .arrival_ms = now,
			.envid = envid,
			.ret_full = full, .smtputf8 = t->params.smtputf8, .requiretls = t->params.requiretls,
			.original = buf_slice(&orig), .original_size = (uint64_t)(prefix.len + s->data.len),
			.rcpts = dr, .nrcpts = k, .mx = &mx,
		};
		if (dsn_compose_pair(&m, &ascii, &utf8) == 0) {
			/* An unsigned DSN is better than none: a signing failure is logged by dkim_keys. */
			if (sign(mx.rcpt_domain, buf_slice(&ascii), &sig) != 0)
				buf_reset(&sig);
			struct buf usig;
			buf_init(&usig);
			if (utf8.len && sign(mx.rcpt_domain, buf_slice(&utf8), &usig) == 0 && usig.len) {
				buf_append(&usig, utf8.p, utf8.len);
				buf_free(&utf8);
				utf8 = usig;
				buf_init(&usig);
			}
			buf_free(&usig);
			fill(s, &ascii, &utf8, &sig, b, q);
			made = true;
			log_info("smtp", "dsn about incoming message queued", "cid=%s kind=%s recipients=%zu", s->rid,
			         kind == DSN_DELIVERED ? "delivered" : "failed", k);
		} else {
			log_error("smtp", "cannot make dsn about incoming message", "cid=%s", s->rid);
			metric_add(smtp_session_metrics.errors[SMTP_ERR_QUEUEDSN], 1);
		}
		free(msgid);
		free(envid);
		free(mail_from);
		buf_free(&orig);
		buf_free(&ascii);
		buf_free(&utf8);
		buf_free(&sig);
	}
	for (size_t i = 0; i < k; i++) {
		free(bk[i].addr);
		free(bk[i].orcpt);
	}
	free(bk);
	free(dr);
	free(rdomain);
	return made;
}
