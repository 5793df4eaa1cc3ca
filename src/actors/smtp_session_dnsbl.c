/* DNSBL check of MX clients at RCPT (smtp.md §4) with the zone health rule of
 * reporting.md §7.
 *
 * DESIGN: a zone lists an address when `<reversed address>.<zone>` has an A
 * record. A zone is used only while it is healthy: it lists its test entry
 * 127.0.0.2 and does not list 127.0.0.1 (RFC 5782 §5). Health is kept per
 * zone for the whole process and rechecked after SMTP_DNSBL_HEALTH_MS; a
 * temporary DNS failure during the check makes the zone unusable for
 * SMTP_DNSBL_RETRY_MS only. Each connection looks its client up once, at the
 * first RCPT that needs it, one question at a time through the resolver
 * (SW_DNSBL wait), zone by zone in the configured order; the first healthy
 * zone that lists the client decides. A temporary failure of the client's
 * own lookup counts as "not listed": an unreachable blocklist never blocks
 * mail. */
#include "actors/smtp_session_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server.h"
#include "conf/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/dns_result.h"

/** How long a zone's health check result is used (reporting.md §7: at most every 4 h). */
#define SMTP_DNSBL_HEALTH_MS (4 * 3600 * 1000LL)
/** How long a zone whose health check failed temporarily is left unused. */
#define SMTP_DNSBL_RETRY_MS (5 * 60 * 1000LL)
/** Zones whose health is remembered (more are checked every time). */
#define SMTP_DNSBL_ZONES_MAX 64
/** Longest DNS name asked. */
#define SMTP_DNSBL_NAME_MAX 253

enum health { H_UNKNOWN = 0, H_OK, H_BAD };

struct zone_health {
	char *zone;
	enum health h;
	int64_t until_ms; /* monotonic: the result is used until then */
};

static pthread_mutex_t health_mu = PTHREAD_MUTEX_INITIALIZER;
static struct zone_health health[SMTP_DNSBL_ZONES_MAX];
static size_t nhealth;

/* Steps of one zone: the two health questions, then the client's own. */
enum step { ST_TEST2, ST_TEST1, ST_CLIENT };

struct smtp_dnsbl {
	bool done;                 /* the client's status is known for this connection */
	char *listed;              /* the zone that lists the client, or NULL */
	size_t zi;                 /* zone being checked */
	enum step step;
	void (*cb)(struct smtp_session *s, const char *zone);
};

static enum health health_get(const char *zone)
{
	enum health h = H_UNKNOWN;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&health_mu);
	for (size_t i = 0; i < nhealth; i++)
		if (strcmp(health[i].zone, zone) == 0 && now < health[i].until_ms)
			h = health[i].h;
	pthread_mutex_unlock(&health_mu);
	return h;
}

static void health_set(const char *zone, enum health h, int64_t for_ms)
{
	int64_t until = clock_mono_ms() + for_ms;
	pthread_mutex_lock(&health_mu);
	size_t i = 0;
	while (i < nhealth && strcmp(health[i].zone, zone) != 0)
		i++;
	if (i == nhealth && nhealth < SMTP_DNSBL_ZONES_MAX)
		health[nhealth++].zone = xstrdup(zone);
	if (i < nhealth) {
		health[i].h = h;
		health[i].until_ms = until;
	}
	pthread_mutex_unlock(&health_mu);
}

/* `<reversed ip>.<zone>` into out; false when it does not fit a DNS name. */
static bool query_name(const struct netaddr *ip, const char *zone, char out[SMTP_DNSBL_NAME_MAX + 1])
{
	/* The reverse-lookup name without its ".in-addr.arpa" / ".ip6.arpa". */
	char rev[DNS_NAME_MAX + 1];
	dns_name_reverse(ip->a, ip->family == 4 ? 4 : 16, rev);
	rev[strlen(rev) - strlen(ip->family == 4 ? ".in-addr.arpa" : ".ip6.arpa")] = 0;
	int n = snprintf(out, SMTP_DNSBL_NAME_MAX + 1, "%s.%s", rev, zone);
	return n > 0 && n <= SMTP_DNSBL_NAME_MAX;
}

static void finish(struct smtp_session *s, const char *zone)
{
	struct smtp_dnsbl *bl = s->bl;
	bl->done = true;
	free(bl->listed);
	bl->listed = zone ? xstrdup(zone) : NULL;
	bl->cb(s, bl->listed);
}

/* Asks the question of the current step; false when it cannot be asked. */
static bool ask(struct smtp_session *s, const char *zone)
{
	struct netaddr test = {.family = 4, .a = {127, 0, 0, s->bl->step == ST_TEST2 ? 2 : 1}};
	struct netaddr client = netaddr_unmap(s->peer);
	char name[SMTP_DNSBL_NAME_MAX + 1];
	if (!query_name(s->bl->step == ST_CLIENT ? &client : &test, zone, name))
		return false;
	struct dns_addr_req q = {.name = slice_str(name), .families = DNS_FAMILY_V4};
	uint64_t req = smtp_session_wait(s, SW_DNSBL);
	if (DNS_MSG_ADDR_REQ_send(server_get()->resolver, &s->a, &q, &(struct actor_send_opts){.req_id = req}) != 0) {
		s->wait = SW_NONE;
		return false;
	}
	return true;
}

/* Goes on with the zones from bl->zi: starts the next question, or finishes. */
static void next(struct smtp_session *s)
{
	struct smtp_dnsbl *bl = s->bl;
	const struct conf_strs *zones = &s->ep->l->smtp.dnsbls;
	for (; bl->zi < zones->n; bl->zi++) {
		const char *zone = zones->v[bl->zi];
		enum health h = health_get(zone);
		if (h == H_BAD)
			continue;
		bl->step = h == H_OK ? ST_CLIENT : ST_TEST2;
		if (ask(s, zone))
			return;
	}
	finish(s, NULL);
}

void smtp_session_dnsbl_check(struct smtp_session *s, void (*done)(struct smtp_session *s, const char *zone))
{
	if (!s->bl)
		s->bl = xcalloc(1, sizeof *s->bl);
	s->bl->cb = done;
	if (s->bl->done) {
		done(s, s->bl->listed);
		return;
	}
	s->bl->zi = 0;
	next(s);
}

void smtp_session_on_dnsbl(struct smtp_session *s, const struct msg *m, const void *payload)
{
	const struct dns_addr_res *p = payload;
	if (!s->bl || !smtp_session_wait_done(s, SW_DNSBL, m->req_id))
		return;
	struct smtp_dnsbl *bl = s->bl;
	const char *zone = s->ep->l->smtp.dnsbls.v[bl->zi];
	bool listed = p->status == DNS_OK && p->addrs.len >= 16;
	bool temp = p->status != DNS_OK && p->status != DNS_NXDOMAIN && p->status != DNS_NODATA;
	enum step st = bl->step;
	if (st != ST_CLIENT && temp) {
		log_info("smtp", "dnsbl health check failed; zone not used for now", "zone=%s status=%s", zone,
		         dns_status_name(p->status));
		health_set(zone, H_BAD, SMTP_DNSBL_RETRY_MS);
	} else if (st == ST_TEST2 && listed) {
		bl->step = ST_TEST1;
		if (ask(s, zone))
			return;
	} else if (st != ST_CLIENT) {
		/* 127.0.0.2 not listed, or 127.0.0.1 listed: a broken or retired list (RFC 5782 §5) */
		bool ok = st == ST_TEST1 && !listed;
		if (!ok)
			log_info("smtp", "dnsbl zone unhealthy; not used", "zone=%s", zone);
		health_set(zone, ok ? H_OK : H_BAD, SMTP_DNSBL_HEALTH_MS);
		bl->step = ST_CLIENT;
		if (ok && ask(s, zone))
			return;
	} else if (listed) {
		finish(s, zone);
		smtp_session_drive(s);
		return;
	}
	bl->zi++;
	next(s);
	smtp_session_drive(s);
}

void smtp_session_dnsbl_free(struct smtp_session *s)
{
	if (!s->bl)
		return;
	free(s->bl->listed);
	free(s->bl);
	s->bl = NULL;
}
