/* DMARC evaluation (RFC 7489 §6.6): record discovery with fallback to the
 * organisational domain, identifier alignment, policy and pct sampling.
 *
 * DESIGN: at most two TXT lookups (the From domain, then its organisational
 * domain when different and the first had no DMARC record), so the engine is
 * a two-state machine. Alignment uses the DKIM and SPF results the caller
 * already has. The random draw for pct= comes from the caller, so the engine
 * stays deterministic and testable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/dmarc.h"

struct dmarc_eval {
	struct dmarc_input in;
	struct dmarc_outcome out;
	int lookups; /* 0, 1 (From domain asked), 2 (organisational domain asked) */
	bool done;
};

const char *dmarc_status_name(enum dmarc_status s)
{
	static const char *const n[] = {"none", "pass", "fail", "temperror", "permerror"};
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "none";
}

bool dmarc_aligned(const struct dmarc_psl *psl, const char *a, const char *b, bool strict)
{
	if (!a || !b || !*a || !*b)
		return false;
	if (strcasecmp(a, b) == 0)
		return true;
	if (strict)
		return false;
	char oa[MAILAUTH_NAME_MAX + 1], ob[MAILAUTH_NAME_MAX + 1];
	dmarc_psl_orgdomain(psl, a, oa, sizeof oa);
	dmarc_psl_orgdomain(psl, b, ob, sizeof ob);
	return strcmp(oa, ob) == 0;
}

struct dmarc_eval *dmarc_eval_new(const struct dmarc_input *in)
{
	struct dmarc_eval *ev = xcalloc(1, sizeof *ev);
	ev->in = *in;
	return ev;
}

void dmarc_eval_free(struct dmarc_eval *ev)
{
	free(ev);
}

const struct dmarc_outcome *dmarc_eval_outcome(const struct dmarc_eval *ev)
{
	return &ev->out;
}

static int dmarc_eval_query(struct dmarc_eval *ev, const char *domain, struct mailauth_dns_query *q)
{
	ev->lookups++;
	q->type = MAILAUTH_DNS_TXT;
	snprintf(q->name, sizeof q->name, "_dmarc.%.*s", (int)(sizeof q->name - 8), domain);
	return MAILAUTH_STEP_DNS;
}

static int dmarc_eval_end(struct dmarc_eval *ev, enum dmarc_status st, const char *reason)
{
	ev->out.status = st;
	ev->out.reason = reason;
	ev->done = true;
	return MAILAUTH_STEP_DONE;
}

int dmarc_eval_start(struct dmarc_eval *ev, struct mailauth_dns_query *q)
{
	struct dmarc_outcome *o = &ev->out;
	const char *fd = ev->in.from_domain;
	if (!fd || !*fd || strlen(fd) + strlen("_dmarc.") > MAILAUTH_NAME_MAX)
		return dmarc_eval_end(ev, DMARC_FAIL, "no single From domain");
	snprintf(o->from_domain, sizeof o->from_domain, "%s", fd);
	for (char *c = o->from_domain; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	size_t l = strlen(o->from_domain);
	if (l > 0 && o->from_domain[l - 1] == '.')
		o->from_domain[l - 1] = 0;
	dmarc_psl_orgdomain(ev->in.psl, o->from_domain, o->org_domain, sizeof o->org_domain);
	return dmarc_eval_query(ev, o->from_domain, q);
}

/* The record is known: alignment, policy, pct. */
static int dmarc_eval_apply(struct dmarc_eval *ev)
{
	struct dmarc_outcome *o = &ev->out;
	const struct dmarc_record *r = &o->record;
	bool at_org = strcmp(o->policy_domain, o->from_domain) != 0;
	o->policy = at_org ? r->sp : r->p;
	for (size_t i = 0; i < ev->in.ndkim; i++) {
		const struct dkim_result *d = &ev->in.dkim[i];
		if (d->status == DKIM_PASS && dmarc_aligned(ev->in.psl, d->domain, o->from_domain, r->adkim_strict)) {
			if (!o->aligned_dkim_pass)
				snprintf(o->dkim_domain, sizeof o->dkim_domain, "%s", d->domain);
			o->aligned_dkim_pass = true;
		}
	}
	o->aligned_spf_pass = ev->in.spf == SPF_PASS &&
	                      dmarc_aligned(ev->in.psl, ev->in.spf_domain, o->from_domain, r->aspf_strict);
	if (o->aligned_dkim_pass || o->aligned_spf_pass) {
		o->disposition = DMARC_POLICY_NONE;
		return dmarc_eval_end(ev, DMARC_PASS, NULL);
	}
	o->disposition = o->policy;
	if (o->policy != DMARC_POLICY_NONE && ev->in.pct_roll % 100 >= (unsigned)r->pct) {
		o->sampled_out = true; /* §6.6.4: one step weaker */
		o->disposition = o->policy == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
	}
	return dmarc_eval_end(ev, DMARC_FAIL, "no aligned DKIM or SPF pass");
}

int dmarc_eval_answer(struct dmarc_eval *ev, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q)
{
	struct dmarc_outcome *o = &ev->out;
	if (ev->lookups == 0 || ev->done)
		return MAILAUTH_STEP_DONE;
	if (a->status == MAILAUTH_DNS_TEMPFAIL)
		return dmarc_eval_end(ev, DMARC_TEMPERROR, "DNS error fetching DMARC record");
	const struct slice *rec = NULL;
	size_t count = 0;
	for (size_t i = 0; a->status == MAILAUTH_DNS_OK && i < a->nrr; i++)
		if (dmarc_record_is_dmarc(a->rr[i]))
			rec = &a->rr[i], count++;
	const char *asked = ev->lookups == 1 ? o->from_domain : o->org_domain;
	if (count == 0) {
		if (ev->lookups == 1 && strcmp(o->from_domain, o->org_domain) != 0)
			return dmarc_eval_query(ev, o->org_domain, q);
		return dmarc_eval_end(ev, DMARC_NONE, "no DMARC record");
	}
	snprintf(o->policy_domain, sizeof o->policy_domain, "%s", asked);
	if (count > 1)
		return dmarc_eval_end(ev, DMARC_PERMERROR, "multiple DMARC records");
	const char *err;
	if (dmarc_record_parse(*rec, &o->record, &err) != 0)
		return dmarc_eval_end(ev, DMARC_PERMERROR, err);
	o->record_found = true;
	return dmarc_eval_apply(ev);
}
