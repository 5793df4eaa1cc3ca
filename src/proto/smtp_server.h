/* SMTP server protocol engine (smtp.md; badinput.md A-F): a pure state machine.
 *
 * The engine does no I/O and makes no policy decisions that need lookups. An
 * actor owns the socket and TLS, and drives the engine like this:
 *
 *   s = smtp_server_new(&cfg);
 *   (optionally read for a moment and smtp_server_feed() what arrived)
 *   smtp_server_greet(s);                       220, or 554 if the client talked first
 *   loop:
 *     ev = smtp_server_step(s);
 *     send smtp_server_output(s) whenever it is non-empty and ev is not an ask
 *     (it may also send before answering an ask that takes time), then
 *     smtp_server_output_consume();
 *     switch (ev):
 *       NEED_INPUT:  read plaintext, smtp_server_feed(), continue
 *       HELO:        (MX HELO: NXDOMAIN check) smtp_server_accept() or smtp_server_reply()
 *       MAIL:        policy on smtp_server_txn()->from/params: accept() or reply()
 *       RCPT:        lookups on smtp_server_pending_rcpt(): accept() or reply()
 *       AUTH:        run the mechanism on smtp_server_auth_req(): auth_challenge(),
 *                    auth_success() or reply()
 *       AUTH_ABORTED: the client ended the exchange (the engine replied); free mechanism state
 *       MESSAGE:     smtp_server_take_message(), commit, then accept() (250 queued/delivered),
 *                    reply() or reply_lines()
 *       DATA_FAILED: the engine rejected the data; drop what smtp_server_data_take() gave you
 *       STARTTLS:    flush output, handshake, smtp_server_tls_started() (or close on failure)
 *       CLOSE:       flush output, close the connection, smtp_server_free()
 *
 * Every answer is followed by another smtp_server_step(). Calling step while an
 * ask is unanswered is a programming error (panic). Replies are batched in the
 * output buffer: pipelined commands get their replies in one write, flushed
 * when the engine runs out of input (NEED_INPUT).
 *
 * Engine-decided replies: syntax, command order (503), EHLO text, limits, the
 * synchronisation errors, line length, UTF-8/NUL in commands, error counters and
 * their closing replies, RCPT maximum, MX null-sender and IP-literal rules,
 * duplicate recipients, content checks at the end of data, parameter rules
 * (REQUIRETLS, HOLDFOR, HOLDUNTIL, DSN), AUTH framing, STARTTLS. Actor-decided:
 * everything that needs DNS, configuration lookups, credentials or storage
 * (docs/smtp.md has the full table). Error replies get " (<receivedid>)". */
#ifndef TERN_PROTO_SMTP_SERVER_H
#define TERN_PROTO_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/smtp_addr.h"
#include "proto/smtp_params.h"

/** Defaults of the limits (smtp.md §11); a 0 in the config selects them. */
#define SMTP_SERVER_MAX_MESSAGE_SIZE (100ull * 1024 * 1024)
#define SMTP_SERVER_RCPT_MAX 1000
#define SMTP_SERVER_RCPT_EXCESS_FREE 1000
#define SMTP_SERVER_LINE_MAX 2048
#define SMTP_SERVER_AUTH_LINE_MAX 12288
#define SMTP_SERVER_ERROR_MAX 20
#define SMTP_SERVER_BAD_TXN_MAX 10
#define SMTP_SERVER_NOMAIL_MAX 100
/** Advice: stop reading while this much unprocessed input is buffered. */
#define SMTP_SERVER_IN_SOFT_MAX (256 * 1024)

/** Listener kinds. */
enum smtp_server_kind { SMTP_SERVER_MX = 0, SMTP_SERVER_SUBMISSION };

/** Commands as the command observer names them (smtp_server_verb_name: "mail", ...). */
enum smtp_server_verb {
	SMTP_VERB_OTHER = 0, /**< unknown verb, or a line that is no command (bad syntax, too long) */
	SMTP_VERB_EHLO, SMTP_VERB_HELO, SMTP_VERB_MAIL, SMTP_VERB_RCPT, SMTP_VERB_DATA, SMTP_VERB_BDAT,
	SMTP_VERB_RSET, SMTP_VERB_NOOP, SMTP_VERB_HELP, SMTP_VERB_VRFY, SMTP_VERB_EXPN, SMTP_VERB_QUIT,
	SMTP_VERB_STARTTLS, SMTP_VERB_AUTH,
	SMTP_VERB_N,
};

/** One command as it ended: its verb, its final reply's code and enhanced code, and the
 *  time from reading its line to queueing that reply (asks answered later included). */
struct smtp_server_cmd_end {
	enum smtp_server_verb verb;
	int code;
	int ecode[3];  /**< class, subject, detail of the enhanced code; {0,0,0} when none */
	int64_t ns;
};

/** Per-connection configuration. Strings are borrowed and must outlive the engine. */
struct smtp_server_cfg {
	enum smtp_server_kind kind;
	const char *hostname;     /**< listener hostname (greeting, EHLO, HELO reply) */
	const char *receivedid;   /**< 16-char base64url connection id for replies */
	uint64_t max_message_size; /**< SMTPMaxMessageSize (0: 100 MiB) */
	size_t rcpt_max;          /**< RecipientsPerTransaction (0: 1000) */
	size_t rcpt_excess_free;  /**< excess RCPTs not counted as errors (0: 1000) */
	size_t line_max;          /**< command line incl. CRLF (0: 2048) */
	size_t auth_line_max;     /**< AUTH response line incl. CRLF (0: 12288) */
	unsigned error_max;       /**< 4xx/5xx replies before 421 (0: 20) */
	unsigned bad_txn_max;     /**< failed transactions with no good one before 550 (0: 10) */
	unsigned nomail_max;      /**< NOOP/RSET/HELP/VRFY/EXPN without a completed message (0: 100) */
	uint64_t header_max;      /**< header section octets (0: 1 MiB) */
	unsigned hops_max;        /**< Received headers accepted (0: 49) */
	bool tls_active;          /**< the connection starts on TLS (implicit TLS, 465) */
	bool starttls_offered;    /**< offer STARTTLS while not on TLS (TLS configured, not NoSTARTTLS) */
	bool no_requiretls;       /**< MX: SMTP.NoRequireTLS (REQUIRETLS never announced) */
	bool no_require_starttls; /**< submission: NoRequireSTARTTLS (AUTH/MAIL without TLS) */
	const char *const *auth_mechs; /**< submission: mechanisms in announcement order */
	size_t n_auth_mechs;
	bool relay_client;        /**< submission: client is in RelayNetworks (MAIL without AUTH) */
	/** Wall clock in Unix ms for HOLDUNTIL and FUTURERELEASE (NULL: clock_wall_ms). */
	int64_t (*now_cb)(void *ctx);
	void *now_ctx;
	/** Optional command observer (metrics): called once per command when its final
	 *  reply is queued. Intermediate replies (334, 354) do not end a command: an AUTH
	 *  exchange ends with its 235/5xx, DATA with the reply after the data. Replies that
	 *  answer no command (greeting, a closing 421 after a reply, a timeout while idle)
	 *  are not reported. Runs inside engine calls; must not call into the engine. */
	void (*cmd_cb)(void *ctx, const struct smtp_server_cmd_end *e);
	void *cmd_ctx;
};

/** What smtp_server_step() reports. */
enum smtp_server_event {
	SMTP_SERVER_NEED_INPUT = 0, /**< flush output, then feed more input */
	SMTP_SERVER_HELO,           /**< ask: HELO/EHLO name in smtp_server_helo_pending() */
	SMTP_SERVER_MAIL,           /**< ask: MAIL path/params in smtp_server_txn() */
	SMTP_SERVER_RCPT,           /**< ask: recipient in smtp_server_pending_rcpt() */
	SMTP_SERVER_AUTH,           /**< ask: SASL step in smtp_server_auth_req() */
	SMTP_SERVER_AUTH_ABORTED,   /**< info: client aborted / bad base64 / line too long */
	SMTP_SERVER_MESSAGE,        /**< ask: complete message passed the content checks */
	SMTP_SERVER_DATA_FAILED,    /**< info: data rejected after smtp_server_data_take() was used */
	SMTP_SERVER_STARTTLS,       /**< 220 queued, plaintext discarded: flush and handshake */
	SMTP_SERVER_CLOSE,          /**< flush output and close */
};

/** A recipient: the address and its DSN parameters (owned by the engine). */
struct smtp_server_rcpt {
	struct smtp_addr addr;
	struct smtp_rcpt_params params;
};

/** The current transaction (owned by the engine, read-only for the actor). */
struct smtp_server_txn {
	bool mail;                      /**< MAIL was accepted */
	struct smtp_addr from;          /**< reverse path (valid during the MAIL ask too) */
	struct smtp_mail_params params; /**< SIZE, BODY, SMTPUTF8, REQUIRETLS, RET, ENVID, HOLD* */
	struct smtp_server_rcpt *rcpts; /**< unique accepted recipients, in order */
	size_t nrcpt;
	size_t rcpt_cap;
	size_t accepted;                /**< accepted RCPT commands, duplicates included */
	size_t excess;                  /**< RCPTs refused for the recipient limit */
	bool bdat;                      /**< BDAT was used */
	bool failed;                    /**< a BDAT chunk failed: discard until LAST or RSET */
	int fail_code;
	const char *fail_text;
};

/** An AUTH step for the actor. */
struct smtp_server_auth_req {
	const char *mech;    /**< mechanism, upper case as announced */
	unsigned step;       /**< 0 for the AUTH command, then 1, 2, ... per client response */
	bool has_data;       /**< step 0: an initial response was given ("=" gives empty data) */
	struct slice data;   /**< decoded response; valid until the answer */
};

struct smtp_server;

/** Creates an engine in the pre-greeting state. cfg is copied (its strings are
 *  borrowed). The caller frees with smtp_server_free(). */
struct smtp_server *smtp_server_new(const struct smtp_server_cfg *cfg);
/** Frees the engine, its buffers and the transaction. */
void smtp_server_free(struct smtp_server *s);

/** Queues the 220 greeting, or `554 5.5.0 protocol synchronization error` and
 *  a close if input was fed before the greeting. */
void smtp_server_greet(struct smtp_server *s);

/** Appends n octets of client plaintext. Ignored after close and between
 *  STARTTLS and smtp_server_tls_started(). Returns the unprocessed input
 *  buffered (see SMTP_SERVER_IN_SOFT_MAX). */
size_t smtp_server_feed(struct smtp_server *s, const void *p, size_t n);

/** Processes buffered input until an event; see the header comment. */
enum smtp_server_event smtp_server_step(struct smtp_server *s);

/** Replies waiting to be sent (owned by the engine). */
struct slice smtp_server_output(const struct smtp_server *s);
/** Drops the first n octets of output after the actor sent them. */
void smtp_server_output_consume(struct smtp_server *s, size_t n);

/** Answers HELO/MAIL/RCPT/MESSAGE positively (250 with the standard text;
 *  MESSAGE: `250 2.0.0 queued (<id>)` on submission, `delivered` on MX).
 *  Ignored after a close. */
void smtp_server_accept(struct smtp_server *s);
/** Answers the pending ask with "code text", text being "x.y.z words" (the
 *  engine adds the receivedid to 4xx/5xx). Error replies count toward the error
 *  limits; a 421 closes the connection. Non-printable text bytes become '?'. */
void smtp_server_reply(struct smtp_server *s, int code, const char *text);
/** Like smtp_server_reply() with a multi-line reply, one "x.y.z words" per line. */
void smtp_server_reply_lines(struct smtp_server *s, int code, const char *const *texts, size_t n);
/** Highest code smtp_server_reply_raw_code() takes. */
#define SMTP_SERVER_RAW_CODE_MAX 699
/** Like smtp_server_reply() but also for a code outside SMTP's classes (600..699):
 *  only for localserve's simulated failures (localserve.md §5, the `...600` special
 *  localpart), whose point is a reply the client cannot classify. Codes of 400 and
 *  up count as errors. Panics outside 200..SMTP_SERVER_RAW_CODE_MAX. */
void smtp_server_reply_raw_code(struct smtp_server *s, int code, const char *text);
/** AUTH: sends `334 <base64 of p[0..n)>` and waits for the client's response. */
void smtp_server_auth_challenge(struct smtp_server *s, const void *p, size_t n);
/** AUTH: `235 2.7.0 authentication successful`; the session is authenticated. */
void smtp_server_auth_success(struct smtp_server *s);

/** STARTTLS handshake done: the session is on TLS and EHLO, AUTH and the
 *  transaction are forgotten. */
void smtp_server_tls_started(struct smtp_server *s);
/** Idle or data timeout: `421 4.4.2 timeout`, transaction aborted, close. */
void smtp_server_timeout(struct smtp_server *s);
/** Server shutdown: closes at once with `421 4.3.2 service shutting down` when
 *  no transaction is open (returns true); otherwise after the transaction ends. */
bool smtp_server_shutdown(struct smtp_server *s);
/** Any closing reply decided by the actor (e.g. 421 connection limits, or an
 *  aborted transfer at shutdown): "code text" with receivedid, then close. */
void smtp_server_close_with(struct smtp_server *s, int code, const char *text);

/** MESSAGE: moves the message data (what was not yet taken) into out. */
void smtp_server_take_message(struct smtp_server *s, struct buf *out);
/** While DATA/BDAT is being read: moves the data received so far into out, so
 *  the actor can spool large messages (content checks keep running). */
void smtp_server_data_take(struct smtp_server *s, struct buf *out);

/** Lower-case name of a verb ("other" for SMTP_VERB_OTHER); static. */
const char *smtp_server_verb_name(enum smtp_server_verb v);

/** The pending HELO/EHLO name during the HELO ask. */
const char *smtp_server_helo_pending(const struct smtp_server *s);
/** Whether the pending or accepted greeting command is EHLO. */
bool smtp_server_esmtp(const struct smtp_server *s);
/** Accepted HELO/EHLO name, or NULL. */
const char *smtp_server_ehlo_name(const struct smtp_server *s);
/** Whether the session is on TLS. */
bool smtp_server_tls(const struct smtp_server *s);
/** Whether AUTH succeeded in this session. */
bool smtp_server_authenticated(const struct smtp_server *s);
/** Failed AUTH exchanges in this connection (for the growing delay). */
unsigned smtp_server_auth_failures(const struct smtp_server *s);
/** Received-header protocol: SMTP/ESMTP/UTF8SMTP + "S" on TLS + "A" if authenticated. */
const char *smtp_server_protocol(const struct smtp_server *s);
/** The current transaction. */
const struct smtp_server_txn *smtp_server_txn(const struct smtp_server *s);
/** The recipient of the pending RCPT ask. */
const struct smtp_server_rcpt *smtp_server_pending_rcpt(const struct smtp_server *s);
/** The pending AUTH step. */
const struct smtp_server_auth_req *smtp_server_auth_req(const struct smtp_server *s);
/** Whether a command line has started but is not complete (5 min line timer). */
bool smtp_server_partial_line(const struct smtp_server *s);
/** Whether message data (DATA or BDAT) is being read (30 min data timer). */
bool smtp_server_in_data(const struct smtp_server *s);
/** Whether the engine has closed (after QUIT or a closing reply). */
bool smtp_server_closed(const struct smtp_server *s);

#endif
