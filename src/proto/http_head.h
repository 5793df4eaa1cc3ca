#ifndef TERN_PROTO_HTTP_HEAD_H
#define TERN_PROTO_HTTP_HEAD_H
/* The request head of the metrics endpoint's minimal HTTP/1.1 server. */
#include <stdbool.h>

#include "core/buf.h"

/** Most bytes of a request head; a longer one is dropped without an answer. */
#define HTTP_HEAD_MAX 8192

/** What a request asks for. */
enum http_head_route {
	HTTP_HEAD_INCOMPLETE, /* no blank line yet: read more */
	HTTP_HEAD_METRICS,    /* GET or HEAD of /metrics (a query string is ignored) */
	HTTP_HEAD_NOT_FOUND,  /* GET or HEAD of another path: 404 */
	HTTP_HEAD_BAD_METHOD, /* another method, or no request line: 405 */
};

/** Classifies the head received so far (head borrowed, not kept). Sets *head_only for a
 * HEAD request (answer without a body). Pure: no allocation, no I/O; any bytes are safe. */
enum http_head_route http_head_route(struct slice head, bool *head_only);

#endif
