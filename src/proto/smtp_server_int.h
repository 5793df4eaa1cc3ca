/* Internals shared by smtp_server.c (engine core) and smtp_server_cmds.c
 * (command table and handlers). Not for use outside the engine and its tests. */
#ifndef TERN_PROTO_SMTP_SERVER_INT_H
#define TERN_PROTO_SMTP_SERVER_INT_H

#include "proto/smtp_data.h"
#include "proto/smtp_server.h"

/** Handlers return an event, or SMTP_SERVER_CONTINUE to keep reading commands. */
#define SMTP_SERVER_CONTINUE (-1)

/** Explicit engine states. */
enum smtp_server_state {
	SMTP_ST_GREETING = 0, /* before smtp_server_greet() */
	SMTP_ST_CMD,          /* reading command lines */
	SMTP_ST_DISCARD,      /* dropping the rest of a too-long line */
	SMTP_ST_ASK,          /* waiting for the actor's answer to s->ask */
	SMTP_ST_AUTH_LINE,    /* reading an AUTH response line */
	SMTP_ST_DATA,         /* reading DATA until CR LF . CR LF */
	SMTP_ST_BDAT,         /* reading a BDAT chunk */
	SMTP_ST_TLS,          /* STARTTLS sent, waiting for the handshake */
	SMTP_ST_CLOSED,
};

/** What happens to a BDAT chunk being read. */
enum smtp_server_bdat_mode {
	SMTP_BDAT_KEEP = 0,   /* into the message */
	SMTP_BDAT_REJECT,     /* discard, then the error in bdat_code/bdat_text (counted) */
	SMTP_BDAT_FAILED,     /* discard, transaction already failed: repeat its error */
};

struct smtp_server {
	struct smtp_server_cfg cfg;
	enum smtp_server_state state;
	enum smtp_server_event ask;      /* pending ask in SMTP_ST_ASK */
	struct buf in;                   /* client input; in.p[in_pos..in.len) unprocessed */
	size_t in_pos;
	struct buf out;                  /* replies not yet sent */
	bool early_talker;               /* input arrived before the greeting */
	/* session */
	bool helo;                       /* HELO or EHLO accepted */
	bool esmtp;                      /* it was EHLO */
	bool pending_esmtp;              /* the pending HELO ask is EHLO */
	char *ehlo_name;
	char *helo_pending;
	bool tls;
	bool authenticated;
	bool shutdown;                   /* close once no transaction is open */
	unsigned auth_failures;
	/* counters (smtp.md §11) */
	unsigned errors;
	unsigned bad_txn;
	unsigned good_txn;
	unsigned nomail;
	/* transaction */
	struct smtp_server_txn txn;
	struct smtp_server_rcpt rcpt_pending;
	struct smtp_data data;
	bool data_active;                /* s->data is initialised */
	bool data_taken;                 /* smtp_server_data_take() was used */
	bool discard_auth;               /* SMTP_ST_DISCARD ends an AUTH exchange */
	/* BDAT chunk being read */
	uint64_t bdat_left;
	uint64_t bdat_size;
	bool bdat_last;
	enum smtp_server_bdat_mode bdat_mode;
	int bdat_code;
	const char *bdat_text;
	/* AUTH */
	struct smtp_server_auth_req auth;
	char auth_mech[32];
	struct buf auth_data;
	/* the command whose final reply is due (cfg.cmd_cb) */
	bool cmd_open;
	enum smtp_server_verb cmd_verb;
	int64_t cmd_start_ns;
};

/* Output (smtp_server.c). */
void smtp_server_out(struct smtp_server *s, int code, const char *text);
int smtp_server_err(struct smtp_server *s, int code, const char *text);
void smtp_server_count_error(struct smtp_server *s);
int smtp_server_close_reply(struct smtp_server *s, int code, const char *text);
void smtp_server_ask(struct smtp_server *s, enum smtp_server_event ev);
void smtp_server_txn_reset(struct smtp_server *s);
void smtp_server_txn_bad(struct smtp_server *s);
void smtp_server_data_start(struct smtp_server *s);
int smtp_server_data_end(struct smtp_server *s);
int64_t smtp_server_now(const struct smtp_server *s);
/* Command observer: a command line was read (its verb may be refined later). */
void smtp_server_cmd_begin(struct smtp_server *s, enum smtp_server_verb verb);
/* A reply "code text" was queued: ends the open command unless it is a 334/354. */
void smtp_server_cmd_end(struct smtp_server *s, int code, const char *text);
/** Result of reading one line (with its LF) from the input. */
enum smtp_server_line {
	SMTP_LINE_NONE = 0,     /* no complete line yet */
	SMTP_LINE_OK,           /* *line holds it, LF included */
	SMTP_LINE_LONG,         /* a complete line over max was dropped */
	SMTP_LINE_LONG_PARTIAL, /* over max without LF so far: dropped, discard to LF */
};
enum smtp_server_line smtp_server_read_line(struct smtp_server *s, size_t max, struct slice *line);

/* Command dispatch and handlers (smtp_server_cmds.c). */
int smtp_server_dispatch(struct smtp_server *s, struct slice line);
int smtp_server_auth_line(struct smtp_server *s, struct slice line);
int smtp_server_cmd_auth(struct smtp_server *s, struct slice arg, bool has_arg);
void smtp_server_ehlo_reply(struct smtp_server *s);
int smtp_server_bdat_done(struct smtp_server *s);

#endif
