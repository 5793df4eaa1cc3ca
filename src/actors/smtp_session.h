/* SMTP session actors: one per accepted connection (MX or submission).
 *
 * The protocol engine (proto/smtp_server.h) decides syntax and state; the
 * session does the I/O (netconn, TLS), timers, and the policy that needs
 * configuration, DNS, credentials or storage, then answers the engine. */
#ifndef TERN_ACTORS_SMTP_SESSION_H
#define TERN_ACTORS_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/connlimit.h"
#include "core/netaddr.h"

struct smtp_endpoint;
struct worker;

/** Starts a session for an accepted socket on worker w. When v is not CONNLIMIT_OK the
 * session only sends the 421 refusal and closes. relay: the peer is in RelayNetworks. */
void smtp_session_spawn(int fd, const struct smtp_endpoint *ep, const struct netaddr *peer, uint16_t port,
                        bool relay, enum connlimit_verdict v, struct worker *w);
/** Asks every session to finish (server shutdown). */
void smtp_session_shutdown_all(void);
/** Live sessions. */
int64_t smtp_session_count(void);

#endif
