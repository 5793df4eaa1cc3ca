/* The resolver actor under load and at the edges of its life, against real
 * servers on loopback: 500 concurrent requests from several actors (no cache,
 * few in-flight slots), sharing of identical lookups, a requester that stops
 * before its reply, the pending-queue bound, and stopping with requests pending. */
#include "check.h"

#include "dns_test_harness.h"

#define CLIENTS 5
#define PER_CLIENT 100

static char nsd[64], silent[64];

/* One request of a client and the status its reply must carry. */
struct creq {
	uint16_t type;
	char name[64];
	uint64_t want;
};

/* What a client saw; owned by the test, written by the client before h_signal(). */
struct cresult {
	int got, wrong, dup, stopped_evt;
	uint64_t status[PER_CLIENT];
	bool seen[PER_CLIENT];
};

struct client {
	struct actor a;
	uint64_t resolver;
	const struct creq *reqs;
	int nreq;
	struct cresult *res;
	bool stop_at_once;    /* stop right after sending (replies find no one) */
	bool then_stop_cmd;   /* send CORE_MSG_STOP_CMD to the resolver after the requests */
};

static void client_start(struct actor *self)
{
	struct client *c = (struct client *)self;
	for (int i = 0; i < c->nreq; i++) {
		const struct creq *q = &c->reqs[i];
		struct actor_send_opts o = {.req_id = (uint64_t)i + 1};
		uint8_t ip[4] = {127, 0, 0, 11};
		if (q->type == DNS_MSG_ADDR_REQ) {
			struct dns_addr_req p = {.name = slice_str(q->name)};
			DNS_MSG_ADDR_REQ_send(c->resolver, self, &p, &o);
		} else if (q->type == DNS_MSG_PTR_REQ) {
			struct dns_ptr_req p = {.ip = slice_of(ip, 4)};
			DNS_MSG_PTR_REQ_send(c->resolver, self, &p, &o);
		} else {
			struct dns_name_req p = {.name = slice_str(q->name)};
			actor_send(c->resolver, self, q->type, &p, &o);
		}
	}
	if (c->then_stop_cmd)
		CORE_MSG_STOP_CMD_send(c->resolver, self, &(struct msg_empty){0}, NULL);
	if (c->stop_at_once)
		actor_stop(self);
}

static void client_got(struct actor *self, const struct msg *m, uint16_t req_type, uint64_t status)
{
	struct client *c = (struct client *)self;
	struct cresult *r = c->res;
	uint64_t i = m->req_id - 1;
	if (m->req_id == 0 || i >= (uint64_t)c->nreq) {
		r->wrong++;
	} else {
		if (r->seen[i])
			r->dup++;
		r->seen[i] = true;
		r->status[i] = status;
		if (c->reqs[i].type != req_type || c->reqs[i].want != status)
			r->wrong++;
	}
	if (++r->got == c->nreq && !c->then_stop_cmd) {
		h_signal();
		actor_stop(self);
	}
}

static void client_mx(struct actor *self, const struct msg *m, const struct dns_mx_res *p)
{
	client_got(self, m, DNS_MSG_MX_REQ, p->status);
}
static void client_addr(struct actor *self, const struct msg *m, const struct dns_addr_res *p)
{
	client_got(self, m, DNS_MSG_ADDR_REQ, p->status);
}
static void client_txt(struct actor *self, const struct msg *m, const struct dns_txt_res *p)
{
	client_got(self, m, DNS_MSG_TXT_REQ, p->status);
}
static void client_ptr(struct actor *self, const struct msg *m, const struct dns_ptr_res *p)
{
	client_got(self, m, DNS_MSG_PTR_REQ, p->status);
}
static void client_stopped(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	struct client *c = (struct client *)self;
	c->res->stopped_evt++;
	h_signal();
	actor_stop(self);
}

static const struct actor_kind client_kind = {
	.name = "test_dns_client",
	.start = client_start,
	.on = {
		ACTOR_ON(DNS_MSG_MX_RES, client_mx),
		ACTOR_ON(DNS_MSG_ADDR_RES, client_addr),
		ACTOR_ON(DNS_MSG_TXT_RES, client_txt),
		ACTOR_ON(DNS_MSG_PTR_RES, client_ptr),
		ACTOR_ON(DNS_MSG_STOPPED_EVT, client_stopped),
	},
};

static void spawn_client(uint64_t resolver, const struct creq *reqs, int n, struct cresult *res, bool stop_at_once,
                         bool then_stop_cmd)
{
	struct client *c = xcalloc(1, sizeof *c);
	*c = (struct client){.resolver = resolver, .reqs = reqs, .nreq = n, .res = res,
	                     .stop_at_once = stop_at_once, .then_stop_cmd = then_stop_cmd};
	actor_spawn(&c->a, &client_kind, NULL);
}

/* A mix of kinds and outcomes; unique names make distinct queries. */
static void make_mix(struct creq *reqs, int client, int n)
{
	static const struct creq base[] = {
		{DNS_MSG_MX_REQ, "example.test", DNS_OK},       {DNS_MSG_MX_REQ, "nullmx.example.test", DNS_NULLMX},
		{DNS_MSG_MX_REQ, "c1.example.test", DNS_OK},    {DNS_MSG_MX_REQ, "d1.example.test", DNS_CNAME_LOOP},
		{DNS_MSG_ADDR_REQ, "mx1.example.test", DNS_OK}, {DNS_MSG_TXT_REQ, "example.test", DNS_OK},
		{DNS_MSG_PTR_REQ, "", DNS_OK},                  {DNS_MSG_MX_REQ, "implicit.example.test", DNS_OK},
	};
	for (int i = 0; i < n; i++) {
		if (i % 2 == 0) {
			reqs[i] = base[(i / 2) % (sizeof base / sizeof base[0])];
		} else {
			reqs[i] = (struct creq){DNS_MSG_MX_REQ, "", DNS_NXDOMAIN};
			snprintf(reqs[i].name, sizeof reqs[i].name, "u%d-%d.example.test", client, i);
		}
	}
}

TEST(five_hundred_concurrent_requests_from_five_actors)
{
	uint64_t r = start_resolver(nsd, 5000, true, 8, 0); /* no cache, 8 in flight: most wait their turn */
	CHECK(r != 0);
	static struct creq reqs[CLIENTS][PER_CLIENT];
	static struct cresult res[CLIENTS];
	h_reset();
	for (int c = 0; c < CLIENTS; c++) {
		make_mix(reqs[c], c, PER_CLIENT);
		spawn_client(r, reqs[c], PER_CLIENT, &res[c], false, false);
	}
	CHECK_INT(h_wait(CLIENTS), 0);
	int got = 0;
	for (int c = 0; c < CLIENTS; c++) {
		got += res[c].got;
		CHECK_INT(res[c].wrong, 0);
		CHECK_INT(res[c].dup, 0);
		for (int i = 0; i < PER_CLIENT; i++)
			if (res[c].status[i] != reqs[c][i].want)
				CHECK_FAIL("client %d req %d (%s): %s, want %s", c, i, reqs[c][i].name,
				           dns_status_name(res[c].status[i]), dns_status_name(reqs[c][i].want));
	}
	CHECK_INT(got, CLIENTS * PER_CLIENT);
	CHECK_INT(stop_resolver(r), 0);
}

TEST(identical_lookups_share_one_query)
{
	uint64_t r = start_resolver(nsd, 5000, false, 0, 0);
	static struct creq reqs[CLIENTS][PER_CLIENT];
	static struct cresult res[CLIENTS];
	int64_t q0 = counter("tern_dns_queries_total");
	h_reset();
	for (int c = 0; c < CLIENTS; c++) {
		for (int i = 0; i < PER_CLIENT; i++)
			reqs[c][i] = (struct creq){DNS_MSG_MX_REQ, "", DNS_OK};
		for (int i = 0; i < PER_CLIENT; i++)
			snprintf(reqs[c][i].name, sizeof reqs[c][i].name, "%s", i % 2 ? "example.test" : "c1.example.test");
		spawn_client(r, reqs[c], PER_CLIENT, &res[c], false, false);
	}
	CHECK_INT(h_wait(CLIENTS), 0);
	for (int c = 0; c < CLIENTS; c++) {
		CHECK_INT(res[c].got, PER_CLIENT);
		CHECK_INT(res[c].wrong, 0);
	}
	/* Two distinct (name, type) keys: in flight they are shared, afterwards cached. */
	CHECK_INT(counter("tern_dns_queries_total") - q0, 2);
	CHECK_INT(stop_resolver(r), 0);
}

TEST(reply_to_a_stopped_requester_is_dropped)
{
	uint64_t r = start_resolver(silent, 300, false, 0, 0);
	static struct creq reqs[1] = {{DNS_MSG_MX_REQ, "example.test", DNS_TIMEOUT}};
	static struct cresult res;
	int64_t d0 = counter("tern_dns_replies_dropped_total");
	spawn_client(r, reqs, 1, &res, true, false);
	int64_t until = clock_mono_ms() + WAIT_S * 1000;
	while (counter("tern_dns_replies_dropped_total") == d0 && clock_mono_ms() < until)
		usleep(10000);
	CHECK_INT(counter("tern_dns_replies_dropped_total"), d0 + 1);
	CHECK_INT(res.got, 0);
	/* The resolver is still fine. */
	struct dns_sync_result s = q_name(r, DNS_MSG_TXT_REQ, "example.test");
	CHECK_INT(s.status, DNS_TIMEOUT);
	dns_resolver_sync_free(&s);
	CHECK_INT(stop_resolver(r), 0);
}

TEST(pending_queue_bound_gives_overload)
{
	uint64_t r = start_resolver(silent, 500, false, 1, 1); /* one in flight, one waiting */
	static struct creq reqs[3] = {
		{DNS_MSG_MX_REQ, "a.example.test", DNS_TIMEOUT},
		{DNS_MSG_MX_REQ, "b.example.test", DNS_TIMEOUT},
		{DNS_MSG_MX_REQ, "c.example.test", DNS_OVERLOAD},
	};
	static struct cresult res;
	int64_t o0 = counter("tern_dns_overload_total");
	h_reset();
	spawn_client(r, reqs, 3, &res, false, false);
	CHECK_INT(h_wait(1), 0);
	CHECK_INT(res.got, 3);
	CHECK_INT(res.wrong, 0);
	CHECK_INT(counter("tern_dns_overload_total"), o0 + 1);
	CHECK(dns_status_is_temp(DNS_OVERLOAD));
	CHECK_INT(stop_resolver(r), 0);
}

TEST(request_bound_gives_overload)
{
	struct dns_resolver_config cfg = {.timeout_ms = 500, .jobs_max = 2};
	char err[256];
	struct slice e = slice_str(silent);
	CHECK_INT(dns_resolver_config_servers(&cfg, &e, 1, err, sizeof err), 0);
	uint64_t r = dns_resolver_start(&cfg, err, sizeof err);
	CHECK(r != 0);
	static struct creq reqs[3] = {
		{DNS_MSG_MX_REQ, "same.example.test", DNS_TIMEOUT},
		{DNS_MSG_MX_REQ, "same.example.test", DNS_TIMEOUT},
		{DNS_MSG_MX_REQ, "same.example.test", DNS_OVERLOAD},
	};
	static struct cresult res;
	h_reset();
	spawn_client(r, reqs, 3, &res, false, false);
	CHECK_INT(h_wait(1), 0);
	CHECK_INT(res.got, 3);
	CHECK_INT(res.wrong, 0);
	CHECK_INT(stop_resolver(r), 0);
}

TEST(stop_answers_pending_requests_first)
{
	uint64_t r = start_resolver(silent, 20000, false, 0, 0); /* nothing would answer before the stop */
	static struct creq reqs[2] = {
		{DNS_MSG_MX_REQ, "example.test", DNS_SERVFAIL},
		{DNS_MSG_ADDR_REQ, "mx1.example.test", DNS_SERVFAIL},
	};
	static struct cresult res;
	h_reset();
	spawn_client(r, reqs, 2, &res, false, true);
	CHECK_INT(h_wait(1), 0);
	CHECK_INT(res.stopped_evt, 1);
	CHECK_INT(res.got, 2);
	CHECK_INT(res.wrong, 0);
	/* The resolver is gone: requests to it fail at the send. */
	struct dns_name_req q = {.name = slice_str("example.test")};
	struct dns_sync_result s;
	CHECK_INT(dns_resolver_sync(r, DNS_MSG_MX_REQ, &q, &s, 1000), -ESRCH);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (start_servers(NULL) != 0) {
		fprintf(stderr, "could not start the loopback DNS servers (nsd, python3-dnspython)\n");
		stop_servers();
		return 1;
	}
	worker_pool_start(2);
	snprintf(nsd, sizeof nsd, "127.0.0.1:%d", port_nsd);
	snprintf(silent, sizeof silent, "127.0.0.1:%d", port_silent);
	int rc = check_main(argc, argv);
	worker_pool_stop();
	stop_servers();
	return rc;
}
