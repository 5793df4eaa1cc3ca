/* Outbound SMTP client protocol engine: a pure state machine, no sockets, no actors.
 *
 * The delivery worker owns the connection (and TLS) and drives the engine:
 *
 *     c = smtp_client_new(&cfg);
 *     for (;;) {
 *         ev = smtp_client_step(c);
 *         write all of smtp_client_output(c), then smtp_client_output_consumed(c, n);
 *         switch (ev) {
 *         case SMTP_CLIENT_EV_SEND:       continue;                 // more to write
 *         case SMTP_CLIENT_EV_NEED_INPUT: read; smtp_client_feed(c, bytes) or
 *                                         smtp_client_io_error(c, "...")/smtp_client_timeout(c);
 *                                         continue;
 *         case SMTP_CLIENT_EV_STARTTLS:   discard own read buffer; handshake;
 *                                         smtp_client_tls_started(c, verified) or io_error;
 *         case SMTP_CLIENT_EV_READY:      smtp_client_begin(c, &txn) or smtp_client_quit(c);
 *         case SMTP_CLIENT_EV_TXN_DONE:   read txn.rcpts[i].result; smtp_client_txn_clear(&txn);
 *         case SMTP_CLIENT_EV_CLOSED:     smtp_client_error(c) says why (NULL: clean QUIT);
 *                                         close the socket; smtp_client_free(c); stop.
 *         }
 *     }
 *
 * Timeouts (queue.md §11.6): each SEND / NEED_INPUT starts or continues a wait whose
 * limit is smtp_client_timeout_ms(). A new wait has a new smtp_client_wait_seq(); the
 * actor re-arms its timer only when the sequence changes (so a server trickling one
 * byte a minute does not extend the wait) and calls smtp_client_timeout() on expiry.
 *
 * Reply discipline (badinput.md #53, #54): replies are matched to commands in order.
 * A reply that arrives before its command was handed out (by a SEND or NEED_INPUT
 * event), a spare reply, or garbage is a protocol error: the transaction fails
 * temporarily and the connection closes without QUIT and is never reused. A malformed
 * reply likewise. While the DATA body is being sent no reply is expected, so nothing
 * that arrives then can be taken for the end-of-data reply.
 *
 * Transactions (queue.md §9): one smtp_client_begin() may run several SMTP
 * transactions on the connection: recipients go in groups of at most RCPTMAX (the
 * server's LIMITS RCPTMAX and the configured cap), and a 452/552 for a recipient after
 * the first of a transaction puts it back for the next one, as long as the
 * transaction accepted someone. TXN_DONE comes once every recipient has a result.
 * With PIPELINING, [RSET,] MAIL, the RCPTs and DATA (or the BDAT chunks) go out in
 * one write; otherwise lock-step. RSET is sent first whenever the previous
 * transaction on the connection did not end with an end-of-data reply.
 *
 * HELO is not tried after a rejected EHLO: queue.md §11.3 moves to the next host on a
 * 5xx EHLO, and a server without EHLO could not take SIZE, 8BITMIME, DSN or
 * SMTPUTF8 parameters anyway. */
#ifndef TERN_PROTO_SMTP_CLIENT_H
#define TERN_PROTO_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/smtp_caps.h"
#include "proto/smtp_reply.h"

/** Wait limits, queue.md §11.6. */
#define SMTP_CLIENT_T_COMMAND_MS (5u * 60 * 1000)   /* greeting, EHLO, MAIL, RCPT, RSET, AUTH */
#define SMTP_CLIENT_T_STARTTLS_MS (5u * 60 * 1000)  /* STARTTLS reply */
#define SMTP_CLIENT_T_HANDSHAKE_MS (60u * 1000)     /* TLS handshake (the actor's) */
#define SMTP_CLIENT_T_DATA_MS (2u * 60 * 1000)      /* DATA -> 354 */
#define SMTP_CLIENT_T_BLOCK_MS (3u * 60 * 1000)     /* writing one data block; non-last BDAT reply */
#define SMTP_CLIENT_T_DOT_MS (10u * 60 * 1000)      /* end-of-data / BDAT LAST reply */
#define SMTP_CLIENT_T_QUIT_MS (30u * 1000)          /* QUIT reply */

/** Data is handed out in blocks of at most this many octets (one write each). */
#define SMTP_CLIENT_BLOCK_MAX (256u * 1024)
/** BDAT chunk size limit (queue.md §11.4). */
#define SMTP_CLIENT_BDAT_CHUNK_MAX (1024u * 1024)
/** Longest command line Tern sends, CRLF included; a longer MAIL/RCPT is refused. */
#define SMTP_CLIENT_CMD_MAX 4096
/** 334 round trips in one AUTH exchange before it is treated as a protocol error. */
#define SMTP_CLIENT_AUTH_STEPS_MAX 16
/** Longest base64 initial response put on the AUTH line (RFC 4954 §4 allows 12288
 * octets for the whole line); longer ones are sent after an empty 334. */
#define SMTP_CLIENT_AUTH_IR_MAX 8192

enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE,          /* plaintext, never STARTTLS */
	SMTP_CLIENT_TLS_OPPORTUNISTIC, /* STARTTLS when offered; plaintext if not offered or refused */
	SMTP_CLIENT_TLS_REQUIRED,      /* STARTTLS must be offered and accepted, else failure */
	SMTP_CLIENT_TLS_IMPLICIT,      /* the connection is already TLS (port 465) */
};

/** Return codes of smtp_client_auth_ops.step_cb. */
enum smtp_client_sasl {
	SMTP_CLIENT_SASL_OK = 0,     /* *out holds the next client message (may be empty) */
	SMTP_CLIENT_SASL_NO_IR = 1,  /* first step only: the mechanism sends no initial response */
	SMTP_CLIENT_SASL_FAIL = -1,  /* abort: the engine sends "*" and fails the session */
};

/** SASL mechanism plug-in (src/proto/sasl.h will provide one). The engine does the
 * SMTP framing (AUTH, 334, 235, 535, base64); the plug-in does the mechanism. */
struct smtp_client_auth_ops {
	/** Chooses a mechanism among those offered (upper case, server order). tls says
	 * whether TLS is active (PLUS variants need it). Returns a mechanism name that must
	 * stay valid for the session, or NULL when none is acceptable. */
	const char *(*choose_cb)(void *ctx, const char *const *offered, size_t n, bool tls);
	/** Appends the next raw (not base64) client message to *out. first: the initial
	 * response (challenge empty). Otherwise challenge is the decoded 334 text, borrowed
	 * for the call. Returns an enum smtp_client_sasl. */
	int (*step_cb)(void *ctx, bool first, struct slice challenge, struct buf *out);
	/** Optional: called on 235; returns 0 if the exchange is complete (e.g. SCRAM
	 * server signature verified), negative to fail the session anyway. */
	int (*finish_cb)(void *ctx);
};

/** What a reply answers, for the reply observer (smtp_client_cmd_name: "ehlo", ...).
 * SMTP_CLIENT_CMD_DOT is the reply after the message data of DATA. */
enum smtp_client_cmd {
	SMTP_CLIENT_CMD_GREETING, SMTP_CLIENT_CMD_EHLO, SMTP_CLIENT_CMD_STARTTLS, SMTP_CLIENT_CMD_AUTH,
	SMTP_CLIENT_CMD_RSET, SMTP_CLIENT_CMD_MAIL, SMTP_CLIENT_CMD_RCPT, SMTP_CLIENT_CMD_DATA,
	SMTP_CLIENT_CMD_DOT, SMTP_CLIENT_CMD_BDAT, SMTP_CLIENT_CMD_QUIT,
	SMTP_CLIENT_NCMDS,
};

/** Lower-case name of cmd ("greeting", "ehlo", ..., "dot", "bdat", "quit"); static. */
const char *smtp_client_cmd_name(enum smtp_client_cmd cmd);

/** Session configuration. Copied by smtp_client_new; auth_ctx is borrowed for the
 * engine's life. */
struct smtp_client_config {
	const char *ehlo_name;     /* required; no space, CR, LF or NUL */
	enum smtp_client_tls tls;
	bool implicit_verified;    /* TLS_IMPLICIT: the handshake verified the server */
	const struct smtp_client_auth_ops *auth; /* NULL: no AUTH */
	void *auth_ctx;
	uint32_t rcpt_max;         /* recipients per transaction, 0 = no local cap */
	/** Optional reply observer (metrics): called for each reply matched to its command,
	 * before the engine acts on it, with the time since the command was handed out in
	 * an event (the greeting: since smtp_client_new). Not called for replies that match
	 * no command (protocol errors). reply is borrowed for the call; the observer must
	 * not call into the engine. */
	void (*reply_cb)(void *ctx, enum smtp_client_cmd cmd, const struct smtp_reply *reply, int64_t ns);
	void *reply_ctx;
};

enum smtp_client_event {
	SMTP_CLIENT_EV_SEND,       /* write the output, then call step() again */
	SMTP_CLIENT_EV_NEED_INPUT, /* write the output, then read and feed server bytes */
	SMTP_CLIENT_EV_STARTTLS,   /* 220 to STARTTLS: handshake, then smtp_client_tls_started() */
	SMTP_CLIENT_EV_READY,      /* idle and usable: smtp_client_begin() / quit() */
	SMTP_CLIENT_EV_TXN_DONE,   /* every recipient of the transaction has a result */
	SMTP_CLIENT_EV_CLOSED,     /* session over: write remaining output, close */
};

/** Where a result or a session error comes from. */
enum smtp_client_stage {
	SMTP_CLIENT_STAGE_CONNECT, SMTP_CLIENT_STAGE_GREETING, SMTP_CLIENT_STAGE_EHLO,
	SMTP_CLIENT_STAGE_STARTTLS, SMTP_CLIENT_STAGE_AUTH, SMTP_CLIENT_STAGE_IDLE,
	SMTP_CLIENT_STAGE_RSET, SMTP_CLIENT_STAGE_MAIL, SMTP_CLIENT_STAGE_RCPT,
	SMTP_CLIENT_STAGE_DATA, SMTP_CLIENT_STAGE_DOT, SMTP_CLIENT_STAGE_QUIT,
};

/** What a result is. Local codes are given with each kind. */
enum smtp_client_err {
	SMTP_CLIENT_OK = 0,            /* delivered: reply is the end-of-data 2xx */
	SMTP_CLIENT_ERR_REPLY,         /* the remote reply in `reply` (code/ecode are its own) */
	SMTP_CLIENT_ERR_SIZE,          /* 554 5.3.4: message larger than the remote SIZE */
	SMTP_CLIENT_ERR_SMTPUTF8,      /* 554 5.6.7: remote lacks SMTPUTF8 (try the next host) */
	SMTP_CLIENT_ERR_REQUIRETLS,    /* 554 5.7.30: REQUIRETLS not offered or TLS not verified */
	SMTP_CLIENT_ERR_ARG,           /* 554 5.5.4: CR, LF or NUL in a command argument (#91) */
	SMTP_CLIENT_ERR_DATA,          /* 451 4.3.0: message data unreadable or has bare CR/LF */
	SMTP_CLIENT_ERR_TLS,           /* 451 4.7.0: TLS required but STARTTLS not offered/refused */
	SMTP_CLIENT_ERR_AUTH,          /* 451 4.7.0: no usable mechanism, or local SASL failure */
	SMTP_CLIENT_ERR_PROTOCOL,      /* 451 4.5.0: malformed or unexpected reply */
	SMTP_CLIENT_ERR_TIMEOUT,       /* 451 4.4.2: a wait expired */
	SMTP_CLIENT_ERR_IO,            /* 451 4.4.2: connection lost or I/O error */
};

/** Outcome for one recipient, or a session error. code/ecode are the remote reply's or
 * the local ones above; 4xx is temporary, 5xx permanent. The result owns `reply` (one
 * reference) and `text`; smtp_client_txn_clear() / the engine release them. */
struct smtp_client_result {
	enum smtp_client_err err;
	enum smtp_client_stage stage;
	int code;
	char ecode[SMTP_REPLY_ECODE_MAX];  /* "5.1.1" (with class digit) or "" */
	struct smtp_reply *reply;          /* the remote reply, full lines (Diagnostic-Code) */
	char *text;                        /* local description, NULL for pure remote results */
	bool data_sent;                    /* the end of data went out: a failure here may still
	                                      have been delivered (queue.md §11.6) */
};

/** One recipient of a transaction. Input fields are borrowed until TXN_DONE. */
struct smtp_client_rcpt {
	const char *addr;     /* "local@domain", no angle brackets */
	const char *notify;   /* DSN NOTIFY ("SUCCESS,FAILURE"), NULL/"" for none */
	const char *orcpt;    /* DSN ORCPT decoded, "<addr-type>;<address>", NULL/"" for none */
	struct smtp_client_result result; /* output */
};

/** Reads the shared message data: sets *out to bytes starting at `off` (off < size),
 * at least 1 and at most size - off of them, valid until the next call or TXN_DONE.
 * Returns 0, or negative on a read error (the transaction fails with ERR_DATA).
 * The same range may be asked for again (another transaction on the connection). */
typedef int (*smtp_client_read_cb)(void *ctx, uint64_t off, struct slice *out);

/** A transaction: the caller owns it and everything it points to; the engine borrows
 * it from smtp_client_begin() until TXN_DONE. */
struct smtp_client_txn {
	const char *mail_from;  /* "" for <> */
	struct smtp_client_rcpt *rcpts;
	size_t nrcpts;
	struct slice prefix;    /* per-record headers sent before the shared data */
	uint64_t data_size;     /* octets of shared data; SIZE= is prefix.len + data_size */
	smtp_client_read_cb read_cb;
	void *read_ctx;
	bool has8bit;           /* 8-bit data: BODY=8BITMIME when offered, else sent as is */
	bool smtputf8;          /* UTF-8 addresses (also implied by any 8-bit address byte) */
	bool requiretls;        /* MAIL REQUIRETLS; needs verified TLS and the extension */
	const char *ret;        /* DSN RET "FULL"/"HDRS", NULL/"" for none */
	const char *envid;      /* DSN ENVID decoded, NULL/"" for none */
	/* outputs */
	unsigned transactions;  /* MAIL commands sent for this txn */
};

struct smtp_client;

/** Creates an engine for a freshly connected socket (waiting for the greeting).
 * Returns NULL when cfg->ehlo_name is empty or holds a space, CR, LF or NUL. */
struct smtp_client *smtp_client_new(const struct smtp_client_config *cfg);
/** Frees the engine and any references it holds. The txn in progress, if any, keeps
 * the results written so far. */
void smtp_client_free(struct smtp_client *c);

/** Runs the engine on the input fed so far and returns what the actor must do next. */
enum smtp_client_event smtp_client_step(struct smtp_client *c);

/** Bytes received from the server (copied). Ignored after STARTTLS's 220 until
 * smtp_client_tls_started(), and after CLOSED. */
void smtp_client_feed(struct smtp_client *c, const void *p, size_t n);
/** Bytes the actor must write before acting on the last event; borrowed until the next
 * call into the engine. */
struct slice smtp_client_output(const struct smtp_client *c);
/** Marks n written output bytes as gone. */
void smtp_client_output_consumed(struct smtp_client *c, size_t n);

/** The current wait's limit in ms (queue.md §11.6), and its identity: a wait that
 * continues keeps its seq. */
uint32_t smtp_client_timeout_ms(const struct smtp_client *c);
uint64_t smtp_client_wait_seq(const struct smtp_client *c);
/** The current wait expired: temporary failure of the transaction in progress (never
 * a success, even after the data went out), then CLOSED. During QUIT: just CLOSED. */
void smtp_client_timeout(struct smtp_client *c);
/** EOF or an I/O error (desc is copied): like a timeout, with ERR_IO. */
void smtp_client_io_error(struct smtp_client *c, const char *desc);

/** After SMTP_CLIENT_EV_STARTTLS: the handshake succeeded; verified says whether the
 * server was verified (PKIX/DANE, as the policy asked). The engine re-sends EHLO and
 * forgets the capabilities from before TLS. */
void smtp_client_tls_started(struct smtp_client *c, bool verified);

/** Starts a transaction; only when idle (after READY or TXN_DONE without CLOSED),
 * panics otherwise. Results of txn must be clear (zeroed or smtp_client_txn_clear). */
void smtp_client_begin(struct smtp_client *c, struct smtp_client_txn *txn);
/** Sends RSET from idle and returns to READY (begin() does this on its own when
 * needed; this is for callers that want a clean state before parking). */
void smtp_client_rset(struct smtp_client *c);
/** Sends QUIT from idle; CLOSED follows the reply, EOF or the 30 s limit. */
void smtp_client_quit(struct smtp_client *c);

/** Whether the engine is idle and may take another transaction (no 421, protocol,
 * I/O or timeout error, not closing). */
bool smtp_client_reusable(const struct smtp_client *c);
/** The error that ended the session, or NULL (clean QUIT / still running). Borrowed. */
const struct smtp_client_result *smtp_client_error(const struct smtp_client *c);
/** The capabilities of the last EHLO (after TLS, those from after TLS). Borrowed. */
const struct smtp_caps *smtp_client_caps(const struct smtp_client *c);

/** TLS facts for TLSRPT and the recipient-domain TLS record (reporting.md §3). */
struct smtp_client_tls_info {
	bool starttls_offered;  /* the plaintext EHLO offered STARTTLS */
	bool starttls_refused;  /* the server answered STARTTLS with an error */
	bool active;            /* the session runs over TLS */
	bool verified;          /* ... and the server was verified */
	const char *auth_mech;  /* mechanism used, or NULL */
};
void smtp_client_tls_info(const struct smtp_client *c, struct smtp_client_tls_info *out);

/** Appends the MsgResult.Error text of a result: "remote: <summary>" for a remote
 * reply (smtp_reply_summary), else the local text; sanitised and capped. */
void smtp_client_result_text(const struct smtp_client_result *r, struct buf *out);
/** Releases every recipient result of txn and zeroes them (also txn->transactions). */
void smtp_client_txn_clear(struct smtp_client_txn *txn);

#endif
