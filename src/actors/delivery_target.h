/* Delivery targets: how records of a transport are delivered (queue.md §12).
 *
 * One target per configured transport, plus direct delivery (transport "") and
 * the localserve target, built once from tern.conf when the router starts and
 * immutable afterwards (connection actors on other workers read them). */
#ifndef TERN_ACTORS_DELIVERY_TARGET_H
#define TERN_ACTORS_DELIVERY_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/delivery_job.h"
#include "conf/conf.h"
#include "proto/smtp_client.h"

/** Default port of direct delivery. */
#define DELIVERY_SMTP_PORT 25
/** localserve: Tern's own SMTP port (localserve.md §3). */
#define DELIVERY_LOCALSERVE_PORT 1025
/** EHLO name in localserve. */
#define DELIVERY_LOCALSERVE_EHLO "localhost"

enum delivery_target_kind {
	DELIVERY_T_DIRECT,   /* MX lookup; Direct transports limit the families */
	DELIVERY_T_RELAY,    /* Submissions / Submission / SMTP: one configured host */
	DELIVERY_T_FAIL,     /* every attempt fails with the configured code */
	DELIVERY_T_LOCAL,    /* localserve: Tern's own SMTP listener */
};

struct delivery_target {
	char *name;                      /* transport name, "" for direct delivery */
	enum delivery_target_kind kind;
	char *host;                      /* RELAY: Host (also the TLS name); LOCAL: the IP */
	uint16_t port;                   /* RELAY, LOCAL, and DIRECT (25 unless overridden) */
	enum smtp_client_tls tls;        /* RELAY and LOCAL; DIRECT decides per job */
	bool verify;                     /* RELAY: PKIX verification of Host */
	const struct conf_transport_auth *auth; /* RELAY: borrowed from the config */
	bool no4, no6;                   /* DIRECT: Direct.DisableIPv4 / DisableIPv6 */
	int fail_code;                   /* FAIL */
	char *fail_msg;
	char *ehlo;                      /* EHLO name */
	bool rcpt_per_txn;               /* each recipient in its own transaction (localserve) */
	int metric_id;                   /* delivery_metrics_transport() of the transport label */
};

struct delivery_targets {
	struct delivery_target *v;       /* the configured transports, in file order */
	size_t n;
	struct delivery_target direct;   /* transport "" */
	bool localserve;                 /* every delivery goes to `local` */
	struct delivery_target local;
};

/** Builds the targets from st (borrowed for the targets' life: auth points into it).
 * direct_port / local_port: 0 for DELIVERY_SMTP_PORT / DELIVERY_LOCALSERVE_PORT (tests
 * point them at their own servers). */
void delivery_targets_build(const struct conf_static *st, bool localserve, uint16_t direct_port,
                            uint16_t local_port, struct delivery_targets *out);
/** Frees what delivery_targets_build() made. */
void delivery_targets_free(struct delivery_targets *t);
/** The target for a transport name ("" = direct), or NULL when it does not exist.
 * In localserve every name maps to the local target. */
const struct delivery_target *delivery_targets_find(const struct delivery_targets *t, struct slice name);

/** The TLS level a connection must reach for a job of target t (queue.md §3, §12). */
enum delivery_tls delivery_target_need(const struct delivery_target *t, bool requiretls);

/** Engine TLS mode and certificate check for a job's new connection. */
void delivery_target_tls(const struct delivery_target *t, enum delivery_tls need, enum smtp_client_tls *mode,
                         bool *verify);

#endif
