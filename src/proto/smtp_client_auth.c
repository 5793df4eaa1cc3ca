/* SMTP AUTH framing for the outbound client (RFC 4954); the mechanism itself is a
 * plug-in (struct smtp_client_auth_ops, to be provided by src/proto/sasl.h).
 *
 * DESIGN: the plug-in picks a mechanism from the EHLO list (queue.md §12: first of
 * the configured ones the server offers; PLUS variants only on TLS) and turns
 * challenges into responses; this file base64-encodes them onto "AUTH <mech> [ir]"
 * and 334 continuation lines, decodes 334 challenges, and reads 235 (success; the
 * plug-in's finish_cb may still veto, e.g. a missing SCRAM server signature), 334
 * (next step), anything else (failure with the server's reply). A challenge that is
 * not valid base64, or a plug-in failure, sends "*" and fails after the server's
 * answer (proto/base64.h's strict decoder: a challenge with non-zero padding
 * bits counts as invalid). At most SMTP_CLIENT_AUTH_STEPS_MAX challenges are
 * answered. */
#include "proto/smtp_client_priv.h"

#include <string.h>

#include "core/xmalloc.h"
#include "proto/base64.h"

static void auth_abort(struct smtp_client *c)
{
	c->auth_aborting = true;
	smtp_client_cmd(c, P_AUTH, "*");
}

void smtp_client_auth_start(struct smtp_client *c)
{
	const struct smtp_client_auth_ops *ops = c->cfg.auth;
	const char *offered[SMTP_CAPS_AUTH_MAX];
	for (size_t i = 0; i < c->caps.nauth; i++)
		offered[i] = c->caps.mechs[i];
	const char *mech = c->caps.nauth ? ops->choose_cb(c->cfg.auth_ctx, offered, c->caps.nauth,
	                                                  c->tls_active) : NULL;
	if (!mech || !*mech || strpbrk(mech, " \r\n")) {
		smtp_client_fail_local(c, SMTP_CLIENT_ERR_AUTH, SMTP_CLIENT_STAGE_AUTH, true,
		                       "remote offers no usable AUTH mechanism");
		return;
	}
	c->auth_mech = mech;
	c->state = SC_AUTH;
	c->auth_steps = 0;
	c->auth_aborting = false;
	struct buf ir;
	buf_init(&ir);
	int rc = ops->step_cb(c->cfg.auth_ctx, true, (struct slice){NULL, 0}, &ir);
	if (rc == SMTP_CLIENT_SASL_FAIL) {
		buf_free(&ir);
		smtp_client_fail_local(c, SMTP_CLIENT_ERR_AUTH, SMTP_CLIENT_STAGE_AUTH, true,
		                       "authentication failed locally (%s)", mech);
		return;
	}
	buf_reset(&c->auth_ir);
	if (rc == SMTP_CLIENT_SASL_NO_IR) {
		smtp_client_cmd(c, P_AUTH, "AUTH %s", mech);
	} else {
		base64_encode(&c->auth_ir, buf_slice(&ir));
		if (c->auth_ir.len == 0) {
			smtp_client_cmd(c, P_AUTH, "AUTH %s =", mech);
		} else if (c->auth_ir.len <= SMTP_CLIENT_AUTH_IR_MAX) {
			smtp_client_cmd(c, P_AUTH, "AUTH %s %.*s", mech, (int)c->auth_ir.len,
			                (const char *)c->auth_ir.p);
			buf_reset(&c->auth_ir);
		} else {
			smtp_client_cmd(c, P_AUTH, "AUTH %s", mech); /* sent after the empty 334 */
		}
	}
	buf_free(&ir);
}

static void on_challenge(struct smtp_client *c, struct smtp_reply *r)
{
	if (++c->auth_steps > SMTP_CLIENT_AUTH_STEPS_MAX) {
		smtp_client_fail_local(c, SMTP_CLIENT_ERR_PROTOCOL, SMTP_CLIENT_STAGE_AUTH, false,
		                       "protocol error: too many AUTH challenges");
		return;
	}
	if (c->auth_ir.len) { /* a long initial response waits for the empty challenge */
		smtp_client_cmd(c, P_AUTH, "%.*s", (int)c->auth_ir.len, (const char *)c->auth_ir.p);
		buf_reset(&c->auth_ir);
		return;
	}
	struct buf chal, resp;
	buf_init(&chal);
	buf_init(&resp);
	if (base64_decode(&chal, slice_str(smtp_reply_text(r, 0))) != 0 ||
	    c->cfg.auth->step_cb(c->cfg.auth_ctx, false, buf_slice(&chal), &resp) != SMTP_CLIENT_SASL_OK) {
		auth_abort(c);
	} else {
		struct buf line;
		buf_init(&line);
		base64_encode(&line, buf_slice(&resp));
		smtp_client_cmd(c, P_AUTH, "%.*s", (int)line.len, line.p ? (const char *)line.p : "");
		buf_free(&line);
	}
	buf_free(&chal);
	buf_free(&resp);
}

void smtp_client_auth_reply(struct smtp_client *c, struct smtp_reply *r)
{
	if (c->auth_aborting) {
		smtp_client_fail_local(c, SMTP_CLIENT_ERR_AUTH, SMTP_CLIENT_STAGE_AUTH, true,
		                       "authentication aborted (%s)", c->auth_mech);
		return;
	}
	if (r->code == 334) {
		on_challenge(c, r);
	} else if (r->code == 235) {
		const struct smtp_client_auth_ops *ops = c->cfg.auth;
		if (ops->finish_cb && ops->finish_cb(c->cfg.auth_ctx) < 0) {
			smtp_client_fail_local(c, SMTP_CLIENT_ERR_AUTH, SMTP_CLIENT_STAGE_AUTH, true,
			                       "server authentication incomplete (%s)", c->auth_mech);
			return;
		}
		c->auth_done = true;
		smtp_client_session_next(c);
	} else if (r->code >= 400) {
		smtp_client_fail_reply(c, SMTP_CLIENT_STAGE_AUTH, r, true);
	} else {
		smtp_client_fail_local(c, SMTP_CLIENT_ERR_PROTOCOL, SMTP_CLIENT_STAGE_AUTH, false,
		                       "protocol error: unexpected reply to AUTH");
	}
}
