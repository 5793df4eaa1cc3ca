/* SMTP listeners: MX (SMTP), Submission (STARTTLS) and Submissions (implicit TLS).
 *
 * Sockets are bound at start-up (before the switch to the configured user),
 * one per pool worker per address with SO_REUSEPORT so the kernel spreads
 * connections over the workers; accepting starts later, after the control
 * socket is up. Each accepted connection becomes an smtp_session actor on the
 * worker that accepted it. */
#ifndef TERN_ACTORS_SMTP_LISTENER_H
#define TERN_ACTORS_SMTP_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/netaddr.h"

struct conf_static;
struct conf_listener;
struct tls_ctx;

/** The kind of SMTP service on a socket. */
enum smtp_service { SMTP_SVC_MX, SMTP_SVC_SUBMISSION, SMTP_SVC_SUBMISSIONS };

/** What a session needs to know about the socket it came from (immutable, shared). */
struct smtp_endpoint {
	enum smtp_service svc;
	const struct conf_listener *l;
	struct tls_ctx *tls;   /* NULL when the listener has no TLS */
	struct netaddr addr;   /* local address bound */
	uint16_t port;
};

/** Binds every enabled SMTP service of every listener. Returns 0 or -1 with a message. */
int smtp_listener_bind_all(const struct conf_static *st, struct buf *err);
/** Starts accepting on every bound socket (needs the worker pool). */
void smtp_listener_start_all(void);
/** Stops accepting and asks sessions to finish (idle ones get 421 at once). */
void smtp_listener_stop_all(void);
/** Number of live sessions (for shutdown). */
int64_t smtp_listener_sessions(void);

#endif
