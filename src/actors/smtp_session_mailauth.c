/* Message authentication in MX sessions: SPF at MAIL, DKIM, DMARC and iprev at
 * the end of data, and the Authentication-Results header (smtp.md §3, §14).
 *
 * DESIGN: the engines (proto/spf, dkim_verify, dmarc) are resumable: each step
 * either finishes or names one DNS question. The session asks the resolver
 * through authdns (one question at a time, SW_AUTHDNS wait) and feeds the
 * reply back, moving through the stages SPF -> (end of data) DKIM -> DMARC ->
 * iprev (PTR, then the forward lookup). A temporary DNS failure gives the
 * engine's temperror result; it never blocks the session beyond the
 * resolver's own timeouts. */
#include "actors/smtp_session_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "actors/authdns.h"
#include "actors/localserve_runtime.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/authres.h"
#include "proto/dkim_verify.h"
#include "proto/dns_result.h"
#include "proto/dmarc.h"
#include "proto/rfc5322.h"
#include "proto/rfc5322_addr.h"
#include "proto/spf.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

enum ma_stage { MA_IDLE, MA_SPF, MA_DKIM, MA_DMARC, MA_PTR, MA_FWD };

struct smtp_mailauth {
	enum ma_stage stage;
	struct mailauth_dns_query q;
	struct spf_eval *spf;
	enum spf_result spf_res;
	char *spf_domain;        /* domain SPF was checked for */
	bool spf_done;
	struct dkim_verify *dkim;
	struct dmarc_eval *dmarc;
	char *from_domain;
	struct dkim_result *dkim_res; /* copies for DMARC, which borrows them while it runs */
	char ptr_name[MAILAUTH_NAME_MAX + 1];
	const char *iprev;       /* pass, fail, temperror */
	void (*done)(struct smtp_session *s);
};

static struct dmarc_psl *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void psl_load(void)
{
	psl = dmarc_psl_load(PSL_PATH);
	if (!psl)
		log_info("smtp", "public suffix list not found; DMARC uses the last two labels", "path=%s", PSL_PATH);
}

static struct smtp_mailauth *ma_of(struct smtp_session *s)
{
	if (!s->ma)
		s->ma = xcalloc(1, sizeof *s->ma);
	return s->ma;
}

void smtp_session_mailauth_reset(struct smtp_session *s)
{
	struct smtp_mailauth *ma = s->ma;
	if (!ma)
		return;
	spf_eval_free(ma->spf);
	dkim_verify_free(ma->dkim);
	dmarc_eval_free(ma->dmarc);
	free(ma->spf_domain);
	free(ma->from_domain);
	free(ma->dkim_res);
	free(ma);
	s->ma = NULL;
}

bool smtp_session_spf_pass(const struct smtp_session *s)
{
	return s->ma && s->ma->spf_done && s->ma->spf_res == SPF_PASS;
}

static void step(struct smtp_session *s, int r);

/* Asks the resolver for the engine's question; a send failure is a TEMPFAIL answer.
 * localserve answers from its mock DNS instead, at once (localserve.md §3). */
static void ask(struct smtp_session *s)
{
	if (localserve_active()) {
		smtp_session_localserve_dns(s, &s->ma->q);
		return;
	}
	uint64_t req = smtp_session_wait(s, SW_AUTHDNS);
	if (authdns_send(server_get()->resolver, &s->a, &s->ma->q, req) == 0)
		return;
	s->wait = SW_NONE;
	struct authdns_answer a;
	authdns_tempfail(&a);
	smtp_session_on_authdns_answer(s, &a.a);
}

/* ---- SPF (MAIL) ---- */

void smtp_session_spf_start(struct smtp_session *s, void (*done)(struct smtp_session *s))
{
	struct smtp_mailauth *ma = ma_of(s);
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	const char *helo = smtp_server_ehlo_name(s->eng);
	spf_eval_free(ma->spf);
	free(ma->spf_domain);
	ma->spf_done = false;
	ma->done = done;
	char sender[600];
	if (t->from.null) {
		ma->spf_domain = xstrdup(helo ? helo : "");
		snprintf(sender, sizeof sender, "postmaster@%s", ma->spf_domain);
	} else {
		ma->spf_domain = xstrndup(t->from.domain, t->from.domain_len);
		snprintf(sender, sizeof sender, "%.*s@%s", (int)t->from.local_len, t->from.local, ma->spf_domain);
	}
	struct spf_request rq = {.domain = ma->spf_domain, .sender = sender, .helo = helo ? helo : "",
	                         .receiver = s->ep->l->hostname, .now = clock_wall_ms() / 1000};
	if (spf_ip_parse(s->peer_str, &rq.ip) != 0 || ma->spf_domain[0] == '[' || !ma->spf_domain[0]) {
		ma->spf_res = SPF_NONE;
		ma->spf_done = true;
		done(s);
		return;
	}
	ma->spf = spf_eval_new(&rq);
	ma->stage = MA_SPF;
	step(s, spf_eval_start(ma->spf, &ma->q));
}

/* ---- end of data: DKIM, DMARC, iprev ---- */

void smtp_session_verify_start(struct smtp_session *s, void (*done)(struct smtp_session *s))
{
	pthread_once(&psl_once, psl_load);
	struct smtp_mailauth *ma = ma_of(s);
	ma->done = done;
	dkim_verify_free(ma->dkim);
	ma->dkim = dkim_verify_new(clock_wall_ms() / 1000);
	ma->stage = MA_DKIM;
	step(s, dkim_verify_start(ma->dkim, buf_slice(&s->data), &ma->q));
}

static void start_dmarc(struct smtp_session *s)
{
	struct smtp_mailauth *ma = s->ma;
	struct rfc5322_split sp;
	struct rfc5322_addr from = {0};
	free(ma->from_domain);
	ma->from_domain = NULL;
	if (rfc5322_split(buf_slice(&s->data), &sp) == 0 && rfc5322_addr_from(sp.header, RFC5322_ADDR_UTF8, &from) == 0)
		ma->from_domain = xstrdup(from.domain);
	rfc5322_addr_free(&from);
	size_t n = dkim_verify_count(ma->dkim);
	free(ma->dkim_res);
	ma->dkim_res = xcalloc(n ? n : 1, sizeof *ma->dkim_res);
	for (size_t i = 0; i < n; i++)
		ma->dkim_res[i] = *dkim_verify_result(ma->dkim, i);
	uint8_t roll = 0;
	if (getrandom(&roll, 1, 0) != 1)
		roll = 0;
	struct dmarc_input in = {.from_domain = ma->from_domain, .dkim = ma->dkim_res, .ndkim = n,
	                         .spf = ma->spf_done ? ma->spf_res : SPF_NONE, .spf_domain = ma->spf_domain,
	                         .pct_roll = roll % 100, .psl = psl};
	dmarc_eval_free(ma->dmarc);
	ma->dmarc = dmarc_eval_new(&in);
	ma->stage = MA_DMARC;
	step(s, dmarc_eval_start(ma->dmarc, &ma->q));
}

static void start_iprev(struct smtp_session *s)
{
	struct smtp_mailauth *ma = s->ma;
	ma->stage = MA_PTR;
	ma->iprev = "temperror";
	ma->q.type = MAILAUTH_DNS_PTR;
	_Static_assert(sizeof ma->q.name >= DNS_NAME_MAX + 1, "dns_name_reverse writes DNS_NAME_MAX + 1 bytes");
	dns_name_reverse(s->peer.a, s->peer.family == 4 ? 4 : 16, ma->q.name);
	ask(s);
}

static void iprev_answer(struct smtp_session *s, const struct mailauth_dns_answer *a)
{
	struct smtp_mailauth *ma = s->ma;
	if (ma->stage == MA_PTR) {
		if (a->status == MAILAUTH_DNS_TEMPFAIL) {
			ma->iprev = "temperror";
		} else if (a->status != MAILAUTH_DNS_OK || a->nrr == 0 || a->rr[0].len > MAILAUTH_NAME_MAX) {
			ma->iprev = "fail";
		} else {
			snprintf(ma->ptr_name, sizeof ma->ptr_name, "%.*s", (int)a->rr[0].len, (const char *)a->rr[0].p);
			size_t l = strlen(ma->ptr_name);
			if (l && ma->ptr_name[l - 1] == '.')
				ma->ptr_name[l - 1] = 0;
			ma->stage = MA_FWD;
			ma->q.type = s->peer.family == 4 ? MAILAUTH_DNS_A : MAILAUTH_DNS_AAAA;
			snprintf(ma->q.name, sizeof ma->q.name, "%s", ma->ptr_name);
			ask(s);
			return;
		}
	} else {
		size_t want = s->peer.family == 4 ? 4 : 16;
		ma->iprev = a->status == MAILAUTH_DNS_TEMPFAIL ? "temperror" : "fail";
		for (size_t i = 0; i < a->nrr; i++)
			if (a->rr[i].len == want && memcmp(a->rr[i].p, s->peer.a, want) == 0)
				ma->iprev = "pass";
		if (strcmp(ma->iprev, "pass") != 0)
			ma->ptr_name[0] = 0; /* an unverified name is never shown */
	}
	ma->stage = MA_IDLE;
	ma->done(s);
}

static void step(struct smtp_session *s, int r)
{
	struct smtp_mailauth *ma = s->ma;
	if (r == MAILAUTH_STEP_DNS) {
		ask(s);
		return;
	}
	switch (ma->stage) {
	case MA_SPF:
		ma->spf_res = spf_eval_result(ma->spf);
		ma->spf_done = true;
		ma->stage = MA_IDLE;
		ma->done(s);
		break;
	case MA_DKIM:
		start_dmarc(s);
		break;
	case MA_DMARC:
		start_iprev(s);
		break;
	default:
		break;
	}
}

void smtp_session_on_authdns_answer(struct smtp_session *s, const struct mailauth_dns_answer *a)
{
	struct smtp_mailauth *ma = s->ma;
	switch (ma->stage) {
	case MA_SPF:
		step(s, spf_eval_answer(ma->spf, a, &ma->q));
		break;
	case MA_DKIM:
		step(s, dkim_verify_answer(ma->dkim, a, &ma->q));
		break;
	case MA_DMARC:
		step(s, dmarc_eval_answer(ma->dmarc, a, &ma->q));
		break;
	case MA_PTR:
	case MA_FWD:
		iprev_answer(s, a);
		break;
	default:
		break;
	}
}

void smtp_session_on_authdns(struct smtp_session *s, const struct msg *m, const void *p)
{
	if (!s->ma || !smtp_session_wait_done(s, SW_AUTHDNS, m->req_id))
		return;
	struct authdns_answer a;
	authdns_convert(&s->ma->q, m, p, &a);
	smtp_session_on_authdns_answer(s, &a.a);
	smtp_session_drive(s);
}

/* ---- results ---- */

void smtp_session_authres(struct smtp_session *s, struct buf *out)
{
	struct smtp_mailauth *ma = s->ma;
	struct authres ar;
	authres_init(&ar, s->ep->l->hostname);
	if (ma) {
		if (ma->iprev)
			authres_add_iprev(&ar, ma->iprev, s->peer_str, ma->ptr_name[0] ? ma->ptr_name : NULL);
		for (size_t i = 0; ma->dkim && i < dkim_verify_count(ma->dkim); i++)
			authres_add_dkim(&ar, dkim_verify_result(ma->dkim, i));
		if (ma->spf_done) {
			const struct smtp_server_txn *t = smtp_server_txn(s->eng);
			char mf[600];
			snprintf(mf, sizeof mf, "%.*s@%.*s", (int)t->from.local_len, t->from.local, (int)t->from.domain_len,
			         t->from.domain);
			authres_add_spf(&ar, ma->spf_res, t->from.null ? NULL : mf, smtp_server_ehlo_name(s->eng), NULL);
		}
		if (ma->dmarc)
			authres_add_dmarc(&ar, dmarc_eval_outcome(ma->dmarc));
	}
	authres_finish(&ar, out);
}

int smtp_session_dmarc_disposition(const struct smtp_session *s)
{
	if (!s->ma || !s->ma->dmarc)
		return 0;
	const struct dmarc_outcome *o = dmarc_eval_outcome(s->ma->dmarc);
	if (o->status != DMARC_FAIL)
		return 0;
	return o->disposition == DMARC_POLICY_REJECT ? 2 : o->disposition == DMARC_POLICY_QUARANTINE ? 1 : 0;
}

const char *smtp_session_ptr_name(const struct smtp_session *s)
{
	return s->ma && s->ma->iprev && strcmp(s->ma->iprev, "pass") == 0 && s->ma->ptr_name[0] ? s->ma->ptr_name : NULL;
}
