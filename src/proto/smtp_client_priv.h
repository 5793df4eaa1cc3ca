/* Internals of the outbound SMTP client engine, shared by smtp_client*.c only.
 *
 * The engine is split by concern: smtp_client.c (events, input dispatch, waits,
 * failures), smtp_client_session.c (greeting, EHLO, STARTTLS, RSET),
 * smtp_client_result.c (results and their text), smtp_client_auth.c (AUTH
 * framing), smtp_client_txn.c (rounds of MAIL/RCPT/DATA and recipient results),
 * smtp_client_data.c (DATA and BDAT streaming), smtp_client_params.c (command
 * lines, xtext). */
#ifndef TERN_PROTO_SMTP_CLIENT_PRIV_H
#define TERN_PROTO_SMTP_CLIENT_PRIV_H

#include "proto/dotstuff.h"
#include "proto/smtp_client.h"

enum sc_state {
	SC_GREETING,  /* waiting for the 220 */
	SC_EHLO,      /* EHLO sent */
	SC_STARTTLS,  /* STARTTLS sent */
	SC_HANDSHAKE, /* 220 to STARTTLS seen; the actor does TLS */
	SC_AUTH,      /* AUTH exchange */
	SC_IDLE,      /* ready for a transaction */
	SC_RSET,      /* explicit smtp_client_rset() */
	SC_TXN,       /* transaction rounds */
	SC_QUIT,      /* QUIT sent */
	SC_CLOSED,
};

/* A command whose reply is awaited, in sending order (the public names of smtp_client.h). */
enum sc_kind {
	P_GREETING = SMTP_CLIENT_CMD_GREETING, P_EHLO = SMTP_CLIENT_CMD_EHLO, P_STARTTLS = SMTP_CLIENT_CMD_STARTTLS,
	P_AUTH = SMTP_CLIENT_CMD_AUTH, P_RSET = SMTP_CLIENT_CMD_RSET, P_MAIL = SMTP_CLIENT_CMD_MAIL,
	P_RCPT = SMTP_CLIENT_CMD_RCPT, P_DATA = SMTP_CLIENT_CMD_DATA, P_DOT = SMTP_CLIENT_CMD_DOT,
	P_BDAT = SMTP_CLIENT_CMD_BDAT, P_QUIT = SMTP_CLIENT_CMD_QUIT,
};

struct sc_pending {
	uint8_t kind;    /* enum sc_kind */
	bool sent;       /* handed to the actor: its reply may now arrive */
	bool last;       /* P_BDAT: the LAST chunk */
	size_t rcpt;     /* P_RCPT: index into txn->rcpts */
	uint64_t id;     /* identity for wait tracking */
	int64_t sent_ns; /* monotonic time it was handed out (with cfg.reply_cb) */
};

/* Per-recipient progress inside one smtp_client_begin(). */
enum sc_rstate { R_PENDING, R_ROUND, R_ACCEPTED, R_DEFERRED, R_DONE };

/* One SMTP transaction (MAIL ... end of data) of a begin(). */
struct sc_round {
	size_t first;       /* index of the round's first recipient */
	size_t next_rcpt;   /* lock-step: next recipient to send (index into txn) */
	size_t nround;      /* recipients in this round */
	size_t left;        /* lock-step: recipients of the round not yet sent */
	size_t accepted;
	bool mail_ok;
	bool failed;        /* a whole-transaction error is in `fail` */
	bool ignore_data;   /* nobody accepted: the data replies do not matter */
	bool bdat;
	bool streaming;     /* the body is being handed out */
	bool bdat_wait;     /* lock-step BDAT: waiting for a chunk's reply */
	bool stop;          /* pipelined BDAT: send no further chunk */
	bool dot_sent;      /* the end of data went out */
	uint64_t off;       /* message offset of the next byte to send */
	uint64_t total;     /* prefix + data */
	uint64_t chunk_left;
	bool chunk_last;
	struct dotstuff ds;
	struct smtp_client_result fail;
};

struct smtp_client {
	struct smtp_client_config cfg;
	char *ehlo_name;
	enum sc_state state;
	struct buf in, out;
	struct smtp_reply_parser parser;
	struct smtp_caps caps;
	struct sc_pending *pend;
	size_t npend, pend_head, pend_cap;
	uint64_t next_id;
	/* waits */
	uint32_t wait_ms;
	uint64_t wait_seq;
	uint64_t wait_for;   /* id of the pending entry the current wait is for; 0 = none */
	/* session */
	bool tls_active, tls_verified, starttls_offered, starttls_refused, starttls_tried;
	bool auth_done, auth_aborting;
	const char *auth_mech;
	unsigned auth_steps;
	struct buf auth_ir;  /* initial response waiting for an empty 334 */
	bool ev_starttls, ev_txn_done;
	enum smtp_client_event last_ev; /* what step() returned last */
	int cur_kind;        /* enum sc_kind whose reply is being handled, or -1 */
	bool need_rset;
	bool has_error;
	struct smtp_client_result error;
	/* transaction */
	struct smtp_client_txn *txn;
	bool txn_utf8;       /* the envelope needs SMTPUTF8 */
	uint8_t *rst;        /* enum sc_rstate per txn recipient */
	struct sc_round round;
};

/* smtp_client.c */
void smtp_client_push(struct smtp_client *c, enum sc_kind kind, size_t rcpt, bool last);
void smtp_client_cmd(struct smtp_client *c, enum sc_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends the session: settles an open transaction with r (copied), records r as the
 * session error, and closes (after a QUIT when quit is true). */
void smtp_client_fail(struct smtp_client *c, const struct smtp_client_result *r, bool quit);
/* Shorthand for a local failure result. */
void smtp_client_fail_local(struct smtp_client *c, enum smtp_client_err err,
                            enum smtp_client_stage stage, bool quit, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A failure carrying a remote reply (borrowed). */
void smtp_client_fail_reply(struct smtp_client *c, enum smtp_client_stage stage,
                            struct smtp_reply *r, bool quit);
/* Ends the session with a protocol error (temporary, no QUIT); reply may be NULL. */
void smtp_client_protocol_error(struct smtp_client *c, const char *why, struct smtp_reply *reply);
/* smtp_client_session.c: set-up replies, and what comes next after EHLO / STARTTLS /
 * AUTH (STARTTLS per the TLS mode, then AUTH, then idle). */
void smtp_client_session_next(struct smtp_client *c);
void smtp_client_session_ehlo_send(struct smtp_client *c);
void smtp_client_session_greeting(struct smtp_client *c, struct smtp_reply *r);
void smtp_client_session_ehlo_reply(struct smtp_client *c, struct smtp_reply *r);
void smtp_client_session_starttls(struct smtp_client *c, struct smtp_reply *r);
void smtp_client_session_rset(struct smtp_client *c, struct smtp_reply *r);

/* smtp_client_result.c */
const char *smtp_client_result_stage_name(enum smtp_client_stage st);
/* Fills a local result: code and ecode from the kind's table. */
void smtp_client_result_local(struct smtp_client_result *res, enum smtp_client_err err,
                              enum smtp_client_stage stage, char *text);
/* Copies src into dst (new reply reference, text duplicated). */
void smtp_client_result_copy(struct smtp_client_result *dst, const struct smtp_client_result *src);
void smtp_client_result_free(struct smtp_client_result *r);

/* smtp_client_auth.c */
void smtp_client_auth_start(struct smtp_client *c);
void smtp_client_auth_reply(struct smtp_client *c, struct smtp_reply *r);

/* smtp_client_txn.c */
void smtp_client_txn_reply(struct smtp_client *c, const struct sc_pending *p, struct smtp_reply *r);
/* Settles every unsettled recipient with res (copied) and ends the txn (TXN_DONE). */
void smtp_client_txn_abort(struct smtp_client *c, const struct smtp_client_result *res);
/* Called when a round may have finished (no reply pending, not streaming). */
void smtp_client_txn_round_check(struct smtp_client *c);

/* smtp_client_data.c */
/* Appends body bytes to c->out up to the block size; returns 0 or -1 (the session is
 * already failed then). */
int smtp_client_data_fill(struct smtp_client *c);
/* Starts streaming the body of the round (DATA after 354, or BDAT). */
void smtp_client_data_start(struct smtp_client *c, bool bdat);

/* smtp_client_params.c */
/* Whether s is free of CR, LF and NUL (s may be NULL). */
bool smtp_client_params_clean(const char *s);
/* Whether s holds a byte >= 0x80. */
bool smtp_client_params_8bit(const char *s);
/* Appends the MAIL FROM line; returns 0, or -1 when it would exceed SMTP_CLIENT_CMD_MAX. */
int smtp_client_params_mail(const struct smtp_client *c, const struct smtp_client_txn *t,
                            bool utf8, struct buf *out);
/* Appends one RCPT TO line; returns 0 or -1 as above. */
int smtp_client_params_rcpt(const struct smtp_client *c, const struct smtp_client_rcpt *r,
                            struct buf *out);
/* Checks a recipient's NOTIFY/ORCPT syntax and characters: NULL if fine, else why. */
const char *smtp_client_params_rcpt_bad(const struct smtp_client_rcpt *r);
/* Checks the MAIL-level arguments: NULL if fine, else why. */
const char *smtp_client_params_mail_bad(const struct smtp_client_txn *t);

#endif
