/* The first-start configuration of `tern localserve` (localserve.md §1, §2).
 *
 * DESIGN: the config is built with the conf builders (conf_static_new,
 * conf_domains_new, ...) and written with the same writers the rewrites use,
 * so quoting and defaults come from the schema and the files always load;
 * services Tern does not run yet are written all the same (they validate and
 * are simply not started). Only `LocalserveTimeout` is appended by hand: the
 * writer leaves defaults out, and this one is meant to be found and tuned.
 * tern.conf is only returned as text, checked together with the written
 * domains.conf: the caller creates it last (localserve.c). */
#include "actors/localserve_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "actors/confgen.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static void enable_http(struct conf_http *h, int port)
{
	h->enabled = true;
	h->port = port;
}

static void build_listener(struct conf_static *st, const char *const *ips, size_t nips)
{
	struct conf_listener *l = conf_static_add_listener(st, LOCALSERVE_LISTENER);
	for (size_t i = 0; i < nips; i++)
		conf_strs_add(&l->ips, ips[i]);
	l->tls = conf_static_new_tls();
	conf_static_tls_add_keycert(l->tls, LOCALSERVE_CERT_FILE, LOCALSERVE_KEY_FILE);
	l->smtp.enabled = true;
	l->smtp.port = LOCALSERVE_PORT_SMTP;
	l->submission.enabled = true;
	l->submission.port = LOCALSERVE_PORT_SUBMISSION;
	l->submission.no_require_starttls = true;
	l->submissions.enabled = true;
	l->submissions.port = LOCALSERVE_PORT_SUBMISSIONS;
	l->imap.enabled = true;
	l->imap.port = LOCALSERVE_PORT_IMAP;
	l->imap.no_require_starttls = true;
	l->imaps.enabled = true;
	l->imaps.port = LOCALSERVE_PORT_IMAPS;
	enable_http(&l->account_http, LOCALSERVE_PORT_HTTP);
	enable_http(&l->admin_http, LOCALSERVE_PORT_HTTP);
	enable_http(&l->webapi_http, LOCALSERVE_PORT_HTTP);
	enable_http(&l->account_https, LOCALSERVE_PORT_HTTPS);
	enable_http(&l->admin_https, LOCALSERVE_PORT_HTTPS);
	enable_http(&l->webapi_https, LOCALSERVE_PORT_HTTPS);
	l->metrics_http.enabled = true;
	l->metrics_http.port = LOCALSERVE_PORT_METRICS;
}

static struct conf_static *build_static(const char *const *ips, size_t nips)
{
	struct conf_static *st = conf_static_new();
	set_str(&st->hostname, LOCALSERVE_HOSTNAME);
	set_str(&st->data_dir, ".");
	st->log_level = CONF_LOG_TRACEAUTH;
	char uid[24];
	snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
	set_str(&st->user, uid);
	st->tls.ca.additional_to_system = true;
	conf_strs_add(&st->tls.ca.cert_files, LOCALSERVE_CERT_FILE);
	set_str(&st->postmaster.account, LOCALSERVE_ACCOUNT);
	set_str(&st->postmaster.mailbox, "Inbox");
	st->webhooks.allow_internal_targets = true;
	build_listener(st, ips, nips);
	return st;
}

static struct conf_domains *build_domains(void)
{
	struct conf_domains *dc = conf_domains_new();
	struct conf_domain *dom = conf_domains_add_domain(dc, LOCALSERVE_DOMAIN);
	dom->localpart_catchall_separator = xstrdup("+");
	struct conf_dkim_selector *sel = conf_domain_add_selector(dom, LOCALSERVE_DKIM_SELECTOR, LOCALSERVE_DKIM_FILE);
	sel->canonicalization.header_relaxed = true;
	sel->canonicalization.body_relaxed = true;
	sel->expiration_ms = LOCALSERVE_DKIM_EXPIRATION_MS;
	conf_strs_add(&dom->dkim->sign, LOCALSERVE_DKIM_SELECTOR);
	struct conf_account *acc = conf_domains_add_account(dc, LOCALSERVE_ACCOUNT, LOCALSERVE_DOMAIN);
	conf_account_add_destination(acc, LOCALSERVE_ADDRESS, NULL);
	acc->keep_retired_message_period_ms = LOCALSERVE_KEEP_MS;
	acc->keep_retired_webhook_period_ms = LOCALSERVE_KEEP_MS;
	return dc;
}

void localserve_conf_text(const char *const *ips, size_t nips, struct buf *static_out, struct buf *domains_out)
{
	struct conf_static *st = build_static(ips, nips);
	buf_puts(static_out, "# Written by `tern localserve` on its first start; later starts use it as it is.\n");
	conf_static_write(st, static_out);
	buf_puts(static_out, "# How long the `timeout` special localparts wait (localserve.md §5).\n"
	                     "LocalserveTimeout: 60s\n");
	conf_static_free(st);
	struct conf_domains *dc = build_domains();
	buf_puts(domains_out, "# Written by `tern localserve` on its first start.\n");
	conf_domains_write(dc, domains_out);
	conf_domains_release(dc);
}

static int write_dkim_key(const char *dir, struct buf *err)
{
	char path[CONFGEN_PATH_MAX];
	if (confgen_path(path, dir, LOCALSERVE_DKIM_FILE, err) != 0)
		return -1;
	struct buf key;
	buf_init(&key);
	int r = -1;
	if (tls_cert_ed25519_key(&key, NULL) != 0)
		buf_puts(err, "cannot generate the ed25519 DKIM key");
	else
		r = confgen_write(path, key.p, key.len, 0600, false, err);
	buf_free(&key);
	return r;
}

int localserve_conf_write(const char *dir, const char *const *ips, size_t nips, struct buf *static_text,
                          struct buf *err)
{
	char p1[CONFGEN_PATH_MAX], p2[CONFGEN_PATH_MAX];
	if (write_dkim_key(dir, err) != 0)
		return -1;
	if (confgen_path(p1, dir, LOCALSERVE_CERT_FILE, err) != 0 || confgen_path(p2, dir, LOCALSERVE_KEY_FILE, err) != 0 ||
	    confgen_selfsigned(LOCALSERVE_HOSTNAME, LOCALSERVE_CERT_DAYS, p1, p2, false, err) != 0)
		return -1;
	if (confgen_path(p1, dir, "adminpasswd", err) != 0 ||
	    confgen_adminpasswd(p1, LOCALSERVE_ADMIN_PASSWORD, false, err) != 0)
		return -1;
	struct buf dc;
	buf_init(&dc);
	localserve_conf_text(ips, nips, static_text, &dc);
	int r = -1;
	if (confgen_path(p1, dir, "domains.conf", err) == 0 && confgen_write(p1, dc.p, dc.len, 0644, false, err) == 0)
		r = confgen_validate(dir, static_text, err);
	buf_free(&dc);
	return r;
}
