/* http_head_route: completeness, methods, the /metrics path and HEAD. */
#include "check.h"

#include <string.h>

#include "proto/http_head.h"

static enum http_head_route route(const char *s, bool *head_only)
{
	return http_head_route(slice_of(s, strlen(s)), head_only);
}

TEST(incomplete_until_blank_line)
{
	bool h;
	CHECK_INT(route("", &h), HTTP_HEAD_INCOMPLETE);
	CHECK_INT(route("GET /metrics HTTP/1.1\r\nHost: x\r\n", &h), HTTP_HEAD_INCOMPLETE);
	CHECK_INT(route("GET /metrics HTTP/1.1\r\n\r", &h), HTTP_HEAD_INCOMPLETE);
	CHECK_INT(route("GET /metrics HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_METRICS);
}

TEST(metrics_path_and_query)
{
	bool h = true;
	CHECK_INT(route("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP_HEAD_METRICS);
	CHECK(!h);
	CHECK_INT(route("get /metrics?x=1 HTTP/1.0\r\n\r\n", &h), HTTP_HEAD_METRICS);
	CHECK_INT(route("GET /metricsx HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_NOT_FOUND);
	CHECK_INT(route("GET / HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_NOT_FOUND);
	/* The path is on the request line only: a header naming it does not count. */
	CHECK_INT(route("GET / HTTP/1.1\r\nX: GET /metrics \r\n\r\n", &h), HTTP_HEAD_NOT_FOUND);
}

TEST(methods)
{
	bool h = false;
	CHECK_INT(route("HEAD /metrics HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_METRICS);
	CHECK(h);
	CHECK_INT(route("HEAD /nope HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_NOT_FOUND);
	CHECK(h);
	CHECK_INT(route("POST /metrics HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_BAD_METHOD);
	CHECK(!h);
	CHECK_INT(route("\r\n\r\n", &h), HTTP_HEAD_BAD_METHOD);
	CHECK_INT(route("GETX /metrics HTTP/1.1\r\n\r\n", &h), HTTP_HEAD_BAD_METHOD);
}

TEST_MAIN()
