/* The SASL plug-in of `tern sendmail`: the SMTP client engine's AUTH
 * callbacks (struct smtp_client_auth_ops) on top of sasl_client. */
#ifndef TERN_ACTORS_SENDMAIL_AUTH_H
#define TERN_ACTORS_SENDMAIL_AUTH_H

#include "core/buf.h"
#include "proto/smtp_client.h"

struct conf_submit;
struct sasl_client;
struct tls_conn;

/** State of one AUTH exchange; zero it, set cf and tls, buf_init(&cb), and
 * pass it as auth_ctx with sendmail_auth_ops. */
struct sendmail_auth {
	const struct conf_submit *cf;     /* Username, Password, AuthMethod (borrowed) */
	struct tls_conn *const *tls;      /* the connection's TLS, NULL until there is TLS (borrowed) */
	struct sasl_client *sc;           /* the running exchange */
	struct buf cb;                    /* channel-binding data */
};

/** Chooses AuthMethod if the server offers it, else the strongest offered of
 * SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5
 * and, over TLS only, PLAIN; -PLUS variants bind to the TLS channel
 * (tls-exporter on TLS 1.3, tls-unique on 1.2). A SCRAM `e=` from the server
 * is answered with an empty response, so the server's 535 ends the exchange.
 * finish_cb refuses a 235 without a verified SCRAM server signature. */
extern const struct smtp_client_auth_ops sendmail_auth_ops;

/** Frees the exchange state (not a itself). */
void sendmail_auth_free(struct sendmail_auth *a);

#endif
