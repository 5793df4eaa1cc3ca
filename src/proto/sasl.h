/* SASL authentication engines, server and client side, independent of the
 * protocol that carries them (SMTP AUTH, IMAP AUTHENTICATE, web logins).
 *
 * The engines do no I/O and never look accounts up themselves: when a server
 * exchange needs the user's stored secrets it returns SASL_NEED_SECRETS with
 * the username, and the caller hands them in (possibly later, from another
 * thread's answer) with sasl_server_secrets(). Challenge and response bytes
 * are raw (decoded); the *_b64 helpers apply the SMTP/IMAP line conventions.
 *
 * A server exchange, as seen by SMTP:
 *   s = sasl_server_new(&cfg)
 *   sasl_server_start_b64(s, initial_or_NULL, &st)      -- "AUTH <mech> [ir]"
 *   loop on st.status:
 *     CONTINUE      -> send "334 " base64(st.out), read a line,
 *                      sasl_server_step_b64(s, line, &st)
 *     NEED_SECRETS  -> look up st.user; sasl_server_secrets(s, secrets_or_NULL, &st)
 *     OK            -> 235 (st.user is the authenticated name)
 *     FAIL          -> 535;  MALFORMED -> 501 (st.err says base64 or syntax);
 *     ABORTED       -> 501 5.7.0
 * SMTP has no "additional data with success": SCRAM's server-final message
 * comes as a CONTINUE and OK follows the client's empty response. Likewise a
 * SCRAM failure after the client-final message first sends `e=<reason>` as a
 * CONTINUE, and FAIL follows whatever the client answers. */
#ifndef TERN_PROTO_SASL_H
#define TERN_PROTO_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/password.h"

/** Mechanisms, in Tern's announcement order (smtp.md §7). */
enum sasl_mech {
	SASL_SCRAM_SHA_256_PLUS,
	SASL_SCRAM_SHA_256,
	SASL_SCRAM_SHA_1_PLUS,
	SASL_SCRAM_SHA_1,
	SASL_CRAM_MD5,
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_MECH_COUNT
};

/** Longest authentication identity (and LOGIN/PLAIN field) in octets. */
#define SASL_NAME_MAX 255
/** Longest mechanism message accepted (an AUTH line of 12288 octets decodes to 9216). */
#define SASL_MSG_MAX 9216
/** Longest SCRAM nonce (client part or whole) in octets. */
#define SASL_NONCE_MAX 256
/** Longest channel-binding data accepted from the TLS layer. */
#define SASL_CB_DATA_MAX 64

/** Why an exchange failed (SASL_FAIL, SASL_MALFORMED, client failures). */
enum sasl_err {
	SASL_ERR_NONE,
	SASL_ERR_BASE64,          /* malformed: the line is not strict base64 */
	SASL_ERR_SYNTAX,          /* malformed: the mechanism data does not parse */
	SASL_ERR_TOO_LONG,        /* malformed: a field or message over its limit */
	SASL_ERR_CREDENTIALS,     /* fail: wrong password, unknown user, bad proof */
	SASL_ERR_AUTHZID,         /* fail: authorization identity differs from the user */
	SASL_ERR_CHANNEL_BINDING, /* fail: binding type/flag/data not acceptable */
	SASL_ERR_DOWNGRADE,       /* fail: SCRAM flag `y` while the server offers PLUS */
	SASL_ERR_NONCE,           /* fail: nonce does not extend the client's */
	SASL_ERR_EXTENSION,       /* fail: unknown mandatory extension `m=` */
	SASL_ERR_ENCODING,        /* fail: bad saslname escape, missing attribute, bad proof */
	SASL_ERR_PROTOCOL,        /* fail: a message the exchange does not expect */
	SASL_ERR_SERVER,          /* client: the server sent `e=` or could not prove itself */
	SASL_ERR_PARAM,           /* client: unusable configuration (no TLS data for PLUS, ...) */
};

/** The TLS channel an exchange runs on. */
struct sasl_channel {
	bool tls;            /* TLS is active */
	int tls_version;     /* 12 or 13 (TLS 1.2 / 1.3); others cannot bind */
	/** tls-unique data on TLS 1.2, tls-exporter data (RFC 9266, 32 bytes) on
	 *  TLS 1.3. Borrowed; copied by *_new. Empty: no binding possible. */
	struct slice cb_data;
};

/** Server configuration; every slice is copied by sasl_server_new. */
struct sasl_server_cfg {
	enum sasl_mech mech;
	struct sasl_channel chan;
	struct slice hostname;       /* CRAM-MD5 challenge domain */
	/** Stable per-server secret for unknown users' SCRAM salts (keep it
	 *  secret: whoever knows it can tell fake salts from real ones). Empty:
	 *  a random per-process secret, so fake salts change at restart. */
	struct slice fake_secret;
	uint32_t fake_iterations;    /* their iteration count; 0 = PASSWORD_SCRAM_ITERATIONS */
};

/** Result of a server call. */
enum sasl_status {
	SASL_CONTINUE,     /* send out as a challenge, then pass the reply to step */
	SASL_NEED_SECRETS, /* look user up, then call sasl_server_secrets */
	SASL_OK,           /* authenticated as user */
	SASL_FAIL,         /* authentication failed (535) */
	SASL_MALFORMED,    /* unparsable data (501), err = BASE64, SYNTAX or TOO_LONG */
	SASL_ABORTED,      /* the client cancelled with `*` */
};

/**
 * What a server call produced. out and user are borrowed from the engine and
 * stay valid until its next call (user: until sasl_server_free). user holds
 * raw octets (never NUL, at most SASL_NAME_MAX) for NEED_SECRETS and OK.
 * A CONTINUE with err != SASL_ERR_NONE carries SCRAM's `e=` message: the
 * exchange has failed and the next reply yields FAIL with the same err.
 */
struct sasl_step {
	enum sasl_status status;
	struct slice out;
	struct slice user;
	enum sasl_err err;
};

struct sasl_server;

/** Mechanism name as announced (`SCRAM-SHA-256-PLUS`). */
const char *sasl_mech_name(enum sasl_mech mech);
/** Parses a mechanism name, ASCII case-insensitively. Returns 0, or -1 if unknown. */
int sasl_mech_parse(struct slice name, enum sasl_mech *mech);
/** Whether mech is a SCRAM -PLUS variant. */
bool sasl_mech_is_plus(enum sasl_mech mech);
/** Short text for logs. */
const char *sasl_err_str(enum sasl_err err);

/** Creates a server exchange; the caller frees it with sasl_server_free. */
struct sasl_server *sasl_server_new(const struct sasl_server_cfg *cfg);
/** Frees s and wipes its key material. NULL is allowed. */
void sasl_server_free(struct sasl_server *s);

/**
 * Starts the exchange. initial is the client's initial response (decoded; may
 * be empty) or NULL when the client sent none. Called once, first.
 */
void sasl_server_start(struct sasl_server *s, const struct slice *initial, struct sasl_step *st);
/** Passes the client's (decoded) reply to the last CONTINUE. */
void sasl_server_step(struct sasl_server *s, struct slice in, struct sasl_step *st);
/**
 * Hands in the stored secrets asked for by NEED_SECRETS (borrowed; the
 * engine copies what it needs), or NULL for an unknown user, who then gets
 * the same exchange as a wrong password. PLAIN and LOGIN run bcrypt here:
 * call it off the I/O threads for those mechanisms.
 */
void sasl_server_secrets(struct sasl_server *s, const struct password_secrets *secrets,
                         struct sasl_step *st);

/**
 * sasl_server_start for an initial response as written on the AUTH line:
 * NULL = none, `=` = empty, anything else strict base64 (else MALFORMED/BASE64).
 */
void sasl_server_start_b64(struct sasl_server *s, const struct slice *line, struct sasl_step *st);
/**
 * sasl_server_step for a continuation line (CRLF removed): `*` aborts (or, when
 * a SCRAM failure is pending, fails), the empty line is an empty reply,
 * anything else must be strict base64.
 */
void sasl_server_step_b64(struct sasl_server *s, struct slice line, struct sasl_step *st);

/** Test hook: the nonce (SCRAM server part) or whole challenge (CRAM-MD5) to use. */
void sasl_server_set_nonce(struct sasl_server *s, struct slice nonce);

/* ---- client side ---- */

/** Client configuration; every slice is copied by sasl_client_new. */
struct sasl_client_cfg {
	enum sasl_mech mech;       /* SCRAM*, CRAM-MD5 or PLAIN */
	struct slice user;         /* authentication identity; authzid is never sent */
	struct slice password;
	/** For SCRAM: the channel. A -PLUS mech needs TLS and cb_data; a plain
	 *  SCRAM mech on a channel with cb_data sends flag `y` (the caller chose it
	 *  because the server did not offer PLUS). */
	struct sasl_channel chan;
};

/** Result of a client call. */
enum sasl_client_status {
	SASL_CLIENT_RESPOND, /* send out (at start: as the initial response) */
	SASL_CLIENT_WAIT,    /* start only: send no initial response, wait for a challenge */
	SASL_CLIENT_DONE,    /* the server proved itself (SCRAM); send out (empty) if it still waits */
	SASL_CLIENT_FAIL,    /* give up: send `*` if the server waits; err says why */
};

/** What a client call produced; out is valid until the next call. */
struct sasl_cstep {
	enum sasl_client_status status;
	struct slice out;
	enum sasl_err err;
};

struct sasl_client;

/**
 * Creates a client exchange, or returns NULL when cfg cannot work (LOGIN,
 * empty or oversized user/password, NUL in them, a -PLUS mech without TLS
 * channel-binding data). The caller frees it with sasl_client_free.
 */
struct sasl_client *sasl_client_new(const struct sasl_client_cfg *cfg);
/** Frees c and wipes the password and keys. NULL is allowed. */
void sasl_client_free(struct sasl_client *c);
/** First call: the initial response (RESPOND) or WAIT (CRAM-MD5). */
void sasl_client_start(struct sasl_client *c, struct sasl_cstep *st);
/** Answers a server challenge (decoded bytes). */
void sasl_client_step(struct sasl_client *c, struct slice challenge, struct sasl_cstep *st);
/**
 * Whether the exchange may be trusted when the server reports success: SCRAM
 * needs a verified server signature (DONE seen); the others need their
 * credentials to have been sent.
 */
bool sasl_client_verified(const struct sasl_client *c);
/** Test hook: the client nonce (SCRAM) to use. */
void sasl_client_set_nonce(struct sasl_client *c, struct slice nonce);

#endif
