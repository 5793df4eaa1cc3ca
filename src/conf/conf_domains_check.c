/* domains.conf rules for domains and routes, and the check entry point.
 *
 * DESIGN: checking and building the lookup tables are one pass, because most
 * rules are lookups themselves (an address used twice, a destination at an
 * unknown domain, a FromID address that is not the account's). Domains are
 * keyed by lower case A-labels, addresses by conf_dest_key, so the same
 * normal forms are used here and on the hot path (conf_lookup.c). Checks run
 * only on a cleanly decoded file; line numbers come from the YAML tree
 * walked in parallel (NULL nodes are fine). */
#include "conf/conf_domains_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_check.h"
#include "conf/conf_dname.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"

#define KEY_MAX (CONF_LOOKUP_LOCALPART_MAX + CONF_DNAME_MAX + 2)

#define ctx conf_check_ctx

struct conf_domain *conf_check_domain_find(struct ctx *c, const char *name)
{
	char key[CONF_DNAME_MAX + 1];
	int n = conf_dname_key(name, strlen(name), key, sizeof key);
	return n < 0 ? NULL : conf_map_get(&c->dc->domain_map, key, (size_t)n);
}

static const char *account_owner(const struct conf_dest *e)
{
	return e->account ? e->account->name : "postmaster";
}

void conf_check_dest_add(struct ctx *c, int line, const char *what, const char *lp, const char *dascii,
                         struct conf_dest e)
{
	char key[KEY_MAX];
	const struct conf_domain *dom = e.domain;
	if (dom)
		dascii = dom->ascii;
	int n = conf_dest_key(key, sizeof key, lp, strlen(lp), dom, dascii, false);
	if (n < 0) {
		conf_dec_err(c->d, line, "%s: address too long", what);
		return;
	}
	struct conf_dest *slot = &c->dc->dests[c->dc->ndests];
	*slot = e;
	void *old;
	if (conf_map_put(&c->dc->dest_map, key, (size_t)n, slot, &old) < 0) {
		conf_dec_err(c->d, line, "%s: address %s is already used by account \"%s\"", what, key,
			     account_owner(old));
		return;
	}
	c->dc->ndests++;
}

static void check_seps(struct ctx *c, struct conf_domain *dom, const struct conf_node *n)
{
	if (dom->localpart_catchall_separator && dom->localpart_catchall_separators.n) {
		conf_dec_err(c->d, conf_line(n, "LocalpartCatchallSeparators", 0),
			     "Domains.%s: only one of LocalpartCatchallSeparator and LocalpartCatchallSeparators may be set",
			     dom->name);
		return;
	}
	if (dom->localpart_catchall_separator) {
		dom->seps = (const char *const *)&dom->localpart_catchall_separator;
		dom->nseps = 1;
	} else {
		dom->seps = (const char *const *)dom->localpart_catchall_separators.v;
		dom->nseps = dom->localpart_catchall_separators.n;
	}
	for (size_t i = 0; i < dom->nseps; i++) {
		const char *s = dom->seps[i];
		if (!conf_check_printable(s, 8) || strpbrk(s, "@ \"\\."))
			conf_dec_err(c->d, conf_line(n, dom->localpart_catchall_separator ? "LocalpartCatchallSeparator"
											   : "LocalpartCatchallSeparators", 0),
				     "Domains.%s: invalid catch-all separator \"%s\"", dom->name, s);
	}
}

void conf_check_routes(struct ctx *c, struct conf_route *r, size_t n, const struct conf_node *list,
                         const char *prefix)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_node *rn = conf_item(list, i);
		struct conf_strs *src[2] = {&r[i].from_domain, &r[i].to_domain};
		struct conf_strs *dst[2] = {&r[i].from_ascii, &r[i].to_ascii};
		const char *fname[2] = {"FromDomain", "ToDomain"};
		for (int k = 0; k < 2; k++) {
			for (size_t j = 0; j < src[k]->n; j++) {
				const char *s = src[k]->v[j], *why;
				bool dot = s[0] == '.';
				char *a;
				if (conf_dname_norm(s + dot, &a, NULL, &why) < 0) {
					conf_dec_err(c->d, conf_line_item(rn, fname[k], j, list ? list->line : 1),
						     "%s[%zu].%s[%zu]: invalid domain \"%s\": %s", prefix, i, fname[k], j, s, why);
					continue;
				}
				char *v = xasprintf("%s%s", dot ? "." : "", a);
				free(a);
				conf_strs_add(dst[k], v);
				free(v);
			}
		}
		if (c->st) {
			r[i].transport_conf = conf_static_transport(c->st, r[i].transport);
			if (!r[i].transport_conf)
				conf_dec_err(c->d, conf_line(rn, "Transport", list ? list->line : 1),
					     "%s[%zu].Transport: unknown transport \"%s\"", prefix, i, r[i].transport);
		}
	}
}

static void check_dkim(struct ctx *c, struct conf_domain *dom, const struct conf_node *n)
{
	const struct conf_node *dn = conf_sub(n, "DKIM");
	const struct conf_node *sn = conf_sub(dn, "Selectors");
	for (size_t i = 0; i < dom->dkim->nselectors; i++) {
		const struct conf_dkim_selector *s = &dom->dkim->selectors[i];
		const char *why;
		if (conf_dname_norm(s->name, NULL, NULL, &why) < 0 || strchr(s->name, '.'))
			conf_dec_err(c->d, conf_pair_line(sn, i, 1), "Domains.%s.DKIM.Selectors.%s: invalid selector name",
				     dom->name, s->name);
		for (size_t j = 0; j < s->headers.n; j++)
			if (!conf_check_printable(s->headers.v[j], 256) || strpbrk(s->headers.v[j], ": "))
				conf_dec_err(c->d, conf_line_item(conf_pair_value(sn, i), "Headers", j, 1),
					     "Domains.%s.DKIM.Selectors.%s.Headers[%zu]: invalid header name", dom->name,
					     s->name, j);
	}
	for (size_t i = 0; i < dom->dkim->sign.n; i++) {
		bool found = false;
		for (size_t j = 0; j < dom->dkim->nselectors && !found; j++)
			found = strcmp(dom->dkim->selectors[j].name, dom->dkim->sign.v[i]) == 0;
		if (!found)
			conf_dec_err(c->d, conf_line_item(dn, "Sign", i, 1), "Domains.%s.DKIM.Sign[%zu]: unknown selector \"%s\"",
				     dom->name, i, dom->dkim->sign.v[i]);
	}
}

static void check_mtasts(struct ctx *c, struct conf_domain *dom, const struct conf_node *n)
{
	const struct conf_node *mn = conf_sub(n, "MTASTS");
	const char *id = dom->mtasts->policy_id;
	size_t len = strlen(id);
	bool ok = len >= 1 && len <= 32;
	for (size_t i = 0; i < len; i++)
		ok = ok && ((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9'));
	if (!ok)
		conf_dec_err(c->d, conf_line(mn, "PolicyID", 1), "Domains.%s.MTASTS.PolicyID: must be 1 to 32 letters and digits",
			     dom->name);
	for (size_t i = 0; i < dom->mtasts->mx.n; i++) {
		const char *mx = dom->mtasts->mx.v[i], *why;
		if (conf_dname_norm(strncmp(mx, "*.", 2) == 0 ? mx + 2 : mx, NULL, NULL, &why) < 0)
			conf_dec_err(c->d, conf_line_item(mn, "MX", i, 1), "Domains.%s.MTASTS.MX[%zu]: invalid host \"%s\": %s",
				     dom->name, i, mx, why);
	}
}

static void check_domains(struct ctx *c)
{
	const struct conf_node *dsn = conf_sub(c->root, "Domains");
	for (size_t i = 0; i < c->dc->ndomains; i++) {
		struct conf_domain *dom = &c->dc->domains[i];
		const struct conf_node *n = conf_pair_value(dsn, i);
		int line = conf_pair_line(dsn, i, 1);
		const char *why;
		if (conf_dname_norm(dom->name, &dom->ascii, &dom->unicode, &why) < 0) {
			conf_dec_err(c->d, line, "Domains.%s: invalid domain name: %s", dom->name, why);
			continue;
		}
		void *old;
		if (conf_map_put(&c->dc->domain_map, dom->ascii, strlen(dom->ascii), dom, &old) < 0)
			conf_dec_err(c->d, line, "Domains.%s: same domain as %s", dom->name, ((struct conf_domain *)old)->name);
		check_seps(c, dom, n);
		if (dom->dkim)
			check_dkim(c, dom, n);
		if (dom->mtasts)
			check_mtasts(c, dom, n);
		char prefix[CONF_DNAME_MAX + 32];
		snprintf(prefix, sizeof prefix, "Domains.%s.Routes", dom->name);
		conf_check_routes(c, dom->routes, dom->nroutes, conf_sub(n, "Routes"), prefix);
	}
}

void conf_domains_check(struct conf_dec *d, struct conf_domains *dc, const struct conf_static *st,
                        const struct conf_node *root)
{
	struct ctx c = {d, dc, st, root};
	size_t naddr = 1;
	for (size_t i = 0; i < dc->naccounts; i++)
		naddr += dc->accounts[i].ndestinations;
	naddr += 2 * dc->ndomains;
	dc->dests = xcalloc(naddr, sizeof *dc->dests);
	conf_map_init(&dc->domain_map, dc->ndomains);
	conf_map_init(&dc->account_map, dc->naccounts);
	conf_map_init(&dc->dest_map, naddr);
	check_domains(&c);
	conf_accounts_check(&c);
}
