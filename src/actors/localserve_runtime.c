/* localserve at runtime (see localserve_runtime.h, localserve.md §3, §4).
 *
 * DESIGN: everything localserve changes about the running server that can be
 * decided from the config alone lives here, as functions the SMTP session and
 * the delivery call when localserve_active() says so; the session and queue
 * code keep one `if` at each hook point (docs/localserve.md lists them). The
 * mock DNS reads DKIM key files at most once per path (a small cache under a
 * mutex), so that lookups from I/O workers do not touch the disk again. */
#include "actors/localserve_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/dkim_keys.h"
#include "actors/localserve_conf.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"
#include "proto/dkim_crypto.h"
#include "proto/dkim_sign.h"

bool localserve_active(void)
{
	const struct server *s = server_get();
	return s && s->localserve;
}

void localserve_delivery_target(const struct conf_static *st, struct localserve_target *out)
{
	*out = (struct localserve_target){.host = LOCALSERVE_FALLBACK_HOST, .port = LOCALSERVE_FALLBACK_PORT};
	const struct conf_listener *l = conf_static_listener(st, LOCALSERVE_LISTENER);
	if (!l || !l->smtp.enabled || l->naddrs == 0)
		return;
	out->ip = l->addrs[0];
	if (netaddr_is_unspecified(&out->ip)) { /* 0.0.0.0 / :: listen everywhere: loopback reaches them */
		int fam = out->ip.family;
		memset(&out->ip, 0, sizeof out->ip);
		out->ip.family = (uint8_t)fam;
		if (fam == 4)
			out->ip.a[0] = 127, out->ip.a[3] = 1;
		else
			out->ip.a[15] = 1;
	}
	out->have_ip = true;
	out->port = (uint16_t)l->smtp.port;
	out->host = NULL;
}

int localserve_dest_lookup(const struct conf_domains *dc, const char *localpart, size_t lplen, const char *domain,
                           size_t dlen, struct conf_dest *out)
{
	int r = conf_dest_lookup(dc, localpart, lplen, domain, dlen, out);
	if (r == CONF_DEST_FOUND)
		return r;
	static const char lp[] = LOCALSERVE_ACCOUNT, dom[] = LOCALSERVE_DOMAIN;
	if (conf_dest_lookup(dc, lp, sizeof lp - 1, dom, sizeof dom - 1, out) == CONF_DEST_FOUND)
		return CONF_DEST_FOUND;
	if (dc->postmaster.account) {
		*out = dc->postmaster;
		return CONF_DEST_FOUND;
	}
	return r;
}

/* ---- mock DNS ---- */

struct key_record {
	char *path;
	char *record; /* NULL: the file did not load */
};

static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static struct key_record key_cache[LOCALSERVE_DKIM_CACHE_MAX];
static size_t key_ncache;

static char *load_record(const char *path)
{
	const char *why;
	struct dkim_privkey *k = dkim_keys_load_file(path, &why);
	if (!k)
		return NULL;
	struct buf rec;
	buf_init(&rec);
	dkim_sign_dns_record(k, &rec);
	dkim_privkey_free(k);
	return buf_cstr(&rec);
}

/* Appends the DKIM record for the key at path to out; returns whether there is one. */
static bool key_record(const char *path, struct buf *out)
{
	pthread_mutex_lock(&key_mu);
	struct key_record *e = NULL;
	for (size_t i = 0; i < key_ncache && !e; i++)
		if (strcmp(key_cache[i].path, path) == 0)
			e = &key_cache[i];
	char *uncached = NULL;
	if (!e) {
		char *r = load_record(path);
		if (key_ncache < LOCALSERVE_DKIM_CACHE_MAX) {
			e = &key_cache[key_ncache++];
			*e = (struct key_record){xstrdup(path), r};
		} else {
			uncached = r;
		}
	}
	const char *rec = e ? e->record : uncached;
	bool have = rec != NULL;
	if (have)
		buf_puts(out, rec);
	pthread_mutex_unlock(&key_mu);
	free(uncached);
	return have;
}

/* The hosted domain that name (lower case, no trailing dot) is in, or NULL;
 * *sublen gets the length of the labels before it, without their final dot
 * (0 for the domain itself). */
static const struct conf_domain *hosted(const struct conf_domains *dc, const char *name, size_t *sublen)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < dc->ndomains; i++) {
		const char *d = dc->domains[i].ascii;
		size_t dl = d ? strlen(d) : 0;
		if (!dl || dl > n || strcmp(name + n - dl, d) != 0)
			continue;
		if (dl == n) {
			*sublen = 0;
			return &dc->domains[i];
		}
		if (name[n - dl - 1] == '.') {
			*sublen = n - dl - 1;
			return &dc->domains[i];
		}
	}
	return NULL;
}

static void add_rr(struct localserve_dns *out, const char *text)
{
	size_t i = out->answer.nrr;
	if (i >= LOCALSERVE_DNS_RRS_MAX)
		return;
	if (text)
		buf_puts(&out->data[i], text);
	out->rr[i] = buf_slice(&out->data[i]);
	out->answer.nrr++;
}

static void dkim_answer(const struct conf_domain *dom, const char *name, size_t sublen, struct localserve_dns *out)
{
	static const char suffix[] = "._domainkey";
	size_t sl = sizeof suffix - 1;
	if (!dom->dkim || sublen <= sl || strncmp(name + sublen - sl, suffix, sl) != 0)
		return;
	size_t sellen = sublen - sl;
	for (size_t i = 0; i < dom->dkim->nselectors; i++) {
		const struct conf_dkim_selector *s = &dom->dkim->selectors[i];
		if (strlen(s->name) != sellen || strncasecmp(s->name, name, sellen) != 0 || !s->private_key_path)
			continue;
		size_t k = out->answer.nrr;
		if (k < LOCALSERVE_DNS_RRS_MAX && key_record(s->private_key_path, &out->data[k]))
			add_rr(out, NULL);
		return;
	}
}

void localserve_dns_answer(const struct conf_domains *dc, const struct mailauth_dns_query *q,
                           const struct netaddr *client, struct localserve_dns *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < LOCALSERVE_DNS_RRS_MAX; i++)
		buf_init(&out->data[i]);
	out->answer.rr = out->rr;
	char name[MAILAUTH_NAME_MAX + 2];
	size_t n = strnlen(q->name, MAILAUTH_NAME_MAX + 1);
	for (size_t i = 0; i < n; i++)
		name[i] = (char)((q->name[i] >= 'A' && q->name[i] <= 'Z') ? q->name[i] + 32 : q->name[i]);
	if (n && name[n - 1] == '.')
		n--;
	name[n] = 0;
	size_t sublen = 0;
	const struct conf_domain *dom = hosted(dc, name, &sublen);
	if (!dom) {
		out->answer.status = MAILAUTH_DNS_NXDOMAIN;
		return;
	}
	out->answer.status = MAILAUTH_DNS_OK;
	if (q->type != MAILAUTH_DNS_TXT)
		return;
	if (sublen == 0) {
		if (client && netaddr_is_loopback(client))
			add_rr(out, "v=spf1 ip4:127.0.0.1/8 ip6:::1 ~all");
	} else if (sublen == 6 && strncmp(name, "_dmarc", 6) == 0) {
		add_rr(out, "v=DMARC1; p=none");
	} else {
		dkim_answer(dom, name, sublen, out);
	}
}

void localserve_dns_free(struct localserve_dns *d)
{
	for (int i = 0; i < LOCALSERVE_DNS_RRS_MAX; i++)
		buf_free(&d->data[i]);
	memset(d, 0, sizeof *d);
}
