/* Blocking loopback transport around the TLS engine for the real-peer
 * tests: every wait is a poll() with a timeout, every loop is bounded. */
#ifndef TERN_TESTS_TLS_SOCKLIB_H
#define TERN_TESTS_TLS_SOCKLIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "tls_testlib.h"

#define WAIT_MS 10000   /* per poll() */
#define MAX_STEPS 400   /* receive/handshake/read iterations per connection */

/* ---- blocking transport around the engine ---- */

TLS_TEST_FN int flush_out(int fd, struct tls_conn *c)
{
	struct buf b;
	buf_init(&b);
	tls_conn_out_take(c, &b);
	size_t off = 0;
	while (off < b.len) {
		ssize_t n = send(fd, b.p + off, b.len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			buf_free(&b);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&b);
	return 0;
}

/* One recv into the engine: 1 data, 0 end of input (recorded), -1 error/timeout. */
TLS_TEST_FN int pull_in(int fd, struct tls_conn *c)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, WAIT_MS) != 1)
		return -1;
	uint8_t tmp[16384];
	ssize_t n = recv(fd, tmp, sizeof tmp, 0);
	if (n < 0)
		return -1;
	if (n == 0) {
		tls_conn_feed_eof(c);
		return 0;
	}
	return tls_conn_feed(c, slice_of(tmp, (size_t)n)) == TLS_OK ? 1 : -1;
}

/* Drives a handshake to the end. */
TLS_TEST_FN int handshake_blocking(int fd, struct tls_conn *c)
{
	int rc = TLS_WANT_IO;
	for (int i = 0; i < MAX_STEPS; i++) {
		rc = tls_conn_handshake(c);
		if (flush_out(fd, c) < 0 && rc == TLS_WANT_IO)
			return TLS_ERR;
		if (rc != TLS_WANT_IO || pull_in(fd, c) < 0)
			break;
	}
	return rc;
}

/* Reads until `out` holds a '\n' (if stop_at_nl) or the peer closed. */
TLS_TEST_FN int read_blocking(int fd, struct tls_conn *c, struct buf *out, bool stop_at_nl)
{
	int rc = TLS_WANT_IO;
	for (int i = 0; i < MAX_STEPS; i++) {
		rc = tls_conn_read(c, out, 65536);
		flush_out(fd, c);
		if (stop_at_nl && out->len && memchr(out->p, '\n', out->len))
			return TLS_OK;
		if (rc == TLS_OK)
			continue;
		if (rc != TLS_WANT_IO || pull_in(fd, c) < 0)
			break;
	}
	return rc;
}

TLS_TEST_FN int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	ASSERT(fd >= 0);
	ASSERT(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	ASSERT(listen(fd, 8) == 0);
	ASSERT(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
	*port = ntohs(a.sin_port);
	return fd;
}

TLS_TEST_FN int connect_loopback(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif
