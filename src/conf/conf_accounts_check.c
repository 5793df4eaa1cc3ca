/* domains.conf rules for accounts, addresses and report addresses, and the
 * references from tern.conf (Postmaster, HostTLSRPT, RelayAccount) into it.
 *
 * DESIGN: account names go into the table first, so report addresses and
 * tern.conf references can be checked in any file order; addresses go into
 * the destination table as they are checked, so a duplicate is reported at
 * its second occurrence with the owner of the first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_check.h"
#include "conf/conf_dname.h"
#include "conf/conf_domains_check.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"

#define ctx conf_check_ctx

static const char *const event_names[] = {"delivered", "suppressed", "delayed",  "failed",
					  "relayed",   "expanded",   "canceled", "unrecognized"};
#define NEVENTS (sizeof event_names / sizeof event_names[0])

static const struct conf_account *account_find(struct ctx *c, const char *name)
{
	return conf_map_get(&c->dc->account_map, name, strlen(name));
}

static void check_destination(struct ctx *c, struct conf_account *acc, size_t j, int line)
{
	struct conf_destination *dst = &acc->destinations[j];
	const char *at = strrchr(dst->name, '@'), *why;
	if (!at) {
		conf_dec_err(c->d, line, "Accounts.%s.Destinations.%s: address must be localpart@domain or @domain",
			     acc->name, dst->name);
		return;
	}
	const struct conf_domain *dom = conf_check_domain_find(c, at + 1);
	if (!dom) {
		conf_dec_err(c->d, line, "Accounts.%s.Destinations.%s: domain \"%s\" is not configured", acc->name,
			     dst->name, at + 1);
		return;
	}
	char *lp = xstrndup(dst->name, (size_t)(at - dst->name));
	char what[CONF_NAME_MAX + CONF_LOOKUP_LOCALPART_MAX + CONF_DNAME_MAX + 32];
	snprintf(what, sizeof what, "Accounts.%s.Destinations.%s", acc->name, dst->name);
	if (!conf_check_name(dst->mailbox, &why))
		conf_dec_err(c->d, line, "%s.Mailbox: %s", what, why);
	if (*lp && !conf_check_localpart(lp, &why)) {
		conf_dec_err(c->d, line, "%s: %s", what, why);
	} else {
		for (size_t k = 0; k < dom->nseps; k++)
			if (strstr(lp, dom->seps[k]))
				conf_dec_err(c->d, line, "%s: localpart contains catch-all separator \"%s\"", what, dom->seps[k]);
		struct conf_dest e = {*lp ? CONF_DEST_ADDRESS : CONF_DEST_CATCHALL, acc, dst->mailbox, dom, dst};
		conf_check_dest_add(c, line, what, lp, NULL, e);
	}
	free(lp);
}

static void check_report(struct ctx *c, const struct conf_domain *dom, const struct conf_report_addr *r,
                         enum conf_dest_kind kind, const struct conf_node *n)
{
	const char *f = kind == CONF_DEST_DMARC ? "DMARC" : "TLSRPT", *why;
	const struct conf_node *rn = conf_sub(n, f);
	int line = conf_line(n, f, 1);
	const struct conf_domain *target = dom;
	if (r->domain && !(target = conf_check_domain_find(c, r->domain))) {
		conf_dec_err(c->d, conf_line(rn, "Domain", line), "Domains.%s.%s.Domain: domain \"%s\" is not configured",
			     dom->name, f, r->domain);
		return;
	}
	const struct conf_account *acc = account_find(c, r->account);
	if (!acc)
		conf_dec_err(c->d, conf_line(rn, "Account", line), "Domains.%s.%s.Account: no such account \"%s\"", dom->name,
			     f, r->account);
	if (!conf_check_name(r->mailbox, &why))
		conf_dec_err(c->d, conf_line(rn, "Mailbox", line), "Domains.%s.%s.Mailbox: %s", dom->name, f, why);
	if (!conf_check_localpart(r->localpart, &why)) {
		conf_dec_err(c->d, conf_line(rn, "Localpart", line), "Domains.%s.%s.Localpart: %s", dom->name, f, why);
		return;
	}
	if (!acc)
		return;
	char what[CONF_DNAME_MAX + 32];
	snprintf(what, sizeof what, "Domains.%s.%s", dom->name, f);
	conf_check_dest_add(c, line, what, r->localpart, NULL, (struct conf_dest){kind, acc, r->mailbox, target, NULL});
}

static void check_webhooks(struct ctx *c, struct conf_account *acc, const struct conf_node *n)
{
	const char *why;
	struct conf_webhook_out *o = acc->outgoing_webhook;
	if (o) {
		const struct conf_node *on = conf_sub(n, "OutgoingWebhook");
		if (!conf_check_url(o->url, &why))
			conf_dec_err(c->d, conf_line(on, "URL", 1), "Accounts.%s.OutgoingWebhook.URL: %s", acc->name, why);
		o->event_mask = o->events.n ? 0 : CONF_EVENT_ALL;
		for (size_t i = 0; i < o->events.n; i++) {
			size_t k = 0;
			while (k < NEVENTS && strcmp(o->events.v[i], event_names[k]) != 0)
				k++;
			if (k == NEVENTS)
				conf_dec_err(c->d, conf_line_item(on, "Events", i, 1),
					     "Accounts.%s.OutgoingWebhook.Events[%zu]: unknown event \"%s\" (one of: delivered, "
					     "suppressed, delayed, failed, relayed, expanded, canceled, unrecognized)",
					     acc->name, i, o->events.v[i]);
			else
				o->event_mask |= 1u << k;
		}
	}
	if (acc->incoming_webhook && !conf_check_url(acc->incoming_webhook->url, &why))
		conf_dec_err(c->d, conf_line(conf_sub(n, "IncomingWebhook"), "URL", 1), "Accounts.%s.IncomingWebhook.URL: %s",
			     acc->name, why);
}

static void check_fromid(struct ctx *c, struct conf_account *acc, const struct conf_node *n)
{
	for (size_t i = 0; i < acc->from_id_login_addresses.n; i++) {
		const char *a = acc->from_id_login_addresses.v[i];
		int line = conf_line_item(n, "FromIDLoginAddresses", i, 1);
		const char *at = strrchr(a, '@');
		const struct conf_domain *dom = at ? conf_check_domain_find(c, at + 1) : NULL;
		if (!at || at == a || !dom || conf_login_lookup_addr(c->dc, a, false) != acc)
			conf_dec_err(c->d, line, "Accounts.%s.FromIDLoginAddresses[%zu]: \"%s\" is not a destination of this account",
				     acc->name, i, a);
		else if (dom->nseps == 0)
			conf_dec_err(c->d, line,
				     "Accounts.%s.FromIDLoginAddresses[%zu]: domain \"%s\" has no catch-all separator",
				     acc->name, i, dom->name);
	}
}

static void check_account(struct ctx *c, struct conf_account *acc, const struct conf_node *n, int line)
{
	const char *why;
	if (!conf_check_name(acc->name, &why))
		conf_dec_err(c->d, line, "Accounts.%s: %s", acc->name, why);
	acc->domain_conf = conf_check_domain_find(c, acc->domain);
	if (!acc->domain_conf)
		conf_dec_err(c->d, conf_line(n, "Domain", line), "Accounts.%s.Domain: domain \"%s\" is not configured",
			     acc->name, acc->domain);
	if (acc->ndestinations == 0)
		conf_dec_err(c->d, conf_line(n, "Destinations", line), "Accounts.%s.Destinations: at least one address required",
			     acc->name);
	const struct conf_node *dn = conf_sub(n, "Destinations");
	for (size_t j = 0; j < acc->ndestinations; j++)
		check_destination(c, acc, j, conf_pair_line(dn, j, line));
	if (acc->login_disabled && *acc->login_disabled && !conf_check_printable(acc->login_disabled, CONF_MESSAGE_MAX))
		conf_dec_err(c->d, conf_line(n, "LoginDisabled", line),
			     "Accounts.%s.LoginDisabled: must be at most 256 printable ASCII characters", acc->name);
	if (acc->full_name && strpbrk(acc->full_name, "\r\n"))
		conf_dec_err(c->d, conf_line(n, "FullName", line), "Accounts.%s.FullName: must be one line", acc->name);
}

/* tern.conf names accounts that must exist here; its lines are in st. */
static void check_static_refs(struct ctx *c)
{
	const struct conf_static *st = c->st;
	const struct conf_account *pm = account_find(c, st->postmaster.account);
	if (!pm)
		conf_dec_err_in(c->d, st->file, st->postmaster_line, "Postmaster.Account: no such account \"%s\" in %s",
				st->postmaster.account, c->d->file);
	c->dc->postmaster = (struct conf_dest){CONF_DEST_POSTMASTER, pm, st->postmaster.mailbox, NULL, NULL};
	for (size_t i = 0; i < st->nlisteners; i++) {
		const struct conf_submission *s = &st->listeners[i].submission;
		if (s->relay_account && !account_find(c, s->relay_account))
			conf_dec_err_in(c->d, st->file, s->relay_account_line,
					"Listeners.%s.Submission.RelayAccount: no such account \"%s\" in %s",
					st->listeners[i].name, s->relay_account, c->d->file);
	}
	const struct conf_host_tlsrpt *h = st->host_tlsrpt;
	if (!h)
		return;
	const struct conf_account *acc = account_find(c, h->account);
	if (!acc) {
		conf_dec_err_in(c->d, st->file, st->host_tlsrpt_line, "HostTLSRPT.Account: no such account \"%s\" in %s",
				h->account, c->d->file);
		return;
	}
	/* at the host name, even when it is also a hosted domain */
	struct conf_dest e = {CONF_DEST_HOST_TLSRPT, acc, h->mailbox, NULL, NULL};
	conf_check_dest_add(c, 1, "HostTLSRPT (tern.conf)", h->localpart, st->hostname, e);
}

void conf_accounts_check(struct ctx *c)
{
	struct conf_domains *dc = c->dc;
	const struct conf_node *an = conf_sub(c->root, "Accounts");
	for (size_t i = 0; i < dc->naccounts; i++)
		conf_map_put(&dc->account_map, dc->accounts[i].name, strlen(dc->accounts[i].name), &dc->accounts[i], NULL);
	for (size_t i = 0; i < dc->naccounts; i++)
		check_account(c, &dc->accounts[i], conf_pair_value(an, i), conf_pair_line(an, i, 1));
	const struct conf_node *dsn = conf_sub(c->root, "Domains");
	for (size_t i = 0; i < dc->ndomains; i++) {
		const struct conf_domain *dom = &dc->domains[i];
		if (!dom->ascii)
			continue;
		if (dom->dmarc)
			check_report(c, dom, dom->dmarc, CONF_DEST_DMARC, conf_pair_value(dsn, i));
		if (dom->tlsrpt)
			check_report(c, dom, dom->tlsrpt, CONF_DEST_TLSRPT, conf_pair_value(dsn, i));
	}
	if (c->st)
		check_static_refs(c);
	for (size_t i = 0; i < dc->naccounts; i++) {
		struct conf_account *acc = &dc->accounts[i];
		const struct conf_node *n = conf_pair_value(an, i);
		check_fromid(c, acc, n);
		check_webhooks(c, acc, n);
		char prefix[CONF_NAME_MAX + 32];
		snprintf(prefix, sizeof prefix, "Accounts.%s.Routes", acc->name);
		conf_check_routes(c, acc->routes, acc->nroutes, conf_sub(n, "Routes"), prefix);
	}
	conf_check_routes(c, dc->routes, dc->nroutes, conf_sub(c->root, "Routes"), "Routes");
	const struct conf_node *mn = conf_sub(c->root, "MonitorDNSBLs");
	for (size_t i = 0; i < dc->monitor_dnsbls.n; i++) {
		const char *why;
		char *a;
		if (conf_dname_norm(dc->monitor_dnsbls.v[i], &a, NULL, &why) < 0) {
			conf_dec_err(c->d, conf_item(mn, i) ? conf_item(mn, i)->line : 1,
				     "MonitorDNSBLs[%zu]: invalid zone \"%s\": %s", i, dc->monitor_dnsbls.v[i], why);
			continue;
		}
		free(dc->monitor_dnsbls.v[i]);
		dc->monitor_dnsbls.v[i] = a;
	}
}
