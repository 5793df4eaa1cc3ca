/* Typed configuration: tern.conf (struct conf_static) and domains.conf
 * (struct conf_domains), field for field as in spec/config.md.
 *
 * Conventions for every struct here:
 * - Strings are owned `char *`, NULL when not set (unless the field has a
 *   default, which is then filled in). Lists are {v, n} pairs of owned arrays.
 * - Durations are int64 milliseconds (`_ms` suffix).
 * - Maps from the YAML (listeners, transports, domains, accounts,
 *   destinations, DKIM selectors) are arrays in file order whose elements start
 *   with `char *name`, the map key.
 * - An optional object (e.g. `TLS`, `DMARC`, `OutgoingWebhook`) is a pointer,
 *   NULL when absent or null.
 * - Fields under "derived" comments are computed by the loader (parsed
 *   addresses, resolved paths, lookup tables); they are not written back and
 *   are not copied by conf_domains_copy.
 * A loaded config is immutable: readers never change it. */
#ifndef TERN_CONF_H
#define TERN_CONF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf/conf_map.h"
#include "core/netaddr.h"

/** A list of owned strings. */
struct conf_strs {
	char **v;
	size_t n;
};

/** A list of durations in milliseconds. */
struct conf_durs {
	int64_t *v;
	size_t n;
};

/* ---------------------------------------------------------------- tern.conf */

/** tern.conf `LogLevel`; same order and names as enum log_level (core/log.h). */
enum conf_loglevel {
	CONF_LOG_ERROR,
	CONF_LOG_INFO,
	CONF_LOG_DEBUG,
	CONF_LOG_TRACE,
	CONF_LOG_TRACEAUTH,
	CONF_LOG_TRACEDATA,
};

/** Limits (§1.1): [0..2] are mask levels 1..3. */
struct conf_limits {
	int64_t connections_per_ip[3];
	int64_t connection_rate_per_minute[3];
	int64_t auth_failures_per_minute[3];
	int64_t auth_failures_per_day[3];
	int64_t recipients_per_transaction;
	int64_t incoming_messages_per_minute[3];
	int64_t incoming_messages_per_day[3];
	int64_t incoming_bytes_per_minute[3];
	int64_t incoming_bytes_per_day[3];
};

/** Queue (§1.2). */
struct conf_queue {
	struct conf_durs retry_intervals; /* gap after attempt n is v[n-1] */
	int64_t delayed_dsn_after_attempt;
	int64_t max_connections;
	int64_t max_connections_per_host;
	int64_t max_messages_per_connection;
	int64_t connection_idle_timeout_ms;
};

/** Webhooks (§1.3). */
struct conf_webhooks {
	int64_t max_concurrent;
	int64_t max_concurrent_per_url;
	bool allow_internal_targets;
};

/** TLS.CA: extra CA certificates for outgoing TLS. */
struct conf_tls_ca {
	bool additional_to_system;
	struct conf_strs cert_files;
	/* derived */
	struct conf_strs cert_paths; /* cert_files resolved against the config dir */
};

/** One `{CertFile, KeyFile}` of a listener. */
struct conf_keycert {
	char *cert_file, *key_file;
	/* derived */
	char *cert_path, *key_path; /* resolved */
};

enum conf_tls_version { CONF_TLS_V12, CONF_TLS_V13 };

/** Listener TLS. The first keycert is the default certificate. */
struct conf_tls {
	struct conf_keycert *keycerts;
	size_t nkeycerts;
	enum conf_tls_version min_version; /* default TLSv1.2 */
};

/** A plain service: Submissions, IMAPS, MetricsHTTP. */
struct conf_service {
	bool enabled;
	int port;
};

/** An HTTP service: Account/Admin/WebAPI HTTP(S). */
struct conf_http {
	bool enabled;
	int port;
	char *path; /* default /account/, /admin/, /webapi/ */
	bool forwarded;
};

struct conf_smtp_service {
	bool enabled;
	int port; /* 25 */
	bool no_starttls, require_starttls, no_require_tls;
	struct conf_strs dnsbls; /* zones, lower case ASCII */
};

struct conf_submission {
	bool enabled;
	int port; /* 587 */
	bool no_require_starttls;
	struct conf_strs relay_networks; /* as written */
	char *relay_account;
	bool relay_any_sender;
	/* derived */
	int relay_account_line;          /* for cross-file errors */
	struct netaddr_cidr *relay_nets; /* relay_networks parsed */
	size_t nrelay_nets;
};

struct conf_imap {
	bool enabled;
	int port; /* 143 */
	bool no_require_starttls;
};

struct conf_mtasts_https {
	bool enabled;
	int port; /* 443 */
	bool non_tls;
};

/** One listener (§2). */
struct conf_listener {
	char *name;
	struct conf_strs ips;
	char *hostname;     /* filled with the global Hostname when not set */
	struct conf_tls *tls; /* NULL: no TLS */
	int64_t smtp_max_message_size;
	struct conf_smtp_service smtp;
	struct conf_submission submission;
	struct conf_service submissions; /* 465 */
	struct conf_imap imap;
	struct conf_service imaps;       /* 993 */
	struct conf_http account_http, account_https;
	struct conf_http admin_http, admin_https;
	struct conf_http webapi_http, webapi_https;
	struct conf_service metrics_http; /* 8010 */
	struct conf_mtasts_https mtasts_https;
	/* derived */
	struct netaddr *addrs; /* ips parsed */
	size_t naddrs;
};

/** TransportSMTP `Auth`. Mechanisms are upper case; when none are configured the
 * default list (SCRAM-SHA-256-PLUS ... CRAM-MD5) is filled in. */
struct conf_transport_auth {
	char *username, *password;
	struct conf_strs mechanisms;
};

/** TransportSMTP (Submissions, Submission, SMTP). */
struct conf_transport_smtp {
	char *host;
	int port; /* filled with 465/587/25 by kind when not set */
	bool starttls_insecure_skip_verify;
	bool no_starttls;
	struct conf_transport_auth *auth;
};

struct conf_transport_direct {
	bool disable_ipv4, disable_ipv6;
};

struct conf_transport_fail {
	int smtp_code;      /* 554 */
	char *smtp_message; /* "transport fail: explicit immediate delivery failure per configuration" */
};

enum conf_transport_kind {
	CONF_TRANSPORT_DIRECT, /* also when no field is set */
	CONF_TRANSPORT_SUBMISSIONS,
	CONF_TRANSPORT_SUBMISSION,
	CONF_TRANSPORT_SMTP,
	CONF_TRANSPORT_FAIL,
};

/** A transport (§5): at most one of the pointers is set. */
struct conf_transport {
	char *name;
	struct conf_transport_smtp *submissions, *submission, *smtp;
	struct conf_transport_direct *direct;
	struct conf_transport_fail *fail;
	/* derived */
	enum conf_transport_kind kind;
	const struct conf_transport_smtp *smtp_conf; /* the set SMTP-like field, else NULL */
};

/** tern.conf `TLS`. */
struct conf_static_tls {
	struct conf_tls_ca ca;
};

/** tern.conf `DNS`: `ip`, `ip:port` or `[ipv6]:port` strings; parsed forms are in conf_static. */
struct conf_dns {
	struct conf_strs resolvers;
};

/** `{Account, Mailbox}` and, for HostTLSRPT, `Localpart`. */
struct conf_postmaster {
	char *account, *mailbox;
};
struct conf_host_tlsrpt {
	char *account, *mailbox, *localpart;
};

/** tern.conf (§1). */
struct conf_static {
	char *hostname; /* lower case ASCII (A-labels for IDNs) */
	char *data_dir;
	enum conf_loglevel log_level;
	char *user;                /* "tern" */
	char *admin_password_file; /* "adminpasswd" */
	struct conf_static_tls tls;
	struct conf_dns dns;
	struct conf_listener *listeners;
	size_t nlisteners;
	struct conf_postmaster postmaster;
	struct conf_host_tlsrpt *host_tlsrpt; /* NULL when absent */
	struct conf_transport *transports;
	size_t ntransports;
	bool no_outgoing_dmarc_reports;
	bool no_outgoing_tls_reports;
	bool outgoing_tls_reports_for_all_success;
	int64_t quota_message_size;
	int64_t localserve_timeout_ms; /* 60s */
	struct conf_limits limits;
	struct conf_queue queue;
	struct conf_webhooks webhooks;
	/* derived */
	char *file;            /* name used in messages (the path as given) */
	int postmaster_line, host_tlsrpt_line; /* lines of the Account fields, for cross-file errors */
	char *config_dir;      /* absolute directory of tern.conf */
	char *domains_path;    /* config_dir/domains.conf */
	char *data_dir_path;   /* data_dir resolved */
	char *admin_password_path;
	struct netaddr smtp_source4, smtp_source6; /* family 0 when not set: see conf_static.h */
	struct netaddr *resolver_addrs; /* dns.resolvers parsed */
	uint16_t *resolver_ports;
	size_t nresolvers;
};

/* ------------------------------------------------------------- domains.conf */

enum conf_dkim_hash { CONF_DKIM_SHA256, CONF_DKIM_SHA1 };

/** DKIM canonicalization: true is relaxed, false is simple. */
struct conf_dkim_canon {
	bool header_relaxed, body_relaxed; /* both default true */
};

struct conf_dkim_selector {
	char *name;
	enum conf_dkim_hash hash;
	struct conf_dkim_canon canonicalization;
	struct conf_strs headers; /* empty: the default set */
	bool dont_seal_headers;
	int64_t expiration_ms;    /* 0: no x= */
	char *private_key_file;
	/* derived */
	char *private_key_path;   /* resolved */
};

struct conf_dkim {
	struct conf_dkim_selector *selectors;
	size_t nselectors;
	struct conf_strs sign; /* selector names, each in selectors */
};

/** DMARC or TLSRPT report address: `<Localpart>@<Domain or the domain itself>`. */
struct conf_report_addr {
	char *localpart, *domain, *account, *mailbox;
};

enum conf_mtasts_mode { CONF_MTASTS_ENFORCE, CONF_MTASTS_TESTING, CONF_MTASTS_NONE };

struct conf_mtasts {
	char *policy_id;
	enum conf_mtasts_mode mode;
	int64_t max_age_ms;
	struct conf_strs mx; /* empty: [Hostname] */
};

/** A route (§6). */
struct conf_route {
	struct conf_strs from_domain, to_domain; /* as written */
	int64_t minimum_attempts;
	char *transport;
	/* derived */
	struct conf_strs from_ascii, to_ascii; /* lower case A-label forms, leading "." kept */
	const struct conf_transport *transport_conf; /* NULL when loaded without tern.conf */
};

/** A hosted domain (§4.1). */
struct conf_domain {
	char *name; /* as written (unicode) */
	bool disabled;
	char *description;
	char *localpart_catchall_separator;
	struct conf_strs localpart_catchall_separators;
	bool localpart_case_sensitive;
	struct conf_dkim *dkim;
	struct conf_report_addr *dmarc;
	struct conf_mtasts *mtasts;
	struct conf_report_addr *tlsrpt;
	struct conf_route *routes;
	size_t nroutes;
	/* derived */
	char *ascii;   /* lower case, A-labels */
	char *unicode; /* lower case, U-labels */
	const char *const *seps; /* the catch-all separators, first is the FromID one */
	size_t nseps;
};

/** One destination: address (`localpart@domain` or `@domain`) -> mailbox. */
struct conf_destination {
	char *name;
	char *mailbox; /* "Inbox" */
};

/** The 8 outgoing webhook events (webhooks.md §1), as bits of event_mask. */
enum conf_event {
	CONF_EVENT_DELIVERED = 1 << 0,
	CONF_EVENT_SUPPRESSED = 1 << 1,
	CONF_EVENT_DELAYED = 1 << 2,
	CONF_EVENT_FAILED = 1 << 3,
	CONF_EVENT_RELAYED = 1 << 4,
	CONF_EVENT_EXPANDED = 1 << 5,
	CONF_EVENT_CANCELED = 1 << 6,
	CONF_EVENT_UNRECOGNIZED = 1 << 7,
	CONF_EVENT_ALL = 0xff,
};

struct conf_webhook_out {
	char *url, *authorization;
	struct conf_strs events; /* empty: all */
	/* derived */
	unsigned event_mask;     /* enum conf_event bits; CONF_EVENT_ALL when events is empty */
};

struct conf_webhook_in {
	char *url, *authorization;
};

/** An account (§4.2). */
struct conf_account {
	char *name;
	char *domain;
	char *description, *full_name;
	struct conf_destination *destinations;
	size_t ndestinations;
	char *login_disabled; /* NULL or "": logins allowed */
	struct conf_webhook_out *outgoing_webhook;
	struct conf_webhook_in *incoming_webhook;
	struct conf_strs from_id_login_addresses;
	int64_t keep_retired_message_period_ms;
	int64_t keep_retired_webhook_period_ms;
	int64_t max_outgoing_messages_per_day;    /* 1000; -1 unlimited */
	int64_t max_first_time_recipients_per_day; /* 200; -1 unlimited */
	int64_t quota_message_size;               /* 0: the global one; < 0 unlimited */
	struct conf_route *routes;
	size_t nroutes;
	/* derived */
	const struct conf_domain *domain_conf;
};

/** What an address resolved to (conf_lookup.h). */
enum conf_dest_kind {
	CONF_DEST_ADDRESS,     /* a configured destination address (also a login address) */
	CONF_DEST_CATCHALL,    /* an `@domain` destination */
	CONF_DEST_POSTMASTER,  /* postmaster rules: Postmaster.Account/Mailbox */
	CONF_DEST_DMARC,       /* a domain's DMARC report address */
	CONF_DEST_TLSRPT,      /* a domain's TLSRPT report address */
	CONF_DEST_HOST_TLSRPT, /* HostTLSRPT: <Localpart>@<Hostname> */
};

/** A resolved destination. Pointers borrow from the snapshot it came from. */
struct conf_dest {
	enum conf_dest_kind kind;
	const struct conf_account *account;
	const char *mailbox;
	const struct conf_domain *domain;           /* NULL for host-level addresses */
	const struct conf_destination *destination; /* ADDRESS and CATCHALL only */
};

/** domains.conf: an immutable, reference-counted snapshot (conf_domains.h). */
struct conf_domains {
	struct conf_domain *domains;
	size_t ndomains;
	struct conf_account *accounts;
	size_t naccounts;
	struct conf_route *routes;
	size_t nroutes;
	struct conf_strs monitor_dnsbls;
	/* derived */
	atomic_int refs; /* see conf_domains_acquire */
	const struct conf_static *st; /* borrowed; NULL when loaded without tern.conf */
	struct conf_map domain_map;  /* ascii name -> struct conf_domain */
	struct conf_map account_map; /* name -> struct conf_account */
	struct conf_map dest_map;    /* normalised address -> struct conf_dest */
	struct conf_dest *dests;     /* storage for dest_map values */
	size_t ndests;
	struct conf_dest postmaster; /* account NULL when loaded without tern.conf */
	dev_t file_dev;   /* identity of the file it was loaded from (all 0 when from memory) */
	ino_t file_ino;
	off_t file_size;
	struct timespec file_mtime;
};

#endif
