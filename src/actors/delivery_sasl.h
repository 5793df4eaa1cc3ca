/* SMTP AUTH for delivery connections: the SMTP client engine's SASL plug-in
 * (struct smtp_client_auth_ops) on top of src/proto/sasl.h's client.
 *
 * queue.md §12: the first mechanism of the transport's `Mechanisms` that the server
 * offers is used; -PLUS variants only on TLS with channel-binding data (tls-exporter
 * on TLS 1.3, tls-unique on TLS 1.2). A SCRAM 235 counts only once the server's
 * signature was verified. */
#ifndef TERN_ACTORS_DELIVERY_SASL_H
#define TERN_ACTORS_DELIVERY_SASL_H

#include "conf/conf.h"
#include "proto/sasl.h"
#include "proto/smtp_client.h"

struct tls_conn;

/** Plug-in state; one per connection, auth_ctx of the engine. */
struct delivery_sasl {
	const struct conf_transport_auth *auth; /* borrowed from the config */
	struct tls_conn *const *tls;            /* where the session's TLS pointer lives; NULL: never TLS */
	struct sasl_client *sc;
	enum sasl_mech mech;
};

/** The ops to put in smtp_client_config.auth (with auth_ctx = the delivery_sasl). */
extern const struct smtp_client_auth_ops delivery_sasl_ops;

/** Sets s up for auth (borrowed); tls points at the connection's TLS pointer (borrowed). */
void delivery_sasl_init(struct delivery_sasl *s, const struct conf_transport_auth *auth,
                        struct tls_conn *const *tls);
/** Frees the exchange (wipes the keys). */
void delivery_sasl_free(struct delivery_sasl *s);

#endif
