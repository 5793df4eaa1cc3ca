/* Delivery transactions against mxsim.py receivers on loopback, records to
 * address-literal domains (no DNS): combined delivery split by LIMITS RCPTMAX and by
 * an unannounced limit (452), mixed recipient results with a multi-line 5xx kept
 * whole, 8-bit data without 8BITMIME, DSN parameters, data spread over several
 * store chunks (BDAT and dot-stuffed DATA), the DSNUTF8 variant, SMTPUTF8 missing,
 * localserve (one transaction per recipient), and the source address. */
#include "check.h"

#include "actors/delivery_metrics.h"
#include "core/metrics.h"
#include "delivery_harness.h"
#include "proto/tls.h"

static int P;
static struct tls_ctx *client_tls; /* opportunistic STARTTLS needs a context, nothing trusted */

static uint64_t router_full(const char *listeners_yaml, bool localserve)
{
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
	         "Hostname: mail.tern.test\nDataDir: /tmp/tern-unused\n"
	         "Postmaster: {Account: admin, Mailbox: Postmaster}\n"
	         "Listeners:\n%s",
	         listeners_yaml ? listeners_yaml : "  local:\n    IPs: [127.0.0.1]\n");
	struct conf_static *st = h_conf(yaml);
	struct delivery_env env = {.st = st, .store = h_store, .queue = hq_id, .direct_port = (uint16_t)P,
	                           .localserve = localserve, .local_port = (uint16_t)P, .tls = client_tls};
	return delivery_router_start_env(&env, NULL);
}

static uint64_t router(void)
{
	return router_full(NULL, false);
}

static bool mx_start(struct h_mx *mx, const char *name, const char *addr, const char *extra)
{
	char json[2048];
	snprintf(json, sizeof json, "{\"listeners\": [{\"name\": \"%s\", \"addr\": \"%s\", \"port\": %d%s%s}]}", name,
	         addr, P, extra ? ", " : "", extra ? extra : "");
	bool ok = h_mx_start(mx, json);
	CHECK(ok);
	return ok;
}

static const char *MSG = "Subject: test\r\n\r\nHello.\r\n";
#define CAPS_LIM "\"caps\": [\"PIPELINING\", \"SIZE 10000000\", \"ENHANCEDSTATUSCODES\", \"DSN\", \"LIMITS RCPTMAX=2\"]"

/* n combined records to domain, delivered with one WORK_REQ through a fresh router. */
static void combined(const char *domain, const char *const *locals, size_t n, uint64_t *ids)
{
	struct h_rec recs[8] = {0};
	for (size_t i = 0; i < n; i++)
		recs[i] = (struct h_rec){.to_local = locals[i], .to_domain = domain, .base_id = 42};
	h_add("Received: by test\r\n", MSG, NULL, recs, n, ids);
	h_clear();
	uint64_t r = router();
	h_work(r, ids, n, "", domain, 1);
	h_wait_results(n);
	h_router_stop(r);
}

static void check_rounds(const struct h_mx *mx, const size_t *sizes, size_t n)
{
	CHECK_INT(h_mx_count(mx, "conn", NULL), 1);
	CHECK_INT(h_mx_count(mx, "txn", NULL), n);
	for (size_t i = 0; i < n; i++) {
		json_t *t = h_mx_event(mx, "txn", i);
		if (!t)
			continue;
		CHECK_INT(json_array_size(json_object_get(t, "rcpts")), sizes[i]);
		CHECK_STR(h_jstr(t, "body"), "Received: by test\r\nSubject: test\r\n\r\nHello.\r\n");
		json_decref(t);
	}
}

TEST(combined_split_by_rcptmax)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "lim", "127.0.0.27", CAPS_LIM))
		return;
	const char *locals[] = {"a", "b", "c", "d", "e"};
	uint64_t ids[5];
	combined("[127.0.0.27]", locals, 5, ids);
	for (int i = 0; i < 5; i++) {
		const struct h_result *r = h_result(ids[i]);
		if (r) {
			CHECK_INT(r->outcome, 0);
			CHECK_STR(r->host, "[127.0.0.27]");
		}
	}
	size_t sizes[] = {2, 2, 1};
	check_rounds(&mx, sizes, 3);
	CHECK_INT(hq_attempt_reqs, 1); /* one accounting for the gathered records */
	h_mx_stop(&mx);
}

TEST(unannounced_limit_452_retried_on_same_connection)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "unann", "127.0.0.28", "\"rcpt_limit\": 2"))
		return;
	const char *locals[] = {"a", "b", "c", "d", "e"};
	uint64_t ids[5];
	combined("[127.0.0.28]", locals, 5, ids);
	for (int i = 0; i < 5; i++) {
		const struct h_result *r = h_result(ids[i]);
		if (r)
			CHECK_INT(r->outcome, 0);
	}
	size_t sizes[] = {2, 2, 1};
	check_rounds(&mx, sizes, 3);
	h_mx_stop(&mx);
}

TEST(mixed_results_multiline_5xx_kept_whole)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "lim", "127.0.0.27",
	              "\"rcpt\": {\"reject\": \"550-5.1.1 first line\\\\r\\\\n550-5.1.1 second line\\\\r\\\\n550 5.1.1 third\", "
	              "\"busy\": \"450 4.2.0 mailbox busy\"}"))
		return;
	const char *locals[] = {"good", "reject", "busy"};
	uint64_t ids[3];
	combined("[127.0.0.27]", locals, 3, ids);
	const struct h_result *good = h_result(ids[0]), *rej = h_result(ids[1]), *busy = h_result(ids[2]);
	if (good)
		CHECK_INT(good->outcome, 0);
	if (rej) {
		CHECK_INT(rej->outcome, 2);
		CHECK_INT(rej->code, 550);
		CHECK_STR(rej->secode, "1.1");
		CHECK_STR(rej->error, "remote: 550 5.1.1 first line second line third");
		CHECK_INT(rej->nreply, 3);
		if (rej->nreply == 3) {
			CHECK_STR(rej->reply[0], "550-5.1.1 first line");
			CHECK_STR(rej->reply[1], "550-5.1.1 second line");
			CHECK_STR(rej->reply[2], "550 5.1.1 third");
		}
	}
	if (busy) {
		CHECK_INT(busy->outcome, 1);
		CHECK_INT(busy->code, 450);
		CHECK_STR(busy->error, "remote: 450 4.2.0 mailbox busy");
	}
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 1);
	h_mx_stop(&mx);
}

/* One record (prefix, body, sizes as h_add) to the literal [addr] through a fresh router;
 * returns its result (after the router stopped). */
static const struct h_result *deliver(const char *prefix, const char *body, const size_t *sizes,
                                      struct h_rec rec, const char *addr)
{
	char domain[64];
	snprintf(domain, sizeof domain, "[%s]", addr);
	rec.to_domain = domain;
	uint64_t id;
	h_add(prefix, body, sizes, &rec, 1, &id);
	h_clear();
	uint64_t r = router();
	h_work(r, &id, 1, "", domain, 1);
	h_wait_results(1);
	h_router_stop(r);
	return h_result(id);
}

static const struct h_result *one(struct h_rec rec, const char *addr)
{
	return deliver("", MSG, NULL, rec, addr);
}

static void eight_bit(const char *addr, const char *caps, const char *want_mail)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", addr, caps))
		return;
	const char *body = "Subject: caf\xc3\xa9\r\n\r\n\xe2\x82\xac 100\r\n";
	const struct h_result *res = deliver("", body, NULL, (struct h_rec){.has8bit = true}, addr);
	if (res)
		CHECK_INT(res->outcome, 0);
	json_t *t = h_mx_event(&mx, "txn", 0);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(h_jstr(t, "mail"), want_mail);
		char got[256];
		h_latin1(h_jstr(t, "body"), got, sizeof got); /* the receiver decoded latin-1: back to bytes */
		CHECK_STR(got, body);
		json_decref(t);
	}
	h_mx_stop(&mx);
}

TEST(eight_bit_without_8bitmime_sent_as_is)
{
	eight_bit("127.0.0.27", CAPS_LIM, "MAIL FROM:<sender@src.test> SIZE=27");
	eight_bit("127.0.0.21", NULL, "MAIL FROM:<sender@src.test> SIZE=27 BODY=8BITMIME");
}

TEST(dsn_parameters_passed_on)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", NULL))
		return;
	struct h_rec rec = {.notify = "SUCCESS,FAILURE", .orcpt = "rfc822;orig@src.test", .envid = "env 1",
	                    .ret = "HDRS"};
	const struct h_result *res = one(rec, "127.0.0.21");
	json_t *t = h_mx_event(&mx, "txn", 0);
	if (t) {
		CHECK(strstr(h_jstr(t, "mail"), "RET=HDRS") != NULL);
		CHECK(strstr(h_jstr(t, "mail"), "ENVID=env+201") != NULL);
		CHECK(strstr(h_jidx(t, "rcpts", 0), "NOTIFY=SUCCESS,FAILURE") != NULL);
		CHECK(strstr(h_jidx(t, "rcpts", 0), "ORCPT=rfc822;orig@src.test") != NULL);
		json_decref(t);
	}
	if (res)
		CHECK(res->remote_dsn);
	h_mx_stop(&mx);
}

/* A message in chunks of uneven sizes arrives whole, over BDAT and over DATA. */
static void chunks(const char *caps)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", caps))
		return;
	struct buf body;
	buf_init(&body);
	buf_puts(&body, "Subject: big\r\n\r\n");
	for (int i = 0; body.len < 75000; i++)
		buf_printf(&body, "%sline %d of the message\r\n", i % 7 == 0 ? "." : "", i);
	char *data = buf_cstr(&body);
	size_t sizes[] = {1000, 70000, 3, 0};
	const struct h_result *res = deliver("X-Prefix: 1\r\n", data, sizes, (struct h_rec){0}, "127.0.0.21");
	if (res)
		CHECK_INT(res->outcome, 0);
	json_t *t = h_mx_event(&mx, "txn", 0);
	if (t) {
		const char *got = h_jstr(t, "body");
		CHECK(strncmp(got, "X-Prefix: 1\r\n", 13) == 0);
		CHECK(strlen(got) == 13 + strlen(data) && strcmp(got + 13, data) == 0);
		json_decref(t);
	}
	free(data);
	h_mx_stop(&mx);
}

TEST(data_in_several_chunks_bdat)
{
	chunks(NULL); /* default caps: CHUNKING */
}

TEST(data_in_several_chunks_dot_stuffed)
{
	chunks("\"caps\": [\"PIPELINING\", \"8BITMIME\", \"SIZE 10000000\"]");
}

static void dsn_utf8(const char *caps, const char *want)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", caps))
		return;
	struct h_rec rec = {.dsn_utf8 = "Subject: utf8 \xc3\xa9\r\n\r\nUTF-8 DSN\r\n"};
	deliver("", "Subject: ascii\r\n\r\nASCII DSN\r\n", NULL, rec, "127.0.0.21");
	json_t *t = h_mx_event(&mx, "txn", 0);
	if (t) {
		CHECK(strstr(h_jstr(t, "body"), want) != NULL);
		json_decref(t);
	}
	h_mx_stop(&mx);
}

TEST(dsnutf8_variant_only_with_smtputf8)
{
	dsn_utf8(NULL, "UTF-8 DSN");
	dsn_utf8("\"caps\": [\"PIPELINING\", \"8BITMIME\", \"SIZE 10000000\"]", "ASCII DSN");
}

TEST(smtputf8_missing_is_permanent_554_5_6_7)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.27", CAPS_LIM))
		return;
	const struct h_result *res = one((struct h_rec){.to_local = "j\xc3\xb6rg", .smtputf8 = true}, "127.0.0.27");
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code, 554);
		CHECK_STR(res->secode, "6.7");
		CHECK_STR(res->error, "remote servers do not support smtputf8");
	}
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 0);
	h_mx_stop(&mx);
}

TEST(localserve_one_transaction_per_recipient)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "self", "127.0.0.1", NULL))
		return;
	struct h_rec recs[3] = {{.to_local = "a", .to_domain = "x.test", .base_id = 9},
	                        {.to_local = "b", .to_domain = "x.test", .base_id = 9},
	                        {.to_local = "c", .to_domain = "x.test", .base_id = 9}};
	uint64_t ids[3];
	h_add("", MSG, NULL, recs, 3, ids);
	h_clear();
	uint64_t r = router_full(NULL, true);
	h_work(r, ids, 3, "", "x.test", 1);
	h_wait_results(3);
	h_router_stop(r);
	for (int i = 0; i < 3; i++) {
		const struct h_result *res = h_result(ids[i]);
		if (res)
			CHECK_INT(res->outcome, 0);
	}
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 1);
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 3);
	json_t *t = h_mx_event(&mx, "txn", 0);
	if (t) {
		CHECK_STR(h_jstr(t, "ehlo"), "localhost");
		CHECK_INT(json_array_size(json_object_get(t, "rcpts")), 1);
		json_decref(t);
	}
	h_mx_stop(&mx);
}

/* config.md §2: an explicit SMTP listener IP is the source address of outgoing connections. */
TEST(source_address_from_smtp_listener)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", NULL))
		return;
	uint64_t id = h_add1("rcpt", "[127.0.0.21]", MSG);
	h_clear();
	uint64_t r = router_full("  public:\n    IPs: [127.0.0.5]\n    SMTP: {Enabled: true, Port: 2626}\n", false);
	h_work(r, &id, 1, "", "[127.0.0.21]", 1);
	h_wait_results(1);
	h_router_stop(r);
	json_t *c = h_mx_event(&mx, "conn", 0);
	if (c) {
		CHECK_STR(h_jstr(c, "peer"), "127.0.0.5");
		json_decref(c);
	}
	h_mx_stop(&mx);
}

/* badinput.md #67: a failed opportunistic handshake is redialed in plaintext, but not
 * for DMARC reports. */
TEST(failed_starttls_redialed_in_plaintext)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", "\"tls_broken\": true"))
		return;
	delivery_metrics_init();
	int64_t fallbacks = metric_value(delivery_metrics.plaintext_fallback);
	const struct h_result *res = one((struct h_rec){0}, "127.0.0.21");
	CHECK_INT(metric_value(delivery_metrics.plaintext_fallback) - fallbacks, 1);
	if (res)
		CHECK_INT(res->outcome, 0);
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 2);
	json_t *t = h_mx_event(&mx, "txn", 0);
	CHECK(t != NULL);
	if (t) {
		CHECK(json_is_false(json_object_get(t, "tls")));
		json_decref(t);
	}
	res = one((struct h_rec){.dmarc = true}, "127.0.0.21");
	if (res) {
		CHECK_INT(res->outcome, 1);
		if (!strstr(res->error, "TLS"))
			CHECK_FAIL("error: %s", res->error);
	}
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 3);
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 1);
	CHECK_INT(metric_value(delivery_metrics.plaintext_fallback) - fallbacks, 1); /* none for the report */
	h_mx_stop(&mx);
}

TEST(remote_size_too_small_is_permanent)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", "\"caps\": [\"PIPELINING\", \"SIZE 10\"]"))
		return;
	const struct h_result *res = one((struct h_rec){0}, "127.0.0.21");
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_STR(res->secode, "3.4");
	}
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 0);
	h_mx_stop(&mx);
}

/* REQUIRETLS to a host without STARTTLS: impossible, never plaintext (queue.md §4). */
TEST(requiretls_without_starttls_is_permanent)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, "m", "127.0.0.21", NULL))
		return;
	delivery_metrics_init();
	int64_t nopolicy = metric_value(delivery_metrics.requiretls[DELIVERY_METRICS_RTLS_NOPOLICY]);
	const struct h_result *res = one((struct h_rec){.rtls = 1}, "127.0.0.21");
	CHECK_INT(metric_value(delivery_metrics.requiretls[DELIVERY_METRICS_RTLS_NOPOLICY]) - nopolicy, 1);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code, 554);
		CHECK_STR(res->secode, "7.30");
	}
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 0);
	h_mx_stop(&mx);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	const char *ips[] = {"127.0.0.1", "127.0.0.21", "127.0.0.27", "127.0.0.28", NULL};
	P = h_pick_port(ips);
	char err[TLS_ERR_MAX];
	struct tls_client_opts o = {.no_system_roots = true};
	client_tls = tls_ctx_client_new(&o, err);
	ASSERT(client_tls);
	worker_set_exit_hook(tls_thread_exit);
	worker_pool_start(2);
	h_store_open();
	h_queue_start();
	int rc = P ? check_main(argc, argv) : 1;
	worker_pool_stop();
	h_store_close();
	h_conf_free_all();
	tls_ctx_free(&client_tls);
	tls_thread_exit();
	return rc;
}
