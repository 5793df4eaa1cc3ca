/* Shared harness of the resolver tests: the loopback DNS servers (NSD serving
 * tests/unit/actors/dns_zones/, a SERVFAIL server and a silent one, all started
 * by tests/integ/ternlib/dnsserver.py), resolvers pointed at them, synchronous
 * queries, and stopping a resolver. Included by one test file each (statics). */
#ifndef TERN_TESTS_DNS_TEST_HARNESS_H
#define TERN_TESTS_DNS_TEST_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/dns_resolver.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/xmalloc.h"

static int port_nsd, port_servfail, port_silent, port_unbound;
static pid_t helper_pid;
static int helper_stdin = -1;

#define WAIT_S 30 /* upper bound for any wait in this file */

/* ---- the loopback servers ---- */

static const char *src_dir(void)
{
	static char dir[1024];
	const char *env = getenv("TERN_SRC");
	if (env)
		return env;
	snprintf(dir, sizeof dir, "%s", __FILE__); /* absolute in CMake builds */
	char *cut = strstr(dir, "/tests/unit/actors/");
	if (cut)
		*cut = 0;
	return dir;
}

/* Starts dnsserver.py serving dns_zones/ plus extra arguments (NULL-terminated). */
static int start_servers(const char *const *extra)
{
	char script[1200], zones[1200];
	snprintf(script, sizeof script, "%s/tests/integ/ternlib/dnsserver.py", src_dir());
	snprintf(zones, sizeof zones, "%s/tests/unit/actors/dns_zones", src_dir());
	const char *argv[32] = {"python3", script, "--zone-dir", zones, "--ipv6", "--servfail", "--silent"};
	int argc = 7;
	for (; extra && *extra && argc < 31; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	int in[2], out[2];
	if (pipe(in) || pipe(out))
		return -1;
	helper_pid = fork();
	if (helper_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execv("/usr/bin/python3", (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	helper_stdin = in[1];
	char line[256] = {0};
	size_t n = 0;
	struct pollfd pfd = {.fd = out[0], .events = POLLIN};
	while (n < sizeof line - 1 && !strchr(line, '\n') && poll(&pfd, 1, WAIT_S * 1000) == 1) {
		ssize_t k = read(out[0], line + n, sizeof line - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(out[0]);
	const char *p;
	if ((p = strstr(line, "\"nsd\": ")))
		port_nsd = atoi(p + 7);
	if ((p = strstr(line, "\"servfail\": ")))
		port_servfail = atoi(p + 12);
	if ((p = strstr(line, "\"silent\": ")))
		port_silent = atoi(p + 10);
	if ((p = strstr(line, "\"unbound\": ")))
		port_unbound = atoi(p + 11);
	return port_nsd && port_servfail && port_silent ? 0 : -1;
}

static void stop_servers(void)
{
	if (helper_stdin >= 0)
		close(helper_stdin); /* the helper stops its servers at EOF */
	if (helper_pid > 0)
		waitpid(helper_pid, NULL, 0);
}

static uint64_t start_resolver(const char *server, int64_t timeout_ms, bool no_cache, size_t inflight, size_t pending)
{
	struct dns_resolver_config cfg = {.timeout_ms = timeout_ms, .no_cache = no_cache, .inflight_max = inflight,
	                                  .pending_max = pending};
	char err[256] = "";
	struct slice e = slice_str(server);
	if (dns_resolver_config_servers(&cfg, &e, 1, err, sizeof err) != 0) {
		fprintf(stderr, "config: %s\n", err);
		return 0;
	}
	uint64_t id = dns_resolver_start(&cfg, err, sizeof err);
	if (!id)
		fprintf(stderr, "start: %s\n", err);
	return id;
}

/* ---- waiting for other threads ---- */

static pthread_mutex_t h_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t h_cv = PTHREAD_COND_INITIALIZER;
static int h_done;

static void h_signal(void)
{
	pthread_mutex_lock(&h_mu);
	h_done++;
	pthread_cond_broadcast(&h_cv);
	pthread_mutex_unlock(&h_mu);
}

/* Waits until h_done >= n (at most WAIT_S seconds). 0 or -1. */
static int h_wait(int n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	pthread_mutex_lock(&h_mu);
	while (h_done < n)
		if (pthread_cond_timedwait(&h_cv, &h_mu, &ts) != 0)
			break;
	int ok = h_done >= n ? 0 : -1;
	pthread_mutex_unlock(&h_mu);
	return ok;
}

static void h_reset(void)
{
	pthread_mutex_lock(&h_mu);
	h_done = 0;
	pthread_mutex_unlock(&h_mu);
}

/* ---- stopping a resolver: CORE_MSG_STOP_CMD, wait for DNS_MSG_STOPPED_EVT ---- */

struct stopper {
	struct actor a;
	uint64_t target;
};

static void stopper_start(struct actor *self)
{
	struct stopper *s = (struct stopper *)self;
	CORE_MSG_STOP_CMD_send(s->target, self, &(struct msg_empty){0}, NULL);
}

static void stopper_stopped(struct actor *self, const struct msg *m, const struct msg_empty *p)
{
	h_signal();
	actor_stop(self);
}

static const struct actor_kind stopper_kind = {
	.name = "test_stopper",
	.start = stopper_start,
	.on = {ACTOR_ON(DNS_MSG_STOPPED_EVT, stopper_stopped)},
};

static int stop_resolver(uint64_t id)
{
	h_reset();
	struct stopper *s = xcalloc(1, sizeof *s);
	s->target = id;
	actor_spawn(&s->a, &stopper_kind, NULL);
	return h_wait(1);
}

/* ---- synchronous helpers ---- */

static struct dns_sync_result q_name(uint64_t r, uint16_t type, const char *name)
{
	struct dns_sync_result res;
	struct dns_name_req req = {.name = slice_str(name)};
	int rc = dns_resolver_sync(r, type, &req, &res, WAIT_S * 1000);
	if (rc != 0)
		CHECK_FAIL("sync %s: %d", name, rc);
	return res;
}

__attribute__((unused)) static int64_t counter(const char *name)
{
	return metric_value(metric_counter(name, "", ""));
}

#endif
