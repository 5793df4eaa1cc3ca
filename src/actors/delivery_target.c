/* Delivery targets from tern.conf transports (config.md §5, queue.md §12).
 *
 * DESIGN: the transport kinds become a few facts a connection needs (host, port,
 * engine TLS mode, verification, AUTH), so the router and connections never look
 * at the YAML structures again. TLS per kind: Submissions is implicit TLS,
 * Submission and SMTP require STARTTLS, both verified with PKIX unless
 * STARTTLSInsecureSkipVerify; NoSTARTTLS is plaintext. Direct delivery is
 * opportunistic STARTTLS without verification, except for REQUIRETLS records,
 * which need a verified connection. */
#include "actors/delivery_target.h"

#include <stdlib.h>
#include <string.h>

#include "actors/delivery_metrics.h"
#include "conf/conf_static.h"
#include "core/xmalloc.h"

static void relay(struct delivery_target *t, const struct conf_transport *ct)
{
	const struct conf_transport_smtp *s = ct->smtp_conf;
	t->kind = DELIVERY_T_RELAY;
	t->host = xstrdup(s->host);
	t->port = (uint16_t)s->port;
	t->auth = s->auth;
	t->verify = !s->starttls_insecure_skip_verify;
	if (ct->kind == CONF_TRANSPORT_SUBMISSIONS)
		t->tls = SMTP_CLIENT_TLS_IMPLICIT;
	else if (s->no_starttls)
		t->tls = SMTP_CLIENT_TLS_NONE;
	else
		t->tls = SMTP_CLIENT_TLS_REQUIRED;
	if (t->tls == SMTP_CLIENT_TLS_NONE)
		t->verify = false;
}

static void build_one(struct delivery_target *t, const struct conf_transport *ct, const struct conf_static *st,
                      uint16_t direct_port)
{
	t->name = xstrdup(ct->name);
	t->ehlo = xstrdup(st->hostname);
	t->port = direct_port;
	switch (ct->kind) {
	case CONF_TRANSPORT_SUBMISSIONS:
	case CONF_TRANSPORT_SUBMISSION:
	case CONF_TRANSPORT_SMTP:
		relay(t, ct);
		break;
	case CONF_TRANSPORT_FAIL:
		t->kind = DELIVERY_T_FAIL;
		t->fail_code = ct->fail->smtp_code;
		t->fail_msg = xstrdup(ct->fail->smtp_message);
		break;
	case CONF_TRANSPORT_DIRECT:
		t->kind = DELIVERY_T_DIRECT;
		t->no4 = ct->direct && ct->direct->disable_ipv4;
		t->no6 = ct->direct && ct->direct->disable_ipv6;
		break;
	}
}

/* localserve.md §3: the first IP of listener `local`, else localhost. */
static char *local_ip(const struct conf_static *st)
{
	const struct conf_listener *l = conf_static_listener(st, "local");
	if (!l || l->naddrs == 0)
		return xstrdup("127.0.0.1");
	struct netaddr a = l->addrs[0];
	if (netaddr_is_unspecified(&a))
		return xstrdup(a.family == 6 ? "::1" : "127.0.0.1");
	char s[NETADDR_STRLEN];
	return xstrdup(netaddr_format(&a, s));
}

void delivery_targets_build(const struct conf_static *st, bool localserve, uint16_t direct_port,
                            uint16_t local_port, struct delivery_targets *out)
{
	memset(out, 0, sizeof *out);
	if (!direct_port)
		direct_port = DELIVERY_SMTP_PORT;
	out->v = xcalloc(st->ntransports ? st->ntransports : 1, sizeof *out->v);
	out->n = st->ntransports;
	for (size_t i = 0; i < st->ntransports; i++)
		build_one(&out->v[i], &st->transports[i], st, direct_port);
	out->direct = (struct delivery_target){.name = xstrdup(""), .kind = DELIVERY_T_DIRECT,
	                                       .port = direct_port, .ehlo = xstrdup(st->hostname)};
	out->localserve = localserve;
	out->local = (struct delivery_target){.name = xstrdup(""), .kind = DELIVERY_T_LOCAL,
	                                      .host = local_ip(st),
	                                      .port = local_port ? local_port : DELIVERY_LOCALSERVE_PORT,
	                                      .tls = SMTP_CLIENT_TLS_OPPORTUNISTIC,
	                                      .ehlo = xstrdup(DELIVERY_LOCALSERVE_EHLO), .rcpt_per_txn = true};
	for (size_t i = 0; i < out->n; i++)
		out->v[i].metric_id = delivery_metrics_transport(out->v[i].name);
	out->direct.metric_id = delivery_metrics_transport("direct");
	out->local.metric_id = delivery_metrics_transport("localserve");
}

static void free_one(struct delivery_target *t)
{
	free(t->name);
	free(t->host);
	free(t->fail_msg);
	free(t->ehlo);
}

void delivery_targets_free(struct delivery_targets *t)
{
	for (size_t i = 0; i < t->n; i++)
		free_one(&t->v[i]);
	free(t->v);
	free_one(&t->direct);
	free_one(&t->local);
	memset(t, 0, sizeof *t);
}

const struct delivery_target *delivery_targets_find(const struct delivery_targets *t, struct slice name)
{
	if (t->localserve)
		return &t->local;
	if (name.len == 0)
		return &t->direct;
	for (size_t i = 0; i < t->n; i++)
		if (slice_eq(name, slice_str(t->v[i].name)))
			return &t->v[i];
	return NULL;
}

enum delivery_tls delivery_target_need(const struct delivery_target *t, bool requiretls)
{
	switch (t->kind) {
	case DELIVERY_T_RELAY:
		if (t->tls == SMTP_CLIENT_TLS_NONE)
			return DELIVERY_TLS_PLAIN;
		return t->verify ? DELIVERY_TLS_VERIFIED : DELIVERY_TLS_ENCRYPTED;
	case DELIVERY_T_DIRECT:
		return requiretls ? DELIVERY_TLS_VERIFIED : DELIVERY_TLS_PLAIN;
	default:
		return DELIVERY_TLS_PLAIN;
	}
}

void delivery_target_tls(const struct delivery_target *t, enum delivery_tls need, enum smtp_client_tls *mode,
                         bool *verify)
{
	switch (t->kind) {
	case DELIVERY_T_RELAY:
		*mode = t->tls;
		*verify = t->verify;
		return;
	case DELIVERY_T_DIRECT:
		*mode = need == DELIVERY_TLS_VERIFIED ? SMTP_CLIENT_TLS_REQUIRED : SMTP_CLIENT_TLS_OPPORTUNISTIC;
		*verify = need == DELIVERY_TLS_VERIFIED;
		return;
	default:
		*mode = SMTP_CLIENT_TLS_OPPORTUNISTIC;
		*verify = false;
		return;
	}
}
