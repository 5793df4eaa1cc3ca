/* Metrics of outgoing delivery: the tern_queue_* connection and attempt series
 * and tern_smtpclient_command_duration_seconds of reporting.md §8.
 *
 * Label values (docs/operations.md has the table): attempt "1".."9" and "10+";
 * transport the configured name, "direct" (MX delivery), "localserve", or
 * "unknown" (a record naming no configured transport); tlsmode
 * immediate|requiredstarttls|opportunistic|skip; result
 * ok|okpartial|timeout|canceled|temperror|permerror|error. */
#ifndef TERN_ACTORS_DELIVERY_METRICS_H
#define TERN_ACTORS_DELIVERY_METRICS_H

#include <stdint.h>

#include "proto/smtp_client.h"

struct delivery_job;
struct metric;

/** Dial outcomes (tern_queue_connection_total{result}). */
enum delivery_metrics_dial {
	DELIVERY_METRICS_DIAL_OK, DELIVERY_METRICS_DIAL_TIMEOUT, DELIVERY_METRICS_DIAL_CANCELED,
	DELIVERY_METRICS_DIAL_ERROR, DELIVERY_METRICS_NDIAL,
};

/** Why a REQUIRETLS record could not go to a host (tern_queue_requiretls_unsupported_total):
 * NOPOLICY no verified TLS to the host (certificate not verified, no STARTTLS, or a
 * transport that does not verify); NOREQUIRETLS the host does not announce REQUIRETLS. */
enum delivery_metrics_rtls { DELIVERY_METRICS_RTLS_NOPOLICY, DELIVERY_METRICS_RTLS_NOREQUIRETLS };

/** The fixed series; valid after delivery_metrics_init(), bumped with metric_add. */
struct delivery_metrics {
	struct metric *dial[DELIVERY_METRICS_NDIAL];
	struct metric *open;                 /* tern_queue_connections_open */
	struct metric *reuse;                /* tern_queue_connection_reuse_total */
	struct metric *plaintext_fallback;   /* tern_queue_plaintext_fallback_total */
	struct metric *requiretls[2];        /* by enum delivery_metrics_rtls */
};
extern struct delivery_metrics delivery_metrics;

/** Registers the series once (thread-safe, cheap after the first call). */
void delivery_metrics_init(void);

/** Transport labels with their own id; later ones share the label "other". */
#define DELIVERY_METRICS_TRANSPORTS_MAX 64
/** The id (0..DELIVERY_METRICS_TRANSPORTS_MAX-1) of a transport label (see the header
 * comment; copied, at most 63 bytes, bytes other than [A-Za-z0-9._-] as '_') for
 * delivery_target.metric_id: the same label always gets the same id in a process. Not
 * for the hot path (mutex, string compares). */
int delivery_metrics_transport(const char *name);

/** Observes tern_queue_delivery_duration_seconds for a job whose results are final
 * (delivery_job_finish): one observation per attempt, none when no record was tried
 * and the attempt was never accounted. */
void delivery_metrics_attempt(const struct delivery_job *job);

/** The engine's reply observer (smtp_client_config.reply_cb):
 * tern_smtpclient_command_duration_seconds{cmd,code,secode}; ctx is unused. The
 * greeting is not a command and is not observed. */
void delivery_metrics_reply_cb(void *ctx, enum smtp_client_cmd cmd, const struct smtp_reply *r, int64_t ns);

#endif
