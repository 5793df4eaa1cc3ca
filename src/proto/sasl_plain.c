/* PLAIN (RFC 4616) and LOGIN server mechanisms, and the PLAIN client.
 *
 * DESIGN: the password is kept only until the secrets arrive, then checked
 * with password_verify_plain (bcrypt, slow: the caller runs
 * sasl_server_secrets off the I/O threads) and wiped. Fields are
 * length-delimited throughout: a NUL inside the password is a fourth field
 * and makes the message malformed, never a shorter password (badinput.md
 * #42). A foreign authzid fails before any lookup: Tern has no proxy logins. */
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/sasl_crypto.h"
#include "proto/sasl_impl.h"

/** LOGIN prompts (sent base64-encoded: `VXNlcm5hbWU6`, `UGFzc3dvcmQ6`). */
#define SASL_LOGIN_USER_PROMPT "Username:"
#define SASL_LOGIN_PASS_PROMPT "Password:"

struct sasl_plain_server {
	struct sasl_server base;
	bool have_user;          /* LOGIN: the username has been received */
	struct buf password;
};

static void sasl_plain_destroy(struct sasl_server *s)
{
	struct sasl_plain_server *p = (struct sasl_plain_server *)s;
	sasl_buf_wipe_free(&p->password);
	sasl_crypto_wipe(p, sizeof *p);
	free(p);
}

/* Stores user and password, then asks for the secrets. */
static void sasl_plain_need(struct sasl_plain_server *p, struct slice user, struct slice pass,
                            struct sasl_step *st)
{
	buf_reset(&p->base.user);
	buf_append(&p->base.user, user.p, user.len);
	buf_reset(&p->password);
	buf_append(&p->password, pass.p, pass.len);
	sasl_step_need(&p->base, st);
}

/* authzid NUL authcid NUL passwd, exactly two NULs. */
static void sasl_plain_message(struct sasl_plain_server *p, struct slice in, struct sasl_step *st)
{
	const uint8_t *n1 = memchr(in.p, 0, in.len);
	const uint8_t *n2 = n1 ? memchr(n1 + 1, 0, in.len - (size_t)(n1 + 1 - in.p)) : NULL;
	if (!n2 || memchr(n2 + 1, 0, in.len - (size_t)(n2 + 1 - in.p))) {
		sasl_step_error(&p->base, st, SASL_ERR_SYNTAX);
		return;
	}
	struct slice authz = slice_of(in.p, (size_t)(n1 - in.p));
	struct slice user = slice_of(n1 + 1, (size_t)(n2 - n1 - 1));
	struct slice pass = slice_of(n2 + 1, in.len - (size_t)(n2 + 1 - in.p));
	enum sasl_err e = sasl_check_field(user);
	if (e == SASL_ERR_NONE)
		e = sasl_check_field(pass);
	if (e == SASL_ERR_NONE && authz.len > SASL_NAME_MAX)
		e = SASL_ERR_TOO_LONG;
	if (e == SASL_ERR_NONE && authz.len > 0 && !slice_eq(authz, user))
		e = SASL_ERR_AUTHZID;
	if (e != SASL_ERR_NONE) {
		sasl_step_error(&p->base, st, e);
		return;
	}
	sasl_plain_need(p, user, pass, st);
}

static void sasl_plain_start(struct sasl_server *s, const struct slice *initial,
                             struct sasl_step *st)
{
	if (!initial) {
		buf_reset(&s->out);
		sasl_step_continue(s, st); /* empty challenge: "334 " */
		return;
	}
	sasl_plain_message((struct sasl_plain_server *)s, *initial, st);
}

static void sasl_plain_step(struct sasl_server *s, struct slice in, struct sasl_step *st)
{
	sasl_plain_message((struct sasl_plain_server *)s, in, st);
}

static void sasl_plain_secrets(struct sasl_server *s, const struct password_secrets *secrets,
                               struct sasl_step *st)
{
	struct sasl_plain_server *p = (struct sasl_plain_server *)s;
	bool ok = password_verify_plain(secrets, buf_slice(&p->password));
	sasl_crypto_wipe(p->password.p, p->password.len);
	buf_reset(&p->password);
	if (ok)
		sasl_step_ok(s, st);
	else
		sasl_step_error(s, st, SASL_ERR_CREDENTIALS);
}

static const struct sasl_server_ops sasl_plain_ops = {
	.start = sasl_plain_start,
	.step = sasl_plain_step,
	.secrets = sasl_plain_secrets,
	.destroy = sasl_plain_destroy,
};

struct sasl_server *sasl_plain_server_new(const struct sasl_server_cfg *cfg)
{
	struct sasl_plain_server *p = xcalloc(1, sizeof *p);
	sasl_server_init(&p->base, &sasl_plain_ops, cfg);
	buf_init(&p->password);
	return &p->base;
}

/* ---- LOGIN ---- */

static void sasl_login_prompt(struct sasl_server *s, const char *prompt, struct sasl_step *st)
{
	buf_reset(&s->out);
	buf_puts(&s->out, prompt);
	sasl_step_continue(s, st);
}

/* One LOGIN reply: the username first, then the password. */
static void sasl_login_step(struct sasl_server *s, struct slice in, struct sasl_step *st)
{
	struct sasl_plain_server *p = (struct sasl_plain_server *)s;
	enum sasl_err e = sasl_check_field(in);
	if (e != SASL_ERR_NONE) {
		sasl_step_error(s, st, e);
		return;
	}
	if (!p->have_user) {
		p->have_user = true;
		buf_reset(&s->user);
		buf_append(&s->user, in.p, in.len);
		sasl_login_prompt(s, SASL_LOGIN_PASS_PROMPT, st);
		return;
	}
	sasl_plain_need(p, buf_slice(&s->user), in, st);
}

/* An initial response, where a client sends one, is the username. */
static void sasl_login_start(struct sasl_server *s, const struct slice *initial,
                             struct sasl_step *st)
{
	if (!initial)
		sasl_login_prompt(s, SASL_LOGIN_USER_PROMPT, st);
	else
		sasl_login_step(s, *initial, st);
}

static const struct sasl_server_ops sasl_login_ops = {
	.start = sasl_login_start,
	.step = sasl_login_step,
	.secrets = sasl_plain_secrets,
	.destroy = sasl_plain_destroy,
};

struct sasl_server *sasl_login_server_new(const struct sasl_server_cfg *cfg)
{
	struct sasl_plain_server *p = xcalloc(1, sizeof *p);
	sasl_server_init(&p->base, &sasl_login_ops, cfg);
	buf_init(&p->password);
	return &p->base;
}

/* ---- PLAIN client ---- */

struct sasl_plain_client {
	struct sasl_client base;
	bool resent;
};

static void sasl_plain_client_message(struct sasl_client *c, struct sasl_cstep *st)
{
	buf_reset(&c->out);
	buf_putc(&c->out, 0); /* no authzid */
	buf_append(&c->out, c->user.p, c->user.len);
	buf_putc(&c->out, 0);
	buf_append(&c->out, c->password.p, c->password.len);
	c->verified = true; /* nothing to verify beyond the server's reply */
	sasl_cstep_respond(c, st);
}

/* A server that ignored the initial response sends an empty challenge once. */
static void sasl_plain_client_step(struct sasl_client *c, struct slice challenge,
                                   struct sasl_cstep *st)
{
	struct sasl_plain_client *p = (struct sasl_plain_client *)c;
	if (challenge.len != 0 || p->resent) {
		sasl_cstep_fail(c, st, SASL_ERR_PROTOCOL);
		return;
	}
	p->resent = true;
	sasl_plain_client_message(c, st);
}

static void sasl_plain_client_destroy(struct sasl_client *c)
{
	sasl_crypto_wipe(c, sizeof(struct sasl_plain_client));
	free(c);
}

static const struct sasl_client_ops sasl_plain_client_ops = {
	.start = sasl_plain_client_message,
	.step = sasl_plain_client_step,
	.destroy = sasl_plain_client_destroy,
};

struct sasl_client *sasl_plain_client_new(const struct sasl_client_cfg *cfg)
{
	struct sasl_plain_client *p = xcalloc(1, sizeof *p);
	if (sasl_client_init(&p->base, &sasl_plain_client_ops, cfg) != 0) {
		sasl_client_free(&p->base);
		return NULL;
	}
	return &p->base;
}
