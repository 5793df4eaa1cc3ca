/* Internals shared by the smtp_session_*.c files (not a public header). */
#ifndef TERN_ACTORS_SMTP_SESSION_INT_H
#define TERN_ACTORS_SMTP_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/netconn.h"
#include "actors/smtp_listener.h"
#include "actors/smtp_session.h"
#include "core/actor.h"
#include "core/buf.h"
#include "core/timer.h"
#include "proto/localserve_special.h"
#include "proto/smtp_server.h"

struct conf_domains;
struct mailauth_dns_answer;
struct mailauth_dns_query;
struct metric;
struct queue_add;
struct smtp_dnsbl;
struct smtp_mx;
struct store_batch;
struct sasl_server;
struct smtp_mailauth;

/* Timeouts (smtp.md §12). */
#define SMTP_SESSION_IDLE_MS (5 * 60 * 1000)
#define SMTP_SESSION_LINE_MS (5 * 60 * 1000)
#define SMTP_SESSION_DATA_TOTAL_MS (30 * 60 * 1000)
#define SMTP_SESSION_DATA_STALL_MS (5 * 60 * 1000)
#define SMTP_SESSION_TLS_MS (60 * 1000)
#define SMTP_SESSION_SHUTDOWN_MS (30 * 1000)
/** After the close (or the peer's EOF): time to hand the last replies to the kernel;
 * shorter during shutdown, which must end within the supervisor's grace. */
#define SMTP_SESSION_CLOSE_MS (10 * 1000)
#define SMTP_SESSION_CLOSE_STOPPING_MS 1000
/** Unsent reply bytes above which the session reads no more commands until they are
 * out: a client that pipelines without reading cannot make the replies pile up. */
#define SMTP_SESSION_OUT_MAX (256 * 1024)
/** The AUTH mechanisms, in announcement order (smtp.md §7). */
#define SMTP_SESSION_NMECHS 7

/** What the session waits for from another actor. */
enum smtp_wait {
	SW_NONE = 0,
	SW_HELO_DNS,    /* A/AAAA of the HELO name */
	SW_MAIL_DNS,    /* MX of the MAIL FROM domain */
	SW_AUTH_DELAY,  /* growing delay after failed AUTHs */
	SW_AUTH_CHECK,  /* password check off the I/O thread */
	SW_COMMIT,      /* queue add or mailbox delivery */
	SW_AUTHDNS,     /* a DNS answer for SPF, DKIM, DMARC or iprev */
	SW_DNSBL,       /* a DNSBL zone's health check or the client's listing (RCPT) */
	SW_LOCALSERVE,  /* localserve `timeout` special localpart: LocalserveTimeout on t_wait */
};

struct smtp_session {
	struct actor a;
	const struct smtp_endpoint *ep;
	struct netaddr peer;
	uint16_t peer_port;
	char peer_str[NETADDR_STRLEN];
	bool relay_client;
	bool counted;          /* counted in connlimit */
	char rid[17];          /* receivedid */
	struct netconn nc;
	struct smtp_server *eng;
	struct smtp_server_cfg cfg;
	const char *mechs[SMTP_SESSION_NMECHS];
	bool closing, tls_pending, stopping, greeted;
	bool out_blocked;      /* not reading until the replies drain (SMTP_SESSION_OUT_MAX) */
	enum smtp_wait wait;
	uint64_t req;          /* req_id of the outstanding request */
	struct timer t_io;     /* idle / line / data / TLS deadlines */
	struct timer t_wait;   /* AUTH delay, shutdown grace */
	int64_t line_start_ms, data_start_ms, last_in_ms;
	bool in_line, in_data;
	/* AUTH */
	struct sasl_server *sasl;
	char *auth_user;       /* login address being authenticated */
	char *account;         /* authenticated account (or RelayAccount when relaying) */
	bool auth_delayed;     /* the growing AUTH delay has been served */
	int auth_mech;         /* enum sasl_mech of the exchange under way (metrics), -1: none */
	struct smtp_mailauth *ma; /* SPF/DKIM/DMARC/iprev state (MX) */
	struct smtp_dnsbl *bl;    /* DNSBL check of the client (MX, RCPT); NULL until needed */
	struct smtp_mx *mx;       /* MX end of data while its commit is out (smtp_session_mx.c) */
	/* localserve: the reply due when the LocalserveTimeout wait ends */
	int ls_code;
	char ls_text[LOCALSERVE_SPECIAL_TEXT_MAX];
	bool auth_response_due; /* a 334 went out: the next line is credentials (trace logs) */
	/* message */
	struct buf data;
	uint64_t data_id;
	int64_t t_accept_ms;
	uint64_t msgs;
};

/** Sends the engine's pending output. */
void smtp_session_flush(struct smtp_session *s);
/** Runs the engine until it waits for input or for an asynchronous answer. */
void smtp_session_drive(struct smtp_session *s);
/** Starts an asynchronous wait: returns the req_id to put in the request. */
uint64_t smtp_session_wait(struct smtp_session *s, enum smtp_wait w);
/** Whether a reply with req_id is the one awaited (and ends the wait). */
bool smtp_session_wait_done(struct smtp_session *s, enum smtp_wait w, uint64_t req_id);

/* smtp_session_policy.c: HELO, MAIL, RCPT asks. Each answers the engine now or starts a wait. */
void smtp_session_helo(struct smtp_session *s);
void smtp_session_mail(struct smtp_session *s);
void smtp_session_rcpt(struct smtp_session *s);
/* Reply handlers for the DNS answers of the policy (registered in the actor kind). */
void smtp_session_on_addr(struct actor *self, const struct msg *m, const void *p);
void smtp_session_on_mx(struct actor *self, const struct msg *m, const void *p);
/** Whether DataDir has the free-space reserve for new mail (1.5 × max message size). */
bool smtp_session_disk_ok(const struct smtp_session *s);

/* smtp_session_auth.c */
void smtp_session_auth(struct smtp_session *s);
void smtp_session_auth_abort(struct smtp_session *s);
void smtp_session_on_authcheck(struct actor *self, const struct msg *m, const void *p);
void smtp_session_auth_free(struct smtp_session *s);
/** Starts the shared auth checker (bcrypt runs there); call once at server start. */
void smtp_session_auth_init(void);

/* smtp_session_metrics.c: tern_smtpserver_*, tern_authentication_* (reporting.md §8) and
 * tern_smtp_* series. Label values: docs/operations.md. */
/** MX messages at the end of data (tern_smtpserver_delivery_total{result,reason}). */
enum smtp_mx_result {
	SMTP_MX_OK, SMTP_MX_PARTIAL,                         /* result="accept" */
	SMTP_MX_DMARC, SMTP_MX_RATELIMIT, SMTP_MX_QUOTA,    /* result="reject" ... */
	SMTP_MX_RECIPIENT, SMTP_MX_MIXED, SMTP_MX_STORAGE,
	SMTP_MX_COMMIT,                                      /* result="error" */
	SMTP_MX_NRESULTS,
};
/** Submitted messages (tern_smtpserver_submission_total{result}). */
enum smtp_sub_result {
	SMTP_SUB_OK, SMTP_SUB_BADMESSAGE, SMTP_SUB_BADFROM, SMTP_SUB_DISABLED, SMTP_SUB_SENDLIMIT,
	SMTP_SUB_FROMID, SMTP_SUB_DKIMSIGN, SMTP_SUB_STORAGE, SMTP_SUB_QUEUE, SMTP_SUB_COMMIT,
	SMTP_SUB_NRESULTS,
};
/** Server-side failures (tern_smtpserver_errors_total{error}). */
enum smtp_err { SMTP_ERR_DKIMSIGN, SMTP_ERR_QUEUEDSN, SMTP_ERR_COMMIT, SMTP_ERR_N };
/** Failed MX STARTTLS handshakes (tern_smtpserver_delivery_starttls_errors_total{reason}). */
enum smtp_tlserr { SMTP_TLSERR_EOF, SMTP_TLSERR_TIMEOUT, SMTP_TLSERR_PROTOCOL, SMTP_TLSERR_OTHER, SMTP_TLSERR_N };
/** Outcomes of an AUTH exchange (tern_authentication_total{result}). */
enum smtp_auth_result {
	SMTP_AUTH_OK, SMTP_AUTH_BADCREDS, SMTP_AUTH_DISABLED, SMTP_AUTH_MALFORMED, SMTP_AUTH_ABORTED,
	SMTP_AUTH_ERROR, SMTP_AUTH_NRESULTS,
};

/** The fixed series; valid after smtp_session_metrics_init(), updated with metric_add. */
struct smtp_session_metrics {
	struct metric *connections[3];           /* by enum smtp_service */
	struct metric *refused[2];               /* CONNLIMIT_TOO_MANY, CONNLIMIT_TOO_FAST */
	struct metric *mx[SMTP_MX_NRESULTS];
	struct metric *sub[SMTP_SUB_NRESULTS];
	struct metric *errors[SMTP_ERR_N];
	struct metric *starttls;
	struct metric *starttls_errors[SMTP_TLSERR_N];
	struct metric *auth_ratelimited;
	struct metric *relay[2];                 /* accepted, denied */
	struct metric *bytes_in, *bytes_out, *sessions;
	struct metric *replies[4];               /* 2xx .. 5xx */
};
extern struct smtp_session_metrics smtp_session_metrics;

/** Registers every series once (thread-safe; the first session spawn calls it). */
void smtp_session_metrics_init(void);
/** The engine's command observer (cfg.cmd_cb); ctx is the session. */
void smtp_session_metrics_cmd_cb(void *ctx, const struct smtp_server_cmd_end *e);
/** One AUTH exchange ended: mech is an enum sasl_mech. */
void smtp_session_metrics_auth(int mech, enum smtp_auth_result r);
/** Counts the replies in engine output (which starts at a line start) by class. */
void smtp_session_metrics_count_replies(struct slice out);

/* smtp_session_trace.c */
/** Logs client input at LOG_TRACE, credentials only at LOG_TRACEAUTH and message data only
 * at LOG_TRACEDATA (shown as placeholders below). */
void smtp_session_trace_input(struct smtp_session *s, struct slice in);

/* smtp_session_data.c: end of data, submission (queue), and what MX shares with it. */
void smtp_session_message(struct smtp_session *s);
void smtp_session_on_queued(struct actor *self, const struct msg *m, const void *p);
/** Puts data into b as message data data_id with refs references. */
void smtp_session_put_data(struct store_batch *b, uint64_t data_id, struct slice data, int32_t refs);
/** Appends the Received header (smtp.md §15); rcpt NULL leaves out `for`. */
void smtp_session_received(struct smtp_session *s, bool mx, const char *rcpt, bool requiretls, struct buf *out);
/** `localpart@domain` of a path, re-quoted ("" for <>); the caller frees it. */
char *smtp_session_addr_str(const struct smtp_addr *a);
/** The reply for a failed commit (code from the store: -ENOSPC gives 452 4.3.1). */
void smtp_session_commit_failed(struct smtp_session *s, int code);
/** NOTIFY flags as stored ("" for none, else e.g. "SUCCESS,FAILURE"); the caller frees it. */
char *smtp_session_notify_str(unsigned notify);

/* smtp_session_mx.c: MX end of data (smtp.md §14): per-recipient delivery, limits,
 * quota, the multiple-errors reply and DSNs about the incoming message. */
void smtp_session_mx_message(struct smtp_session *s);
void smtp_session_on_delivered(struct actor *self, const struct msg *m, const void *p);
void smtp_session_mx_free(struct smtp_session *s);

/* smtp_session_mxdsn.c: the `delivered` and failure DSNs of an MX transaction (§9, §14). */
struct smtp_mx_dsn_rcpt {
	size_t rcpt;         /* index in the transaction's recipients */
	int code;            /* failure code, 0 for a delivered recipient */
	const char *text;    /* "x.y.z words" of the failure, NULL for a delivered one */
};
/** Adds to *q (created when NULL) the queue record of one DSN of kind (DSN_DELIVERED or
 * DSN_FAILED) to the MAIL FROM address about the message in s->data (prefix: the headers
 * Tern added), covering the n recipients rs whose NOTIFY asks for it; the DSN data goes
 * into b. Returns whether a DSN was made (none for a null reverse path or when no
 * recipient asked). */
bool smtp_session_mx_dsn(struct smtp_session *s, int kind, const struct smtp_mx_dsn_rcpt *rs, size_t n,
                         struct slice prefix, struct store_batch *b, struct queue_add **q);

/* smtp_session_dnsbl.c: SMTP.DNSBLs at RCPT (smtp.md §4, reporting.md §7). */
/** Checks the client against the listener's zones (once per connection; each zone's
 * health at most every SMTP_DNSBL_HEALTH_MS per process), then calls done(s, zone):
 * zone is the first healthy zone that lists the client, or NULL. May call done at once. */
void smtp_session_dnsbl_check(struct smtp_session *s, void (*done)(struct smtp_session *s, const char *zone));
void smtp_session_on_dnsbl(struct smtp_session *s, const struct msg *m, const void *p);
void smtp_session_dnsbl_free(struct smtp_session *s);

/* smtp_session_localserve.c: localserve's special localparts and mock DNS (localserve.md). */
/** MAIL (any listener): whether MAIL FROM is a special localpart at MAIL; then answered. */
bool smtp_session_localserve_mail(struct smtp_session *s);
/** RCPT (any listener): whether the recipient is special at RCPT; then answered. */
bool smtp_session_localserve_rcpt(struct smtp_session *s);
/** End of data: whether a recipient is special at the end of data (MX: the first one;
 * submission: any); then answered and the message dropped. */
bool smtp_session_localserve_data(struct smtp_session *s);
/** The LocalserveTimeout wait ended: sends the timeout reply. */
void smtp_session_localserve_timeout(struct smtp_session *s);
/** Answers the mail-auth engines' question q from the mock DNS (synchronously). */
void smtp_session_localserve_dns(struct smtp_session *s, const struct mailauth_dns_query *q);

/* smtp_session_mailauth.c (MX): SPF at MAIL, DKIM/DMARC/iprev at the end of data. Each start
 * function runs its DNS questions through the resolver and calls done(s) when finished. */
void smtp_session_spf_start(struct smtp_session *s, void (*done)(struct smtp_session *s));
void smtp_session_verify_start(struct smtp_session *s, void (*done)(struct smtp_session *s));
void smtp_session_on_authdns(struct smtp_session *s, const struct msg *m, const void *p);
void smtp_session_on_authdns_answer(struct smtp_session *s, const struct mailauth_dns_answer *a);
void smtp_session_mailauth_reset(struct smtp_session *s);
/** Whether SPF passed for the current transaction. */
bool smtp_session_spf_pass(const struct smtp_session *s);
/** Appends the Authentication-Results field for the message. */
void smtp_session_authres(struct smtp_session *s, struct buf *out);
/** DMARC disposition for a failing message: 0 none, 1 quarantine, 2 reject. */
int smtp_session_dmarc_disposition(const struct smtp_session *s);
/** The verified reverse name of the client (iprev pass), or NULL. */
const char *smtp_session_ptr_name(const struct smtp_session *s);

#endif
