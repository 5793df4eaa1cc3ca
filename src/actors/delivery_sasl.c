/* SASL client plug-in for the SMTP client engine (see delivery_sasl.h).
 *
 * DESIGN: the engine does the SMTP framing (AUTH line, 334, base64, 235); this
 * adapter maps its three calls 1:1 onto sasl_client: choose -> pick from the
 * configured list, first step -> sasl_client_new + start, later steps ->
 * sasl_client_step, finish -> sasl_client_verified. Channel-binding data is read
 * from the connection's TLS when the first step runs, after the handshake. */
#include "actors/delivery_sasl.h"

#include <string.h>
#include <strings.h>

#include "proto/tls.h"

static bool offered_has(const char *const *offered, size_t n, const char *mech)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(offered[i], mech) == 0)
			return true;
	return false;
}

/* Channel-binding data of the current TLS session into cb; the TLS version, or 0. */
static int channel(struct delivery_sasl *s, struct buf *cb)
{
	struct tls_conn *t = s->tls ? *s->tls : NULL;
	if (!t || !tls_conn_established(t))
		return 0;
	enum tls_cb_type type = tls_conn_cb_type(t);
	if (!type || tls_conn_channel_binding(t, type, cb) != TLS_OK || cb->len == 0 || cb->len > SASL_CB_DATA_MAX)
		return 0;
	return type == TLS_CB_EXPORTER ? 13 : 12;
}

static const char *choose_cb(void *ctx, const char *const *offered, size_t n, bool tls)
{
	struct delivery_sasl *s = ctx;
	if (!s->auth)
		return NULL;
	struct buf cb;
	buf_init(&cb);
	bool can_bind = tls && channel(s, &cb) != 0;
	buf_free(&cb);
	for (size_t i = 0; i < s->auth->mechanisms.n; i++) {
		const char *m = s->auth->mechanisms.v[i];
		enum sasl_mech mech;
		if (sasl_mech_parse(slice_str(m), &mech) != 0 || mech == SASL_LOGIN)
			continue;
		if (sasl_mech_is_plus(mech) && !can_bind)
			continue;
		if (offered_has(offered, n, m)) {
			s->mech = mech;
			return m;
		}
	}
	return NULL;
}

static int map(const struct sasl_cstep *st, struct buf *out)
{
	switch (st->status) {
	case SASL_CLIENT_RESPOND:
	case SASL_CLIENT_DONE:
		buf_append(out, st->out.p, st->out.len);
		return SMTP_CLIENT_SASL_OK;
	case SASL_CLIENT_WAIT:
		return SMTP_CLIENT_SASL_NO_IR;
	default:
		return SMTP_CLIENT_SASL_FAIL;
	}
}

static int step_cb(void *ctx, bool first, struct slice challenge, struct buf *out)
{
	struct delivery_sasl *s = ctx;
	struct sasl_cstep st;
	if (first) {
		sasl_client_free(s->sc);
		struct buf cb;
		buf_init(&cb);
		int ver = channel(s, &cb);
		struct sasl_client_cfg cfg = {
		    .mech = s->mech,
		    .user = slice_str(s->auth->username ? s->auth->username : ""),
		    .password = slice_str(s->auth->password ? s->auth->password : ""),
		    .chan = {.tls = ver != 0, .tls_version = ver, .cb_data = buf_slice(&cb)},
		};
		s->sc = sasl_client_new(&cfg);
		buf_free(&cb);
		if (!s->sc)
			return SMTP_CLIENT_SASL_FAIL;
		sasl_client_start(s->sc, &st);
		return map(&st, out);
	}
	if (!s->sc)
		return SMTP_CLIENT_SASL_FAIL;
	sasl_client_step(s->sc, challenge, &st);
	int rc = map(&st, out);
	return rc == SMTP_CLIENT_SASL_NO_IR ? SMTP_CLIENT_SASL_FAIL : rc;
}

static int finish_cb(void *ctx)
{
	struct delivery_sasl *s = ctx;
	return s->sc && sasl_client_verified(s->sc) ? 0 : -1;
}

const struct smtp_client_auth_ops delivery_sasl_ops = {
    .choose_cb = choose_cb,
    .step_cb = step_cb,
    .finish_cb = finish_cb,
};

void delivery_sasl_init(struct delivery_sasl *s, const struct conf_transport_auth *auth,
                        struct tls_conn *const *tls)
{
	memset(s, 0, sizeof *s);
	s->auth = auth;
	s->tls = tls;
}

void delivery_sasl_free(struct delivery_sasl *s)
{
	sasl_client_free(s->sc);
	s->sc = NULL;
}
