/* localserve: the generated configuration (files on disk, loaded as `serve`
 * loads them), the catch-all resolution, the mock DNS answers made from the
 * generated DKIM key, and the delivery target. */
#include "check.h"

#include "../conf/conf_testutil.h"
#include "actors/confgen.h"
#include "actors/localserve_conf.h"
#include "actors/localserve_runtime.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"
#include "proto/dkim_crypto.h"
#include "proto/dkim_sign.h"

struct generated {
	char *dir;
	struct conf_static *st;
	struct conf_domains *dc;
};

static void generate(struct generated *g, const char *const *ips, size_t nips)
{
	g->dir = tu_tmpdir();
	struct buf text, err;
	buf_init(&text);
	buf_init(&err);
	CHECK_INT(localserve_conf_write(g->dir, ips, nips, &text, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	char *name = xasprintf("%s/tern.conf", g->dir);
	CHECK_INT(conf_static_parse(name, text.p, text.len, g->dir, &g->st, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	CHECK_INT(conf_domains_load(g->st->domains_path, g->st, &g->dc, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	free(name);
	buf_free(&text);
	buf_free(&err);
}

static void drop(struct generated *g)
{
	conf_domains_release(g->dc);
	conf_static_free(g->st);
	tu_rmdir(g->dir);
}

static const char *const default_ips[] = {"127.0.0.1", "::1"};

TEST(generated_config_has_the_spec_values)
{
	struct generated g;
	generate(&g, default_ips, 2);
	if (!g.dc)
		return;
	CHECK_STR(g.st->hostname, "localhost");
	CHECK_STR(g.st->data_dir, ".");
	CHECK_INT(g.st->log_level, CONF_LOG_TRACEAUTH);
	char uid[24];
	snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
	CHECK_STR(g.st->user, uid);
	CHECK(g.st->tls.ca.additional_to_system);
	CHECK_INT(g.st->tls.ca.cert_files.n, 1);
	CHECK_STR(g.st->tls.ca.cert_files.v[0], "localhost.crt");
	CHECK_STR(g.st->postmaster.account, "tern");
	CHECK_STR(g.st->postmaster.mailbox, "Inbox");
	CHECK(g.st->webhooks.allow_internal_targets);
	CHECK_INT(g.st->localserve_timeout_ms, 60000);
	const struct conf_listener *l = conf_static_listener(g.st, "local");
	CHECK(l != NULL);
	CHECK_INT(l->ips.n, 2);
	CHECK(l->smtp.enabled && l->smtp.port == 1025);
	CHECK(l->submission.enabled && l->submission.port == 1587 && l->submission.no_require_starttls);
	CHECK(l->submissions.enabled && l->submissions.port == 1465);
	CHECK(l->imap.enabled && l->imap.port == 1143 && l->imap.no_require_starttls);
	CHECK(l->imaps.enabled && l->imaps.port == 1993);
	CHECK(l->webapi_http.enabled && l->webapi_http.port == 1080 && strcmp(l->webapi_http.path, "/webapi/") == 0);
	CHECK(l->admin_http.enabled && l->admin_http.port == 1080);
	CHECK(l->account_http.enabled && l->account_http.port == 1080);
	CHECK(l->webapi_https.enabled && l->webapi_https.port == 1443);
	CHECK(l->admin_https.enabled && l->account_https.enabled);
	CHECK(l->metrics_http.enabled && l->metrics_http.port == 1081);
	CHECK(l->tls && l->tls->nkeycerts == 1);
	const struct conf_domain *dom = conf_domain_get(g.dc, "localhost", 9);
	CHECK(dom != NULL);
	CHECK_STR(dom->localpart_catchall_separator, "+");
	CHECK(dom->dkim && dom->dkim->nselectors == 1 && dom->dkim->sign.n == 1);
	const struct conf_dkim_selector *sel = &dom->dkim->selectors[0];
	CHECK_STR(sel->name, "localserve");
	CHECK(sel->canonicalization.header_relaxed && sel->canonicalization.body_relaxed);
	CHECK_INT(sel->expiration_ms, 72LL * 3600 * 1000);
	CHECK_STR(dom->dkim->sign.v[0], "localserve");
	const struct conf_account *acc = conf_account_get(g.dc, "tern");
	CHECK(acc != NULL);
	CHECK_INT(acc->keep_retired_message_period_ms, 72LL * 3600 * 1000);
	CHECK_INT(acc->keep_retired_webhook_period_ms, 72LL * 3600 * 1000);
	CHECK(conf_login_lookup_addr(g.dc, "tern@localhost", false) == acc);
	/* the admin password file is a bcrypt hash of ternadmin */
	char *h = tu_read(g.dir, "adminpasswd");
	CHECK(h && strncmp(h, "$2b$10$", 7) == 0 && strlen(h) == 61 && h[60] == '\n');
	free(h);
	drop(&g);
}

TEST(ip_flag_and_yaml_quoting)
{
	static const char *const ips[] = {"127.0.0.5"};
	struct buf st, dc;
	buf_init(&st);
	buf_init(&dc);
	localserve_conf_text(ips, 1, &st, &dc);
	/* numbers and YAML 1.1 words come out quoted */
	CHECK(strstr(buf_cstr(&st), "- \"127.0.0.5\"\n") != NULL);
	CHECK(strstr(buf_cstr(&st), "DataDir: \".\"\n") != NULL);
	CHECK(strstr(buf_cstr(&st), "LocalserveTimeout: 60s\n") != NULL);
	CHECK(strstr(buf_cstr(&dc), "LocalpartCatchallSeparator: \"+\"\n") != NULL);
	buf_free(&st);
	buf_free(&dc);
}

TEST(catchall_resolves_to_tern)
{
	struct generated g;
	generate(&g, default_ips, 2);
	if (!g.dc)
		return;
	struct conf_dest d;
	CHECK_INT(localserve_dest_lookup(g.dc, "someone", 7, "example.org", 11, &d), CONF_DEST_FOUND);
	CHECK(d.account && strcmp(d.account->name, "tern") == 0);
	CHECK_STR(d.mailbox, "Inbox");
	CHECK_INT(localserve_dest_lookup(g.dc, "nobody", 6, "localhost", 9, &d), CONF_DEST_FOUND);
	CHECK(d.account && strcmp(d.account->name, "tern") == 0);
	CHECK_INT(localserve_dest_lookup(g.dc, "tern+tag", 8, "localhost", 9, &d), CONF_DEST_FOUND);
	CHECK_INT(d.kind, CONF_DEST_ADDRESS);
	/* a plain lookup still says "no such domain": the fallback is localserve's */
	CHECK_INT(conf_dest_lookup(g.dc, "someone", 7, "example.org", 11, &d), CONF_DEST_ENODOMAIN);
	drop(&g);
}

static void query(const struct conf_domains *dc, const char *name, enum mailauth_dns_type t,
                  const struct netaddr *client, struct localserve_dns *out)
{
	struct mailauth_dns_query q = {.type = t};
	snprintf(q.name, sizeof q.name, "%s", name);
	localserve_dns_answer(dc, &q, client, out);
}

TEST(mock_dns)
{
	struct generated g;
	generate(&g, default_ips, 2);
	if (!g.dc)
		return;
	struct netaddr lo, ext;
	CHECK_INT(netaddr_parse(SLICE_LIT("::1"), &lo), 0);
	CHECK_INT(netaddr_parse(SLICE_LIT("192.0.2.1"), &ext), 0);
	struct localserve_dns a;
	query(g.dc, "example.org", MAILAUTH_DNS_TXT, &lo, &a);
	CHECK_INT(a.answer.status, MAILAUTH_DNS_NXDOMAIN);
	localserve_dns_free(&a);
	query(g.dc, "LocalHost.", MAILAUTH_DNS_TXT, &lo, &a);
	CHECK_INT(a.answer.status, MAILAUTH_DNS_OK);
	CHECK_INT(a.answer.nrr, 1);
	if (a.answer.nrr)
		CHECK_MEM(a.answer.rr[0].p, a.answer.rr[0].len, "v=spf1 ip4:127.0.0.1/8 ip6:::1 ~all");
	localserve_dns_free(&a);
	query(g.dc, "localhost", MAILAUTH_DNS_TXT, &ext, &a); /* not loopback: no SPF record */
	CHECK_INT(a.answer.status, MAILAUTH_DNS_OK);
	CHECK_INT(a.answer.nrr, 0);
	localserve_dns_free(&a);
	query(g.dc, "localhost", MAILAUTH_DNS_MX, &lo, &a);
	CHECK_INT(a.answer.status, MAILAUTH_DNS_OK);
	CHECK_INT(a.answer.nrr, 0);
	localserve_dns_free(&a);
	query(g.dc, "_dmarc.localhost", MAILAUTH_DNS_TXT, &lo, &a);
	CHECK_INT(a.answer.nrr, 1);
	localserve_dns_free(&a);
	query(g.dc, "other._domainkey.localhost", MAILAUTH_DNS_TXT, &lo, &a);
	CHECK_INT(a.answer.status, MAILAUTH_DNS_OK);
	CHECK_INT(a.answer.nrr, 0);
	localserve_dns_free(&a);
	/* the DKIM record is the public half of the generated key file */
	char *pem = tu_read(g.dir, LOCALSERVE_DKIM_FILE);
	const char *why;
	struct dkim_privkey *k = pem ? dkim_privkey_load(slice_str(pem), &why) : NULL;
	CHECK(k != NULL);
	struct buf want;
	buf_init(&want);
	if (k)
		dkim_sign_dns_record(k, &want);
	for (int round = 0; round < 2; round++) { /* the second answer comes from the cache */
		query(g.dc, "localserve._domainkey.localhost", MAILAUTH_DNS_TXT, &lo, &a);
		CHECK_INT(a.answer.nrr, 1);
		if (a.answer.nrr)
			CHECK_MEM(a.answer.rr[0].p, a.answer.rr[0].len, buf_cstr(&want));
		localserve_dns_free(&a);
	}
	CHECK(strncmp(buf_cstr(&want), "v=DKIM1; k=ed25519; p=", 22) == 0);
	buf_free(&want);
	dkim_privkey_free(k);
	free(pem);
	drop(&g);
}

TEST(delivery_target)
{
	static const char *const ips[] = {"::", "127.0.0.1"};
	struct generated g;
	generate(&g, ips, 2);
	if (!g.dc)
		return;
	struct localserve_target t;
	localserve_delivery_target(g.st, &t);
	CHECK(t.have_ip);
	CHECK_INT(t.port, 1025);
	char s[NETADDR_STRLEN];
	CHECK_STR(netaddr_format(&t.ip, s), "::1");
	drop(&g);
	struct conf_static *st = conf_static_new(); /* no listener "local": localhost:1025 */
	localserve_delivery_target(st, &t);
	CHECK(!t.have_ip);
	CHECK_STR(t.host, "localhost");
	CHECK_INT(t.port, 1025);
	conf_static_free(st);
}

TEST_MAIN()
