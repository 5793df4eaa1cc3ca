/* Internal contract between sasl.c (mechanism-neutral front) and the
 * mechanism files (sasl_plain.c, sasl_cram.c, sasl_scram*.c). Not for use
 * outside src/proto/sasl*.c and their tests.
 *
 * A mechanism allocates its own struct with `struct sasl_server` (or
 * `struct sasl_client`) as the first member, initialises it with
 * sasl_server_init / sasl_client_init and fills steps with the sasl_step_*
 * helpers. sasl.c checks call order, so the mechanisms only see calls that
 * fit the status they last returned. */
#ifndef TERN_PROTO_SASL_IMPL_H
#define TERN_PROTO_SASL_IMPL_H

#include "proto/sasl.h"

struct sasl_server_ops {
	/** First call; initial is NULL when the client sent no initial response. */
	void (*start)(struct sasl_server *s, const struct slice *initial, struct sasl_step *st);
	/** A reply to the last CONTINUE. */
	void (*step)(struct sasl_server *s, struct slice in, struct sasl_step *st);
	/** The answer to NEED_SECRETS (secrets NULL: unknown user). */
	void (*secrets)(struct sasl_server *s, const struct password_secrets *secrets,
	                struct sasl_step *st);
	/** Wipes and frees the mechanism's own state (not the base). */
	void (*destroy)(struct sasl_server *s);
};

enum sasl_phase {
	SASL_PHASE_NEW,
	SASL_PHASE_CONTINUE,
	SASL_PHASE_SECRETS,
	SASL_PHASE_DONE,
};

struct sasl_server {
	const struct sasl_server_ops *ops;
	enum sasl_mech mech;
	struct sasl_channel chan;      /* chan.cb_data points into cb */
	uint8_t cb[SASL_CB_DATA_MAX];
	struct buf hostname;
	struct buf fake_secret;
	uint32_t fake_iterations;
	struct buf out;                /* the current challenge */
	struct buf user;               /* the authentication identity */
	struct buf test_nonce;         /* sasl_server_set_nonce */
	enum sasl_phase phase;
	bool fail_pending;             /* a SCRAM e= was sent; fail on the next reply */
	enum sasl_err pending_err;
};

struct sasl_client_ops {
	void (*start)(struct sasl_client *c, struct sasl_cstep *st);
	void (*step)(struct sasl_client *c, struct slice challenge, struct sasl_cstep *st);
	void (*destroy)(struct sasl_client *c);
};

struct sasl_client {
	const struct sasl_client_ops *ops;
	enum sasl_mech mech;
	struct sasl_channel chan;
	uint8_t cb[SASL_CB_DATA_MAX];
	struct buf user;
	struct buf password;
	struct buf out;
	struct buf test_nonce;
	bool started;
	bool finished;                 /* DONE or FAIL returned */
	bool verified;
};

/** Copies cfg into s (allocated by the mechanism, zeroed). */
void sasl_server_init(struct sasl_server *s, const struct sasl_server_ops *ops,
                      const struct sasl_server_cfg *cfg);
/** Copies cfg into c; returns -1 when user/password/channel are unusable. */
int sasl_client_init(struct sasl_client *c, const struct sasl_client_ops *ops,
                     const struct sasl_client_cfg *cfg);

/** CONTINUE with s->out as the challenge. */
void sasl_step_continue(struct sasl_server *s, struct sasl_step *st);
/** NEED_SECRETS for s->user. */
void sasl_step_need(struct sasl_server *s, struct sasl_step *st);
/** OK for s->user. */
void sasl_step_ok(struct sasl_server *s, struct sasl_step *st);
/** FAIL or MALFORMED, chosen by err (BASE64, SYNTAX, TOO_LONG are malformed). */
void sasl_step_error(struct sasl_server *s, struct sasl_step *st, enum sasl_err err);

/** Client RESPOND with c->out. */
void sasl_cstep_respond(struct sasl_client *c, struct sasl_cstep *st);
/** Client FAIL with err. */
void sasl_cstep_fail(struct sasl_client *c, struct sasl_cstep *st, enum sasl_err err);

/** Wipes b's whole allocation (secrets may sit past len) and frees it. */
void sasl_buf_wipe_free(struct buf *b);

/** Whether a user or password field is acceptable: 1..SASL_NAME_MAX octets, no NUL. */
enum sasl_err sasl_check_field(struct slice f);

/** Mechanism constructors (sasl.c dispatches on cfg->mech). */
struct sasl_server *sasl_plain_server_new(const struct sasl_server_cfg *cfg);
struct sasl_server *sasl_login_server_new(const struct sasl_server_cfg *cfg);
struct sasl_server *sasl_cram_server_new(const struct sasl_server_cfg *cfg);
struct sasl_server *sasl_scram_server_new(const struct sasl_server_cfg *cfg);
struct sasl_client *sasl_plain_client_new(const struct sasl_client_cfg *cfg);
struct sasl_client *sasl_cram_client_new(const struct sasl_client_cfg *cfg);
struct sasl_client *sasl_scram_client_new(const struct sasl_client_cfg *cfg);

/** The hash of a SCRAM mechanism. */
enum sasl_hash sasl_mech_hash(enum sasl_mech mech);

#endif
