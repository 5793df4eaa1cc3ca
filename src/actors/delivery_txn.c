/* Building SMTP client transactions from queue records (see delivery_txn.h).
 *
 * DESIGN: the first open, untried record of the job leads; every other open,
 * untried record that could travel in the same MAIL transaction (same sender,
 * message data, prefix bytes, RET and ENVID, no DSNUTF8 variant) joins it. The
 * transaction borrows the records' strings (the job outlives it on the
 * connection) and owns only what it formats: the envelope addresses, quoted as
 * RFC 5321 needs. The message data is read from the store on demand. */
#include "actors/delivery_txn.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/smtp_addr.h"

static const char *str(const char *s)
{
	return s ? s : "";
}

static char *format_addr(const char *local, const char *domain)
{
	if (!*local && !*domain)
		return xstrdup("");
	struct smtp_addr a = {.local = (char *)local, .local_len = strlen(local),
	                      .domain = (char *)domain, .domain_len = strlen(domain)};
	struct buf b;
	buf_init(&b);
	smtp_addr_format(&a, &b);
	return buf_cstr(&b);
}

static bool open_untried(const struct delivery_job *job, const struct delivery_rec *r)
{
	return r->loaded && !r->settled && (!job->accounted || r->accounted) && !r->tried;
}

static bool same_txn(const struct store_queue_rec *a, const struct store_queue_rec *b)
{
	return a->data_id == b->data_id && a->msg_prefix.len == b->msg_prefix.len &&
	       (a->msg_prefix.len == 0 || memcmp(a->msg_prefix.p, b->msg_prefix.p, a->msg_prefix.len) == 0) &&
	       strcmp(str(a->sender_localpart), str(b->sender_localpart)) == 0 &&
	       strcmp(str(a->sender_domain), str(b->sender_domain)) == 0 &&
	       strcmp(str(a->env_id), str(b->env_id)) == 0 && strcmp(str(a->ret), str(b->ret)) == 0 &&
	       a->require_tls == b->require_tls && a->dsn_utf8.len == 0 && b->dsn_utf8.len == 0;
}

static void add_rcpt(struct delivery_txn *x, struct delivery_job *job, size_t i)
{
	struct delivery_rec *r = &job->recs[i];
	size_t k = x->n++;
	x->idx[k] = i;
	x->addrs[k] = format_addr(str(r->q.recipient_localpart), str(r->q.recipient_domain));
	x->rcpts[k] = (struct smtp_client_rcpt){.addr = x->addrs[k], .notify = r->q.notify, .orcpt = r->q.orcpt};
	r->tried = true;
}

bool delivery_txn_next(struct delivery_txn *x, struct delivery_job *job, const struct smtp_caps *caps,
                       bool per_rcpt, struct store *st)
{
	memset(x, 0, sizeof *x);
	size_t lead = job->n;
	for (size_t i = 0; i < job->n && lead == job->n; i++)
		if (open_untried(job, &job->recs[i]))
			lead = i;
	if (lead == job->n)
		return false;
	const struct store_queue_rec *q = &job->recs[lead].q;
	x->rcpts = xcalloc(job->n - lead, sizeof *x->rcpts);
	x->idx = xcalloc(job->n - lead, sizeof *x->idx);
	x->addrs = xcalloc(job->n - lead, sizeof *x->addrs);
	add_rcpt(x, job, lead);
	for (size_t i = lead + 1; i < job->n && !per_rcpt; i++)
		if (open_untried(job, &job->recs[i]) && same_txn(q, &job->recs[i].q))
			add_rcpt(x, job, i);
	x->mail_from = format_addr(str(q->sender_localpart), str(q->sender_domain));
	struct smtp_client_txn *t = &x->t;
	t->mail_from = x->mail_from;
	t->rcpts = x->rcpts;
	t->nrcpts = x->n;
	t->has8bit = q->has_8bit;
	t->smtputf8 = q->smtputf8;
	t->requiretls = q->require_tls == 1;
	t->ret = q->ret;
	t->envid = q->env_id;
	if (q->dsn_utf8.len && caps->smtputf8 && caps->eightbitmime) {
		/* queue.md §11.5: the UTF-8 DSN to a server that can take it, as a whole message */
		x->utf8_variant = true;
		t->prefix = slice_of(NULL, 0);
		t->has8bit = t->smtputf8 = true;
		delivery_data_init_mem(&x->data, buf_slice(&q->dsn_utf8));
	} else {
		t->prefix = buf_slice(&q->msg_prefix);
		uint64_t size = q->size > (int64_t)q->msg_prefix.len ? (uint64_t)q->size - q->msg_prefix.len : 0;
		delivery_data_init(&x->data, st, q->data_id, size);
	}
	t->data_size = x->data.size;
	t->read_cb = delivery_data_read_cb;
	t->read_ctx = &x->data;
	x->active = true;
	return true;
}

void delivery_txn_clear(struct delivery_txn *x)
{
	if (x->rcpts)
		smtp_client_txn_clear(&x->t);
	for (size_t i = 0; i < x->n; i++)
		free(x->addrs[i]);
	free(x->addrs);
	free(x->rcpts);
	free(x->idx);
	free(x->mail_from);
	delivery_data_free(&x->data);
	memset(x, 0, sizeof *x);
}
