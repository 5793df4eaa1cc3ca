/* Delivery status notifications (RFC 3464, RFC 6533): the complete
 * multipart/report message Tern writes about outgoing mail (queue.md §5) and
 * about incoming mail that failed after the data was accepted (smtp.md §14).
 *
 * Pure composition: the caller gathers the facts from queue records and
 * delivery results, this module only writes bytes (CRLF line endings, never a
 * bare CR or LF). See docs/dsn.md for an example. */
#ifndef TERN_PROTO_DSN_H
#define TERN_PROTO_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** RET=FULL returns the whole original only up to this size (badinput.md #83). */
#define DSN_FULL_MAX ((uint64_t)100 * 1024)
/** Octets kept of one remote reply line, and of Tern's error text, so that
 *  every header line stays under the 998-octet limit of RFC 5322. */
#define DSN_LINE_MAX 900
/** Reply lines kept (the SMTP client already stops at 100). */
#define DSN_REPLY_LINES_MAX 100

enum dsn_kind {
	DSN_FAILED,    /**< Action failed; Subject "mail delivery failed" (MX: "mail delivery failure") */
	DSN_DELAYED,   /**< Action delayed; Subject "mail delivery delayed" */
	DSN_RELAYED,   /**< Action relayed; Subject "mail delivery report" */
	DSN_DELIVERED, /**< Action delivered (MX local delivery, NOTIFY=SUCCESS); "mail delivery report" */
};

/** One recipient block. Strings are borrowed; NULL means absent. */
struct dsn_rcpt {
	/** Final recipient, `localpart@domain` (UTF-8 allowed). */
	const char *recipient;
	/** ORCPT as stored: `<addr-type>;<decoded address>`; xtext-encoded on output. */
	const char *orcpt;
	/** SMTP code of the result (remote or Tern's own), 0 when there is none:
	 *  then the Status class follows the kind (5 failed, 4 delayed, 2 otherwise). */
	int code;
	/** Enhanced code without the class, e.g. "1.1"; NULL gives "0.0". */
	const char *secode;
	/** Tern's error text: the Status comment and the text part's error block. */
	const char *error;
	/** Remote-MTA host name and IP; both NULL when no remote was reached. */
	const char *remote_host;
	const char *remote_ip;
	/** Every line of the remote's reply, code and enhanced code included, without
	 *  line endings (as received; cleaned here). nreply 0: no reply. */
	const struct slice *reply;
	size_t nreply;
	/** Unix ms of the last attempt, 0 to leave Last-Attempt-Date out. */
	int64_t last_attempt_ms;
};

/** The incoming-mail variant of smtp.md §14 (MX failure or delivered DSN). */
struct dsn_mx {
	const char *rcpt_domain; /**< From: postmaster@<rcpt_domain> */
	const char *client_ehlo; /**< Received-From-MTA: dns; <client_ehlo> ([<client_ip>]) */
	const char *client_ip;
};

/** Everything a DSN says. Borrowed for the duration of the call. */
struct dsn_msg {
	enum dsn_kind kind;
	const char *hostname;        /**< Tern's Hostname: Reporting-MTA, From, Message-Id */
	int64_t now_ms;              /**< Date, and "now" for the remaining schedule */
	const char *mail_from;       /**< original MAIL FROM; "" or NULL for <> (To: postmaster@hostname) */
	const char *message_id;      /**< original Message-ID with <>, for References; NULL if unknown */
	int64_t arrival_ms;          /**< Queued: Arrival-Date */
	const char *envid;           /**< decoded ENVID, NULL if none */
	bool ret_full;               /**< RET=FULL */
	bool smtputf8;               /**< the original used SMTPUTF8 */
	bool requiretls;             /**< the original used REQUIRETLS: never the full message */
	const char *future_release;  /**< FutureReleaseRequest (`for;<s>`/`until;<t>`), or NULL */
	/** The original message: all of it, or at least its header section. */
	struct slice original;
	/** Size of the whole original; 0 means original.len. */
	uint64_t original_size;
	/** DSN_DELAYED: Unix ms of each remaining attempt, ascending. The last one
	 *  is Will-Retry-Until. */
	const int64_t *next_attempts_ms;
	size_t nnext;
	const struct dsn_rcpt *rcpts; /**< at least one */
	size_t nrcpts;
	const struct dsn_mx *mx;      /**< non-NULL for the incoming-mail variant */
	/** Tests only: fixed Message-Id (with <>) and boundary; NULL: random. */
	const char *dsn_message_id;
	const char *boundary;
};

/**
 * Appends the complete DSN message to out. utf8 selects the RFC 6533 variant
 * (message/global-delivery-status, utf-8 address type, message/global-headers
 * or message/global) for a next hop or mailbox that takes SMTPUTF8; without it
 * the DSN's header fields and part 2 are ASCII (non-ASCII in them becomes '?',
 * a non-ASCII recipient uses utf-8-addr-xtext, and UTF-8 headers of the
 * original go base64 in text/rfc822-headers, even with RET=FULL). Part 1 is
 * UTF-8 in both variants when m->smtputf8. The action of every recipient
 * block follows m->kind. Returns 0, or -1 when m has no recipients or no
 * hostname (nothing appended).
 */
int dsn_compose(const struct dsn_msg *m, bool utf8, struct buf *out);

/**
 * Whether a UTF-8 variant is needed besides the ASCII one: the original used
 * SMTPUTF8, or an address in the DSN is not ASCII.
 */
bool dsn_needs_utf8(const struct dsn_msg *m);

/**
 * Appends the ASCII variant to ascii and, when dsn_needs_utf8(m), the UTF-8
 * variant to utf8 (queue record DSNUTF8); else leaves utf8 untouched. Both get
 * the same Message-Id and boundary. Returns 0 or -1 as dsn_compose.
 */
int dsn_compose_pair(const struct dsn_msg *m, struct buf *ascii, struct buf *utf8);

/* ---- parts, also used by tests ---- */

/**
 * Appends the human-readable part 1 text (queue.md §5 templates) with CRLF
 * line endings. Non-ASCII is kept (valid UTF-8 only) when m->smtputf8, else
 * replaced by '?'.
 */
void dsn_text(const struct dsn_msg *m, struct buf *out);

/** Appends the content of part 2 (per-message and per-recipient fields). */
void dsn_status(const struct dsn_msg *m, bool utf8, struct buf *out);

/**
 * Appends a duration like `1h58m`, `2h`, `7m30s` or `45s`: rounded to the
 * minute from 10 minutes up, to the second below; negative counts as 0.
 */
void dsn_duration(int64_t ms, struct buf *out);

/**
 * Appends at most max octets of s for a header or text line: controls and
 * DEL become '?', and so does non-ASCII unless utf8 (then invalid UTF-8 does).
 * Never splits a UTF-8 sequence.
 */
void dsn_put_clean(struct buf *out, struct slice s, bool utf8, size_t max);

#endif
