/* Prometheus endpoint: `GET /metrics` over HTTP/1.1 on listeners with MetricsHTTP enabled. */
#ifndef TERN_ACTORS_METRICS_HTTP_H
#define TERN_ACTORS_METRICS_HTTP_H

#include "core/buf.h"

struct conf_static;

/** Binds the MetricsHTTP sockets of every listener (before privileges are dropped).
 * Returns 0 or -1 with a message. */
int metrics_http_bind(const struct conf_static *st, struct buf *err);
/** Starts serving on the bound sockets (needs the worker pool). */
void metrics_http_start(void);

#endif
