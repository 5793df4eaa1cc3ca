/* Lookups on a domains.conf snapshot: the per-RCPT path of the SMTP server,
 * login checks, FromID addresses, route selection.
 *
 * DESIGN: every address is reduced to one normal key (conf_dest_key) that was
 * also used to fill the table at load time, so a lookup is one or two hash
 * probes into stack buffers; nothing here allocates unless the domain is
 * non-ASCII (IDNA conversion). */
#include "conf/conf_lookup.h"

#include <string.h>
#include <strings.h>

#include "conf/conf_dname.h"
#include "conf/conf_static.h"

#define KEY_MAX (CONF_LOOKUP_LOCALPART_MAX + CONF_DNAME_MAX + 2)

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Length of lp up to the first occurrence of any of dom's separators. */
static size_t cut_len(const char *lp, size_t lplen, const struct conf_domain *dom)
{
	size_t best = lplen;
	for (size_t s = 0; dom && s < dom->nseps; s++) {
		size_t sl = strlen(dom->seps[s]);
		for (size_t i = 0; sl && i + sl <= best; i++) {
			if (memcmp(lp + i, dom->seps[s], sl) == 0) {
				best = i;
				break;
			}
		}
	}
	return best;
}

int conf_dest_key(char *out, size_t cap, const char *lp, size_t lplen, const struct conf_domain *dom,
                  const char *dascii, bool cut)
{
	if (cut)
		lplen = cut_len(lp, lplen, dom);
	size_t dlen = strlen(dascii);
	if (lplen + 1 + dlen + 1 > cap)
		return -1;
	bool cs = dom && dom->localpart_case_sensitive;
	for (size_t i = 0; i < lplen; i++)
		out[i] = cs ? lp[i] : lower(lp[i]);
	out[lplen] = '@';
	memcpy(out + lplen + 1, dascii, dlen + 1);
	return (int)(lplen + 1 + dlen);
}

const struct conf_domain *conf_domain_get(const struct conf_domains *dc, const char *name, size_t len)
{
	char key[CONF_DNAME_MAX + 1];
	int n = conf_dname_key(name, len, key, sizeof key);
	return n < 0 ? NULL : conf_map_get(&dc->domain_map, key, (size_t)n);
}

const struct conf_account *conf_account_get(const struct conf_domains *dc, const char *name)
{
	return conf_map_get(&dc->account_map, name, strlen(name));
}

static bool is_postmaster(const char *lp, size_t len)
{
	return len == 10 && strncasecmp(lp, "postmaster", 10) == 0;
}

int conf_dest_lookup(const struct conf_domains *dc, const char *localpart, size_t lplen, const char *domain,
                     size_t dlen, struct conf_dest *out)
{
	memset(out, 0, sizeof *out);
	if (lplen > CONF_LOOKUP_LOCALPART_MAX)
		return CONF_DEST_ENODOMAIN;
	if (dlen == 0) {
		if (!is_postmaster(localpart, lplen) || !dc->postmaster.account)
			return CONF_DEST_ENODOMAIN;
		*out = dc->postmaster;
		return CONF_DEST_FOUND;
	}
	char dkey[CONF_DNAME_MAX + 1], key[KEY_MAX];
	int dn = conf_dname_key(domain, dlen, dkey, sizeof dkey);
	if (dn < 0)
		return CONF_DEST_ENODOMAIN;
	const struct conf_domain *dom = conf_map_get(&dc->domain_map, dkey, (size_t)dn);
	int kn = conf_dest_key(key, sizeof key, localpart, lplen, dom, dkey, true);
	const struct conf_dest *e = kn < 0 ? NULL : conf_map_get(&dc->dest_map, key, (size_t)kn);
	if (e) {
		*out = *e;
		return CONF_DEST_FOUND;
	}
	size_t cut = cut_len(localpart, lplen, dom);
	bool host = dc->st && conf_static_is_hostname(dc->st, dkey, (size_t)dn);
	if (is_postmaster(localpart, cut) && (dom || host) && dc->postmaster.account) {
		*out = dc->postmaster;
		out->domain = dom;
		return CONF_DEST_FOUND;
	}
	if (!dom)
		return CONF_DEST_ENODOMAIN;
	out->domain = dom;
	kn = conf_dest_key(key, sizeof key, "", 0, dom, dkey, false);
	e = conf_map_get(&dc->dest_map, key, (size_t)kn);
	if (!e)
		return CONF_DEST_ENOUSER;
	*out = *e;
	return CONF_DEST_FOUND;
}

const struct conf_account *conf_login_lookup(const struct conf_domains *dc, const char *localpart, size_t lplen,
                                             const char *domain, size_t dlen, bool allow_catchall)
{
	char dkey[CONF_DNAME_MAX + 1], key[KEY_MAX];
	if (lplen == 0 || lplen > CONF_LOOKUP_LOCALPART_MAX)
		return NULL;
	int dn = conf_dname_key(domain, dlen, dkey, sizeof dkey);
	const struct conf_domain *dom = dn < 0 ? NULL : conf_map_get(&dc->domain_map, dkey, (size_t)dn);
	if (!dom)
		return NULL;
	int kn = conf_dest_key(key, sizeof key, localpart, lplen, dom, dkey, allow_catchall);
	const struct conf_dest *e = kn < 0 ? NULL : conf_map_get(&dc->dest_map, key, (size_t)kn);
	return e && e->kind == CONF_DEST_ADDRESS ? e->account : NULL;
}

const struct conf_account *conf_login_lookup_addr(const struct conf_domains *dc, const char *address,
                                                  bool allow_catchall)
{
	const char *at = strrchr(address, '@');
	if (!at)
		return NULL;
	return conf_login_lookup(dc, address, (size_t)(at - address), at + 1, strlen(at + 1), allow_catchall);
}

bool conf_account_has_login(const struct conf_domains *dc, const struct conf_account *acc, const char *localpart,
                            size_t lplen, const char *domain, size_t dlen, bool allow_catchall)
{
	return acc && conf_login_lookup(dc, localpart, lplen, domain, dlen, allow_catchall) == acc;
}

bool conf_account_fromid_sep(const struct conf_domains *dc, const struct conf_account *acc, const char *address,
                             const char **sep)
{
	const char *at = strrchr(address, '@');
	if (!at)
		return false;
	char dkey[CONF_DNAME_MAX + 1], k1[KEY_MAX], k2[KEY_MAX];
	int dn = conf_dname_key(at + 1, strlen(at + 1), dkey, sizeof dkey);
	const struct conf_domain *dom = dn < 0 ? NULL : conf_map_get(&dc->domain_map, dkey, (size_t)dn);
	if (!dom || dom->nseps == 0)
		return false;
	int n1 = conf_dest_key(k1, sizeof k1, address, (size_t)(at - address), dom, dkey, false);
	for (size_t i = 0; n1 >= 0 && i < acc->from_id_login_addresses.n; i++) {
		const char *f = acc->from_id_login_addresses.v[i], *fat = strrchr(f, '@');
		char fkey[CONF_DNAME_MAX + 1];
		int fdn = fat ? conf_dname_key(fat + 1, strlen(fat + 1), fkey, sizeof fkey) : -1;
		if (fdn < 0 || strcmp(fkey, dkey) != 0)
			continue;
		int n2 = conf_dest_key(k2, sizeof k2, f, (size_t)(fat - f), dom, dkey, false);
		if (n2 == n1 && memcmp(k1, k2, (size_t)n1) == 0) {
			*sep = dom->seps[0];
			return true;
		}
	}
	return false;
}

static bool domain_matches(const struct conf_strs *l, const char *d)
{
	if (l->n == 0)
		return true;
	if (!d)
		return false;
	size_t dl = strlen(d);
	for (size_t i = 0; i < l->n; i++) {
		const char *e = l->v[i];
		size_t el = strlen(e);
		if (e[0] == '.' ? (dl > el && strcmp(d + dl - el, e) == 0) : strcmp(d, e) == 0)
			return true;
	}
	return false;
}

static const struct conf_route *first_match(const struct conf_route *r, size_t n, const char *from, const char *to,
                                            int attempts)
{
	for (size_t i = 0; i < n; i++)
		if (attempts >= r[i].minimum_attempts && domain_matches(&r[i].from_ascii, from) &&
		    domain_matches(&r[i].to_ascii, to))
			return &r[i];
	return NULL;
}

const struct conf_route *conf_route_find(const struct conf_domains *dc, const struct conf_account *acc,
                                         const char *from_domain, const char *to_domain, int attempts)
{
	const struct conf_route *r = NULL;
	if (acc)
		r = first_match(acc->routes, acc->nroutes, from_domain, to_domain, attempts);
	const struct conf_domain *dom = from_domain ? conf_domain_get(dc, from_domain, strlen(from_domain)) : NULL;
	if (!r && dom)
		r = first_match(dom->routes, dom->nroutes, from_domain, to_domain, attempts);
	if (!r)
		r = first_match(dc->routes, dc->nroutes, from_domain, to_domain, attempts);
	return r;
}

int64_t conf_account_quota(const struct conf_domains *dc, const struct conf_account *acc)
{
	if (acc->quota_message_size < 0)
		return 0;
	if (acc->quota_message_size > 0)
		return acc->quota_message_size;
	return dc->st ? dc->st->quota_message_size : 0;
}
