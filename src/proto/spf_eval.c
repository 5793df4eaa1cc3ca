/* SPF check_host() (RFC 7208 §4-§6) as a resumable engine.
 *
 * DESIGN: include and redirect are explicit frames on a fixed stack (depth is
 * bounded by the DNS-term limit), each holding its parsed record and the
 * index of the next term. The engine runs terms until one needs DNS, records
 * what it is waiting for in `wait`, and returns the query; the answer handler
 * for that wait state decides match / no match / error and re-enters the
 * loop. A finished frame hands its result to its parent (include mapping or
 * redirect pass-through, §5.2 and §6.1). mx and ptr need a second round of
 * address lookups, driven by a small name list. Every loop is bounded by the
 * SPF_* limits; the total number of queries is at most about
 * 10 * (1 + 10) + 2 (explanation, records). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/spf.h"

enum spf_wait {
	SPF_W_NONE, SPF_W_RECORD, SPF_W_A, SPF_W_MX, SPF_W_MX_ADDR, SPF_W_PTR, SPF_W_PTR_ADDR, SPF_W_EXISTS, SPF_W_EXP,
};

struct spf_frame {
	char domain[SPF_DOMAIN_MAX + 1];
	struct buf txt;
	struct spf_record rec;
	size_t next;         /* next term to run */
	bool under_include;  /* some ancestor is an include (exp= not used, §6.2) */
	bool redirecting;    /* the child frame is this frame's redirect */
};

struct spf_eval {
	struct spf_request req;
	char *domain, *sender, *helo, *receiver;
	struct spf_frame f[SPF_DEPTH_MAX];
	size_t depth; /* frames in use */
	enum spf_wait wait;
	char target[SPF_DOMAIN_MAX + 1];  /* of the term being evaluated */
	char names[SPF_PTR_NAMES_MAX > SPF_MX_NAMES_MAX ? SPF_PTR_NAMES_MAX : SPF_MX_NAMES_MAX][SPF_DOMAIN_MAX + 1];
	size_t nnames, iname;
	unsigned terms, voids, queries;
	enum spf_result result;
	const char *reason;
	char mech[128];
	struct buf exp;
	bool has_exp;
};

const char *spf_result_name(enum spf_result r)
{
	static const char *const n[] = {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"};
	return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "none";
}

struct spf_eval *spf_eval_new(const struct spf_request *req)
{
	struct spf_eval *ev = xcalloc(1, sizeof *ev);
	ev->req = *req;
	ev->domain = xstrdup(req->domain ? req->domain : "");
	ev->helo = xstrdup(req->helo ? req->helo : "");
	const char *s = req->sender && *req->sender ? req->sender : NULL;
	ev->sender = s ? (s[0] == '@' ? xasprintf("postmaster%s", s) : xstrdup(s)) : xasprintf("postmaster@%s", ev->helo);
	ev->receiver = req->receiver ? xstrdup(req->receiver) : NULL;
	buf_init(&ev->exp);
	return ev;
}

void spf_eval_free(struct spf_eval *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < SPF_DEPTH_MAX; i++)
		buf_free(&ev->f[i].txt);
	buf_free(&ev->exp);
	free(ev->domain), free(ev->sender), free(ev->helo), free(ev->receiver);
	free(ev);
}

enum spf_result spf_eval_result(const struct spf_eval *ev) { return ev->result; }
const char *spf_eval_reason(const struct spf_eval *ev) { return ev->reason; }
const char *spf_eval_mechanism(const struct spf_eval *ev) { return ev->mech; }
const char *spf_eval_explanation(const struct spf_eval *ev) { return ev->has_exp ? (const char *)ev->exp.p : NULL; }
unsigned spf_eval_queries(const struct spf_eval *ev) { return ev->queries; }

static struct spf_frame *spf_top(struct spf_eval *ev)
{
	return &ev->f[ev->depth - 1];
}

static int spf_query(struct spf_eval *ev, enum spf_wait w, enum mailauth_dns_type t, const char *name,
                     struct mailauth_dns_query *q)
{
	ev->wait = w;
	ev->queries++;
	q->type = t;
	snprintf(q->name, sizeof q->name, "%s", name);
	return MAILAUTH_STEP_DNS;
}

static bool spf_domain_ok(const char *d)
{
	size_t n = strlen(d), lab = 0;
	if (n == 0 || n > SPF_DOMAIN_MAX || !strchr(d, '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (lab == 0 && i + 1 != n)
				return false;
			lab = 0;
		} else if (++lab > 63) {
			return false;
		}
	}
	return true;
}

/* Expands a domain-spec (empty: the current domain) into ev->target. */
static bool spf_target(struct spf_eval *ev, struct slice spec)
{
	struct spf_frame *fr = spf_top(ev);
	if (spec.len == 0) {
		snprintf(ev->target, sizeof ev->target, "%s", fr->domain);
		return true;
	}
	struct spf_macro_env env = {ev->sender, fr->domain, &ev->req.ip, ev->helo, ev->receiver, ev->req.now};
	struct buf b;
	buf_init(&b);
	bool ok = spf_macro_expand(spec, &env, false, &b) == 0 && spf_macro_domain(&b) == 0;
	if (ok)
		snprintf(ev->target, sizeof ev->target, "%.*s", (int)b.len, (const char *)b.p);
	buf_free(&b);
	return ok;
}

static int spf_step(struct spf_eval *ev, struct mailauth_dns_query *q);
static int spf_frame_done(struct spf_eval *ev, enum spf_result r, const char *reason, struct mailauth_dns_query *q);

/* Starts check_host() for domain in a new frame. */
static int spf_push(struct spf_eval *ev, const char *domain, bool include, struct mailauth_dns_query *q)
{
	if (ev->depth == SPF_DEPTH_MAX)
		return spf_frame_done(ev, SPF_PERMERROR, "too deep", q);
	bool under = ev->depth > 0 && (spf_top(ev)->under_include || include);
	struct spf_frame *fr = &ev->f[ev->depth++];
	snprintf(fr->domain, sizeof fr->domain, "%s", domain);
	buf_reset(&fr->txt);
	fr->next = 0;
	fr->under_include = under;
	fr->redirecting = false;
	if (!spf_domain_ok(fr->domain))
		return spf_frame_done(ev, SPF_NONE, "invalid domain", q);
	return spf_query(ev, SPF_W_RECORD, MAILAUTH_DNS_TXT, fr->domain, q);
}

static bool spf_ip_match(const struct spf_ip *ip, const uint8_t *net, int bits, bool v6)
{
	if (ip->v6 != v6)
		return false;
	int full = bits / 8, rest = bits % 8;
	if (memcmp(ip->a, net, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (ip->a[full] & mask) == (net[full] & mask);
}

static enum spf_result spf_qual(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

static const struct spf_term *spf_cur_term(struct spf_eval *ev)
{
	struct spf_frame *fr = spf_top(ev);
	return &fr->rec.t[fr->next - 1];
}

/* The current term matched. */
static int spf_match(struct spf_eval *ev, struct mailauth_dns_query *q)
{
	const struct spf_term *t = spf_cur_term(ev);
	if (!spf_top(ev)->under_include)
		snprintf(ev->mech, sizeof ev->mech, "%.*s", (int)t->text.len, (const char *)t->text.p);
	return spf_frame_done(ev, spf_qual(t->qual), NULL, q);
}

/* Counts a void lookup (§4.6.4); returns false when over the limit. */
static bool spf_void(struct spf_eval *ev, const struct mailauth_dns_answer *a)
{
	if (a->status == MAILAUTH_DNS_NXDOMAIN || (a->status == MAILAUTH_DNS_OK && a->nrr == 0))
		return ++ev->voids <= SPF_VOID_MAX;
	return true;
}

/* Runs one term; returns DNS/DONE, or -1 to go on with the next term. */
static int spf_term(struct spf_eval *ev, const struct spf_term *t, struct mailauth_dns_query *q)
{
	const struct spf_ip *ip = &ev->req.ip;
	switch (t->kind) {
	case SPF_ALL:
		return spf_match(ev, q);
	case SPF_IP4:
	case SPF_IP6:
		if (spf_ip_match(ip, t->net, t->kind == SPF_IP4 ? t->cidr4 : t->cidr6, t->kind == SPF_IP6))
			return spf_match(ev, q);
		return -1;
	case SPF_INCLUDE: case SPF_A: case SPF_MX: case SPF_PTR: case SPF_EXISTS:
		break;
	default:
		return -1; /* modifiers run after the mechanisms */
	}
	if (++ev->terms > SPF_DNS_TERMS_MAX)
		return spf_frame_done(ev, SPF_PERMERROR, "too many DNS-querying terms", q);
	if (!spf_target(ev, t->spec))
		return t->kind == SPF_INCLUDE ? spf_frame_done(ev, SPF_PERMERROR, "bad include target", q) : -1;
	enum mailauth_dns_type at = ip->v6 ? MAILAUTH_DNS_AAAA : MAILAUTH_DNS_A;
	char rev[80];
	switch (t->kind) {
	case SPF_INCLUDE:
		return spf_push(ev, ev->target, true, q);
	case SPF_A:
		return spf_query(ev, SPF_W_A, at, ev->target, q);
	case SPF_MX:
		return spf_query(ev, SPF_W_MX, MAILAUTH_DNS_MX, ev->target, q);
	case SPF_EXISTS:
		return spf_query(ev, SPF_W_EXISTS, MAILAUTH_DNS_A, ev->target, q);
	default: {
		struct buf b;
		struct spf_macro_env env = {.ip = ip};
		buf_init(&b);
		spf_macro_expand(SLICE_LIT("%{ir}.%{v}.arpa"), &env, false, &b);
		snprintf(rev, sizeof rev, "%.*s", (int)b.len, (const char *)b.p);
		buf_free(&b);
		return spf_query(ev, SPF_W_PTR, MAILAUTH_DNS_PTR, rev, q);
	}
	}
}

/* Runs terms of the top frame from its next index. */
static int spf_step(struct spf_eval *ev, struct mailauth_dns_query *q)
{
	struct spf_frame *fr = spf_top(ev);
	while (fr->next < fr->rec.n) {
		const struct spf_term *t = &fr->rec.t[fr->next++];
		int rc = spf_term(ev, t, q);
		if (rc >= 0)
			return rc;
	}
	if (fr->rec.redirect >= 0 && !fr->redirecting) {
		if (++ev->terms > SPF_DNS_TERMS_MAX)
			return spf_frame_done(ev, SPF_PERMERROR, "too many DNS-querying terms", q);
		fr->redirecting = true;
		if (!spf_target(ev, fr->rec.t[fr->rec.redirect].spec))
			return spf_frame_done(ev, SPF_PERMERROR, "bad redirect target", q);
		return spf_push(ev, ev->target, false, q);
	}
	return spf_frame_done(ev, SPF_NEUTRAL, NULL, q);
}

/* Hands a finished frame's result to its parent (or ends the evaluation). */
static int spf_frame_pop(struct spf_eval *ev, enum spf_result r, const char *reason, struct mailauth_dns_query *q)
{
	ev->wait = SPF_W_NONE;
	if (ev->depth == 1) {
		ev->depth = 0;
		ev->result = r;
		ev->reason = reason;
		return MAILAUTH_STEP_DONE;
	}
	ev->depth--;
	if (spf_top(ev)->redirecting) { /* §6.1: the target's result, none being permerror */
		if (r == SPF_NONE)
			return spf_frame_pop(ev, SPF_PERMERROR, "redirect to a domain without SPF", q);
		return spf_frame_pop(ev, r, reason, q);
	}
	switch (r) { /* include, §5.2 */
	case SPF_PASS:
		return spf_match(ev, q);
	case SPF_TEMPERROR:
		return spf_frame_done(ev, SPF_TEMPERROR, reason, q);
	case SPF_PERMERROR:
	case SPF_NONE:
		return spf_frame_done(ev, SPF_PERMERROR, r == SPF_NONE ? "include of a domain without SPF" : reason, q);
	default:
		return spf_step(ev, q);
	}
}

/* A frame finished with r: fetch its explanation for a fail (not inside an
 * include, §6.2), then pop. */
static int spf_frame_done(struct spf_eval *ev, enum spf_result r, const char *reason, struct mailauth_dns_query *q)
{
	struct spf_frame *fr = spf_top(ev);
	if (r == SPF_FAIL && !fr->under_include && fr->txt.len > 0 && fr->rec.exp >= 0 && ev->wait != SPF_W_EXP &&
	    spf_target(ev, fr->rec.t[fr->rec.exp].spec))
		return spf_query(ev, SPF_W_EXP, MAILAUTH_DNS_TXT, ev->target, q);
	return spf_frame_pop(ev, r, reason, q);
}

int spf_eval_start(struct spf_eval *ev, struct mailauth_dns_query *q)
{
	ev->depth = 0;
	return spf_push(ev, ev->domain, false, q);
}

static int spf_on_record(struct spf_eval *ev, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q)
{
	struct spf_frame *fr = spf_top(ev);
	if (a->status == MAILAUTH_DNS_TEMPFAIL)
		return spf_frame_done(ev, SPF_TEMPERROR, "DNS error fetching SPF record", q);
	if (a->status != MAILAUTH_DNS_OK)
		return spf_frame_done(ev, SPF_NONE, "no SPF record", q);
	const struct slice *rec = NULL;
	for (size_t i = 0; i < a->nrr; i++) {
		if (!spf_record_is_spf(a->rr[i]))
			continue;
		if (rec)
			return spf_frame_done(ev, SPF_PERMERROR, "multiple SPF records", q);
		rec = &a->rr[i];
	}
	if (!rec)
		return spf_frame_done(ev, SPF_NONE, "no SPF record", q);
	const char *err;
	buf_reset(&fr->txt);
	buf_append(&fr->txt, rec->p, rec->len);
	if (spf_record_parse(buf_slice(&fr->txt), &fr->rec, &err) != 0) {
		buf_reset(&fr->txt);
		return spf_frame_done(ev, SPF_PERMERROR, err, q);
	}
	return spf_step(ev, q);
}

static bool spf_addr_match(struct spf_eval *ev, const struct mailauth_dns_answer *a)
{
	const struct spf_term *t = spf_cur_term(ev);
	size_t want = ev->req.ip.v6 ? 16 : 4;
	int bits = t->kind == SPF_A || t->kind == SPF_MX ? (ev->req.ip.v6 ? t->cidr6 : t->cidr4) : (int)want * 8;
	for (size_t i = 0; a->status == MAILAUTH_DNS_OK && i < a->nrr; i++)
		if (a->rr[i].len == want && spf_ip_match(&ev->req.ip, a->rr[i].p, bits, ev->req.ip.v6))
			return true;
	return false;
}

/* Copies up to max names of an MX/PTR answer; returns false if there are too many. */
static bool spf_take_names(struct spf_eval *ev, const struct mailauth_dns_answer *a, size_t max)
{
	ev->nnames = ev->iname = 0;
	if (a->status != MAILAUTH_DNS_OK)
		return true;
	if (a->nrr > max)
		return false;
	for (size_t i = 0; i < a->nrr; i++) {
		struct slice n = a->rr[i];
		if (n.len > 0 && n.p[n.len - 1] == '.')
			n.len--;
		if (n.len == 0 || n.len > SPF_DOMAIN_MAX || memchr(n.p, 0, n.len))
			continue; /* null MX "." and junk */
		snprintf(ev->names[ev->nnames++], SPF_DOMAIN_MAX + 1, "%.*s", (int)n.len, (const char *)n.p);
	}
	return true;
}

static int spf_next_name(struct spf_eval *ev, enum spf_wait w, struct mailauth_dns_query *q)
{
	if (ev->iname == ev->nnames)
		return spf_step(ev, q);
	return spf_query(ev, w, ev->req.ip.v6 ? MAILAUTH_DNS_AAAA : MAILAUTH_DNS_A, ev->names[ev->iname++], q);
}

/* ptr: a validated name equal to or below the target matches (§5.5). */
static bool spf_ptr_name_ok(const struct spf_eval *ev, const char *name)
{
	size_t n = strlen(name), t = strlen(ev->target);
	if (strcasecmp(name, ev->target) == 0)
		return true;
	return n > t && name[n - t - 1] == '.' && strcasecmp(name + n - t, ev->target) == 0;
}

static int spf_on_answer(struct spf_eval *ev, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q)
{
	bool temp = a->status == MAILAUTH_DNS_TEMPFAIL;
	switch (ev->wait) {
	case SPF_W_RECORD:
		return spf_on_record(ev, a, q);
	case SPF_W_A:
	case SPF_W_EXISTS:
	case SPF_W_MX:
		if (temp)
			return spf_frame_done(ev, SPF_TEMPERROR, "DNS error", q);
		if (!spf_void(ev, a))
			return spf_frame_done(ev, SPF_PERMERROR, "too many void lookups", q);
		if (ev->wait == SPF_W_MX) {
			if (!spf_take_names(ev, a, SPF_MX_NAMES_MAX))
				return spf_frame_done(ev, SPF_PERMERROR, "too many MX names", q);
			return spf_next_name(ev, SPF_W_MX_ADDR, q);
		}
		if (ev->wait == SPF_W_EXISTS ? a->status == MAILAUTH_DNS_OK && a->nrr > 0 : spf_addr_match(ev, a))
			return spf_match(ev, q);
		return spf_step(ev, q);
	case SPF_W_MX_ADDR:
		if (temp)
			return spf_frame_done(ev, SPF_TEMPERROR, "DNS error", q);
		return spf_addr_match(ev, a) ? spf_match(ev, q) : spf_next_name(ev, SPF_W_MX_ADDR, q);
	case SPF_W_PTR:
		if (!spf_void(ev, a))
			return spf_frame_done(ev, SPF_PERMERROR, "too many void lookups", q);
		spf_take_names(ev, a, SIZE_MAX);
		if (ev->nnames > SPF_PTR_NAMES_MAX)
			ev->nnames = SPF_PTR_NAMES_MAX; /* §4.6.4: only the first 10 are used */
		return spf_next_name(ev, SPF_W_PTR_ADDR, q);
	case SPF_W_PTR_ADDR:
		if (spf_addr_match(ev, a) && spf_ptr_name_ok(ev, ev->names[ev->iname - 1]))
			return spf_match(ev, q);
		return spf_next_name(ev, SPF_W_PTR_ADDR, q);
	case SPF_W_EXP:
		if (a->status == MAILAUTH_DNS_OK && a->nrr == 1) {
			struct spf_macro_env env = {ev->sender, spf_top(ev)->domain, &ev->req.ip, ev->helo, ev->receiver,
			                            ev->req.now};
			buf_reset(&ev->exp);
			if (spf_macro_expand(a->rr[0], &env, true, &ev->exp) == 0) {
				buf_cstr(&ev->exp);
				ev->has_exp = true;
			}
		}
		return spf_frame_done(ev, SPF_FAIL, NULL, q);
	default:
		return MAILAUTH_STEP_DONE;
	}
}

int spf_eval_answer(struct spf_eval *ev, const struct mailauth_dns_answer *a, struct mailauth_dns_query *q)
{
	if (ev->depth == 0)
		return MAILAUTH_STEP_DONE;
	return spf_on_answer(ev, a, q);
}
