/* SMTP server engine: AUTH command framing (RFC 4954, smtp.md §7).
 *
 * DESIGN: the engine frames the exchange — 334 challenges, base64 in both
 * directions, "*" aborts, the 12288-octet response line limit — and the actor
 * runs the mechanism on decoded bytes. Base64 is the strict RFC 4648 codec of
 * proto/base64.h (padding required, non-zero pad bits refused, badinput #39). */
#include "proto/smtp_server_int.h"

#include <stdio.h>

#include "proto/base64.h"

/* The announced mechanism matching name (case-insensitive), or NULL. */
static const char *smtp_server_mech(const struct smtp_server *s, struct slice name)
{
	for (size_t i = 0; i < s->cfg.n_auth_mechs; i++)
		if (slice_eq_str_nocase(name, s->cfg.auth_mechs[i]))
			return s->cfg.auth_mechs[i];
	return NULL;
}

static int smtp_server_auth_ask(struct smtp_server *s, unsigned step, bool has_data)
{
	s->auth.step = step;
	s->auth.has_data = has_data;
	s->auth.data = buf_slice(&s->auth_data);
	smtp_server_ask(s, SMTP_SERVER_AUTH);
	return SMTP_SERVER_AUTH;
}

int smtp_server_cmd_auth(struct smtp_server *s, struct slice arg, bool has_arg)
{
	if (s->cfg.kind == SMTP_SERVER_MX)
		return smtp_server_err(s, 503, "5.5.1 authentication not allowed on this listener");
	if (!s->helo || !s->esmtp)
		return smtp_server_err(s, 503, "5.5.1 send EHLO first");
	if (!s->tls && !s->cfg.no_require_starttls)
		return smtp_server_err(s, 530, "5.7.0 STARTTLS required");
	if (s->authenticated)
		return smtp_server_err(s, 503, "5.5.1 already authenticated");
	if (s->txn.mail)
		return smtp_server_err(s, 503, "5.5.1 not allowed during mail transaction");
	size_t ml = 0;
	while (ml < arg.len && arg.p[ml] != ' ')
		ml++;
	bool has_ir = ml < arg.len;
	struct slice ir = has_ir ? slice_of(arg.p + ml + 1, arg.len - ml - 1) : slice_of(NULL, 0);
	if (ml == 0 || ml >= sizeof(s->auth_mech) || (has_ir && ir.len == 0))
		return smtp_server_err(s, 501, "5.5.4 syntax: AUTH mechanism [initial-response]");
	const char *mech = smtp_server_mech(s, slice_of(arg.p, ml));
	if (!mech)
		return smtp_server_err(s, 504, "5.5.4 unrecognized authentication mechanism");
	buf_reset(&s->auth_data);
	if (has_ir && !slice_eq(ir, SLICE_LIT("=")) && base64_decode(&s->auth_data, ir) != 0)
		return smtp_server_err(s, 501, "5.5.2 invalid base64");
	snprintf(s->auth_mech, sizeof(s->auth_mech), "%s", mech);
	s->auth.mech = s->auth_mech;
	return smtp_server_auth_ask(s, 0, has_ir);
}

int smtp_server_auth_line(struct smtp_server *s, struct slice line)
{
	s->state = SMTP_ST_CMD;
	bool crlf = line.len >= 2 && line.p[line.len - 2] == '\r';
	line.len -= crlf ? 2 : 1;
	buf_reset(&s->auth_data);
	if (crlf && slice_eq(line, SLICE_LIT("*"))) {
		s->auth_failures++;
		smtp_server_err(s, 501, "5.7.0 authentication aborted");
		return SMTP_SERVER_AUTH_ABORTED;
	}
	if (!crlf || base64_decode(&s->auth_data, line) != 0) {
		s->auth_failures++;
		smtp_server_err(s, 501, "5.5.2 invalid base64");
		return SMTP_SERVER_AUTH_ABORTED;
	}
	return smtp_server_auth_ask(s, s->auth.step + 1, true);
}
