/* The mechanism-neutral SASL client front used by Tern's outbound SMTP
 * transports: dispatch, call-order checks and configuration checks.
 *
 * DESIGN: the transports pick the mechanism (SCRAM-SHA-256-PLUS first, ...
 * CRAM-MD5, PLAIN only when listed) and drive the exchange with raw challenge
 * bytes; this file rejects configurations that cannot work before any byte is
 * sent, and records whether the server has been verified so that a 235 after
 * a SCRAM exchange without a valid server signature is not trusted. */
#include <string.h>

#include "core/xmalloc.h"
#include "proto/sasl.h"
#include "proto/sasl_impl.h"

int sasl_client_init(struct sasl_client *c, const struct sasl_client_ops *ops,
                     const struct sasl_client_cfg *cfg)
{
	c->ops = ops;
	c->mech = cfg->mech;
	c->chan = cfg->chan;
	c->chan.cb_data = slice_of(c->cb, 0);
	buf_init(&c->user);
	buf_init(&c->password);
	buf_init(&c->out);
	buf_init(&c->test_nonce);
	if (sasl_check_field(cfg->user) != SASL_ERR_NONE ||
	    sasl_check_field(cfg->password) != SASL_ERR_NONE)
		return -1;
	if (cfg->chan.cb_data.len > SASL_CB_DATA_MAX)
		return -1;
	if (cfg->chan.cb_data.len > 0)
		memcpy(c->cb, cfg->chan.cb_data.p, cfg->chan.cb_data.len);
	c->chan.cb_data.len = cfg->chan.cb_data.len;
	if (sasl_mech_is_plus(cfg->mech) &&
	    (!cfg->chan.tls || cfg->chan.cb_data.len == 0 ||
	     (cfg->chan.tls_version != 12 && cfg->chan.tls_version != 13)))
		return -1;
	buf_append(&c->user, cfg->user.p, cfg->user.len);
	buf_append(&c->password, cfg->password.p, cfg->password.len);
	return 0;
}

struct sasl_client *sasl_client_new(const struct sasl_client_cfg *cfg)
{
	switch (cfg->mech) {
	case SASL_PLAIN:
		return sasl_plain_client_new(cfg);
	case SASL_CRAM_MD5:
		return sasl_cram_client_new(cfg);
	case SASL_SCRAM_SHA_256_PLUS:
	case SASL_SCRAM_SHA_256:
	case SASL_SCRAM_SHA_1_PLUS:
	case SASL_SCRAM_SHA_1:
		return sasl_scram_client_new(cfg);
	default:
		return NULL; /* LOGIN: Tern's transports never use it */
	}
}

void sasl_client_free(struct sasl_client *c)
{
	if (!c)
		return;
	sasl_buf_wipe_free(&c->user);
	sasl_buf_wipe_free(&c->password);
	sasl_buf_wipe_free(&c->out);
	sasl_buf_wipe_free(&c->test_nonce);
	c->ops->destroy(c);
}

void sasl_client_set_nonce(struct sasl_client *c, struct slice nonce)
{
	buf_reset(&c->test_nonce);
	buf_append(&c->test_nonce, nonce.p, nonce.len);
}

static void sasl_client_after(struct sasl_client *c, const struct sasl_cstep *st)
{
	if (st->status == SASL_CLIENT_DONE || st->status == SASL_CLIENT_FAIL)
		c->finished = true;
	if (st->status == SASL_CLIENT_FAIL)
		c->verified = false;
}

void sasl_client_start(struct sasl_client *c, struct sasl_cstep *st)
{
	if (c->started)
		panic("sasl_client_start: called twice");
	c->started = true;
	memset(st, 0, sizeof *st);
	c->ops->start(c, st);
	sasl_client_after(c, st);
}

void sasl_client_step(struct sasl_client *c, struct slice challenge, struct sasl_cstep *st)
{
	if (!c->started)
		panic("sasl_client_step: before sasl_client_start");
	memset(st, 0, sizeof *st);
	if (!challenge.p)
		challenge.p = (const uint8_t *)"";
	if (c->finished)
		sasl_cstep_fail(c, st, SASL_ERR_PROTOCOL);
	else if (challenge.len > SASL_MSG_MAX)
		sasl_cstep_fail(c, st, SASL_ERR_TOO_LONG);
	else
		c->ops->step(c, challenge, st);
	sasl_client_after(c, st);
}

bool sasl_client_verified(const struct sasl_client *c)
{
	return c->verified;
}

void sasl_cstep_respond(struct sasl_client *c, struct sasl_cstep *st)
{
	st->status = SASL_CLIENT_RESPOND;
	st->out = buf_slice(&c->out);
	st->err = SASL_ERR_NONE;
}

void sasl_cstep_fail(struct sasl_client *c, struct sasl_cstep *st, enum sasl_err err)
{
	st->status = SASL_CLIENT_FAIL;
	st->out = slice_of("", 0);
	st->err = err;
}
