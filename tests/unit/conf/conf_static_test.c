/* tern.conf: the spec example, defaults, YAML styles, and exact error lines. */
#include "check.h"
#include "conf_testutil.h"

#include "conf/conf_duration.h"
#include "conf/conf_static.h"

#define BASE \
	"Hostname: mail.example.com\n" \
	"DataDir: data\n" \
	"Postmaster: {Account: admin, Mailbox: Postmaster}\n" \
	"Listeners:\n" \
	"  l:\n" \
	"    IPs: [127.0.0.1]\n"

static struct conf_static *parse_ok(const char *yaml)
{
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	int r = conf_static_parse("tern.conf", yaml, strlen(yaml), "/etc/tern", &st, &err);
	if (r != 0)
		fprintf(stderr, "unexpected errors:\n%s", buf_cstr(&err));
	buf_free(&err);
	return r == 0 ? st : NULL;
}

/* Checks that yaml fails with want as its first error line. */
static void expect_err(const char *yaml, const char *want, int line)
{
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	int r = conf_static_parse("tern.conf", yaml, strlen(yaml), "/etc/tern", &st, &err);
	if (r == 0) {
		fprintf(stderr, "%s:%d: want error %s, got success\n", __FILE__, line, want);
		check_current_failed = 1;
		conf_static_free(st);
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
#define EXPECT_ERR(yaml, want) expect_err(yaml, want, __LINE__)

TEST(spec_example_from_file)
{
	char *dir = tu_tmpdir();
	tu_write(dir, "tern.conf", TU_TERN_CONF);
	char *path = xasprintf("%s/tern.conf", dir);
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_static_load(path, &st, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	if (st) {
		CHECK_STR(st->hostname, "mail.example.com");
		CHECK_STR(st->data_dir, "../data");
		char *dd = xasprintf("%s/../data", dir);
		CHECK_STR(st->data_dir_path, dd);
		free(dd);
		char *dp = xasprintf("%s/domains.conf", dir);
		CHECK_STR(st->domains_path, dp);
		free(dp);
		CHECK_INT(st->log_level, CONF_LOG_INFO);
		CHECK_STR(st->postmaster.account, "admin");
		CHECK_STR(st->postmaster.mailbox, "Postmaster");
		CHECK(st->host_tlsrpt != NULL);
		CHECK_STR(st->host_tlsrpt->localpart, "tlsreports");
		CHECK_INT(st->nlisteners, 2);
		const struct conf_listener *pub = &st->listeners[0], *in = &st->listeners[1];
		CHECK_STR(pub->name, "public");
		CHECK_INT(pub->naddrs, 2);
		CHECK_INT(pub->addrs[0].family, 4);
		CHECK_INT(pub->addrs[1].family, 6);
		CHECK(pub->tls && pub->tls->nkeycerts == 1);
		char *cp = xasprintf("%s/mail.example.com.crt", dir);
		CHECK_STR(pub->tls->keycerts[0].cert_path, cp);
		free(cp);
		CHECK_INT(pub->tls->min_version, CONF_TLS_V12);
		CHECK(pub->smtp.enabled);
		CHECK_INT(pub->smtp.port, 25);
		CHECK_INT(pub->smtp.dnsbls.n, 1);
		CHECK_STR(pub->smtp.dnsbls.v[0], "sbl.spamhaus.org");
		CHECK(pub->submissions.enabled);
		CHECK_INT(pub->submissions.port, 465);
		CHECK(pub->imaps.enabled && pub->imaps.port == 993);
		CHECK(pub->webapi_https.enabled && pub->webapi_https.port == 443);
		CHECK_STR(pub->webapi_https.path, "/webapi/");
		CHECK(pub->mtasts_https.enabled && pub->mtasts_https.port == 443);
		CHECK(!pub->submission.enabled);
		CHECK_STR(pub->hostname, "mail.example.com");
		CHECK_STR(in->name, "internal");
		CHECK(in->admin_http.enabled);
		CHECK_INT(in->admin_http.port, 8080);
		CHECK_STR(in->admin_http.path, "/admin/");
		CHECK(in->metrics_http.enabled && in->metrics_http.port == 8010);
		CHECK(in->tls == NULL);
		CHECK_INT(st->ntransports, 2);
		const struct conf_transport *t4 = conf_static_transport(st, "ipv4only");
		const struct conf_transport *tr = conf_static_transport(st, "relay");
		CHECK(t4 && t4->kind == CONF_TRANSPORT_DIRECT && t4->direct && t4->direct->disable_ipv6);
		CHECK(tr && tr->kind == CONF_TRANSPORT_SUBMISSIONS && tr->smtp_conf == tr->submissions);
		if (tr && tr->submissions) {
			CHECK_STR(tr->submissions->host, "smtp.relay.example");
			CHECK_INT(tr->submissions->port, 465);
			CHECK(tr->submissions->auth);
			CHECK_STR(tr->submissions->auth->username, "tern");
			CHECK_INT(tr->submissions->auth->mechanisms.n, 5);
			CHECK_STR(tr->submissions->auth->mechanisms.v[0], "SCRAM-SHA-256-PLUS");
			CHECK_STR(tr->submissions->auth->mechanisms.v[4], "CRAM-MD5");
		}
		CHECK_INT(st->queue.max_connections_per_host, 32);
		CHECK(conf_static_is_hostname(st, "MAIL.example.com", 16));
		CHECK(!conf_static_is_hostname(st, "example.com", 11));
	}
	conf_static_free(st);
	buf_free(&err);
	free(path);
	tu_rmdir(dir);
}

TEST(defaults)
{
	struct conf_static *st = parse_ok(BASE);
	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_INT(st->log_level, CONF_LOG_INFO);
	CHECK_STR(st->user, "tern");
	CHECK_STR(st->admin_password_file, "adminpasswd");
	CHECK_STR(st->admin_password_path, "/etc/tern/adminpasswd");
	CHECK_STR(st->data_dir_path, "/etc/tern/data");
	CHECK(st->host_tlsrpt == NULL);
	CHECK(!st->tls.ca.additional_to_system && st->tls.ca.cert_files.n == 0);
	CHECK_INT(st->dns.resolvers.n, 0);
	CHECK(!st->no_outgoing_dmarc_reports && !st->no_outgoing_tls_reports && !st->outgoing_tls_reports_for_all_success);
	CHECK_INT(st->quota_message_size, 0);
	CHECK_INT(st->localserve_timeout_ms, 60000);
	const struct conf_limits *l = &st->limits;
	CHECK(l->connections_per_ip[0] == 30 && l->connections_per_ip[1] == 90 && l->connections_per_ip[2] == 270);
	CHECK(l->connection_rate_per_minute[0] == 300 && l->connection_rate_per_minute[2] == 2700);
	CHECK(l->auth_failures_per_minute[0] == 10 && l->auth_failures_per_minute[2] == 90);
	CHECK(l->auth_failures_per_day[0] == 50 && l->auth_failures_per_day[2] == 450);
	CHECK_INT(l->recipients_per_transaction, 1000);
	CHECK(l->incoming_messages_per_minute[0] == 500 && l->incoming_messages_per_minute[2] == 4500);
	CHECK(l->incoming_messages_per_day[0] == 10000 && l->incoming_messages_per_day[2] == 90000);
	CHECK(l->incoming_bytes_per_minute[0] == 1000000000LL && l->incoming_bytes_per_minute[2] == 9000000000LL);
	CHECK(l->incoming_bytes_per_day[0] == 3000000000LL && l->incoming_bytes_per_day[2] == 27000000000LL);
	const struct conf_queue *q = &st->queue;
	CHECK_INT(q->retry_intervals.n, 7);
	char t[CONF_DURATION_STRLEN];
	CHECK_STR(conf_duration_format(q->retry_intervals.v[0], t), "7m30s");
	CHECK_STR(conf_duration_format(q->retry_intervals.v[6], t), "8h");
	CHECK_INT(q->delayed_dsn_after_attempt, 5);
	CHECK_INT(q->max_connections, 1000);
	CHECK_INT(q->max_connections_per_host, 16);
	CHECK_INT(q->max_messages_per_connection, 100);
	CHECK_INT(q->connection_idle_timeout_ms, 30000);
	CHECK_INT(st->webhooks.max_concurrent, 100);
	CHECK_INT(st->webhooks.max_concurrent_per_url, 4);
	CHECK(!st->webhooks.allow_internal_targets);
	const struct conf_listener *li = &st->listeners[0];
	CHECK_STR(li->hostname, "mail.example.com");
	CHECK_INT(li->smtp_max_message_size, 104857600);
	CHECK(!li->smtp.enabled && li->smtp.port == 25 && !li->smtp.no_starttls && !li->smtp.require_starttls &&
	      !li->smtp.no_require_tls);
	CHECK(!li->submission.enabled && li->submission.port == 587 && !li->submission.no_require_starttls &&
	      !li->submission.relay_any_sender && li->submission.relay_account == NULL);
	CHECK(li->submissions.port == 465 && li->imap.port == 143 && li->imaps.port == 993);
	CHECK(li->account_http.port == 80 && li->account_https.port == 443);
	CHECK_STR(li->account_http.path, "/account/");
	CHECK_STR(li->admin_https.path, "/admin/");
	CHECK_STR(li->webapi_http.path, "/webapi/");
	CHECK(!li->webapi_http.enabled && !li->webapi_http.forwarded);
	CHECK(li->metrics_http.port == 8010 && li->mtasts_https.port == 443 && !li->mtasts_https.non_tls);
	conf_static_free(st);
}

TEST(transport_defaults)
{
	struct conf_static *st = parse_ok(BASE "Transports:\n"
					       "  a: {Submission: {Host: h.example}}\n"
					       "  b: {SMTP: {Host: 192.0.2.1, Auth: {Username: u, Password: p, Mechanisms: [plain]}}}\n"
					       "  c: {Fail: {}}\n"
					       "  d: {}\n"
					       "  e: {Fail: {SMTPCode: 451, SMTPMessage: try later}}\n");
	CHECK(st != NULL);
	if (!st)
		return;
	const struct conf_transport *t = st->transports;
	CHECK(t[0].kind == CONF_TRANSPORT_SUBMISSION && t[0].submission->port == 587);
	CHECK(t[1].kind == CONF_TRANSPORT_SMTP && t[1].smtp->port == 25);
	CHECK_INT(t[1].smtp->auth->mechanisms.n, 1);
	CHECK_STR(t[1].smtp->auth->mechanisms.v[0], "PLAIN");
	CHECK(t[2].kind == CONF_TRANSPORT_FAIL && t[2].fail->smtp_code == 554);
	CHECK_STR(t[2].fail->smtp_message, "transport fail: explicit immediate delivery failure per configuration");
	CHECK(t[3].kind == CONF_TRANSPORT_DIRECT && t[3].direct == NULL);
	CHECK(t[4].fail->smtp_code == 451);
	CHECK_STR(t[4].fail->smtp_message, "try later");
	conf_static_free(st);
}

TEST(smtp_source_addresses)
{
	struct conf_static *st = parse_ok(BASE "    SMTP: {Enabled: true}\n  m:\n    IPs: [\"2001:db8::1\", 127.0.0.1]\n"
					       "    SMTP: {Enabled: true}\n  n:\n    IPs: [0.0.0.0]\n");
	CHECK(st && conf_static_smtp_source(st, 4) && conf_static_smtp_source(st, 6));
	char b[NETADDR_STRLEN];
	if (st && conf_static_smtp_source(st, 6))
		CHECK_STR(netaddr_format(conf_static_smtp_source(st, 6), b), "2001:db8::1");
	conf_static_free(st);
	st = parse_ok(BASE "    SMTP: {Enabled: true}\n  m:\n    IPs: [127.0.0.2]\n    SMTP: {Enabled: true}\n");
	CHECK(st && !conf_static_smtp_source(st, 4) && !conf_static_smtp_source(st, 6));
	conf_static_free(st);
	st = parse_ok(BASE "    SMTP: {Enabled: true}\n  m:\n    IPs: [\"::\"]\n    SMTP: {Enabled: true}\n");
	CHECK(st && !conf_static_smtp_source(st, 4));
	conf_static_free(st);
}

TEST(flow_and_quoted_styles_are_equal)
{
	const char *flow =
		"{\"Hostname\": 'mail.example.com', DataDir: \"data\", \"Postmaster\": {Account: \"admin\", 'Mailbox': Postmaster},\n"
		" Listeners: {l: {IPs: [\"127.0.0.1\"], SMTP: {Enabled: yes, Port: 2525}}},\n"
		" Queue: {RetryIntervals: ['1m', \"1h58m3s\"]}, LocalserveTimeout: \"5s\"}\n";
	const char *block = BASE
		"    SMTP:\n"
		"      Enabled: true # comment\n"
		"      Port: 2525\n"
		"Queue:\n"
		"  RetryIntervals:\n"
		"  - 1m\n"
		"  - 1h58m3s\n"
		"LocalserveTimeout: 5s\n";
	struct conf_static *a = parse_ok(flow), *b = parse_ok(block);
	CHECK(a && b);
	if (a && b) {
		CHECK(conf_static_eq(a, b));
		CHECK(a->listeners[0].smtp.enabled && a->listeners[0].smtp.port == 2525);
		CHECK_INT(a->queue.retry_intervals.n, 2);
		CHECK_INT(a->queue.retry_intervals.v[1], 7083000);
		CHECK_INT(a->localserve_timeout_ms, 5000);
	}
	conf_static_free(a);
	conf_static_free(b);
}

TEST(null_means_default)
{
	struct conf_static *st = parse_ok(BASE "LogLevel: ~\nUser: null\nQueue:\nLimits: {ConnectionsPerIP: }\n");
	CHECK(st != NULL);
	if (st) {
		CHECK_INT(st->log_level, CONF_LOG_INFO);
		CHECK_STR(st->user, "tern");
		CHECK_INT(st->queue.max_connections, 1000);
		CHECK_INT(st->limits.connections_per_ip[0], 30);
	}
	conf_static_free(st);
}

TEST(anchors_and_aliases)
{
	struct conf_static *st = parse_ok(BASE "  m:\n    IPs: &ips [127.0.0.2]\n    SMTP: &s {Enabled: true}\n"
					       "  n:\n    IPs: *ips\n    SMTP: *s\n");
	CHECK(st != NULL);
	if (st) {
		CHECK_INT(st->nlisteners, 3);
		CHECK_STR(st->listeners[2].ips.v[0], "127.0.0.2");
		CHECK(st->listeners[2].smtp.enabled);
	}
	conf_static_free(st);
}

TEST(errors_exact)
{
	EXPECT_ERR(BASE "    SMTP: {Enabeld: true}\n", "tern.conf:7: Listeners.l.SMTP.Enabeld: unknown field");
	EXPECT_ERR(BASE "Hostnme: x\n", "tern.conf:7: Hostnme: unknown field");
	EXPECT_ERR(BASE "Queue: {MaxConnections: lots}\n", "tern.conf:7: Queue.MaxConnections: expected an integer, got \"lots\"");
	EXPECT_ERR(BASE "Queue: {MaxConnections: \"5\"}\n", "tern.conf:7: Queue.MaxConnections: expected an integer, got \"5\"");
	EXPECT_ERR(BASE "Queue: {MaxConnections: 010}\n", "tern.conf:7: Queue.MaxConnections: expected an integer, got \"010\"");
	EXPECT_ERR(BASE "Queue: {MaxConnections: 0}\n", "tern.conf:7: Queue.MaxConnections: 0 is out of range 1..1000000");
	EXPECT_ERR(BASE "    SMTP: {Enabled: \"true\"}\n",
		   "tern.conf:7: Listeners.l.SMTP.Enabled: expected a boolean (true or false), got \"true\"");
	EXPECT_ERR(BASE "    SMTP: [x]\n", "tern.conf:7: Listeners.l.SMTP: expected a mapping, got a list");
	EXPECT_ERR(BASE "User: [a]\n", "tern.conf:7: User: expected a string, got a list");
	EXPECT_ERR(BASE "Hostname: x\n", "tern.conf:7: Hostname: duplicate field");
	EXPECT_ERR("DataDir: data\nPostmaster: {Account: a, Mailbox: b}\nListeners: {l: {IPs: [::1]}}\n",
		   "tern.conf:1: Hostname: missing required field");
	EXPECT_ERR("Hostname: h.example\nDataDir: data\nListeners: {l: {IPs: [::1]}}\nPostmaster: {Account: a}\n",
		   "tern.conf:4: Postmaster.Mailbox: missing required field");
	EXPECT_ERR("Hostname: h.example\nDataDir: data\nPostmaster: {Account: a, Mailbox: b}\nListeners: {l: {}}\n",
		   "tern.conf:4: Listeners.l.IPs: missing required field");
	EXPECT_ERR(BASE "Queue: {ConnectionIdleTimeout: 30x}\n",
		   "tern.conf:7: Queue.ConnectionIdleTimeout: invalid duration \"30x\" (use e.g. 30s, 7m30s, 72h)");
	EXPECT_ERR(BASE "Queue:\n  RetryIntervals: [1m, 5]\n",
		   "tern.conf:8: Queue.RetryIntervals[1]: invalid duration \"5\" (use e.g. 30s, 7m30s, 72h)");
	EXPECT_ERR(BASE "Transports:\n  t:\n    Direct: {DisableIPv4: true, DisableIPv6: true}\n",
		   "tern.conf:9: Transports.t.Direct: DisableIPv4 and DisableIPv6 cannot both be set");
	EXPECT_ERR(BASE "Transports:\n  t:\n    Direct: {}\n    Fail: {}\n",
		   "tern.conf:9: Transports.t: at most one of Submissions, Submission, SMTP, Direct, Fail may be set");
	EXPECT_ERR(BASE "Transports: {t: {Fail: {SMTPCode: 250}}}\n", "tern.conf:7: Transports.t.Fail.SMTPCode: 250 is out of range 400..599");
	EXPECT_ERR(BASE "Transports: {t: {SMTP: {Port: 25}}}\n", "tern.conf:7: Transports.t.SMTP.Host: missing required field");
	EXPECT_ERR(BASE "    Submission:\n      RelayNetworks: [10.0.0.0/8, 10.0.0.0/33]\n      RelayAccount: app\n",
		   "tern.conf:8: Listeners.l.Submission.RelayNetworks[1]: invalid CIDR \"10.0.0.0/33\"");
	EXPECT_ERR(BASE "    Submission: {RelayNetworks: [10.0.0.0/8]}\n",
		   "tern.conf:7: Listeners.l.Submission.RelayAccount: required with RelayNetworks");
	EXPECT_ERR(BASE "    Submissions: {Enabled: true}\n", "tern.conf:7: Listeners.l.Submissions: requires TLS");
	EXPECT_ERR(BASE "    SMTP: {Enabled: true}\n    IMAP: {Enabled: true, Port: 25}\n",
		   "tern.conf:8: Listeners.l.IMAP: port 25 is also used by SMTP");
	EXPECT_ERR(BASE "    IPs: [127.0.0.1]\n", "tern.conf:7: Listeners.l.IPs: duplicate field");
	EXPECT_ERR("Hostname: h.example\nDataDir: d\nPostmaster: {Account: a, Mailbox: b}\nListeners: {l: {IPs: [1.2.3]}}\n",
		   "tern.conf:4: Listeners.l.IPs[0]: invalid IP address \"1.2.3\"");
	EXPECT_ERR(BASE "LogLevel: loud\n",
		   "tern.conf:7: LogLevel: unknown value \"loud\" (one of: error, info, debug, trace, traceauth, tracedata)");
	EXPECT_ERR(BASE "Limits: {ConnectionsPerIP: [1, 2]}\n",
		   "tern.conf:7: Limits.ConnectionsPerIP: expected a list of 3 integers (mask levels 1, 2, 3)");
	EXPECT_ERR(BASE "DNS: {Resolvers: [\"[::1]:99999\"]}\n",
		   "tern.conf:7: DNS.Resolvers[0]: invalid resolver \"[::1]:99999\" (use ip, ip:port or [ipv6]:port)");
	EXPECT_ERR("Hostname: bad_host.example\nDataDir: d\nPostmaster: {Account: a, Mailbox: b}\nListeners: {l: {IPs: [::1]}}\n",
		   "tern.conf:1: Hostname: invalid domain name \"bad_host.example\": invalid character in name");
	EXPECT_ERR("Hostname: h\nDataDir: d\nPostmaster: {Account: a, Mailbox: b}\nListeners: {}\n",
		   "tern.conf:4: Listeners: at least one listener required");
	EXPECT_ERR(BASE "    AdminHTTP: {Enabled: true, Path: admin}\n",
		   "tern.conf:7: Listeners.l.AdminHTTP.Path: must start and end with \"/\"");
	EXPECT_ERR("Hostname: h\n  DataDir: d\n", "tern.conf:2: yaml: mapping values are not allowed in this context");
	EXPECT_ERR("a: 1\n---\nb: 2\n", "tern.conf:2: yaml: more than one document");
	EXPECT_ERR("- 1\n", "tern.conf:1: expected a mapping, got a list");
	EXPECT_ERR("", "tern.conf:1: Hostname: missing required field");
}

TEST(error_names_file_path)
{
	char *dir = tu_tmpdir();
	tu_write(dir, "tern.conf", BASE "Bogus: 1\n");
	char *path = xasprintf("%s/tern.conf", dir);
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_static_load(path, &st, &err), -1);
	char *want = xasprintf("%s:7: Bogus: unknown field\n", path);
	CHECK_STR(buf_cstr(&err), want);
	free(want);
	buf_reset(&err);
	free(path);
	path = xasprintf("%s/missing.conf", dir);
	CHECK_INT(conf_static_load(path, &st, &err), -1);
	CHECK(strstr(buf_cstr(&err), "missing.conf: cannot open: No such file or directory") != NULL);
	buf_free(&err);
	free(path);
	tu_rmdir(dir);
}

TEST(several_errors_reported)
{
	struct conf_static *st;
	struct buf err;
	buf_init(&err);
	const char *y = BASE "A: 1\nB: 2\nQueue: {MaxConnections: x}\n";
	CHECK_INT(conf_static_parse("t", y, strlen(y), NULL, &st, &err), -1);
	CHECK_STR(buf_cstr(&err), "t:7: A: unknown field\nt:8: B: unknown field\nt:9: Queue.MaxConnections: expected an integer, got \"x\"\n");
	buf_free(&err);
}

TEST_MAIN()
