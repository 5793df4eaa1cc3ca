/* SMTP session policy for HELO, MAIL and RCPT (smtp.md §1, §3, §4, §13a).
 *
 * DESIGN: decisions that need only the config are made at once on a fresh
 * domains.conf snapshot (a connection sees config changes at its next
 * command); decisions that need DNS send one request to the resolver actor and
 * answer the engine when the reply comes. The free-space check reads statvfs
 * at most once per second for the whole process. */
#include "actors/smtp_session_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "actors/localserve_runtime.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_dname.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "proto/dns_result.h"

/* ---- free space ---- */

static _Atomic int64_t disk_checked_ms, disk_free;

bool smtp_session_disk_ok(const struct smtp_session *s)
{
	int64_t now = clock_mono_ms();
	if (now - atomic_load(&disk_checked_ms) > 1000) {
		struct statvfs v;
		if (statvfs(server_get()->st->data_dir_path, &v) == 0)
			atomic_store(&disk_free, (int64_t)v.f_bavail * (int64_t)v.f_frsize);
		atomic_store(&disk_checked_ms, now);
	}
	int64_t max = s->ep->l->smtp_max_message_size, reserve;
	if (__builtin_add_overflow(max, max / 2, &reserve)) /* SMTPMaxMessageSize may be up to INT64_MAX */
		reserve = INT64_MAX;
	return atomic_load(&disk_free) >= reserve;
}

/* ---- HELO ---- */

void smtp_session_helo(struct smtp_session *s)
{
	const char *name = smtp_server_helo_pending(s->eng);
	/* Only MX HELO (not EHLO) names are checked, and literals have nothing to resolve;
	 * localserve accepts any name (localserve.md §3). */
	if (s->ep->svc != SMTP_SVC_MX || smtp_server_esmtp(s->eng) || !name || name[0] == '[' || localserve_active()) {
		smtp_server_accept(s->eng);
		return;
	}
	char key[CONF_DNAME_MAX + 1];
	if (conf_dname_key(name, strlen(name), key, sizeof key) < 0) { /* no IDNA form: cannot resolve */
		smtp_server_reply(s->eng, 550, "5.5.0 your ehlo domain does not resolve to an IP address");
		return;
	}
	struct dns_addr_req q = {.name = slice_str(key), .families = 0};
	uint64_t req = smtp_session_wait(s, SW_HELO_DNS);
	if (DNS_MSG_ADDR_REQ_send(server_get()->resolver, &s->a, &q, &(struct actor_send_opts){.req_id = req}) != 0) {
		s->wait = SW_NONE;
		smtp_server_accept(s->eng); /* a temporary DNS problem is ignored */
	}
}

void smtp_session_on_addr(struct actor *self, const struct msg *m, const void *payload)
{
	struct smtp_session *s = (struct smtp_session *)self;
	const struct dns_addr_res *p = payload;
	if (s->wait == SW_AUTHDNS) {
		smtp_session_on_authdns(s, m, payload);
		return;
	}
	if (s->wait == SW_DNSBL) {
		smtp_session_on_dnsbl(s, m, payload);
		return;
	}
	if (!smtp_session_wait_done(s, SW_HELO_DNS, m->req_id))
		return;
	if (p->status == DNS_NXDOMAIN)
		smtp_server_reply(s->eng, 550, "5.5.0 your ehlo domain does not resolve to an IP address");
	else
		smtp_server_accept(s->eng);
	smtp_session_drive(s);
}

/* ---- MAIL ---- */

/* SPF finished for an MX MAIL whose checks passed: the result only matters for the
 * second recipient and for Authentication-Results. */
static void mail_checked(struct smtp_session *s)
{
	smtp_server_accept(s->eng);
}

static bool domain_disabled(const struct conf_domains *dc, const char *d, size_t n)
{
	const struct conf_domain *dom = conf_domain_get(dc, d, n);
	return dom && dom->disabled;
}

/* Submission sender rules (smtp.md §3, §13a). Returns true when answered with an error. */
static bool submission_sender(struct smtp_session *s, const struct smtp_addr *from)
{
	struct conf_domains *dc = conf_domains_acquire();
	bool answered = true;
	if (!from->null && domain_disabled(dc, from->domain, from->domain_len)) {
		smtp_server_reply(s->eng, 451, "4.3.0 domain of smtp mail from is temporarily disabled");
	} else if (smtp_server_authenticated(s->eng)) {
		const struct conf_account *acc = conf_account_get(dc, s->account);
		if (!from->null && (!acc || !conf_account_has_login(dc, acc, from->local, from->local_len, from->domain,
		                                                    from->domain_len, true)))
			smtp_server_reply(s->eng, 550, "5.7.1 must match authenticated user");
		else
			answered = false;
	} else if (s->relay_client) {
		/* smtp.md §13a: the decision is logged with the client IP and counted. */
		if (!from->null && !s->ep->l->submission.relay_any_sender &&
		    !conf_domain_get(dc, from->domain, from->domain_len)) {
			smtp_server_reply(s->eng, 550, "5.7.1 relaying denied for sender domain");
			metric_add(smtp_session_metrics.relay[1], 1);
			log_info("smtp", "relay refused for sender domain", "cid=%s ip=%s", s->rid, s->peer_str);
		} else {
			metric_add(smtp_session_metrics.relay[0], 1);
			log_info("smtp", "relay accepted", "cid=%s ip=%s account=%s", s->rid, s->peer_str,
			         s->account ? s->account : "");
			answered = false;
		}
	} else {
		smtp_server_reply(s->eng, 530, "5.7.0 authentication required");
	}
	conf_domains_release(dc);
	return answered;
}

void smtp_session_mail(struct smtp_session *s)
{
	const struct smtp_server_txn *t = smtp_server_txn(s->eng);
	if (localserve_active() && smtp_session_localserve_mail(s))
		return;
	if (!smtp_session_disk_ok(s)) {
		smtp_server_reply(s->eng, 452, "4.3.1 insufficient system storage");
		return;
	}
	if (s->ep->svc != SMTP_SVC_MX) {
		if (!submission_sender(s, &t->from))
			smtp_server_accept(s->eng);
		return;
	}
	if (t->from.null || localserve_active()) { /* localserve: no MX check (localserve.md §3) */
		smtp_session_spf_start(s, mail_checked);
		return;
	}
	/* DNS knows A-labels only: a UTF-8 (SMTPUTF8) domain is looked up in its IDNA form. */
	char key[CONF_DNAME_MAX + 1];
	if (conf_dname_key(t->from.domain, t->from.domain_len, key, sizeof key) < 0) {
		smtp_server_reply(s->eng, 501, "5.1.7 bad sender address syntax");
		return;
	}
	struct dns_name_req q = {.name = slice_str(key)};
	uint64_t req = smtp_session_wait(s, SW_MAIL_DNS);
	if (DNS_MSG_MX_REQ_send(server_get()->resolver, &s->a, &q, &(struct actor_send_opts){.req_id = req}) != 0) {
		s->wait = SW_NONE;
		smtp_server_reply(s->eng, 451, "4.4.0 cannot verify mx records for mailfrom domain");
	}
}

void smtp_session_on_mx(struct actor *self, const struct msg *m, const void *payload)
{
	struct smtp_session *s = (struct smtp_session *)self;
	const struct dns_mx_res *p = payload;
	if (s->wait == SW_AUTHDNS) {
		smtp_session_on_authdns(s, m, payload);
		return;
	}
	if (!smtp_session_wait_done(s, SW_MAIL_DNS, m->req_id))
		return;
	switch (p->status) {
	case DNS_OK:
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		smtp_session_spf_start(s, mail_checked);
		break;
	case DNS_NULLMX:
		smtp_server_reply(s->eng, 550, "5.7.27 mailfrom domain not configured for mail");
		break;
	default:
		smtp_server_reply(s->eng, 451, "4.4.0 cannot verify mx records for mailfrom domain");
		break;
	}
	smtp_session_drive(s);
}

/* ---- RCPT ---- */

static void rcpt_dnsbl_done(struct smtp_session *s, const char *zone)
{
	if (zone) {
		char text[CONF_DNAME_MAX + 64];
		snprintf(text, sizeof text, "5.7.1 your ip is listed in %s", zone);
		log_info("smtp", "client ip listed in dnsbl", "cid=%s ip=%s zone=%s", s->rid, s->peer_str, zone);
		smtp_server_reply(s->eng, 550, text);
	} else {
		smtp_server_accept(s->eng);
	}
}

/* Answers an MX RCPT whose recipient resolved to d (or failed with rc); returns true when
 * answered, false when the recipient may be accepted. */
static bool rcpt_refused(struct smtp_session *s, int rc, const struct conf_dest *d, const struct conf_domain *dom)
{
	bool ls = localserve_active();
	if (dom && dom->disabled)
		smtp_server_reply(s->eng, 450, "4.2.1 recipient domain temporarily disabled");
	else if (rc == CONF_DEST_ENODOMAIN)
		smtp_server_reply(s->eng, 550, "5.1.1 not accepting email for domain");
	else if (rc == CONF_DEST_ENOUSER)
		smtp_server_reply(s->eng, 550, "5.1.1 no such user");
	else if (!ls && smtp_server_txn(s->eng)->nrcpt >= 1 && !smtp_session_spf_pass(s))
		smtp_server_reply(s->eng, 452, "4.5.3 only one recipient allowed without spf pass");
	else if (s->ep->l->smtp.require_starttls && !smtp_server_tls(s->eng) && d->kind != CONF_DEST_TLSRPT &&
	         d->kind != CONF_DEST_HOST_TLSRPT)
		smtp_server_reply(s->eng, 530, "5.7.0 STARTTLS required");
	else
		return false;
	return true;
}

void smtp_session_rcpt(struct smtp_session *s)
{
	bool ls = localserve_active();
	if (ls && smtp_session_localserve_rcpt(s))
		return;
	if (s->ep->svc != SMTP_SVC_MX) {
		smtp_server_accept(s->eng); /* submission: any recipient; limits apply at the end of data */
		return;
	}
	const struct smtp_server_rcpt *r = smtp_server_pending_rcpt(s->eng);
	struct conf_domains *dc = conf_domains_acquire();
	struct conf_dest d;
	/* localserve: any address at any domain is delivered (localserve.md §4). */
	int rc = (ls ? localserve_dest_lookup : conf_dest_lookup)(dc, r->addr.local, r->addr.local_len, r->addr.domain,
	                                                          r->addr.domain_len, &d);
	const struct conf_domain *dom = rc == CONF_DEST_FOUND ? d.domain : NULL;
	if (rc != CONF_DEST_FOUND)
		dom = conf_domain_get(dc, r->addr.domain, r->addr.domain_len);
	bool refused = rcpt_refused(s, rc, &d, dom);
	/* Postmaster and reporting addresses stay reachable from listed IPs (smtp.md §4). */
	bool dnsbl = !refused && !ls && s->ep->l->smtp.dnsbls.n > 0 &&
	             (d.kind == CONF_DEST_ADDRESS || d.kind == CONF_DEST_CATCHALL);
	conf_domains_release(dc);
	if (refused)
		return;
	if (dnsbl)
		smtp_session_dnsbl_check(s, rcpt_dnsbl_done);
	else
		smtp_server_accept(s->eng);
}
