/* SASL for `tern sendmail` (see sendmail_auth.h).
 *
 * DESIGN: the engine does the SMTP framing; this file only picks the
 * mechanism and turns challenges into responses with sasl_client. Channel
 * binding data is read from the TLS connection when the mechanism is chosen,
 * which is after STARTTLS or the implicit handshake. */
#include "actors/sendmail_auth.h"

#include <string.h>
#include <strings.h>

#include "conf/conf_submit.h"
#include "proto/sasl.h"
#include "proto/tls.h"

static const enum sasl_mech auto_order[] = {SASL_SCRAM_SHA_256_PLUS, SASL_SCRAM_SHA_256, SASL_SCRAM_SHA_1_PLUS,
					    SASL_SCRAM_SHA_1, SASL_CRAM_MD5, SASL_PLAIN};

static bool offered_has(const char *const *offered, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(offered[i], name) == 0)
			return true;
	return false;
}

static struct sasl_client *make_client(struct sendmail_auth *a, enum sasl_mech mech, bool tls)
{
	struct sasl_client_cfg cfg = {.mech = mech, .user = slice_str(a->cf->username),
	                              .password = slice_str(a->cf->password)};
	if (tls && *a->tls) {
		cfg.chan.tls = true;
		const char *v = tls_conn_version(*a->tls);
		cfg.chan.tls_version = v && strcmp(v, "TLS1.3") == 0 ? 13 : 12;
		buf_reset(&a->cb);
		if (tls_conn_channel_binding(*a->tls, tls_conn_cb_type(*a->tls), &a->cb) == TLS_OK)
			cfg.chan.cb_data = buf_slice(&a->cb);
	}
	return sasl_client_new(&cfg);
}

static const char *choose_cb(void *ctx, const char *const *offered, size_t n, bool tls)
{
	struct sendmail_auth *a = ctx;
	sasl_client_free(a->sc);
	a->sc = NULL;
	for (size_t i = 0; i < sizeof auto_order / sizeof auto_order[0]; i++) {
		enum sasl_mech m = auto_order[i];
		const char *name = sasl_mech_name(m);
		bool wanted = *a->cf->auth_method ? strcmp(a->cf->auth_method, name) == 0 : (m != SASL_PLAIN || tls);
		if (!wanted || !offered_has(offered, n, name) || (sasl_mech_is_plus(m) && !tls))
			continue;
		a->sc = make_client(a, m, tls);
		if (a->sc)
			return name;
	}
	return NULL;
}

static int step_cb(void *ctx, bool first, struct slice challenge, struct buf *out)
{
	struct sendmail_auth *a = ctx;
	struct sasl_cstep st;
	if (first)
		sasl_client_start(a->sc, &st);
	else
		sasl_client_step(a->sc, challenge, &st);
	switch (st.status) {
	case SASL_CLIENT_WAIT:
		return SMTP_CLIENT_SASL_NO_IR;
	case SASL_CLIENT_RESPOND:
	case SASL_CLIENT_DONE:
		buf_append(out, st.out.p, st.out.len);
		return SMTP_CLIENT_SASL_OK;
	default:
		/* The server's SCRAM `e=` (e.g. invalid-proof): answer it with an empty
		 * response, so that its 535 is what the user sees rather than an abort. */
		if (!first && st.err == SASL_ERR_SERVER)
			return SMTP_CLIENT_SASL_OK;
		return SMTP_CLIENT_SASL_FAIL;
	}
}

static int finish_cb(void *ctx)
{
	struct sendmail_auth *a = ctx;
	return a->sc && sasl_client_verified(a->sc) ? 0 : -1;
}

const struct smtp_client_auth_ops sendmail_auth_ops = {choose_cb, step_cb, finish_cb};

void sendmail_auth_free(struct sendmail_auth *a)
{
	sasl_client_free(a->sc);
	a->sc = NULL;
	buf_free(&a->cb);
}
