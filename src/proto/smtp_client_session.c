/* Session set-up of the outbound SMTP client: greeting, EHLO, STARTTLS, explicit RSET.
 *
 * DESIGN: each handler takes the reply to its command and decides the next command
 * (smtp_client_session_next: STARTTLS per the TLS mode, then AUTH, then idle). A
 * rejection (4xx/5xx) at greeting or EHLO ends the session politely with QUIT and
 * keeps the whole reply for the caller, who moves to the next host (queue.md §11.3);
 * a reply of the wrong class is a protocol error. HELO is never tried: see
 * smtp_client.h. After a 220 to STARTTLS the engine stops reading until the actor
 * reports the handshake; the EHLO after it starts from empty capabilities. */
#include "proto/smtp_client_priv.h"

#include <string.h>

void smtp_client_session_next(struct smtp_client *c)
{
	enum smtp_client_tls m = c->cfg.tls;
	if (!c->tls_active && (m == SMTP_CLIENT_TLS_OPPORTUNISTIC || m == SMTP_CLIENT_TLS_REQUIRED) &&
	    !c->starttls_tried) {
		if (c->caps.starttls) {
			c->starttls_tried = true;
			c->state = SC_STARTTLS;
			smtp_client_cmd(c, P_STARTTLS, "STARTTLS");
			return;
		}
		if (m == SMTP_CLIENT_TLS_REQUIRED) {
			smtp_client_fail_local(c, SMTP_CLIENT_ERR_TLS, SMTP_CLIENT_STAGE_STARTTLS, true,
			                       "remote does not offer STARTTLS");
			return;
		}
	}
	if (c->cfg.auth && !c->auth_done) {
		smtp_client_auth_start(c);
		return;
	}
	c->state = SC_IDLE;
}

void smtp_client_session_ehlo_send(struct smtp_client *c)
{
	c->state = SC_EHLO;
	smtp_client_cmd(c, P_EHLO, "EHLO %s", c->ehlo_name);
}

void smtp_client_session_greeting(struct smtp_client *c, struct smtp_reply *r)
{
	if (r->code == 220)
		smtp_client_session_ehlo_send(c);
	else if (r->code >= 400)
		smtp_client_fail_reply(c, SMTP_CLIENT_STAGE_GREETING, r, true);
	else
		smtp_client_protocol_error(c, "unexpected greeting", r);
}

void smtp_client_session_ehlo_reply(struct smtp_client *c, struct smtp_reply *r)
{
	if (r->code == 250) {
		smtp_caps_parse(&c->caps, r);
		if (!c->tls_active)
			c->starttls_offered = c->caps.starttls;
		smtp_client_session_next(c);
	} else if (r->code >= 400) {
		smtp_client_fail_reply(c, SMTP_CLIENT_STAGE_EHLO, r, true);
	} else {
		smtp_client_protocol_error(c, "unexpected reply to EHLO", r);
	}
}

void smtp_client_session_starttls(struct smtp_client *c, struct smtp_reply *r)
{
	if (r->code == 220) {
		c->state = SC_HANDSHAKE;
		c->ev_starttls = true;
		return;
	}
	if (r->code < 400) {
		smtp_client_protocol_error(c, "unexpected reply to STARTTLS", r);
		return;
	}
	c->starttls_refused = true;
	if (c->cfg.tls == SMTP_CLIENT_TLS_REQUIRED)
		smtp_client_fail_reply(c, SMTP_CLIENT_STAGE_STARTTLS, r, true);
	else
		smtp_client_session_next(c); /* opportunistic: carry on in plaintext */
}

void smtp_client_session_rset(struct smtp_client *c, struct smtp_reply *r)
{
	if (r->code != 250) {
		smtp_client_protocol_error(c, "RSET refused", r);
		return;
	}
	c->need_rset = false;
	c->state = SC_IDLE;
}
