/* tern.conf: loading, the rules that span fields, derived values, builders.
 *
 * DESIGN: a load is parse (conf_yaml) -> decode by table (conf_decode.c) ->
 * check. Checks only run on a cleanly decoded config, so they never see
 * half-filled structs; they also fill the derived fields (parsed addresses,
 * per-kind transport ports, listener host names) so that consumers read
 * ready values and never re-parse strings. */
#include "conf/conf_static.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_check.h"
#include "conf/conf_dname.h"
#include "conf/conf_file.h"
#include "conf/conf_schema.h"
#include "core/xmalloc.h"

static const char *const default_mechs[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS",
					    "SCRAM-SHA-1", "CRAM-MD5", NULL};

void conf_strs_add(struct conf_strs *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = xstrdup(s);
}

/* Normalises a domain-valued string in place (lower case A-labels). */
static void norm_dname(struct conf_dec *d, char **s, int line, const char *what)
{
	char *a;
	const char *why;
	if (conf_dname_norm(*s, &a, NULL, &why) < 0) {
		conf_dec_err(d, line, "%s: invalid domain name \"%s\": %s", what, *s, why);
		return;
	}
	free(*s);
	*s = a;
}

static void check_tls_services(struct conf_dec *d, const struct conf_listener *l, const struct conf_node *n)
{
	const struct {
		const char *name;
		bool on;
	} svc[] = {
		{"Submissions", l->submissions.enabled},     {"IMAPS", l->imaps.enabled},
		{"AccountHTTPS", l->account_https.enabled}, {"AdminHTTPS", l->admin_https.enabled},
		{"WebAPIHTTPS", l->webapi_https.enabled},   {"MTASTSHTTPS", l->mtasts_https.enabled && !l->mtasts_https.non_tls},
	};
	if (l->tls && l->tls->nkeycerts == 0)
		conf_dec_err(d, conf_line(n, "TLS", 0), "Listeners.%s.TLS.KeyCerts: at least one key and certificate required", l->name);
	for (size_t i = 0; i < sizeof svc / sizeof svc[0]; i++)
		if (svc[i].on && !l->tls)
			conf_dec_err(d, conf_line(n, svc[i].name, 0), "Listeners.%s.%s: requires TLS", l->name, svc[i].name);
}

/* One enabled service of a listener, for the port-sharing rule. */
struct port_use {
	const char *name;
	int port;
	int http; /* 0: not HTTP, 1: HTTP, 2: HTTPS */
	const char *path;
};

static void check_ports(struct conf_dec *d, const struct conf_listener *l, const struct conf_node *n)
{
	struct port_use u[16];
	size_t nu = 0;
#define USE(nm, svc, h, p) \
	if ((svc).enabled) \
	u[nu++] = (struct port_use){nm, (svc).port, h, p}
	USE("SMTP", l->smtp, 0, NULL);
	USE("Submission", l->submission, 0, NULL);
	USE("Submissions", l->submissions, 0, NULL);
	USE("IMAP", l->imap, 0, NULL);
	USE("IMAPS", l->imaps, 0, NULL);
	USE("AccountHTTP", l->account_http, 1, l->account_http.path);
	USE("AccountHTTPS", l->account_https, 2, l->account_https.path);
	USE("AdminHTTP", l->admin_http, 1, l->admin_http.path);
	USE("AdminHTTPS", l->admin_https, 2, l->admin_https.path);
	USE("WebAPIHTTP", l->webapi_http, 1, l->webapi_http.path);
	USE("WebAPIHTTPS", l->webapi_https, 2, l->webapi_https.path);
	USE("MetricsHTTP", l->metrics_http, 1, "/metrics");
	USE("MTASTSHTTPS", l->mtasts_https, l->mtasts_https.non_tls ? 1 : 2, "/.well-known/mta-sts.txt");
#undef USE
	for (size_t i = 0; i < nu; i++) {
		for (size_t j = 0; j < i; j++) {
			if (u[i].port != u[j].port)
				continue;
			bool ok = u[i].http && u[i].http == u[j].http && strcmp(u[i].path, u[j].path) != 0;
			if (!ok)
				conf_dec_err(d, conf_line(n, u[i].name, 0), "Listeners.%s.%s: port %d is also used by %s",
					     l->name, u[i].name, u[i].port, u[j].name);
		}
	}
}

static void check_http_paths(struct conf_dec *d, const struct conf_listener *l, const struct conf_node *n)
{
	const struct {
		const char *name;
		const struct conf_http *h;
	} hs[] = {{"AccountHTTP", &l->account_http}, {"AccountHTTPS", &l->account_https},
		  {"AdminHTTP", &l->admin_http},     {"AdminHTTPS", &l->admin_https},
		  {"WebAPIHTTP", &l->webapi_http},   {"WebAPIHTTPS", &l->webapi_https}};
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
		const char *p = hs[i].h->path;
		size_t len = p ? strlen(p) : 0;
		if (len == 0 || p[0] != '/' || p[len - 1] != '/' || !conf_check_printable(p, 1024) || strchr(p, ' '))
			conf_dec_err(d, conf_line(conf_sub(n, hs[i].name), "Path", conf_line(n, hs[i].name, 0)),
				     "Listeners.%s.%s.Path: must start and end with \"/\"", l->name, hs[i].name);
	}
}

static void check_submission(struct conf_dec *d, struct conf_listener *l, const struct conf_node *n)
{
	struct conf_submission *s = &l->submission;
	const struct conf_node *sn = conf_sub(n, "Submission");
	s->relay_nets = xcalloc(s->relay_networks.n ? s->relay_networks.n : 1, sizeof *s->relay_nets);
	for (size_t i = 0; i < s->relay_networks.n; i++) {
		if (netaddr_cidr_parse(slice_str(s->relay_networks.v[i]), &s->relay_nets[s->nrelay_nets]) < 0)
			conf_dec_err(d, conf_line_item(sn, "RelayNetworks", i, n ? n->line : 0),
				     "Listeners.%s.Submission.RelayNetworks[%zu]: invalid CIDR \"%s\"", l->name, i,
				     s->relay_networks.v[i]);
		else
			s->nrelay_nets++;
	}
	const char *why;
	s->relay_account_line = conf_line(sn, "RelayAccount", n ? n->line : 1);
	if (s->relay_networks.n && !s->relay_account)
		conf_dec_err(d, conf_line(sn, "RelayNetworks", 0), "Listeners.%s.Submission.RelayAccount: required with RelayNetworks", l->name);
	else if (s->relay_account && !conf_check_name(s->relay_account, &why))
		conf_dec_err(d, conf_line(sn, "RelayAccount", 0), "Listeners.%s.Submission.RelayAccount: %s", l->name, why);
}

static void check_listener(struct conf_dec *d, struct conf_static *st, struct conf_listener *l, const struct conf_node *n)
{
	l->addrs = xcalloc(l->ips.n ? l->ips.n : 1, sizeof *l->addrs);
	if (l->ips.n == 0)
		conf_dec_err(d, conf_line(n, "IPs", 0), "Listeners.%s.IPs: at least one IP required", l->name);
	for (size_t i = 0; i < l->ips.n; i++) {
		if (netaddr_parse(slice_str(l->ips.v[i]), &l->addrs[l->naddrs]) < 0)
			conf_dec_err(d, conf_line_item(n, "IPs", i, 0), "Listeners.%s.IPs[%zu]: invalid IP address \"%s\"",
				     l->name, i, l->ips.v[i]);
		else
			l->naddrs++;
	}
	if (!l->hostname)
		l->hostname = xstrdup(st->hostname);
	else
		norm_dname(d, &l->hostname, conf_line(n, "Hostname", 0), "Hostname");
	const struct conf_node *smtp = conf_sub(n, "SMTP");
	for (size_t i = 0; i < l->smtp.dnsbls.n; i++)
		norm_dname(d, &l->smtp.dnsbls.v[i], conf_line_item(smtp, "DNSBLs", i, n ? n->line : 0), "SMTP.DNSBLs");
	check_tls_services(d, l, n);
	check_ports(d, l, n);
	check_http_paths(d, l, n);
	check_submission(d, l, n);
}

static void check_transport_smtp(struct conf_dec *d, const char *tname, const char *kind,
                                 struct conf_transport_smtp *t, int defport, const struct conf_node *n)
{
	if (t->port == 0)
		t->port = defport;
	if (!t->host || !*t->host)
		conf_dec_err(d, conf_line(n, "Host", 0), "Transports.%s.%s.Host: must not be empty", tname, kind);
	if (!t->auth)
		return;
	struct conf_strs *m = &t->auth->mechanisms;
	const struct conf_node *mn = conf_sub(conf_sub(n, "Auth"), "Mechanisms");
	for (size_t i = 0; i < m->n; i++) {
		bool ok = strcasecmp(m->v[i], "PLAIN") == 0;
		for (int j = 0; default_mechs[j] && !ok; j++)
			ok = strcasecmp(m->v[i], default_mechs[j]) == 0;
		if (!ok)
			conf_dec_err(d, conf_item(mn, i) ? conf_item(mn, i)->line : conf_line(n, "Auth", 0),
				     "Transports.%s.%s.Auth.Mechanisms[%zu]: unknown mechanism \"%s\"", tname, kind, i, m->v[i]);
		for (char *p = m->v[i]; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p -= 32;
	}
	if (m->n == 0)
		for (int j = 0; default_mechs[j]; j++)
			conf_strs_add(m, default_mechs[j]);
}

static void check_transport(struct conf_dec *d, struct conf_transport *t, const struct conf_node *n)
{
	int nset = !!t->submissions + !!t->submission + !!t->smtp + !!t->direct + !!t->fail;
	if (nset > 1)
		conf_dec_err(d, n ? n->line : 0, "Transports.%s: at most one of Submissions, Submission, SMTP, Direct, Fail may be set", t->name);
	t->kind = CONF_TRANSPORT_DIRECT;
	if (t->submissions) {
		t->kind = CONF_TRANSPORT_SUBMISSIONS;
		check_transport_smtp(d, t->name, "Submissions", t->submissions, 465, conf_sub(n, "Submissions"));
		t->smtp_conf = t->submissions;
	} else if (t->submission) {
		t->kind = CONF_TRANSPORT_SUBMISSION;
		check_transport_smtp(d, t->name, "Submission", t->submission, 587, conf_sub(n, "Submission"));
		t->smtp_conf = t->submission;
	} else if (t->smtp) {
		t->kind = CONF_TRANSPORT_SMTP;
		check_transport_smtp(d, t->name, "SMTP", t->smtp, 25, conf_sub(n, "SMTP"));
		t->smtp_conf = t->smtp;
	} else if (t->fail) {
		t->kind = CONF_TRANSPORT_FAIL;
		if (!conf_check_printable(t->fail->smtp_message, CONF_MESSAGE_MAX))
			conf_dec_err(d, conf_line(conf_sub(n, "Fail"), "SMTPMessage", 0),
				     "Transports.%s.Fail.SMTPMessage: must be 1 to 256 printable ASCII characters", t->name);
	} else if (t->direct && t->direct->disable_ipv4 && t->direct->disable_ipv6) {
		conf_dec_err(d, conf_line(n, "Direct", 0), "Transports.%s.Direct: DisableIPv4 and DisableIPv6 cannot both be set", t->name);
	}
}

static void check_top(struct conf_dec *d, struct conf_static *st, const struct conf_node *root)
{
	const char *why;
	norm_dname(d, &st->hostname, conf_line(root, "Hostname", 1), "Hostname");
	if (!*st->data_dir)
		conf_dec_err(d, conf_line(root, "DataDir", 1), "DataDir: must not be empty");
	if (!conf_check_name(st->user, &why))
		conf_dec_err(d, conf_line(root, "User", 1), "User: %s", why);
	const struct conf_node *pm = conf_sub(root, "Postmaster");
	st->postmaster_line = conf_line(pm, "Account", 1);
	st->host_tlsrpt_line = conf_line(conf_sub(root, "HostTLSRPT"), "Account", 1);
	if (!conf_check_name(st->postmaster.account, &why))
		conf_dec_err(d, conf_line(pm, "Account", 1), "Postmaster.Account: %s", why);
	if (!conf_check_name(st->postmaster.mailbox, &why))
		conf_dec_err(d, conf_line(pm, "Mailbox", 1), "Postmaster.Mailbox: %s", why);
	const struct conf_node *ht = conf_sub(root, "HostTLSRPT");
	if (st->host_tlsrpt) {
		if (!conf_check_localpart(st->host_tlsrpt->localpart, &why))
			conf_dec_err(d, conf_line(ht, "Localpart", 1), "HostTLSRPT.Localpart: %s", why);
		else if (strcasecmp(st->host_tlsrpt->localpart, "postmaster") == 0)
			conf_dec_err(d, conf_line(ht, "Localpart", 1), "HostTLSRPT.Localpart: must not be postmaster");
		if (!conf_check_name(st->host_tlsrpt->mailbox, &why))
			conf_dec_err(d, conf_line(ht, "Mailbox", 1), "HostTLSRPT.Mailbox: %s", why);
	}
	const struct conf_node *res = conf_sub(conf_sub(root, "DNS"), "Resolvers");
	size_t nr = st->dns.resolvers.n;
	st->resolver_addrs = xcalloc(nr ? nr : 1, sizeof *st->resolver_addrs);
	st->resolver_ports = xcalloc(nr ? nr : 1, sizeof *st->resolver_ports);
	for (size_t i = 0; i < nr; i++) {
		size_t k = st->nresolvers;
		if (netaddr_parse_hostport(slice_str(st->dns.resolvers.v[i]), 53, &st->resolver_addrs[k], &st->resolver_ports[k]) < 0)
			conf_dec_err(d, conf_item(res, i) ? conf_item(res, i)->line : 1,
				     "DNS.Resolvers[%zu]: invalid resolver \"%s\" (use ip, ip:port or [ipv6]:port)", i,
				     st->dns.resolvers.v[i]);
		else
			st->nresolvers++;
	}
}

/* Outgoing source addresses: the IPs of SMTP listeners when they are explicit
 * (none unspecified) and at most one per family (§2 IPs). */
static void smtp_sources(struct conf_static *st)
{
	struct netaddr v4 = {0}, v6 = {0};
	int n4 = 0, n6 = 0;
	for (size_t i = 0; i < st->nlisteners; i++) {
		const struct conf_listener *l = &st->listeners[i];
		for (size_t j = 0; l->smtp.enabled && j < l->naddrs; j++) {
			const struct netaddr *a = &l->addrs[j];
			if (netaddr_is_unspecified(a))
				return;
			if (a->family == 4 && !(n4 && netaddr_eq(&v4, a)))
				v4 = *a, n4++;
			else if (a->family == 6 && !(n6 && netaddr_eq(&v6, a)))
				v6 = *a, n6++;
		}
	}
	if (n4 > 1 || n6 > 1)
		return;
	st->smtp_source4 = v4;
	st->smtp_source6 = v6;
}

static void check_static(struct conf_dec *d, struct conf_static *st, const struct conf_node *root)
{
	check_top(d, st, root);
	const struct conf_node *ln = conf_sub(root, "Listeners");
	if (st->nlisteners == 0)
		conf_dec_err(d, conf_line(root, "Listeners", 1), "Listeners: at least one listener required");
	for (size_t i = 0; i < st->nlisteners; i++)
		check_listener(d, st, &st->listeners[i], conf_pair_value(ln, i));
	const struct conf_node *tn = conf_sub(root, "Transports");
	for (size_t i = 0; i < st->ntransports; i++)
		check_transport(d, &st->transports[i], conf_pair_value(tn, i));
	smtp_sources(st);
}

int conf_static_parse(const char *name, const void *data, size_t len, const char *config_dir,
                      struct conf_static **out, struct buf *err)
{
	*out = NULL;
	struct conf_yaml doc;
	if (conf_yaml_parse(name, data, len, &doc, err) < 0)
		return -1;
	struct conf_dec d = {.file = name, .base_dir = config_dir, .err = err};
	buf_init(&d.path);
	struct conf_static *st = xmalloc(sizeof *st);
	conf_schema_init(&conf_static_schema, st);
	conf_schema_decode(&d, &conf_static_schema, st, doc.root, 1);
	if (d.nerr == 0)
		check_static(&d, st, doc.root);
	buf_free(&d.path);
	conf_yaml_free(&doc);
	if (d.nerr) {
		conf_static_free(st);
		return -1;
	}
	st->file = xstrdup(name);
	st->config_dir = config_dir ? xstrdup(config_dir) : xstrdup(".");
	st->domains_path = xasprintf("%s/domains.conf", st->config_dir);
	*out = st;
	return 0;
}

int conf_static_load(const char *path, struct conf_static **out, struct buf *err)
{
	*out = NULL;
	struct buf data;
	buf_init(&data);
	if (conf_file_read(path, &data, NULL, err) < 0)
		return -1;
	char *dir = conf_file_dir(path);
	int r = conf_static_parse(path, data.p, data.len, dir, out, err);
	free(dir);
	buf_free(&data);
	return r;
}

void conf_static_free(struct conf_static *st)
{
	if (!st)
		return;
	conf_schema_free(&conf_static_schema, st);
	free(st);
}

struct conf_static *conf_static_new(void)
{
	struct conf_static *st = xmalloc(sizeof *st);
	conf_schema_init(&conf_static_schema, st);
	return st;
}

struct conf_listener *conf_static_add_listener(struct conf_static *st, const char *name)
{
	return conf_schema_append(conf_schema_field(&conf_static_schema, "Listeners"), st, name);
}

struct conf_transport *conf_static_add_transport(struct conf_static *st, const char *name)
{
	return conf_schema_append(conf_schema_field(&conf_static_schema, "Transports"), st, name);
}

struct conf_transport_smtp *conf_static_new_transport_smtp(const char *host)
{
	const struct conf_field *f = conf_schema_field(&conf_transport_schema, "SMTP");
	struct conf_transport_smtp *t = xmalloc(f->sub->size);
	conf_schema_init(f->sub, t);
	t->host = xstrdup(host);
	return t;
}

struct conf_tls *conf_static_new_tls(void)
{
	const struct conf_field *f = conf_schema_field(&conf_listener_schema, "TLS");
	struct conf_tls *t = xmalloc(f->sub->size);
	conf_schema_init(f->sub, t);
	return t;
}

void conf_static_tls_add_keycert(struct conf_tls *tls, const char *cert_file, const char *key_file)
{
	const struct conf_field *lf = conf_schema_field(&conf_listener_schema, "TLS");
	struct conf_keycert *kc = conf_schema_append(conf_schema_field(lf->sub, "KeyCerts"), tls, NULL);
	kc->cert_file = xstrdup(cert_file);
	kc->key_file = xstrdup(key_file);
}

void conf_static_write(const struct conf_static *st, struct buf *out)
{
	conf_schema_write(&conf_static_schema, st, out, 0);
}

bool conf_static_eq(const struct conf_static *a, const struct conf_static *b)
{
	return conf_schema_eq(&conf_static_schema, a, b);
}

const struct conf_listener *conf_static_listener(const struct conf_static *st, const char *name)
{
	for (size_t i = 0; i < st->nlisteners; i++)
		if (strcmp(st->listeners[i].name, name) == 0)
			return &st->listeners[i];
	return NULL;
}

const struct conf_transport *conf_static_transport(const struct conf_static *st, const char *name)
{
	for (size_t i = 0; i < st->ntransports; i++)
		if (strcmp(st->transports[i].name, name) == 0)
			return &st->transports[i];
	return NULL;
}

bool conf_static_is_hostname(const struct conf_static *st, const char *host, size_t len)
{
	if (strlen(st->hostname) == len && strncasecmp(st->hostname, host, len) == 0)
		return true;
	for (size_t i = 0; i < st->nlisteners; i++) {
		const char *h = st->listeners[i].hostname;
		if (h && strlen(h) == len && strncasecmp(h, host, len) == 0)
			return true;
	}
	return false;
}
