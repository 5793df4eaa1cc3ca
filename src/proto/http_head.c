/* The request head of the metrics endpoint (see http_head.h).
 *
 * DESIGN: the server answers one request per connection and only ever serves
 * /metrics, so the head needs no full parse: it is complete at the first blank
 * line, the method is the request line's first word and the path must be
 * exactly "/metrics", optionally followed by a query. Header fields are not
 * looked at. */
#include "proto/http_head.h"

#include <string.h>

enum http_head_route http_head_route(struct slice head, bool *head_only)
{
	*head_only = false;
	if (head.len < 4 || !memmem(head.p, head.len, "\r\n\r\n", 4))
		return HTTP_HEAD_INCOMPLETE;
	const char *end = memchr(head.p, '\r', head.len);
	struct slice line = slice_of(head.p, (size_t)(end - (const char *)head.p));
	if (slice_prefix_nocase(line, "HEAD "))
		*head_only = true;
	else if (!slice_prefix_nocase(line, "GET "))
		return HTTP_HEAD_BAD_METHOD;
	if (memmem(line.p, line.len, " /metrics ", 10) || memmem(line.p, line.len, " /metrics?", 10))
		return HTTP_HEAD_METRICS;
	return HTTP_HEAD_NOT_FOUND;
}
