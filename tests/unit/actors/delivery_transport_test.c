/* Delivery through configured transports (queue.md §12) against real peers:
 * mxsim.py with STARTTLS, implicit TLS and AUTH SCRAM-SHA-256 (a certificate made
 * at test time, trusted through the client context), Postfix's smtp-sink with
 * injected faults, the Fail transport, an unknown transport, REQUIRETLS over an
 * unverified transport, and a Direct transport limited to IPv4. The transport
 * host relay.deliv.test is resolved through NSD. */
#include "check.h"

#include <dirent.h>
#include <sys/stat.h>

#include "actors/delivery_metrics.h"
#include "core/metrics.h"
#include "delivery_harness.h"
#include "dns_test_harness.h"
#include "proto/smtp_client_live.h"
#include "proto/tls.h"

static int P;
static uint64_t r_nsd;
static struct tls_ctx *client_tls;
static char cert_ok[256], key_ok[256], cert_other[256], key_other[256];

static uint64_t router(const char *transports_yaml)
{
	char yaml[4096];
	snprintf(yaml, sizeof yaml,
	         "Hostname: mail.tern.test\nDataDir: /tmp/tern-unused\n"
	         "Postmaster: {Account: admin, Mailbox: Postmaster}\n"
	         "Listeners:\n  local:\n    IPs: [127.0.0.1]\n"
	         "Transports:\n%s",
	         transports_yaml);
	struct conf_static *st = h_conf(yaml);
	struct delivery_env env = {.st = st, .store = h_store, .resolver = r_nsd, .queue = hq_id,
	                           .tls = client_tls, .direct_port = (uint16_t)P};
	return delivery_router_start_env(&env, NULL);
}

static const char *MSG = "Subject: test\r\n\r\nHello.\r\n";

/* One record through transport `name` of the given Transports YAML; returns its result. */
static const struct h_result *send1(const char *transports_yaml, const char *name, int rtls)
{
	uint64_t id;
	struct h_rec rec = {.to_domain = "dest.test", .rtls = rtls};
	h_add("", MSG, NULL, &rec, 1, &id);
	h_clear();
	uint64_t r = router(transports_yaml);
	h_work(r, &id, 1, name, "dest.test", 1);
	h_wait_results(1);
	h_router_stop(r);
	return h_result(id);
}

static bool mx(struct h_mx *m, const char *extra)
{
	char json[2048];
	snprintf(json, sizeof json, "{\"listeners\": [{\"name\": \"relay\", \"addr\": \"127.0.0.30\", \"port\": %d%s%s}]}",
	         P, extra ? ", " : "", extra ? extra : "");
	bool ok = h_mx_start(m, json);
	CHECK(ok);
	return ok;
}

static char *yaml_relay(const char *kind, const char *more)
{
	static char b[1024];
	snprintf(b, sizeof b, "  relay:\n    %s: {Host: relay.deliv.test, Port: %d%s%s}\n", kind, P, more ? ", " : "",
	         more ? more : "");
	return b;
}

TEST(submission_starttls_verified_with_scram_auth)
{
	struct h_mx m = {0};
	char extra[1024];
	snprintf(extra, sizeof extra, "\"tls\": [\"%s\", \"%s\"], \"auth\": {\"user\": \"user\", \"password\": \"secret\"}",
	         cert_ok, key_ok);
	if (!mx(&m, extra))
		return;
	const struct h_result *res = send1(yaml_relay("Submission", "Auth: {Username: user, Password: secret}"), "relay", 0);
	if (res) {
		CHECK_INT(res->outcome, 0);
		CHECK_STR(res->host, "relay.deliv.test");
		CHECK_STR(res->ip, "127.0.0.30");
	}
	json_t *t = h_mx_event(&m, "txn", 0);
	CHECK(t != NULL);
	if (t) {
		CHECK(json_is_true(json_object_get(t, "tls")));
		CHECK_STR(h_jstr(t, "auth"), "user");
		CHECK_STR(h_jstr(t, "mech"), "SCRAM-SHA-256"); /* first of the default list offered */
		CHECK_STR(h_jstr(t, "ehlo"), "mail.tern.test");
		json_decref(t);
	}
	/* a wrong password: the 535 fails the (only) host permanently, nothing is sent */
	res = send1(yaml_relay("Submission", "Auth: {Username: user, Password: wrong}"), "relay", 0);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code, 535);
	}
	CHECK_INT(h_mx_count(&m, "txn", NULL), 1);
	h_mx_stop(&m);
}

TEST(starttls_required_bad_certificate_is_temporary)
{
	struct h_mx m = {0};
	char extra[1024];
	snprintf(extra, sizeof extra, "\"tls\": [\"%s\", \"%s\"]", cert_other, key_other);
	if (!mx(&m, extra))
		return;
	const struct h_result *res = send1(yaml_relay("SMTP", NULL), "relay", 0);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK(strstr(res->error, "TLS") != NULL);
	}
	CHECK_INT(h_mx_count(&m, "txn", NULL), 0); /* never in plaintext */
	/* STARTTLSInsecureSkipVerify: the same server is fine */
	res = send1(yaml_relay("SMTP", "STARTTLSInsecureSkipVerify: true"), "relay", 0);
	if (res)
		CHECK_INT(res->outcome, 0);
	json_t *t = h_mx_event(&m, "txn", 0);
	if (t) {
		CHECK(json_is_true(json_object_get(t, "tls")));
		json_decref(t);
	}
	h_mx_stop(&m);
}

TEST(starttls_required_but_not_offered)
{
	struct h_mx m = {0};
	if (!mx(&m, NULL))
		return;
	const struct h_result *res = send1(yaml_relay("SMTP", NULL), "relay", 0);
	if (res)
		CHECK_INT(res->outcome, 1);
	CHECK_INT(h_mx_count(&m, "txn", NULL), 0);
	/* NoSTARTTLS: plaintext is what was asked for */
	res = send1(yaml_relay("SMTP", "NoSTARTTLS: true"), "relay", 0);
	if (res)
		CHECK_INT(res->outcome, 0);
	CHECK_INT(h_mx_count(&m, "txn", NULL), 1);
	h_mx_stop(&m);
}

TEST(submissions_implicit_tls)
{
	struct h_mx m = {0};
	char extra[1024];
	snprintf(extra, sizeof extra, "\"implicit\": [\"%s\", \"%s\"]", cert_ok, key_ok);
	if (!mx(&m, extra))
		return;
	const struct h_result *res = send1(yaml_relay("Submissions", NULL), "relay", 0);
	if (res)
		CHECK_INT(res->outcome, 0);
	json_t *t = h_mx_event(&m, "txn", 0);
	CHECK(t != NULL);
	if (t) {
		CHECK(json_is_true(json_object_get(t, "tls")));
		json_decref(t);
	}
	h_mx_stop(&m);
}

TEST(requiretls_over_unverified_transport_fails_permanently)
{
	delivery_metrics_init();
	int64_t nopolicy = metric_value(delivery_metrics.requiretls[DELIVERY_METRICS_RTLS_NOPOLICY]);
	const struct h_result *res = send1(yaml_relay("SMTP", "NoSTARTTLS: true"), "relay", 1);
	CHECK_INT(metric_value(delivery_metrics.requiretls[DELIVERY_METRICS_RTLS_NOPOLICY]) - nopolicy, 1);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code, 554);
		CHECK_STR(res->secode, "7.30");
	}
	CHECK_INT(hq_attempt_ids, 1);
}

TEST(fail_transport_and_unknown_transport)
{
	const struct h_result *res = send1("  nope:\n    Fail: {SMTPCode: 554, SMTPMessage: \"no mail for you\"}\n", "nope", 0);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code, 554);
		CHECK_STR(res->secode, "7.0");
		CHECK_STR(res->error, "no mail for you");
		CHECK_INT(res->nreply, 0);
	}
	CHECK_INT(hq_attempt_ids, 1);
	res = send1("  later:\n    Fail: {SMTPCode: 451}\n", "later", 0);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK_INT(res->code, 451);
		CHECK_STR(res->error, "transport fail: explicit immediate delivery failure per configuration");
	}
	res = send1("  later:\n    Fail: {SMTPCode: 451}\n", "missing", 0);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK_STR(res->error, "cannot find transport missing");
	}
}

TEST(direct_transport_one_family)
{
	struct h_mx m = {0};
	char json[512];
	snprintf(json, sizeof json,
	         "{\"listeners\": [{\"name\": \"v6\", \"addr\": \"::1\", \"port\": %d}, "
	         "{\"name\": \"v4\", \"addr\": \"127.0.0.1\", \"port\": %d}]}", P, P);
	if (!h_mx_start(&m, json))
		return;
	uint64_t id;
	struct h_rec rec = {.to_domain = "dual.deliv.test"};
	h_add("", MSG, NULL, &rec, 1, &id);
	h_clear();
	uint64_t r = router("  ipv4only:\n    Direct: {DisableIPv6: true}\n");
	h_work(r, &id, 1, "ipv4only", "dual.deliv.test", 1);
	h_wait_results(1);
	h_router_stop(r);
	const struct h_result *res = h_result(id);
	if (res) {
		CHECK_INT(res->outcome, 0);
		CHECK_STR(res->ip, "127.0.0.1");
	}
	CHECK_INT(h_mx_count(&m, "conn", "v6"), 0);
	h_mx_stop(&m);
}

/* ---- smtp-sink ---- */

static char sinkdir[64];

static int dumps(void)
{
	DIR *d = opendir(sinkdir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* One record through a smtp-sink started with opts; the sink's dump count in *ndumps. */
static const struct h_result *via_sink(const char *const *opts, int *ndumps)
{
	struct live_server srv = {0};
	snprintf(sinkdir, sizeof sinkdir, "/tmp/tern-dsink-XXXXXX");
	ASSERT(mkdtemp(sinkdir));
	chmod(sinkdir, 0777); /* smtp-sink writes as nobody */
	if (!live_sink(&srv, opts, sinkdir)) {
		CHECK_FAIL("smtp-sink did not start");
		return NULL;
	}
	char yaml[256];
	snprintf(yaml, sizeof yaml, "  sink:\n    SMTP: {Host: 127.0.0.1, Port: %d, NoSTARTTLS: true}\n", srv.port);
	const struct h_result *res = send1(yaml, "sink", 0);
	live_stop(&srv);
	*ndumps = dumps();
	live_rmdir(sinkdir);
	return res;
}

TEST(smtp_sink_delivery_and_faults)
{
	int n;
	const struct h_result *res = via_sink(NULL, &n);
	if (res)
		CHECK_INT(res->outcome, 0);
	CHECK_INT(n, 1);
	const char *q421[] = {"-Q", "RCPT", NULL};
	res = via_sink(q421, &n);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK_INT(res->code, 421);
	} /* (the sink may have opened its dump file at MAIL already: its count says nothing here) */
	const char *soft[] = {"-r", "MAIL", NULL};
	res = via_sink(soft, &n);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK_INT(res->code / 100, 4);
	}
	const char *hard[] = {"-f", "RCPT", NULL};
	res = via_sink(hard, &n);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code / 100, 5);
		CHECK(strncmp(res->error, "remote: 5", 9) == 0);
	}
	const char *drop[] = {"-q", ".", NULL}; /* hangs up after the data without a reply */
	res = via_sink(drop, &n);
	if (res)
		CHECK_INT(res->outcome, 1); /* never delivered on a lost reply */
	const char *slow[] = {"-w", "1", NULL};
	res = via_sink(slow, &n);
	if (res)
		CHECK_INT(res->outcome, 0);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

static void write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");
	ASSERT(f && fwrite(b->p, 1, b->len, f) == b->len);
	fclose(f);
}

/* Certificates for relay.deliv.test and for another name, and a client context trusting both. */
static void make_certs(void)
{
	char err[TLS_ERR_MAX];
	const char *names[2] = {"relay.deliv.test", "other.deliv.test"};
	char *certs[2] = {cert_ok, cert_other}, *keys[2] = {key_ok, key_other};
	for (int i = 0; i < 2; i++) {
		struct buf c, k;
		buf_init(&c);
		buf_init(&k);
		if (tls_cert_selfsigned(names[i], 30, &c, &k, err) != 0)
			panic("tls_cert_selfsigned: %s", err);
		snprintf(certs[i], 256, "%s/%s.crt", h_dir, names[i]);
		snprintf(keys[i], 256, "%s/%s.key", h_dir, names[i]);
		write_file(certs[i], &c);
		write_file(keys[i], &k);
		buf_free(&c);
		buf_free(&k);
	}
	const char *cas[] = {cert_ok, cert_other};
	struct tls_client_opts o = {.ca_files = cas, .n_ca_files = 2, .no_system_roots = true};
	client_tls = tls_ctx_client_new(&o, err);
	if (!client_tls)
		panic("client context: %s", err);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	char zone[1200];
	snprintf(zone, sizeof zone, "deliv.test=%s/tests/unit/actors/delivery_zones/deliv.test.zone", src_dir());
	const char *extra[] = {"--zone", zone, NULL};
	if (start_servers(extra) != 0) {
		fprintf(stderr, "could not start the loopback DNS servers (nsd, python3-dnspython)\n");
		stop_servers();
		return 1;
	}
	const char *ips[] = {"127.0.0.1", "::1", "127.0.0.30", NULL};
	P = h_pick_port(ips);
	worker_set_exit_hook(tls_thread_exit);
	worker_pool_start(2);
	h_store_open();
	make_certs();
	h_queue_start();
	char nsd[64];
	snprintf(nsd, sizeof nsd, "127.0.0.1:%d", port_nsd);
	r_nsd = start_resolver(nsd, 3000, false, 0, 0);
	int rc = P && r_nsd ? check_main(argc, argv) : 1;
	if (r_nsd && stop_resolver(r_nsd) != 0)
		rc = 1;
	worker_pool_stop();
	tls_ctx_free(&client_tls);
	h_store_close();
	stop_servers();
	h_conf_free_all();
	(void)q_name;
	tls_thread_exit();
	return rc;
}
