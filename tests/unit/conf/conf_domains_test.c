/* domains.conf: the spec example, defaults, and exact error lines incl. cross-file rules. */
#include "check.h"
#include "conf_testutil.h"

#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"

static struct conf_static *example_static(void)
{
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	if (conf_static_parse("tern.conf", TU_TERN_CONF, strlen(TU_TERN_CONF), "/etc/tern", &st, &err) < 0)
		panic("example tern.conf: %s", buf_cstr(&err));
	buf_free(&err);
	return st;
}

#define DBASE \
	"Domains:\n" \
	"  example.com: {LocalpartCatchallSeparator: \"+\"}\n" DACCTS
#define DACCTS \
	"Accounts:\n" \
	"  admin:\n" \
	"    Domain: example.com\n" \
	"    Destinations: {admin@example.com: {}}\n" \
	"  app:\n" \
	"    Domain: example.com\n" \
	"    Destinations: {app@example.com: {}}\n"

static void expect_err(const struct conf_static *st, const char *yaml, const char *want, int line)
{
	struct conf_domains *dc;
	struct buf err;
	buf_init(&err);
	int r = conf_domains_parse("domains.conf", yaml, strlen(yaml), st, "/etc/tern", &dc, &err);
	if (r == 0) {
		fprintf(stderr, "%s:%d: want error %s, got success\n", __FILE__, line, want);
		check_current_failed = 1;
		conf_domains_release(dc);
		return;
	}
	char *nl = strchr(buf_cstr(&err), '\n');
	if (nl)
		*nl = 0;
	if (strcmp((char *)err.p, want) != 0) {
		fprintf(stderr, "%s:%d: got error \"%s\", want \"%s\"\n", __FILE__, line, err.p, want);
		check_current_failed = 1;
	}
	buf_free(&err);
}
#define EXPECT_ERR(yaml, want) expect_err(st, yaml, want, __LINE__)

TEST(spec_example_from_files)
{
	char *dir = tu_tmpdir();
	tu_write(dir, "tern.conf", TU_TERN_CONF);
	tu_write(dir, "domains.conf", TU_DOMAINS_CONF);
	char *path = xasprintf("%s/tern.conf", dir);
	struct conf_static *st;
	struct conf_domains *dc = NULL;
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_static_load(path, &st, &err), 0);
	if (st)
		CHECK_INT(conf_domains_load(st->domains_path, st, &dc, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	if (dc) {
		CHECK_INT(dc->ndomains, 2);
		const struct conf_domain *ex = conf_domain_get(dc, "EXAMPLE.com", 11);
		CHECK(ex == &dc->domains[0]);
		CHECK_STR(ex->ascii, "example.com");
		CHECK_INT(ex->nseps, 1);
		CHECK_STR(ex->seps[0], "+");
		CHECK(!ex->disabled && !ex->localpart_case_sensitive);
		CHECK(ex->dkim && ex->dkim->nselectors == 1);
		const struct conf_dkim_selector *sel = &ex->dkim->selectors[0];
		CHECK_STR(sel->name, "2025a");
		CHECK_INT(sel->hash, CONF_DKIM_SHA256);
		CHECK(sel->canonicalization.header_relaxed && sel->canonicalization.body_relaxed);
		CHECK_INT(sel->expiration_ms, 72LL * 3600 * 1000);
		char *kp = xasprintf("%s/dkim/2025a.example.com.ed25519.pkcs8.pem", dir);
		CHECK_STR(sel->private_key_path, kp);
		free(kp);
		CHECK(ex->dkim->sign.n == 1 && strcmp(ex->dkim->sign.v[0], "2025a") == 0);
		CHECK(ex->dmarc && strcmp(ex->dmarc->localpart, "dmarcreports") == 0 && ex->dmarc->domain == NULL);
		CHECK(ex->mtasts && ex->mtasts->mode == CONF_MTASTS_ENFORCE && ex->mtasts->max_age_ms == 168LL * 3600000);
		CHECK_STR(ex->mtasts->policy_id, "20250101");
		CHECK(ex->tlsrpt && strcmp(ex->tlsrpt->mailbox, "TLSRPT") == 0);
		CHECK(dc->domains[1].disabled);
		CHECK_INT(dc->naccounts, 3);
		const struct conf_account *app = conf_account_get(dc, "app");
		CHECK(app != NULL);
		if (app) {
			CHECK_STR(app->full_name, "Example App");
			CHECK_INT(app->ndestinations, 2);
			CHECK_STR(app->destinations[1].mailbox, "Inbox");
			CHECK_INT(app->keep_retired_message_period_ms, 168LL * 3600000);
			CHECK_INT(app->keep_retired_webhook_period_ms, 72LL * 3600000);
			CHECK_INT(app->max_outgoing_messages_per_day, 50000);
			CHECK_INT(app->max_first_time_recipients_per_day, 200);
			CHECK_INT(app->quota_message_size, 0);
			CHECK(app->outgoing_webhook && strcmp(app->outgoing_webhook->authorization, "Bearer 8hd72hd") == 0);
			CHECK_INT(app->outgoing_webhook->event_mask,
				  CONF_EVENT_DELIVERED | CONF_EVENT_FAILED | CONF_EVENT_SUPPRESSED | CONF_EVENT_DELAYED);
			CHECK(app->incoming_webhook && app->incoming_webhook->authorization == NULL);
			CHECK(app->domain_conf == ex);
			const char *sep = NULL;
			CHECK(conf_account_fromid_sep(dc, app, "NoReply@Example.com", &sep));
			CHECK_STR(sep, "+");
			CHECK(!conf_account_fromid_sep(dc, app, "app@example.com", &sep));
		}
		const struct conf_account *mig = conf_account_get(dc, "migrating");
		CHECK(mig && strcmp(mig->login_disabled, "moved to new host, see https://example.com/migrate") == 0);
		CHECK_INT(dc->nroutes, 1);
		CHECK_STR(dc->routes[0].to_ascii.v[0], ".corp.example");
		CHECK(dc->routes[0].transport_conf == conf_static_transport(st, "relay"));
		CHECK(dc->postmaster.account == conf_account_get(dc, "admin"));
		CHECK(dc->file_ino != 0);
	}
	conf_domains_release(dc);
	conf_static_free(st);
	buf_free(&err);
	free(path);
	tu_rmdir(dir);
}

TEST(selector_and_account_defaults)
{
	struct conf_static *st = example_static();
	const char *y = DBASE "    Routes: [{Transport: ipv4only}]\n"
		"    QuotaMessageSize: -1\n"
		"    OutgoingWebhook: {URL: \"http://10.0.0.1:8080/x\"}\n"
		"MonitorDNSBLs: [Bl.Example.ORG]\n";
	struct conf_domains *dc;
	struct buf err;
	buf_init(&err);
	int r = conf_domains_parse("domains.conf", y, strlen(y), st, "/etc/tern", &dc, &err);
	CHECK_INT(r, 0);
	CHECK_STR(buf_cstr(&err), "");
	if (r == 0) {
		const struct conf_account *app = conf_account_get(dc, "app");
		CHECK_INT(app->outgoing_webhook->event_mask, CONF_EVENT_ALL);
		CHECK_INT(app->quota_message_size, -1);
		CHECK_INT(app->routes[0].minimum_attempts, 0);
		CHECK_STR(dc->monitor_dnsbls.v[0], "bl.example.org");
		CHECK(app->login_disabled == NULL);
		conf_domains_release(dc);
	}
	const char *y2 = "Domains:\n  d.example:\n    DKIM:\n      Selectors:\n        s1: {PrivateKeyFile: /k.pem, Hash: sha1,"
			 " Canonicalization: {BodyRelaxed: false}, Headers: [From, To]}\n"
			 "Accounts: {a: {Domain: d.example, Destinations: {a@d.example: {Mailbox: Other}}}}\n";
	r = conf_domains_parse("domains.conf", y2, strlen(y2), NULL, NULL, &dc, &err);
	CHECK_INT(r, 0);
	CHECK_STR(buf_cstr(&err), "");
	if (r == 0) {
		const struct conf_dkim_selector *s = &dc->domains[0].dkim->selectors[0];
		CHECK_INT(s->hash, CONF_DKIM_SHA1);
		CHECK(s->canonicalization.header_relaxed && !s->canonicalization.body_relaxed);
		CHECK_INT(s->headers.n, 2);
		CHECK_STR(s->private_key_path, "/k.pem");
		CHECK(!s->dont_seal_headers && s->expiration_ms == 0);
		CHECK_STR(dc->accounts[0].destinations[0].mailbox, "Other");
		CHECK(dc->postmaster.account == NULL);
		conf_domains_release(dc);
	}
	buf_free(&err);
	conf_static_free(st);
}

TEST(empty_file_is_empty_config)
{
	struct conf_domains *dc;
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_domains_parse("d", "# nothing\n", 10, NULL, NULL, &dc, &err), 0);
	if (dc) {
		CHECK_INT(dc->ndomains, 0);
		conf_domains_release(dc);
	}
	buf_free(&err);
}

TEST(errors_exact)
{
	struct conf_static *st = example_static();
	EXPECT_ERR(DBASE "    Bogus: 1\n", "domains.conf:10: Accounts.app.Bogus: unknown field");
	EXPECT_ERR(DBASE "    MaxOutgoingMessagesPerDay: many\n",
		   "domains.conf:10: Accounts.app.MaxOutgoingMessagesPerDay: expected an integer, got \"many\"");
	EXPECT_ERR(DBASE "    MaxOutgoingMessagesPerDay: -2\n",
		   "domains.conf:10: Accounts.app.MaxOutgoingMessagesPerDay: -2 is out of range -1..9223372036854775807");
	EXPECT_ERR(DBASE "  x:\n    Destinations: {x@example.com: {}}\n", "domains.conf:10: Accounts.x.Domain: missing required field");
	EXPECT_ERR(DBASE "    KeepRetiredMessagePeriod: 7d\n",
		   "domains.conf:10: Accounts.app.KeepRetiredMessagePeriod: invalid duration \"7d\" (use e.g. 30s, 7m30s, 72h)");
	EXPECT_ERR(DBASE "Routes:\n  - ToDomain: [x.example]\n    Transport: nope\n",
		   "domains.conf:12: Routes[0].Transport: unknown transport \"nope\"");
	EXPECT_ERR(DBASE "Routes: [{ToDomain: [x.example]}]\n", "domains.conf:10: Routes[0].Transport: missing required field");
	EXPECT_ERR("Domains:\n  d.example:\n    LocalpartCatchallSeparator: \"+\"\n    LocalpartCatchallSeparators: [\"-\"]\n" DACCTS,
		   "domains.conf:4: Domains.d.example: only one of LocalpartCatchallSeparator and LocalpartCatchallSeparators may be set");
	EXPECT_ERR(DBASE "    LoginDisabled: \"tab\\there\"\n",
		   "domains.conf:10: Accounts.app.LoginDisabled: must be at most 256 printable ASCII characters");
	EXPECT_ERR(DBASE "    LoginDisabled: \"ü\"\n",
		   "domains.conf:10: Accounts.app.LoginDisabled: must be at most 256 printable ASCII characters");
	EXPECT_ERR(DBASE "    Destinations: {app@example.com: {}}\n", "domains.conf:10: Accounts.app.Destinations: duplicate field");
	EXPECT_ERR(DBASE "  b:\n    Domain: example.com\n    Destinations:\n      Admin@Example.com: {}\n",
		   "domains.conf:13: Accounts.b.Destinations.Admin@Example.com: address admin@example.com is already used by account \"admin\"");
	EXPECT_ERR(DBASE "  b:\n    Domain: example.com\n    Destinations: {b@nowhere.example: {}}\n",
		   "domains.conf:12: Accounts.b.Destinations.b@nowhere.example: domain \"nowhere.example\" is not configured");
	EXPECT_ERR(DBASE "  b:\n    Domain: example.com\n    Destinations: {b+x@example.com: {}}\n",
		   "domains.conf:12: Accounts.b.Destinations.b+x@example.com: localpart contains catch-all separator \"+\"");
	EXPECT_ERR(DBASE "  b:\n    Domain: nowhere.example\n    Destinations: {b@example.com: {}}\n",
		   "domains.conf:11: Accounts.b.Domain: domain \"nowhere.example\" is not configured");
	EXPECT_ERR(DBASE "    FromIDLoginAddresses: [admin@example.com]\n",
		   "domains.conf:10: Accounts.app.FromIDLoginAddresses[0]: \"admin@example.com\" is not a destination of this account");
	EXPECT_ERR("Domains: {d.example: {}}\nAccounts:\n  admin: {Domain: d.example, Destinations: {a@d.example: {}}}\n"
		   "  app:\n    Domain: d.example\n    Destinations: {b@d.example: {}}\n    FromIDLoginAddresses: [b@d.example]\n",
		   "domains.conf:7: Accounts.app.FromIDLoginAddresses[0]: domain \"d.example\" has no catch-all separator");
	EXPECT_ERR(DBASE "    OutgoingWebhook: {URL: ftp://x.example/}\n",
		   "domains.conf:10: Accounts.app.OutgoingWebhook.URL: URL must start with http:// or https://");
	EXPECT_ERR(DBASE "    OutgoingWebhook: {Authorization: x}\n", "domains.conf:10: Accounts.app.OutgoingWebhook.URL: missing required field");
	EXPECT_ERR(DBASE "    OutgoingWebhook: {URL: \"https://x.example/\", Events: [delivered, bounced]}\n",
		   "domains.conf:10: Accounts.app.OutgoingWebhook.Events[1]: unknown event \"bounced\" (one of: delivered, "
		   "suppressed, delayed, failed, relayed, expanded, canceled, unrecognized)");
	EXPECT_ERR(DBASE "    IncomingWebhook: {URL: \"https://\"}\n", "domains.conf:10: Accounts.app.IncomingWebhook.URL: URL has no host");
	EXPECT_ERR("Domains: {d.example: {}}\nAccounts: {app: {Domain: d.example, Destinations: {a@d.example: {}}}}\n",
		   "tern.conf:5: Postmaster.Account: no such account \"admin\" in domains.conf");
	EXPECT_ERR("Domains:\n  example.com:\n    DMARC: {Localpart: dmarc, Account: nobody, Mailbox: DMARC}\n" DACCTS,
		   "domains.conf:3: Domains.example.com.DMARC.Account: no such account \"nobody\"");
	EXPECT_ERR("Domains:\n  example.com:\n    TLSRPT: {Localpart: admin, Account: app, Mailbox: TLSRPT}\n" DACCTS,
		   "domains.conf:3: Domains.example.com.TLSRPT: address admin@example.com is already used by account \"admin\"");
	EXPECT_ERR("Domains:\n  example.com:\n    DKIM: {Selectors: {s1: {PrivateKeyFile: k.pem}}, Sign: [s2]}\n" DACCTS,
		   "domains.conf:3: Domains.example.com.DKIM.Sign[0]: unknown selector \"s2\"");
	EXPECT_ERR("Domains:\n  example.com:\n    DKIM: {Selectors: {s1: {}}}\n" DACCTS,
		   "domains.conf:3: Domains.example.com.DKIM.Selectors.s1.PrivateKeyFile: missing required field");
	EXPECT_ERR("Domains:\n  example.com:\n    MTASTS: {PolicyID: a-b, Mode: enforce, MaxAge: 1h}\n" DACCTS,
		   "domains.conf:3: Domains.example.com.MTASTS.PolicyID: must be 1 to 32 letters and digits");
	EXPECT_ERR("Domains:\n  example.com:\n    MTASTS: {PolicyID: a, Mode: strict, MaxAge: 1h}\n" DACCTS,
		   "domains.conf:3: Domains.example.com.MTASTS.Mode: unknown value \"strict\" (one of: enforce, testing, none)");
	EXPECT_ERR("Domains:\n  ex_ample.com: {}\nAccounts: {}\n",
		   "domains.conf:2: Domains.ex_ample.com: invalid domain name: invalid character in name");
	EXPECT_ERR("Domains:\n  example.com: {}\n  EXAMPLE.COM: {}\n",
		   "domains.conf:3: Domains.EXAMPLE.COM: same domain as example.com");
	EXPECT_ERR(DBASE "MonitorDNSBLs: [\"bad zone\"]\n", "domains.conf:10: MonitorDNSBLs[0]: invalid zone \"bad zone\": invalid character in name");
	EXPECT_ERR(DBASE "    Destinations: {}\n", "domains.conf:10: Accounts.app.Destinations: duplicate field");
	EXPECT_ERR("Domains: {d.example: {}}\nAccounts: {admin: {Domain: d.example, Destinations: {}}}\n",
		   "domains.conf:2: Accounts.admin.Destinations: at least one address required");
	EXPECT_ERR(DBASE "  app: {Domain: example.com, Destinations: {x@example.com: {}}}\n", "domains.conf:10: Accounts.app: duplicate key");
	EXPECT_ERR("Domains: [a]\n", "domains.conf:1: Domains: expected a mapping, got a list");
	EXPECT_ERR("Domains: {\"\": {}}\n", "domains.conf:1: Domains: keys must be non-empty strings");
	conf_static_free(st);
}

TEST(relay_account_must_exist)
{
	const char *t = "Hostname: h.example\nDataDir: d\nPostmaster: {Account: admin, Mailbox: P}\nListeners:\n  l:\n"
			"    IPs: [127.0.0.1]\n    Submission: {Enabled: true, RelayNetworks: [127.0.0.0/8], RelayAccount: relay}\n";
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_static_parse("tern.conf", t, strlen(t), NULL, &st, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	if (st) {
		EXPECT_ERR(DBASE, "tern.conf:7: Listeners.l.Submission.RelayAccount: no such account \"relay\" in domains.conf");
		CHECK(st->listeners[0].submission.nrelay_nets == 1);
		struct netaddr a;
		netaddr_parse(SLICE_LIT("127.1.2.3"), &a);
		CHECK(netaddr_cidr_match(&st->listeners[0].submission.relay_nets[0], &a));
	}
	conf_static_free(st);
	buf_free(&err);
}

TEST_MAIN()
