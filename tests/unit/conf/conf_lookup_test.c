/* Lookups: catch-all separators, case sensitivity, postmaster rules, @domain
 * catch-alls, report addresses, unicode domains, login addresses, routes. */
#include "check.h"
#include "conf_testutil.h"

#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"

static const char TCONF[] =
	"Hostname: mail.example.com\n"
	"DataDir: data\n"
	"Postmaster: {Account: admin, Mailbox: Postmaster}\n"
	"HostTLSRPT: {Account: admin, Mailbox: TLSRPT, Localpart: tlsreports}\n"
	"Listeners:\n"
	"  a: {IPs: [127.0.0.1]}\n"
	"  b: {IPs: [::1], Hostname: mx2.example.net}\n"
	"Transports: {relay: {SMTP: {Host: relay.example}}, fail: {Fail: {}}}\n";

static const char DCONF[] =
	"Domains:\n"
	"  example.com:\n"
	"    LocalpartCatchallSeparators: [\"+\", \"--\"]\n"
	"    DMARC: {Localpart: dmarc-reports, Account: admin, Mailbox: DMARC}\n"
	"    TLSRPT: {Localpart: tls-reports, Domain: other.example, Account: admin, Mailbox: TLSRPT}\n"
	"    Routes: [{ToDomain: [.corp.example], Transport: relay}]\n"
	"  other.example: {LocalpartCaseSensitive: true}\n"
	"  bücher.example: {LocalpartCatchallSeparator: \"+\"}\n"
	"  catch.example: {}\n"
	"Accounts:\n"
	"  admin:\n"
	"    Domain: example.com\n"
	"    Destinations: {admin@example.com: {}}\n"
	"  you:\n"
	"    Domain: example.com\n"
	"    Destinations:\n"
	"      you@example.com: {Mailbox: Work}\n"
	"      Mixed@other.example: {}\n"
	"      anna@bücher.example: {}\n"
	"      \"@catch.example\": {Mailbox: Catch}\n"
	"      postmaster@catch.example: {Mailbox: PM}\n"
	"    Routes: [{FromDomain: [other.example], MinimumAttempts: 2, Transport: fail}]\n"
	"Routes: [{ToDomain: [corp.example, .corp.example], Transport: relay}]\n";

static struct conf_static *st;
static struct conf_domains *dc;

static void setup(void)
{
	if (dc)
		return;
	struct buf err;
	buf_init(&err);
	if (conf_static_parse("tern.conf", TCONF, strlen(TCONF), "/etc/tern", &st, &err) < 0 ||
	    conf_domains_parse("domains.conf", DCONF, strlen(DCONF), st, "/etc/tern", &dc, &err) < 0)
		panic("setup: %s", buf_cstr(&err));
	buf_free(&err);
}

/* Looks up lp@dom; returns the kind, or the negative result. */
static int look(const char *lp, const char *dom, const char **acc, const char **mbox)
{
	struct conf_dest d;
	int r = conf_dest_lookup(dc, lp, strlen(lp), dom, strlen(dom), &d);
	*acc = r == 0 && d.account ? d.account->name : "";
	*mbox = r == 0 ? d.mailbox : "";
	return r == 0 ? (int)d.kind : r;
}

#define EXPECT(lp, dom, kind, acc, mbox) \
	do { \
		const char *ea_, *em_; \
		int k_ = look(lp, dom, &ea_, &em_); \
		CHECK_INT(k_, kind); \
		CHECK_STR(ea_, acc); \
		CHECK_STR(em_, mbox); \
	} while (0)

TEST(exact_and_case)
{
	setup();
	EXPECT("you", "example.com", CONF_DEST_ADDRESS, "you", "Work");
	EXPECT("YOU", "EXAMPLE.COM", CONF_DEST_ADDRESS, "you", "Work");
	EXPECT("Mixed", "other.example", CONF_DEST_ADDRESS, "you", "Inbox");
	EXPECT("mixed", "other.example", CONF_DEST_ENOUSER, "", "");
	EXPECT("nobody", "example.com", CONF_DEST_ENOUSER, "", "");
	EXPECT("you", "unknown.example", CONF_DEST_ENODOMAIN, "", "");
}

TEST(catchall_separators)
{
	setup();
	EXPECT("you+tag", "example.com", CONF_DEST_ADDRESS, "you", "Work");
	EXPECT("you--tag", "example.com", CONF_DEST_ADDRESS, "you", "Work");
	EXPECT("You+a--b", "example.com", CONF_DEST_ADDRESS, "you", "Work");
	EXPECT("you-tag", "example.com", CONF_DEST_ENOUSER, "", "");
	EXPECT("Mixed+x", "other.example", CONF_DEST_ENOUSER, "", "");
	struct conf_dest d;
	CHECK_INT(conf_dest_lookup(dc, "x", 1, "example.com", 11, &d), CONF_DEST_ENOUSER);
	CHECK(d.domain == conf_domain_get(dc, "example.com", 11));
}

TEST(at_domain_catchall)
{
	setup();
	EXPECT("anything", "catch.example", CONF_DEST_CATCHALL, "you", "Catch");
	EXPECT("postmaster", "catch.example", CONF_DEST_ADDRESS, "you", "PM");
}

TEST(postmaster_rules)
{
	setup();
	EXPECT("postmaster", "", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("PostMaster", "", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("postmaster", "mail.example.com", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("postmaster", "MX2.example.net", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("postmaster", "example.com", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("postmaster+x", "example.com", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("postmaster", "other.example", CONF_DEST_POSTMASTER, "admin", "Postmaster");
	EXPECT("postmaster", "unknown.example", CONF_DEST_ENODOMAIN, "", "");
	EXPECT("other", "", CONF_DEST_ENODOMAIN, "", "");
	EXPECT("someone", "mail.example.com", CONF_DEST_ENODOMAIN, "", "");
}

TEST(report_addresses)
{
	setup();
	EXPECT("dmarc-reports", "example.com", CONF_DEST_DMARC, "admin", "DMARC");
	EXPECT("dmarc-reports+x", "example.com", CONF_DEST_DMARC, "admin", "DMARC");
	EXPECT("tls-reports", "other.example", CONF_DEST_TLSRPT, "admin", "TLSRPT");
	EXPECT("tls-reports", "example.com", CONF_DEST_ENOUSER, "", "");
	EXPECT("tlsreports", "mail.example.com", CONF_DEST_HOST_TLSRPT, "admin", "TLSRPT");
	EXPECT("TLSReports", "Mail.Example.Com", CONF_DEST_HOST_TLSRPT, "admin", "TLSRPT");
}

TEST(unicode_domains)
{
	setup();
	EXPECT("anna", "bücher.example", CONF_DEST_ADDRESS, "you", "Inbox");
	EXPECT("anna", "BÜCHER.example", CONF_DEST_ADDRESS, "you", "Inbox");
	EXPECT("anna", "xn--bcher-kva.example", CONF_DEST_ADDRESS, "you", "Inbox");
	EXPECT("anna+x", "XN--BCHER-KVA.EXAMPLE", CONF_DEST_ADDRESS, "you", "Inbox");
	const struct conf_domain *d = conf_domain_get(dc, "xn--bcher-kva.example", 21);
	CHECK(d != NULL);
	if (d) {
		CHECK_STR(d->unicode, "bücher.example");
		CHECK_STR(d->ascii, "xn--bcher-kva.example");
		CHECK(conf_domain_get(dc, "bücher.example", strlen("bücher.example")) == d);
	}
	CHECK(conf_domain_get(dc, "b\xff.example", 10) == NULL);
}

TEST(login_addresses)
{
	setup();
	const struct conf_account *you = conf_account_get(dc, "you");
	CHECK(conf_login_lookup_addr(dc, "You@Example.com", false) == you);
	CHECK(conf_login_lookup_addr(dc, "you+x@example.com", false) == NULL);
	CHECK(conf_login_lookup_addr(dc, "you+x@example.com", true) == you);
	CHECK(conf_login_lookup_addr(dc, "x@catch.example", true) == NULL);
	CHECK(conf_login_lookup_addr(dc, "dmarc-reports@example.com", true) == NULL);
	CHECK(conf_login_lookup_addr(dc, "anna@xn--bcher-kva.example", false) == you);
	CHECK(conf_login_lookup_addr(dc, "mixed@other.example", false) == NULL);
	CHECK(conf_account_has_login(dc, you, "you--z", 6, "example.com", 11, true));
	CHECK(!conf_account_has_login(dc, you, "admin", 5, "example.com", 11, true));
	CHECK(conf_account_get(dc, "You") == NULL);
}

TEST(routes)
{
	setup();
	const struct conf_account *you = conf_account_get(dc, "you"), *admin = conf_account_get(dc, "admin");
	const struct conf_route *r = conf_route_find(dc, you, "other.example", "x.example", 2);
	CHECK(r && strcmp(r->transport, "fail") == 0);
	r = conf_route_find(dc, you, "other.example", "x.example", 1);
	CHECK(r == NULL);
	r = conf_route_find(dc, admin, "example.com", "a.corp.example", 0);
	CHECK(r == &conf_domain_get(dc, "example.com", 11)->routes[0]);
	r = conf_route_find(dc, admin, "example.com", "corp.example", 0);
	CHECK(r == &dc->routes[0]);
	CHECK(r->transport_conf && r->transport_conf->kind == CONF_TRANSPORT_SMTP);
	CHECK(conf_route_find(dc, NULL, "other.example", "xcorp.example", 9) == NULL);
}

TEST(quota)
{
	setup();
	struct conf_account a = {.quota_message_size = 0};
	CHECK_INT(conf_account_quota(dc, &a), 0);
	((struct conf_static *)st)->quota_message_size = 5000;
	CHECK_INT(conf_account_quota(dc, &a), 5000);
	a.quota_message_size = 100;
	CHECK_INT(conf_account_quota(dc, &a), 100);
	a.quota_message_size = -1;
	CHECK_INT(conf_account_quota(dc, &a), 0);
	((struct conf_static *)st)->quota_message_size = 0;
}

TEST(cleanup)
{
	conf_domains_release(dc);
	conf_static_free(st);
	dc = NULL;
}

TEST_MAIN()
