/* The domains.conf changes behind the CLI `config domain ...` and
 * `config account ...` commands.
 *
 * DESIGN: each change works on a rewrite's private copy, which has no lookup
 * tables, so names are matched by linear search on normal forms (copies are
 * rewritten rarely; clarity wins). A change only checks what it needs for a
 * clear message ("domain exists"); every other rule is enforced by the full
 * validation that conf_rewrite runs on the result. */
#include "conf/conf_rewrite.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf_check.h"
#include "conf/conf_dname.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"

/* Index of the domain whose normal form equals name's, or -1. */
static long domain_index(const struct conf_domains *dc, const char *name)
{
	char key[CONF_DNAME_MAX + 1], k2[CONF_DNAME_MAX + 1];
	int n = conf_dname_key(name, strlen(name), key, sizeof key);
	for (size_t i = 0; n >= 0 && i < dc->ndomains; i++) {
		const char *dn = dc->domains[i].name;
		if (conf_dname_key(dn, strlen(dn), k2, sizeof k2) >= 0 && strcmp(key, k2) == 0)
			return (long)i;
	}
	return -1;
}

static long account_index(const struct conf_domains *dc, const char *name)
{
	for (size_t i = 0; i < dc->naccounts; i++)
		if (strcmp(dc->accounts[i].name, name) == 0)
			return (long)i;
	return -1;
}

static struct conf_domain *need_domain(struct conf_domains *dc, const char *name, struct buf *err)
{
	long i = domain_index(dc, name);
	if (i < 0) {
		buf_printf(err, "domain %s does not exist\n", name);
		return NULL;
	}
	return &dc->domains[i];
}

static struct conf_account *need_account(struct conf_domains *dc, const char *name, struct buf *err)
{
	long i = account_index(dc, name);
	if (i < 0) {
		buf_printf(err, "account %s does not exist\n", name);
		return NULL;
	}
	return &dc->accounts[i];
}

static void add_selectors(struct conf_domain *dom, const struct conf_domain_add *a)
{
	for (size_t i = 0; i < a->nselectors; i++) {
		const struct conf_new_selector *ns = &a->selectors[i];
		struct conf_dkim_selector *s = conf_domain_add_selector(dom, ns->name, ns->private_key_file);
		s->hash = ns->hash;
		s->expiration_ms = ns->expiration_ms;
		conf_strs_add(&dom->dkim->sign, ns->name);
	}
}

int conf_change_domain_add(struct conf_domains *dc, void *arg, struct buf *err)
{
	const struct conf_domain_add *a = arg;
	char *unicode;
	const char *why;
	if (conf_dname_norm(a->domain, NULL, &unicode, &why) < 0) {
		buf_printf(err, "invalid domain %s: %s\n", a->domain, why);
		return -1;
	}
	if (domain_index(dc, unicode) >= 0) {
		buf_printf(err, "domain %s already exists\n", unicode);
		free(unicode);
		return -1;
	}
	struct conf_domain *dom = conf_domains_add_domain(dc, unicode);
	dom->disabled = a->disabled;
	add_selectors(dom, a);
	const char *lp = a->localpart ? a->localpart : a->account;
	char *addr = xasprintf("%s@%s", lp, unicode);
	long ai = account_index(dc, a->account);
	struct conf_account *acc = ai >= 0 ? &dc->accounts[ai] : conf_domains_add_account(dc, a->account, unicode);
	conf_account_add_destination(acc, addr, NULL);
	free(addr);
	free(unicode);
	return 0;
}

int conf_change_domain_rm(struct conf_domains *dc, void *arg, struct buf *err)
{
	const char *name = arg;
	long di = domain_index(dc, name);
	if (di < 0) {
		buf_printf(err, "domain %s does not exist\n", name);
		return -1;
	}
	int uses = 0;
	for (size_t i = 0; i < dc->naccounts; i++) {
		const struct conf_account *acc = &dc->accounts[i];
		if (domain_index(dc, acc->domain) == di && uses++ < 10)
			buf_printf(err, "domain %s is the default domain of account %s\n", name, acc->name);
		for (size_t j = 0; j < acc->ndestinations; j++) {
			const char *at = strrchr(acc->destinations[j].name, '@');
			if (at && domain_index(dc, at + 1) == di && uses++ < 10)
				buf_printf(err, "domain %s still has address %s of account %s\n", name,
					   acc->destinations[j].name, acc->name);
		}
	}
	if (uses)
		return -1;
	conf_domains_remove_domain(dc, (size_t)di);
	return 0;
}

int conf_change_domain_disable(struct conf_domains *dc, void *arg, struct buf *err)
{
	struct conf_domain *dom = need_domain(dc, arg, err);
	if (!dom)
		return -1;
	dom->disabled = true;
	return 0;
}

int conf_change_domain_enable(struct conf_domains *dc, void *arg, struct buf *err)
{
	struct conf_domain *dom = need_domain(dc, arg, err);
	if (!dom)
		return -1;
	dom->disabled = false;
	return 0;
}

int conf_change_account_add(struct conf_domains *dc, void *arg, struct buf *err)
{
	const struct conf_account_arg *a = arg;
	const char *why;
	if (!conf_check_name(a->account, &why)) {
		buf_printf(err, "invalid account name: %s\n", why);
		return -1;
	}
	if (account_index(dc, a->account) >= 0) {
		buf_printf(err, "account %s already exists\n", a->account);
		return -1;
	}
	const char *at = strrchr(a->value, '@');
	if (!at || at == a->value) {
		buf_printf(err, "address %s must be localpart@domain\n", a->value);
		return -1;
	}
	long di = domain_index(dc, at + 1);
	if (di < 0) {
		buf_printf(err, "domain %s does not exist\n", at + 1);
		return -1;
	}
	struct conf_account *acc = conf_domains_add_account(dc, a->account, dc->domains[di].name);
	conf_account_add_destination(acc, a->value, NULL);
	return 0;
}

int conf_change_account_rm(struct conf_domains *dc, void *arg, struct buf *err)
{
	long i = account_index(dc, arg);
	if (i < 0) {
		buf_printf(err, "account %s does not exist\n", (const char *)arg);
		return -1;
	}
	conf_domains_remove_account(dc, (size_t)i);
	return 0;
}

int conf_change_account_disable(struct conf_domains *dc, void *arg, struct buf *err)
{
	const struct conf_account_arg *a = arg;
	struct conf_account *acc = need_account(dc, a->account, err);
	if (!acc)
		return -1;
	if (!conf_check_printable(a->value, CONF_MESSAGE_MAX)) {
		buf_printf(err, "message must be 1 to 256 printable ASCII characters\n");
		return -1;
	}
	free(acc->login_disabled);
	acc->login_disabled = xstrdup(a->value);
	return 0;
}

int conf_change_account_enable(struct conf_domains *dc, void *arg, struct buf *err)
{
	struct conf_account *acc = need_account(dc, arg, err);
	if (!acc)
		return -1;
	free(acc->login_disabled);
	acc->login_disabled = NULL;
	return 0;
}
