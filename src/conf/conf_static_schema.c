/* Field tables of tern.conf: names, defaults and ranges of spec/config.md §1, §2, §5.
 *
 * DESIGN: this file is the single place where a tern.conf default lives;
 * decoding, writing and the generators (localserve, quickstart) all read it
 * through conf_schema_init. Rules that involve more than one field are in
 * conf_static.c. */
#include "conf/conf_static.h"

#include <stddef.h>
#include <stdlib.h>

#include "conf/conf_schema.h"

#define F(S, n, k, m, ...) {.name = n, .kind = k, .off = offsetof(S, m), __VA_ARGS__}
#define FL(S, n, k, m, cnt, ...) {.name = n, .kind = k, .off = offsetof(S, m), .off2 = offsetof(S, cnt), __VA_ARGS__}
#define PORT(S, m, p) F(S, "Port", CONF_K_INT, m, CONF_RANGE(1, 65535), .def = p)
#define I64MAX INT64_MAX
#define DAY_MS (24LL * 3600 * 1000)

static const char *const loglevels[] = {"error", "info", "debug", "trace", "traceauth", "tracedata", NULL};
static const char *const tlsversions[] = {"TLSv1.2", "TLSv1.3", NULL};

/* ---- Limits, Queue, Webhooks ---- */

#define S struct conf_limits
static const int64_t d_conn[] = {30, 90, 270}, d_rate[] = {300, 900, 2700}, d_afm[] = {10, 30, 90},
		     d_afd[] = {50, 150, 450}, d_imm[] = {500, 1500, 4500}, d_imd[] = {10000, 30000, 90000},
		     d_ibm[] = {1000000000, 3000000000, 9000000000},
		     d_ibd[] = {3000000000, 9000000000, 27000000000};
static const struct conf_field limits_fields[] = {
	F(S, "ConnectionsPerIP", CONF_K_I64X3, connections_per_ip, CONF_RANGE(1, I64MAX), .adef = d_conn),
	F(S, "ConnectionRatePerMinute", CONF_K_I64X3, connection_rate_per_minute, CONF_RANGE(1, I64MAX), .adef = d_rate),
	F(S, "AuthFailuresPerMinute", CONF_K_I64X3, auth_failures_per_minute, CONF_RANGE(1, I64MAX), .adef = d_afm),
	F(S, "AuthFailuresPerDay", CONF_K_I64X3, auth_failures_per_day, CONF_RANGE(1, I64MAX), .adef = d_afd),
	F(S, "RecipientsPerTransaction", CONF_K_I64, recipients_per_transaction, CONF_RANGE(1, 1000000), .def = 1000),
	F(S, "IncomingMessagesPerMinute", CONF_K_I64X3, incoming_messages_per_minute, CONF_RANGE(1, I64MAX), .adef = d_imm),
	F(S, "IncomingMessagesPerDay", CONF_K_I64X3, incoming_messages_per_day, CONF_RANGE(1, I64MAX), .adef = d_imd),
	F(S, "IncomingBytesPerMinute", CONF_K_I64X3, incoming_bytes_per_minute, CONF_RANGE(1, I64MAX), .adef = d_ibm),
	F(S, "IncomingBytesPerDay", CONF_K_I64X3, incoming_bytes_per_day, CONF_RANGE(1, I64MAX), .adef = d_ibd),
};
#undef S
static const struct conf_schema limits_schema = {"Limits", sizeof(struct conf_limits), CONF_FIELDS(limits_fields)};

#define S struct conf_queue
static const int64_t d_retry[] = {450000, 900000, 1800000, 3600000, 7200000, 14400000, 28800000};
static const struct conf_field queue_fields[] = {
	F(S, "RetryIntervals", CONF_K_DURS, retry_intervals, CONF_RANGE(1000, 365 * DAY_MS), .adef = d_retry,
	  .nadef = sizeof d_retry / sizeof d_retry[0]),
	F(S, "DelayedDSNAfterAttempt", CONF_K_I64, delayed_dsn_after_attempt, CONF_RANGE(0, 1000), .def = 5),
	F(S, "MaxConnections", CONF_K_I64, max_connections, CONF_RANGE(1, 1000000), .def = 1000),
	F(S, "MaxConnectionsPerHost", CONF_K_I64, max_connections_per_host, CONF_RANGE(1, 1000000), .def = 16),
	F(S, "MaxMessagesPerConnection", CONF_K_I64, max_messages_per_connection, CONF_RANGE(1, 1000000), .def = 100),
	F(S, "ConnectionIdleTimeout", CONF_K_DUR, connection_idle_timeout_ms, CONF_RANGE(0, DAY_MS), .def = 30000),
};
#undef S
static const struct conf_schema queue_schema = {"Queue", sizeof(struct conf_queue), CONF_FIELDS(queue_fields)};

#define S struct conf_webhooks
static const struct conf_field webhooks_fields[] = {
	F(S, "MaxConcurrent", CONF_K_I64, max_concurrent, CONF_RANGE(1, 1000000), .def = 100),
	F(S, "MaxConcurrentPerURL", CONF_K_I64, max_concurrent_per_url, CONF_RANGE(1, 1000000), .def = 4),
	F(S, "AllowInternalTargets", CONF_K_BOOL, allow_internal_targets),
};
#undef S
static const struct conf_schema webhooks_schema = {"Webhooks", sizeof(struct conf_webhooks), CONF_FIELDS(webhooks_fields)};

/* ---- TLS, DNS ---- */

#define S struct conf_tls_ca
static const struct conf_field ca_fields[] = {
	F(S, "AdditionalToSystem", CONF_K_BOOL, additional_to_system),
	{.name = "CertFiles", .kind = CONF_K_PATHS, .off = offsetof(S, cert_files), .off2 = offsetof(S, cert_paths)},
};
#undef S
static const struct conf_schema ca_schema = {"CA", sizeof(struct conf_tls_ca), CONF_FIELDS(ca_fields)};

static const struct conf_field global_tls_fields[] = {F(struct conf_static_tls, "CA", CONF_K_OBJ, ca, .sub = &ca_schema)};
static const struct conf_schema global_tls_schema = {"TLS", sizeof(struct conf_static_tls), CONF_FIELDS(global_tls_fields)};
static const struct conf_field dns_fields[] = {F(struct conf_dns, "Resolvers", CONF_K_STRS, resolvers)};
static const struct conf_schema dns_schema = {"DNS", sizeof(struct conf_dns), CONF_FIELDS(dns_fields)};

/* ---- Listener ---- */

#define S struct conf_keycert
static const struct conf_field keycert_fields[] = {
	{.name = "CertFile", .kind = CONF_K_PATH, .off = offsetof(S, cert_file), .off2 = offsetof(S, cert_path), .flags = CONF_F_REQUIRED},
	{.name = "KeyFile", .kind = CONF_K_PATH, .off = offsetof(S, key_file), .off2 = offsetof(S, key_path), .flags = CONF_F_REQUIRED},
};
#undef S
static const struct conf_schema keycert_schema = {"KeyCert", sizeof(struct conf_keycert), CONF_FIELDS(keycert_fields)};

#define S struct conf_tls
static const struct conf_field tls_fields[] = {
	FL(S, "KeyCerts", CONF_K_LIST, keycerts, nkeycerts, .sub = &keycert_schema),
	F(S, "MinVersion", CONF_K_ENUM, min_version, .names = tlsversions, .def = CONF_TLS_V12),
};
#undef S
static const struct conf_schema tls_schema = {"TLS", sizeof(struct conf_tls), CONF_FIELDS(tls_fields)};

#define S struct conf_smtp_service
static const struct conf_field smtp_fields[] = {
	F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 25),
	F(S, "NoSTARTTLS", CONF_K_BOOL, no_starttls),
	F(S, "RequireSTARTTLS", CONF_K_BOOL, require_starttls),
	F(S, "NoRequireTLS", CONF_K_BOOL, no_require_tls),
	F(S, "DNSBLs", CONF_K_STRS, dnsbls),
};
#undef S
static const struct conf_schema smtp_schema = {"SMTP", sizeof(struct conf_smtp_service), CONF_FIELDS(smtp_fields)};

static void submission_free_derived(void *obj)
{
	struct conf_submission *s = obj;
	free(s->relay_nets);
	s->relay_nets = NULL;
	s->nrelay_nets = 0;
}

#define S struct conf_submission
static const struct conf_field submission_fields[] = {
	F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 587),
	F(S, "NoRequireSTARTTLS", CONF_K_BOOL, no_require_starttls),
	F(S, "RelayNetworks", CONF_K_STRS, relay_networks),
	F(S, "RelayAccount", CONF_K_STR, relay_account),
	F(S, "RelayAnySender", CONF_K_BOOL, relay_any_sender),
};
#undef S
static const struct conf_schema submission_schema = {"Submission", sizeof(struct conf_submission),
						     CONF_FIELDS(submission_fields), submission_free_derived};

#define S struct conf_service
static const struct conf_field submissions_fields[] = {F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 465)};
static const struct conf_field imaps_fields[] = {F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 993)};
static const struct conf_field metrics_fields[] = {F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 8010)};
#undef S
static const struct conf_schema submissions_schema = {"Submissions", sizeof(struct conf_service), CONF_FIELDS(submissions_fields)};
static const struct conf_schema imaps_schema = {"IMAPS", sizeof(struct conf_service), CONF_FIELDS(imaps_fields)};
static const struct conf_schema metrics_schema = {"MetricsHTTP", sizeof(struct conf_service), CONF_FIELDS(metrics_fields)};

#define S struct conf_imap
static const struct conf_field imap_fields[] = {
	F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 143),
	F(S, "NoRequireSTARTTLS", CONF_K_BOOL, no_require_starttls),
};
#undef S
static const struct conf_schema imap_schema = {"IMAP", sizeof(struct conf_imap), CONF_FIELDS(imap_fields)};

#define S struct conf_http
#define HTTP_SCHEMA(var, defport, defpath) \
	static const struct conf_field var##_fields[] = { \
		F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, defport), \
		F(S, "Path", CONF_K_STR, path, .sdef = defpath), \
		F(S, "Forwarded", CONF_K_BOOL, forwarded), \
	}; \
	static const struct conf_schema var##_schema = {#var, sizeof(struct conf_http), CONF_FIELDS(var##_fields)}
HTTP_SCHEMA(account_http, 80, "/account/");
HTTP_SCHEMA(account_https, 443, "/account/");
HTTP_SCHEMA(admin_http, 80, "/admin/");
HTTP_SCHEMA(admin_https, 443, "/admin/");
HTTP_SCHEMA(webapi_http, 80, "/webapi/");
HTTP_SCHEMA(webapi_https, 443, "/webapi/");
#undef S

#define S struct conf_mtasts_https
static const struct conf_field mtasts_https_fields[] = {
	F(S, "Enabled", CONF_K_BOOL, enabled), PORT(S, port, 443),
	F(S, "NonTLS", CONF_K_BOOL, non_tls),
};
#undef S
static const struct conf_schema mtasts_https_schema = {"MTASTSHTTPS", sizeof(struct conf_mtasts_https), CONF_FIELDS(mtasts_https_fields)};

static void listener_free_derived(void *obj)
{
	struct conf_listener *l = obj;
	free(l->addrs);
	l->addrs = NULL;
	l->naddrs = 0;
}

#define S struct conf_listener
static const struct conf_field listener_fields[] = {
	F(S, "IPs", CONF_K_STRS, ips, .flags = CONF_F_REQUIRED),
	F(S, "Hostname", CONF_K_STR, hostname),
	F(S, "TLS", CONF_K_OPT, tls, .sub = &tls_schema),
	F(S, "SMTPMaxMessageSize", CONF_K_I64, smtp_max_message_size, CONF_RANGE(1, I64MAX), .def = 104857600),
	F(S, "SMTP", CONF_K_OBJ, smtp, .sub = &smtp_schema),
	F(S, "Submission", CONF_K_OBJ, submission, .sub = &submission_schema),
	F(S, "Submissions", CONF_K_OBJ, submissions, .sub = &submissions_schema),
	F(S, "IMAP", CONF_K_OBJ, imap, .sub = &imap_schema),
	F(S, "IMAPS", CONF_K_OBJ, imaps, .sub = &imaps_schema),
	F(S, "AccountHTTP", CONF_K_OBJ, account_http, .sub = &account_http_schema),
	F(S, "AccountHTTPS", CONF_K_OBJ, account_https, .sub = &account_https_schema),
	F(S, "AdminHTTP", CONF_K_OBJ, admin_http, .sub = &admin_http_schema),
	F(S, "AdminHTTPS", CONF_K_OBJ, admin_https, .sub = &admin_https_schema),
	F(S, "WebAPIHTTP", CONF_K_OBJ, webapi_http, .sub = &webapi_http_schema),
	F(S, "WebAPIHTTPS", CONF_K_OBJ, webapi_https, .sub = &webapi_https_schema),
	F(S, "MetricsHTTP", CONF_K_OBJ, metrics_http, .sub = &metrics_schema),
	F(S, "MTASTSHTTPS", CONF_K_OBJ, mtasts_https, .sub = &mtasts_https_schema),
};
#undef S
const struct conf_schema conf_listener_schema = {"Listener", sizeof(struct conf_listener),
						 CONF_FIELDS(listener_fields), listener_free_derived};

/* ---- Transports ---- */

#define S struct conf_transport_auth
static const struct conf_field auth_fields[] = {
	F(S, "Username", CONF_K_STR, username),
	F(S, "Password", CONF_K_STR, password),
	F(S, "Mechanisms", CONF_K_STRS, mechanisms),
};
#undef S
static const struct conf_schema auth_schema = {"Auth", sizeof(struct conf_transport_auth), CONF_FIELDS(auth_fields)};

#define S struct conf_transport_smtp
static const struct conf_field tsmtp_fields[] = {
	F(S, "Host", CONF_K_STR, host, .flags = CONF_F_REQUIRED),
	F(S, "Port", CONF_K_INT, port, CONF_RANGE(0, 65535)), /* 0: by kind */
	F(S, "STARTTLSInsecureSkipVerify", CONF_K_BOOL, starttls_insecure_skip_verify),
	F(S, "NoSTARTTLS", CONF_K_BOOL, no_starttls),
	F(S, "Auth", CONF_K_OPT, auth, .sub = &auth_schema),
};
#undef S
static const struct conf_schema tsmtp_schema = {"TransportSMTP", sizeof(struct conf_transport_smtp), CONF_FIELDS(tsmtp_fields)};

#define S struct conf_transport_direct
static const struct conf_field direct_fields[] = {
	F(S, "DisableIPv4", CONF_K_BOOL, disable_ipv4),
	F(S, "DisableIPv6", CONF_K_BOOL, disable_ipv6),
};
#undef S
static const struct conf_schema direct_schema = {"Direct", sizeof(struct conf_transport_direct), CONF_FIELDS(direct_fields)};

#define S struct conf_transport_fail
static const struct conf_field fail_fields[] = {
	F(S, "SMTPCode", CONF_K_INT, smtp_code, CONF_RANGE(400, 599), .def = 554),
	F(S, "SMTPMessage", CONF_K_STR, smtp_message,
	  .sdef = "transport fail: explicit immediate delivery failure per configuration"),
};
#undef S
static const struct conf_schema fail_schema = {"Fail", sizeof(struct conf_transport_fail), CONF_FIELDS(fail_fields)};

#define S struct conf_transport
static const struct conf_field transport_fields[] = {
	F(S, "Submissions", CONF_K_OPT, submissions, .sub = &tsmtp_schema),
	F(S, "Submission", CONF_K_OPT, submission, .sub = &tsmtp_schema),
	F(S, "SMTP", CONF_K_OPT, smtp, .sub = &tsmtp_schema),
	F(S, "Direct", CONF_K_OPT, direct, .sub = &direct_schema),
	F(S, "Fail", CONF_K_OPT, fail, .sub = &fail_schema),
};
#undef S
const struct conf_schema conf_transport_schema = {"Transport", sizeof(struct conf_transport), CONF_FIELDS(transport_fields)};

/* ---- top level ---- */

#define S struct conf_postmaster
static const struct conf_field postmaster_fields[] = {
	F(S, "Account", CONF_K_STR, account, .flags = CONF_F_REQUIRED),
	F(S, "Mailbox", CONF_K_STR, mailbox, .flags = CONF_F_REQUIRED),
};
#undef S
static const struct conf_schema postmaster_schema = {"Postmaster", sizeof(struct conf_postmaster), CONF_FIELDS(postmaster_fields)};

#define S struct conf_host_tlsrpt
static const struct conf_field host_tlsrpt_fields[] = {
	F(S, "Account", CONF_K_STR, account, .flags = CONF_F_REQUIRED),
	F(S, "Mailbox", CONF_K_STR, mailbox, .flags = CONF_F_REQUIRED),
	F(S, "Localpart", CONF_K_STR, localpart, .flags = CONF_F_REQUIRED),
};
#undef S
static const struct conf_schema host_tlsrpt_schema = {"HostTLSRPT", sizeof(struct conf_host_tlsrpt), CONF_FIELDS(host_tlsrpt_fields)};

static void static_free_derived(void *obj)
{
	struct conf_static *st = obj;
	free(st->file);
	free(st->config_dir);
	free(st->domains_path);
	free(st->resolver_addrs);
	free(st->resolver_ports);
	st->file = st->config_dir = st->domains_path = NULL;
	st->resolver_addrs = NULL;
	st->resolver_ports = NULL;
	st->nresolvers = 0;
}

#define S struct conf_static
static const struct conf_field static_fields[] = {
	F(S, "Hostname", CONF_K_STR, hostname, .flags = CONF_F_REQUIRED),
	{.name = "DataDir", .kind = CONF_K_PATH, .off = offsetof(S, data_dir), .off2 = offsetof(S, data_dir_path), .flags = CONF_F_REQUIRED},
	F(S, "LogLevel", CONF_K_ENUM, log_level, .names = loglevels, .def = CONF_LOG_INFO),
	F(S, "User", CONF_K_STR, user, .sdef = "tern"),
	{.name = "AdminPasswordFile", .kind = CONF_K_PATH, .off = offsetof(S, admin_password_file),
	 .off2 = offsetof(S, admin_password_path), .sdef = "adminpasswd"},
	F(S, "TLS", CONF_K_OBJ, tls, .sub = &global_tls_schema),
	F(S, "DNS", CONF_K_OBJ, dns, .sub = &dns_schema),
	FL(S, "Listeners", CONF_K_MAP, listeners, nlisteners, .sub = &conf_listener_schema, .flags = CONF_F_REQUIRED),
	F(S, "Postmaster", CONF_K_OBJ, postmaster, .sub = &postmaster_schema, .flags = CONF_F_REQUIRED),
	F(S, "HostTLSRPT", CONF_K_OPT, host_tlsrpt, .sub = &host_tlsrpt_schema),
	FL(S, "Transports", CONF_K_MAP, transports, ntransports, .sub = &conf_transport_schema),
	F(S, "NoOutgoingDMARCReports", CONF_K_BOOL, no_outgoing_dmarc_reports),
	F(S, "NoOutgoingTLSReports", CONF_K_BOOL, no_outgoing_tls_reports),
	F(S, "OutgoingTLSReportsForAllSuccess", CONF_K_BOOL, outgoing_tls_reports_for_all_success),
	F(S, "QuotaMessageSize", CONF_K_I64, quota_message_size, CONF_RANGE(0, I64MAX)),
	F(S, "LocalserveTimeout", CONF_K_DUR, localserve_timeout_ms, CONF_RANGE(0, DAY_MS), .def = 60000),
	F(S, "Limits", CONF_K_OBJ, limits, .sub = &limits_schema),
	F(S, "Queue", CONF_K_OBJ, queue, .sub = &queue_schema),
	F(S, "Webhooks", CONF_K_OBJ, webhooks, .sub = &webhooks_schema),
};
#undef S
const struct conf_schema conf_static_schema = {"tern.conf", sizeof(struct conf_static), CONF_FIELDS(static_fields),
					       static_free_derived};
