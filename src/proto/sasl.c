/* The mechanism-neutral SASL front: names, dispatch to the mechanism files,
 * call-order checks and the SMTP/IMAP line conventions (`*`, `=`, base64).
 *
 * DESIGN: each mechanism is a small vtable (sasl_impl.h). This file owns the
 * exchange's phase, so a mechanism is only called in a state that fits the
 * status it last returned; a caller that gets this wrong has a bug and
 * panics, while anything a peer sends is a returned status. A SCRAM failure
 * found after the client-final message is reported as a CONTINUE carrying
 * `e=...` with fail_pending set; the next reply of any kind then yields FAIL. */
#include "proto/sasl.h"

#include <pthread.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/sasl_crypto.h"
#include "proto/sasl_impl.h"

static const char *const sasl_mech_names[SASL_MECH_COUNT] = {
	[SASL_SCRAM_SHA_256_PLUS] = "SCRAM-SHA-256-PLUS",
	[SASL_SCRAM_SHA_256] = "SCRAM-SHA-256",
	[SASL_SCRAM_SHA_1_PLUS] = "SCRAM-SHA-1-PLUS",
	[SASL_SCRAM_SHA_1] = "SCRAM-SHA-1",
	[SASL_CRAM_MD5] = "CRAM-MD5",
	[SASL_PLAIN] = "PLAIN",
	[SASL_LOGIN] = "LOGIN",
};

const char *sasl_mech_name(enum sasl_mech mech)
{
	ASSERT((unsigned)mech < SASL_MECH_COUNT);
	return sasl_mech_names[mech];
}

int sasl_mech_parse(struct slice name, enum sasl_mech *mech)
{
	for (int i = 0; i < SASL_MECH_COUNT; i++) {
		if (slice_eq_str_nocase(name, sasl_mech_names[i])) {
			*mech = (enum sasl_mech)i;
			return 0;
		}
	}
	return -1;
}

bool sasl_mech_is_plus(enum sasl_mech mech)
{
	return mech == SASL_SCRAM_SHA_256_PLUS || mech == SASL_SCRAM_SHA_1_PLUS;
}

enum sasl_hash sasl_mech_hash(enum sasl_mech mech)
{
	return (mech == SASL_SCRAM_SHA_1 || mech == SASL_SCRAM_SHA_1_PLUS) ? SASL_HASH_SHA1
	                                                                     : SASL_HASH_SHA256;
}

const char *sasl_err_str(enum sasl_err err)
{
	static const char *const s[] = {
		[SASL_ERR_NONE] = "none",
		[SASL_ERR_BASE64] = "invalid base64",
		[SASL_ERR_SYNTAX] = "malformed mechanism data",
		[SASL_ERR_TOO_LONG] = "field too long",
		[SASL_ERR_CREDENTIALS] = "invalid credentials",
		[SASL_ERR_AUTHZID] = "authorization identity differs",
		[SASL_ERR_CHANNEL_BINDING] = "channel binding not acceptable",
		[SASL_ERR_DOWNGRADE] = "channel binding downgrade",
		[SASL_ERR_NONCE] = "nonce mismatch",
		[SASL_ERR_EXTENSION] = "unsupported mandatory extension",
		[SASL_ERR_ENCODING] = "invalid encoding",
		[SASL_ERR_PROTOCOL] = "unexpected message",
		[SASL_ERR_SERVER] = "server failed or could not prove itself",
		[SASL_ERR_PARAM] = "unusable client parameters",
	};
	return (unsigned)err < sizeof s / sizeof s[0] && s[err] ? s[err] : "unknown";
}

enum sasl_err sasl_check_field(struct slice f)
{
	if (f.len > SASL_NAME_MAX)
		return SASL_ERR_TOO_LONG;
	if (f.len == 0 || memchr(f.p, 0, f.len))
		return SASL_ERR_SYNTAX;
	return SASL_ERR_NONE;
}

/* Copies a channel, keeping at most SASL_CB_DATA_MAX bytes of binding data
 * (longer data cannot come from TLS and is treated as absent). */
static void sasl_chan_copy(struct sasl_channel *dst, uint8_t *cb, const struct sasl_channel *src)
{
	*dst = *src;
	dst->cb_data = slice_of(cb, 0);
	if (src->cb_data.len <= SASL_CB_DATA_MAX && src->cb_data.len > 0) {
		memcpy(cb, src->cb_data.p, src->cb_data.len);
		dst->cb_data.len = src->cb_data.len;
	}
}

static uint8_t sasl_process_secret[32];
static pthread_once_t sasl_process_secret_once = PTHREAD_ONCE_INIT;

static void sasl_process_secret_init(void)
{
	sasl_crypto_random(sasl_process_secret, sizeof sasl_process_secret);
}

void sasl_server_init(struct sasl_server *s, const struct sasl_server_ops *ops,
                      const struct sasl_server_cfg *cfg)
{
	s->ops = ops;
	s->mech = cfg->mech;
	sasl_chan_copy(&s->chan, s->cb, &cfg->chan);
	buf_init(&s->hostname);
	buf_append(&s->hostname, cfg->hostname.p, cfg->hostname.len);
	buf_init(&s->fake_secret);
	if (cfg->fake_secret.len > 0) {
		buf_append(&s->fake_secret, cfg->fake_secret.p, cfg->fake_secret.len);
	} else {
		pthread_once(&sasl_process_secret_once, sasl_process_secret_init);
		buf_append(&s->fake_secret, sasl_process_secret, sizeof sasl_process_secret);
	}
	s->fake_iterations = cfg->fake_iterations ? cfg->fake_iterations : PASSWORD_SCRAM_ITERATIONS;
	buf_init(&s->out);
	buf_init(&s->user);
	buf_init(&s->test_nonce);
	s->phase = SASL_PHASE_NEW;
}

struct sasl_server *sasl_server_new(const struct sasl_server_cfg *cfg)
{
	switch (cfg->mech) {
	case SASL_PLAIN:
		return sasl_plain_server_new(cfg);
	case SASL_LOGIN:
		return sasl_login_server_new(cfg);
	case SASL_CRAM_MD5:
		return sasl_cram_server_new(cfg);
	case SASL_SCRAM_SHA_256_PLUS:
	case SASL_SCRAM_SHA_256:
	case SASL_SCRAM_SHA_1_PLUS:
	case SASL_SCRAM_SHA_1:
		return sasl_scram_server_new(cfg);
	default:
		panic("sasl_server_new: mechanism %d", (int)cfg->mech);
	}
}

void sasl_buf_wipe_free(struct buf *b)
{
	if (b->p)
		sasl_crypto_wipe(b->p, b->cap);
	buf_free(b);
}

void sasl_server_free(struct sasl_server *s)
{
	if (!s)
		return;
	sasl_buf_wipe_free(&s->hostname);
	sasl_buf_wipe_free(&s->fake_secret);
	sasl_buf_wipe_free(&s->out);
	sasl_buf_wipe_free(&s->user);
	sasl_buf_wipe_free(&s->test_nonce);
	s->ops->destroy(s); /* wipes and frees the whole allocation */
}

void sasl_server_set_nonce(struct sasl_server *s, struct slice nonce)
{
	buf_reset(&s->test_nonce);
	buf_append(&s->test_nonce, nonce.p, nonce.len);
}

/* Records the phase the returned status leads to. */
static void sasl_server_after(struct sasl_server *s, struct sasl_step *st)
{
	switch (st->status) {
	case SASL_CONTINUE:
		s->phase = SASL_PHASE_CONTINUE;
		break;
	case SASL_NEED_SECRETS:
		s->phase = SASL_PHASE_SECRETS;
		break;
	default:
		s->phase = SASL_PHASE_DONE;
		break;
	}
}

static void sasl_step_clear(struct sasl_step *st)
{
	memset(st, 0, sizeof *st);
}

void sasl_server_start(struct sasl_server *s, const struct slice *initial, struct sasl_step *st)
{
	if (s->phase != SASL_PHASE_NEW)
		panic("sasl_server_start: called twice");
	sasl_step_clear(st);
	struct slice in;
	if (initial) {
		in = *initial;
		if (!in.p)
			in.p = (const uint8_t *)""; /* keep memchr and friends off NULL */
	}
	if (initial && in.len > SASL_MSG_MAX)
		sasl_step_error(s, st, SASL_ERR_TOO_LONG);
	else
		s->ops->start(s, initial ? &in : NULL, st);
	sasl_server_after(s, st);
}

void sasl_server_step(struct sasl_server *s, struct slice in, struct sasl_step *st)
{
	if (s->phase != SASL_PHASE_CONTINUE)
		panic("sasl_server_step: no challenge outstanding (phase %d)", (int)s->phase);
	sasl_step_clear(st);
	if (!in.p)
		in.p = (const uint8_t *)"";
	if (s->fail_pending)
		sasl_step_error(s, st, s->pending_err);
	else if (in.len > SASL_MSG_MAX)
		sasl_step_error(s, st, SASL_ERR_TOO_LONG);
	else
		s->ops->step(s, in, st);
	sasl_server_after(s, st);
}

void sasl_server_secrets(struct sasl_server *s, const struct password_secrets *secrets,
                         struct sasl_step *st)
{
	if (s->phase != SASL_PHASE_SECRETS)
		panic("sasl_server_secrets: no NEED_SECRETS outstanding (phase %d)", (int)s->phase);
	sasl_step_clear(st);
	s->ops->secrets(s, secrets, st);
	sasl_server_after(s, st);
}

/* Decodes a line into *dec; returns false (and fills a MALFORMED step) on bad base64. */
static bool sasl_server_decode(struct sasl_server *s, struct slice line, struct buf *dec,
                               struct sasl_step *st)
{
	if (line.len > base64_encoded_len(SASL_MSG_MAX) || base64_decode(dec, line) != 0) {
		sasl_step_clear(st);
		sasl_step_error(s, st, line.len > base64_encoded_len(SASL_MSG_MAX) ? SASL_ERR_TOO_LONG
		                                                                   : SASL_ERR_BASE64);
		sasl_server_after(s, st);
		return false;
	}
	return true;
}

void sasl_server_start_b64(struct sasl_server *s, const struct slice *line, struct sasl_step *st)
{
	if (!line) {
		sasl_server_start(s, NULL, st);
		return;
	}
	struct buf dec;
	buf_init(&dec);
	struct slice empty = slice_of("", 0);
	if (line->len == 1 && line->p[0] == '=') {
		sasl_server_start(s, &empty, st);
	} else if (s->phase != SASL_PHASE_NEW) {
		panic("sasl_server_start_b64: called twice");
	} else if (sasl_server_decode(s, *line, &dec, st)) {
		struct slice in = buf_slice(&dec);
		sasl_server_start(s, &in, st);
	}
	sasl_buf_wipe_free(&dec);
}

void sasl_server_step_b64(struct sasl_server *s, struct slice line, struct sasl_step *st)
{
	if (s->phase != SASL_PHASE_CONTINUE)
		panic("sasl_server_step_b64: no challenge outstanding (phase %d)", (int)s->phase);
	if (s->fail_pending) {
		sasl_server_step(s, slice_of("", 0), st);
		return;
	}
	if (line.len == 1 && line.p[0] == '*') {
		sasl_step_clear(st);
		st->status = SASL_ABORTED;
		st->err = SASL_ERR_NONE;
		sasl_server_after(s, st);
		return;
	}
	struct buf dec;
	buf_init(&dec);
	if (sasl_server_decode(s, line, &dec, st))
		sasl_server_step(s, buf_slice(&dec), st);
	sasl_buf_wipe_free(&dec);
}

void sasl_step_continue(struct sasl_server *s, struct sasl_step *st)
{
	st->status = SASL_CONTINUE;
	st->out = buf_slice(&s->out);
}

void sasl_step_need(struct sasl_server *s, struct sasl_step *st)
{
	st->status = SASL_NEED_SECRETS;
	st->user = buf_slice(&s->user);
}

void sasl_step_ok(struct sasl_server *s, struct sasl_step *st)
{
	st->status = SASL_OK;
	st->user = buf_slice(&s->user);
}

void sasl_step_error(struct sasl_server *s, struct sasl_step *st, enum sasl_err err)
{
	bool malformed = err == SASL_ERR_BASE64 || err == SASL_ERR_SYNTAX || err == SASL_ERR_TOO_LONG;
	st->status = malformed ? SASL_MALFORMED : SASL_FAIL;
	st->err = err;
	st->out = slice_of("", 0);
	st->user = buf_slice(&s->user);
}
