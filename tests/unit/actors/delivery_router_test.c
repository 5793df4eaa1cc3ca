/* The delivery router and its connections against real peers on loopback: NSD
 * serving tests/unit/actors/delivery_zones/deliv.test.zone through the resolver
 * actor, mxsim.py receivers on one loopback address per MX host, a real store.
 * MX preference order and fallback (connect failure, 5xx and 421 greetings, 421
 * to MAIL), every host 5xx, null MX / NXDOMAIN / SERVFAIL, implicit MX, the IPv6 /
 * IPv4 family retry, connection reuse, the per-host limit, idle QUIT,
 * MaxMessagesPerConnection, the retry on a new connection, ids the queue does not
 * account, and stopping. */
#include "check.h"

#include <unistd.h>

#include "delivery_harness.h"
#include "dns_test_harness.h"

static int P; /* the port every MX receiver listens on (the router's direct port) */
static uint64_t r_nsd, r_servfail;

static uint64_t router(uint64_t resolver, const char *queue_yaml)
{
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
	         "Hostname: mail.tern.test\nDataDir: /tmp/tern-unused\n"
	         "Postmaster: {Account: admin, Mailbox: Postmaster}\n"
	         "Listeners:\n  local:\n    IPs: [127.0.0.1]\n"
	         "Queue: {%s}\n",
	         queue_yaml ? queue_yaml : "");
	struct conf_static *st = h_conf(yaml);
	struct delivery_env env = {.st = st, .store = h_store, .resolver = resolver, .queue = hq_id,
	                           .direct_port = (uint16_t)P};
	return delivery_router_start_env(&env, NULL);
}

/* One listener's JSON with extra fields. */
static const char *lst(const char *name, const char *addr, const char *extra)
{
	static char bufs[8][1024];
	static int k;
	char *b = bufs[k++ % 8];
	snprintf(b, 1024, "{\"name\": \"%s\", \"addr\": \"%s\", \"port\": %d%s%s}", name, addr, P,
	         extra && *extra ? ", " : "", extra ? extra : "");
	return b;
}

static bool mx_start(struct h_mx *mx, const char *l1, const char *l2)
{
	char json[4096];
	snprintf(json, sizeof json, "{\"listeners\": [%s%s%s]}", l1, l2 ? ", " : "", l2 ? l2 : "");
	bool ok = h_mx_start(mx, json);
	CHECK(ok);
	return ok;
}

static const char *MSG = "Subject: test\r\n\r\nHello.\r\n";

/* One record to domain through a fresh router; returns its result (after the router stopped). */
static const struct h_result *deliver1(uint64_t resolver, const char *domain, uint64_t *id_out)
{
	h_clear();
	uint64_t r = router(resolver, NULL);
	uint64_t id = h_add1("rcpt", domain, MSG);
	h_work(r, &id, 1, "", domain, 1);
	h_wait_results(1);
	h_router_stop(r);
	if (id_out)
		*id_out = id;
	return h_result(id);
}

TEST(mx_preference_order)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", NULL), lst("mxb", "127.0.0.22", NULL)))
		return;
	const struct h_result *res = deliver1(r_nsd, "order.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 0);
		CHECK_INT(res->code, 250);
		CHECK_STR(res->host, "mxa.deliv.test");
		CHECK_STR(res->ip, "127.0.0.21");
		CHECK(res->remote_dsn);
	}
	CHECK_INT(h_mx_count(&mx, "txn", "mxa"), 1);
	CHECK_INT(h_mx_count(&mx, "txn", "mxb"), 0);
	json_t *t = h_mx_event(&mx, "txn", 0);
	if (t) {
		CHECK_STR(h_jstr(t, "body"), "Received: by test\r\nSubject: test\r\n\r\nHello.\r\n");
		CHECK_STR(h_jstr(t, "mail"), "MAIL FROM:<sender@src.test> SIZE=44 BODY=7BIT");
		CHECK_STR(h_jstr(t, "ehlo"), "mail.tern.test");
		CHECK_STR(h_jidx(t, "rcpts", 0), "RCPT TO:<rcpt@order.deliv.test>");
		json_decref(t);
	}
	h_mx_stop(&mx);
}

/* Fallback to the second MX (mxb) when the first fails as a whole; first_listener NULL means
 * nothing listens on the first MX, else it must have been connected to (and refused). */
static void fallback(const char *domain, const char *first_listener)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxb", "127.0.0.22", NULL), first_listener))
		return;
	const struct h_result *res = deliver1(r_nsd, domain, NULL);
	if (res) {
		CHECK_INT(res->outcome, 0);
		CHECK_STR(res->host, "mxb.deliv.test");
	}
	CHECK_INT(h_mx_count(&mx, "txn", "mxb"), 1);
	CHECK_INT(h_mx_count(&mx, "txn", "first"), 0);
	if (first_listener)
		CHECK(h_mx_count(&mx, "conn", "first") >= 1);
	h_mx_stop(&mx);
}

TEST(fallback_on_connect_failure)
{
	fallback("dead.deliv.test", NULL); /* nothing listens on mxdead */
}

TEST(fallback_on_5xx_greeting)
{
	fallback("greet.deliv.test", lst("first", "127.0.0.24", "\"greeting\": \"554 5.7.1 go away\""));
}

TEST(fallback_on_421_greeting)
{
	fallback("busy.deliv.test", lst("first", "127.0.0.25", "\"greeting\": \"421 4.3.2 busy\""));
}

TEST(fallback_on_421_to_mail)
{
	fallback("m421.deliv.test", lst("first", "127.0.0.26", "\"mail_reply\": \"421 4.3.2 shutting down\""));
}

TEST(every_mx_5xx_greeting_is_permanent)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("g1", "127.0.0.24", "\"greeting\": \"554-5.7.1 not here\\\\r\\\\n554 5.7.1 really\""),
	              lst("g2", "127.0.0.31", "\"greeting\": \"554 5.7.1 not here either\"")))
		return;
	const struct h_result *res = deliver1(r_nsd, "allgreet.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_INT(res->code, 554);
		CHECK_STR(res->secode, "7.1");
		CHECK_STR(res->error, "remote: 554 5.7.1 not here either");
		CHECK_INT(res->nreply, 1);
		CHECK_STR(res->host, "mxgreet2.deliv.test");
		CHECK(!res->family_retry); /* IPv4 only */
	}
	/* A polite QUIT after each; the result may reach us before the last QUIT reaches the receiver. */
	for (int i = 0; i < 300 && h_mx_count(&mx, "quit", NULL) < 2; i++)
		usleep(10000);
	CHECK_INT(h_mx_count(&mx, "quit", NULL), 2);
	h_mx_stop(&mx);
}

TEST(dns_outcomes)
{
	const struct h_result *res = deliver1(r_nsd, "nullmx.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_STR(res->secode, "1.10");
		CHECK(strstr(res->error, "null mx") != NULL);
	}
	CHECK_INT(hq_attempt_ids, 1); /* a DNS failure is an attempt */
	res = deliver1(r_nsd, "nothing-here.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_STR(res->secode, "1.2");
	}
	res = deliver1(r_servfail, "order.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK_STR(res->secode, "4.3");
		CHECK(strstr(res->error, "servfail") != NULL);
	}
	CHECK_INT(hq_attempt_ids, 1);
}

TEST(implicit_mx)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", NULL), NULL))
		return;
	const struct h_result *res = deliver1(r_nsd, "implicit.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 0);
		CHECK_STR(res->host, "implicit.deliv.test");
	}
	h_mx_stop(&mx);
}

/* queue.md §4 "Both IP families": a 5.7.x on IPv6 at attempt 1 asks for a retry; the next
 * attempt, with ::1 in DialedIPs, dials IPv4 first. */
TEST(family_retry)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("v6", "::1", "\"greeting\": \"554 5.7.1 not over IPv6\""), lst("v4", "127.0.0.1", NULL)))
		return;
	const struct h_result *res = deliver1(r_nsd, "dual.deliv.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 2);
		CHECK_STR(res->ip, "::1");
		CHECK_STR(res->secode, "7.1");
		CHECK(res->family_retry);
	}
	CHECK_INT(h_mx_count(&mx, "conn", "v4"), 0);
	h_clear();
	uint64_t r = router(r_nsd, NULL), id;
	struct h_rec rec = {.to_domain = "dual.deliv.test", .attempts = 1, .dialed_host = "mxdual.deliv.test",
	                    .dialed_ip = "::1"};
	h_add("", MSG, NULL, &rec, 1, &id);
	h_work(r, &id, 1, "", "dual.deliv.test", 2);
	h_wait_results(1);
	h_router_stop(r);
	res = h_result(id);
	if (res) {
		CHECK_INT(res->outcome, 0);
		CHECK_STR(res->ip, "127.0.0.1");
	}
	CHECK_INT(h_mx_count(&mx, "txn", "v4"), 1);
	h_mx_stop(&mx);
}

/* Sequential records to one host share one connection; the idle one is QUIT later. */
TEST(connection_reuse_and_idle_quit)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", NULL), NULL))
		return;
	h_clear();
	uint64_t r = router(r_nsd, "ConnectionIdleTimeout: 1s");
	uint64_t ids[5];
	for (int i = 0; i < 5; i++) {
		ids[i] = h_add1("rcpt", "order.deliv.test", MSG);
		h_work(r, &ids[i], 1, "", "order.deliv.test", 1);
		h_wait_results((size_t)i + 1);
	}
	for (int i = 0; i < 5; i++) {
		const struct h_result *res = h_result(ids[i]);
		if (res)
			CHECK_INT(res->outcome, 0);
	}
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 1);
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 5);
	CHECK(h_mx_wait(&mx, "quit", 1, 5000)); /* ConnectionIdleTimeout, then QUIT */
	h_router_stop(r);
	h_mx_stop(&mx);
}

TEST(max_messages_per_connection)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", NULL), NULL))
		return;
	h_clear();
	uint64_t r = router(r_nsd, "MaxMessagesPerConnection: 2");
	for (int i = 0; i < 5; i++) {
		uint64_t id = h_add1("rcpt", "order.deliv.test", MSG);
		h_work(r, &id, 1, "", "order.deliv.test", 1);
		h_wait_results((size_t)i + 1);
	}
	h_router_stop(r);
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 5);
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 3);
	h_mx_stop(&mx);
}

/* Never more than MaxConnectionsPerHost connections at the receiver, and that many used. */
TEST(per_host_limit)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("slow", "127.0.0.29", "\"data_delay\": 0.3"), NULL))
		return;
	h_clear();
	uint64_t r = router(r_nsd, "MaxConnectionsPerHost: 3");
	enum { N = 12 };
	uint64_t ids[N];
	for (int i = 0; i < N; i++) {
		ids[i] = h_add1("rcpt", "slow.deliv.test", MSG);
		h_work(r, &ids[i], 1, "", "slow.deliv.test", 1);
	}
	h_wait_results(N);
	h_router_stop(r);
	for (int i = 0; i < N; i++) {
		const struct h_result *res = h_result(ids[i]);
		if (res)
			CHECK_INT(res->outcome, 0);
	}
	json_t *a = h_mx_events(&mx), *e;
	size_t i;
	int64_t max_active = 0;
	json_array_foreach(a, i, e) {
		if (strcmp(h_jstr(e, "ev"), "conn") == 0 && json_integer_value(json_object_get(e, "active")) > max_active)
			max_active = json_integer_value(json_object_get(e, "active"));
	}
	json_decref(a);
	CHECK_INT(max_active, 3);
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 3);
	h_mx_stop(&mx);
}

/* queue.md §3: a reused connection failing before MAIL is accepted: once more on a new one. */
TEST(retry_on_new_connection)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", "\"mail421_on\": 2"), NULL))
		return;
	h_clear();
	uint64_t r = router(r_nsd, NULL);
	uint64_t a = h_add1("rcpt", "order.deliv.test", MSG), b = h_add1("rcpt2", "order.deliv.test", MSG);
	h_work(r, &a, 1, "", "order.deliv.test", 1);
	h_wait_results(1);
	h_work(r, &b, 1, "", "order.deliv.test", 1);
	h_wait_results(2);
	h_router_stop(r);
	const struct h_result *res = h_result(b);
	if (res)
		CHECK_INT(res->outcome, 0);
	CHECK_INT(h_mx_count(&mx, "conn", NULL), 2);
	CHECK_INT(h_mx_count(&mx, "txn", NULL), 2);
	CHECK_INT(hq_attempt_ids, 2); /* the retry is inside the same attempt */
	h_mx_stop(&mx);
}

/* Only the ids QUEUE_MSG_ATTEMPT_RES lists are attempted. */
TEST(unaccounted_ids_not_attempted)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", NULL), NULL))
		return;
	h_clear();
	uint64_t r = router(r_nsd, NULL), ids[2];
	struct h_rec recs[2] = {{.to_local = "one", .to_domain = "order.deliv.test", .base_id = 7},
	                        {.to_local = "two", .to_domain = "order.deliv.test", .base_id = 7}};
	h_add("", MSG, NULL, recs, 2, ids);
	pthread_mutex_lock(&hq_mu);
	hq_refuse[hq_nrefuse++] = ids[1];
	pthread_mutex_unlock(&hq_mu);
	h_work(r, ids, 2, "", "order.deliv.test", 1);
	h_wait_results(2);
	h_router_stop(r);
	const struct h_result *a = h_result(ids[0]), *b = h_result(ids[1]);
	if (a && b) {
		CHECK_INT(a->outcome, 0);
		CHECK_INT(b->outcome, 3);
	}
	json_t *t = h_mx_event(&mx, "txn", 0);
	if (t) {
		CHECK_INT(json_array_size(json_object_get(t, "rcpts")), 1);
		json_decref(t);
	}
	h_mx_stop(&mx);
}

/* Stopping gives back what has not started (outcome 3); every record gets one result. */
TEST(stop_gives_back_waiting_records)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("slow", "127.0.0.29", "\"data_delay\": 1.0"), NULL))
		return;
	h_clear();
	uint64_t r = router(r_nsd, "MaxConnectionsPerHost: 1");
	enum { N = 6 };
	uint64_t ids[N];
	for (int i = 0; i < N; i++) {
		ids[i] = h_add1("rcpt", "slow.deliv.test", MSG);
		h_work(r, &ids[i], 1, "", "slow.deliv.test", 1);
	}
	CHECK(h_mx_wait(&mx, "conn", 1, 10000));
	h_router_stop(r);
	CHECK(h_wait_for(&hq_nres, N, H_WAIT_MS));
	int delivered = 0, back = 0;
	for (int i = 0; i < N; i++) {
		const struct h_result *res = h_result(ids[i]);
		if (!res)
			continue;
		CHECK(res->outcome == 0 || res->outcome == 3);
		delivered += res->outcome == 0;
		back += res->outcome == 3;
	}
	CHECK(delivered >= 1);
	CHECK(back >= 1);
	CHECK_INT(hq_ndone, N);
	h_mx_stop(&mx);
}

/* Queue.MaxConnections: an idle connection is closed to make room for another host. */
TEST(global_limit_closes_idle_connections_first)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("mxa", "127.0.0.21", NULL), lst("mxb", "127.0.0.22", NULL)))
		return;
	h_clear();
	uint64_t r = router(r_nsd, "MaxConnections: 1");
	uint64_t a = h_add1("rcpt", "order.deliv.test", MSG);
	h_work(r, &a, 1, "", "order.deliv.test", 1);
	h_wait_results(1);
	uint64_t b = h_add1("rcpt", "[127.0.0.22]", MSG);
	h_work(r, &b, 1, "", "[127.0.0.22]", 1);
	h_wait_results(2);
	h_router_stop(r);
	const struct h_result *res = h_result(b);
	if (res)
		CHECK_INT(res->outcome, 0);
	CHECK_INT(h_mx_count(&mx, "quit", "mxa"), 1);
	json_t *q = h_mx_event(&mx, "quit", 0), *c = h_mx_event(&mx, "conn", 1);
	CHECK(q && c);
	if (q && c) /* mxa was let go before mxb was dialed */
		CHECK_STR(h_jstr(c, "l"), "mxb");
	json_decref(q);
	json_decref(c);
	h_mx_stop(&mx);
}

TEST(cname_loop_is_temporary)
{
	const struct h_result *res = deliver1(r_nsd, "loop1.example.test", NULL);
	if (res) {
		CHECK_INT(res->outcome, 1);
		CHECK_STR(res->secode, "4.3");
	}
}

/* At the per-host limit, an idle connection that does not fit the waiting job (here:
 * DialedIPs asks for the other address) is closed at once, not at its idle timeout. */
TEST(per_host_limit_closes_idle_misfit)
{
	struct h_mx mx = {0};
	if (!mx_start(&mx, lst("v6", "::1", "\"data_delay\": 0.5"), lst("v4", "127.0.0.1", NULL)))
		return;
	h_clear();
	uint64_t r = router(r_nsd, "MaxConnectionsPerHost: 1, ConnectionIdleTimeout: 60s");
	uint64_t a = h_add1("rcpt", "dual.deliv.test", MSG), b;
	struct h_rec rec = {.to_domain = "dual.deliv.test", .attempts = 1, .dialed_host = "mxdual.deliv.test",
	                    .dialed_ip = "::1"};
	h_add("", MSG, NULL, &rec, 1, &b);
	int64_t t0 = clock_mono_ms();
	h_work(r, &a, 1, "", "dual.deliv.test", 1);
	h_work(r, &b, 1, "", "dual.deliv.test", 2); /* waits: the only slot is busy with a */
	h_wait_results(2);
	CHECK(clock_mono_ms() - t0 < 20000); /* not the 60 s idle timeout */
	h_router_stop(r);
	const struct h_result *ra = h_result(a), *rb = h_result(b);
	if (ra && rb) {
		CHECK_STR(ra->ip, "::1");
		CHECK_INT(rb->outcome, 0);
		CHECK_STR(rb->ip, "127.0.0.1");
	}
	CHECK_INT(h_mx_count(&mx, "quit", "v6"), 1);
	h_mx_stop(&mx);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

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
	const char *ips[] = {"127.0.0.1", "::1", "127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24",
	                     "127.0.0.25", "127.0.0.26", "127.0.0.29", "127.0.0.31", NULL};
	P = h_pick_port(ips);
	worker_pool_start(2);
	h_store_open();
	h_queue_start();
	char nsd[64], sf[64];
	snprintf(nsd, sizeof nsd, "127.0.0.1:%d", port_nsd);
	snprintf(sf, sizeof sf, "127.0.0.1:%d", port_servfail);
	r_nsd = start_resolver(nsd, 3000, false, 0, 0);
	r_servfail = start_resolver(sf, 3000, false, 0, 0);
	int rc = 1;
	if (P && r_nsd && r_servfail)
		rc = check_main(argc, argv);
	if (r_nsd && stop_resolver(r_nsd) != 0)
		rc = 1;
	if (r_servfail && stop_resolver(r_servfail) != 0)
		rc = 1;
	worker_pool_stop();
	h_store_close();
	stop_servers();
	h_conf_free_all();
	(void)q_name;
	return rc;
}
