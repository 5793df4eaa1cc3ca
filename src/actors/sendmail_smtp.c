/* A blocking SMTP submission for `tern sendmail` (see sendmail_smtp.h).
 *
 * DESIGN: a CLI submits one message and exits, so plain blocking-with-poll
 * I/O on one socket is enough; the protocol is the same engine the delivery
 * actors use (src/proto/smtp_client.h), so STARTTLS, AUTH framing,
 * REQUIRETLS checks, pipelining and reply parsing are not written twice.
 * Waits follow the engine's per-wait limits (a new wait starts when its
 * sequence changes). TLS goes through the in-memory TLS engine: ciphertext
 * is moved between the socket and tls_conn here. AUTH is the SASL plug-in of
 * sendmail_auth.c. */
#include "actors/sendmail_smtp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/sendmail_auth.h"
#include "conf/conf_submit.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/smtp_client.h"
#include "proto/tls.h"

/** Plaintext read per call. */
#define SM_READ_MAX 65536

struct sm_conn {
	int fd;
	struct tls_conn *tls;
	struct buf out; /* ciphertext taken from tls, being sent */
};

/* ---- socket I/O with deadlines ---- */

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
		} else {
			return w < 0 ? -errno : -EPIPE;
		}
	}
	return 0;
}

/* Reads ciphertext or plaintext bytes from the socket: >0 bytes, 0 EOF, <0 error. */
static ssize_t recv_some(int fd, uint8_t *p, size_t n, int64_t deadline)
{
	for (;;) {
		ssize_t r = recv(fd, p, n, 0);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		int w = wait_fd(fd, POLLIN, deadline);
		if (w < 0)
			return w;
	}
}

static int tls_flush(struct sm_conn *c, int64_t deadline)
{
	tls_conn_out_take(c->tls, &c->out);
	int r = send_all(c->fd, c->out.p, c->out.len, deadline);
	buf_reset(&c->out);
	return r;
}

static int conn_write(struct sm_conn *c, struct slice s, int64_t deadline)
{
	if (!c->tls)
		return send_all(c->fd, s.p, s.len, deadline);
	if (tls_conn_write(c->tls, s) != TLS_OK)
		return -EPROTO;
	return tls_flush(c, deadline);
}

/* Appends plaintext to in: >0 bytes, 0 EOF, <0 error (-ETIMEDOUT on the deadline). */
static ssize_t conn_read(struct sm_conn *c, struct buf *in, int64_t deadline)
{
	uint8_t tmp[SM_READ_MAX];
	if (!c->tls) {
		ssize_t r = recv_some(c->fd, tmp, sizeof tmp, deadline);
		if (r > 0)
			buf_append(in, tmp, (size_t)r);
		return r;
	}
	for (;;) {
		size_t before = in->len;
		int r = tls_conn_read(c->tls, in, SM_READ_MAX);
		if (tls_flush(c, deadline) < 0)
			return -EPIPE;
		if (r == TLS_OK)
			return (ssize_t)(in->len - before);
		if (r == TLS_CLOSED)
			return 0;
		if (r != TLS_WANT_IO)
			return -EPROTO;
		ssize_t n = recv_some(c->fd, tmp, sizeof tmp, deadline);
		if (n <= 0) {
			if (n == 0)
				tls_conn_feed_eof(c->tls);
			if (n < 0)
				return n;
		} else if (tls_conn_feed(c->tls, slice_of(tmp, (size_t)n)) != TLS_OK) {
			return -EPROTO;
		}
	}
}

static int handshake(struct sm_conn *c, struct tls_ctx *ctx, const struct conf_submit *cf, bool *verified,
                     struct buf *err)
{
	c->tls = tls_conn_client_new(ctx, cf->host, cf->tls_insecure_skip_verify ? TLS_VERIFY_NONE : TLS_VERIFY_PKIX);
	int64_t deadline = clock_mono_ms() + SMTP_CLIENT_T_HANDSHAKE_MS;
	for (;;) {
		int r = tls_conn_handshake(c->tls);
		if (tls_flush(c, deadline) < 0) {
			buf_printf(err, "TLS handshake with %s failed: cannot send", cf->host);
			return -1;
		}
		if (r == TLS_OK)
			break;
		if (r != TLS_WANT_IO) {
			buf_printf(err, "TLS handshake with %s failed: %s", cf->host, tls_conn_error(c->tls));
			return -1;
		}
		uint8_t tmp[SM_READ_MAX];
		ssize_t n = recv_some(c->fd, tmp, sizeof tmp, deadline);
		if (n < 0) {
			buf_printf(err, "TLS handshake with %s failed: %s", cf->host, strerror((int)-n));
			return -1;
		}
		if (n == 0) {
			tls_conn_feed_eof(c->tls);
		} else if (tls_conn_feed(c->tls, slice_of(tmp, (size_t)n)) != TLS_OK) {
			buf_printf(err, "TLS handshake with %s failed: too much data", cf->host);
			return -1;
		}
	}
	*verified = !cf->tls_insecure_skip_verify && tls_conn_peer_verified(c->tls) && tls_conn_peer_name_ok(c->tls);
	return 0;
}

static int dial(const struct conf_submit *cf, struct buf *err)
{
	char port[8];
	snprintf(port, sizeof port, "%d", cf->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL;
	int gr = getaddrinfo(cf->host, port, &hints, &res);
	if (gr != 0) {
		buf_printf(err, "cannot resolve %s: %s", cf->host, gai_strerror(gr));
		return -1;
	}
	int fd = -1, last = 0;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		int r = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : -errno;
		if (r == -EINPROGRESS && (r = wait_fd(fd, POLLOUT, clock_mono_ms() + SENDMAIL_CONNECT_MS)) == 0) {
			int so = 0;
			socklen_t sl = sizeof so;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
			r = -so;
		}
		if (r != 0) {
			last = -r;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		buf_printf(err, "cannot connect to %s port %d: %s", cf->host, cf->port, strerror(last ? last : EHOSTUNREACH));
	return fd;
}

/* ---- the session ---- */

static int read_cb(void *ctx, uint64_t off, struct slice *out)
{
	const struct slice *d = ctx;
	*out = slice_of(d->p + off, d->len - (size_t)off);
	return 0;
}

static void put_result(const struct smtp_client_result *r, const char *rcpt, struct buf *err)
{
	if (rcpt)
		buf_printf(err, "%s: ", rcpt);
	if (r->reply) {
		for (size_t i = 0; i < r->reply->nlines; i++)
			buf_printf(err, "%s%s", i ? "\n" : "", r->reply->lines[i]);
		if (r->text)
			buf_printf(err, " (%s)", r->text);
	} else {
		buf_printf(err, "%d %s %s", r->code, r->ecode, r->text ? r->text : "failed");
	}
	buf_putc(err, '\n');
}

struct sm_run {
	const struct sendmail_submission *s;
	struct smtp_client *eng;
	struct sm_conn conn;
	struct smtp_client_txn txn;
	struct smtp_client_rcpt *rcpts;
	struct slice data;
	struct tls_ctx *ctx;
	bool begun, done;
	uint64_t seq;
	int64_t deadline;
};

static void need_input(struct sm_run *r, struct buf *in)
{
	if (smtp_client_wait_seq(r->eng) != r->seq) {
		r->seq = smtp_client_wait_seq(r->eng);
		r->deadline = clock_mono_ms() + smtp_client_timeout_ms(r->eng);
	}
	buf_reset(in);
	ssize_t n = conn_read(&r->conn, in, r->deadline);
	if (n > 0)
		smtp_client_feed(r->eng, in->p, in->len);
	else if (n == -ETIMEDOUT)
		smtp_client_timeout(r->eng);
	else
		smtp_client_io_error(r->eng, n == 0 ? "connection closed by server" : strerror((int)-n));
}

/* Drives the engine to CLOSED. Returns 0 when every recipient got a 250 end of data. */
static int run(struct sm_run *r, struct buf *err)
{
	struct buf in;
	buf_init(&in);
	int status = -1;
	bool closed = false;
	for (size_t steps = 0; !closed && steps < SENDMAIL_STEPS_MAX; steps++) {
		enum smtp_client_event ev = smtp_client_step(r->eng);
		struct slice o = smtp_client_output(r->eng);
		if (o.len) {
			int w = conn_write(&r->conn, o, clock_mono_ms() + SMTP_CLIENT_T_BLOCK_MS);
			smtp_client_output_consumed(r->eng, o.len);
			if (w < 0 && ev != SMTP_CLIENT_EV_CLOSED) {
				smtp_client_io_error(r->eng, strerror(-w));
				continue;
			}
		}
		switch (ev) {
		case SMTP_CLIENT_EV_SEND:
			break;
		case SMTP_CLIENT_EV_NEED_INPUT:
			need_input(r, &in);
			break;
		case SMTP_CLIENT_EV_STARTTLS: {
			bool verified = false;
			struct buf herr;
			buf_init(&herr);
			if (handshake(&r->conn, r->ctx, r->s->conf, &verified, &herr) == 0)
				smtp_client_tls_started(r->eng, verified);
			else
				smtp_client_io_error(r->eng, buf_cstr(&herr));
			buf_free(&herr);
			break;
		}
		case SMTP_CLIENT_EV_READY:
			if (!r->begun) {
				r->begun = true;
				smtp_client_begin(r->eng, &r->txn);
			} else {
				smtp_client_quit(r->eng);
			}
			break;
		case SMTP_CLIENT_EV_TXN_DONE:
			r->done = true;
			status = 0;
			for (size_t i = 0; i < r->txn.nrcpts; i++) {
				const struct smtp_client_result *res = &r->rcpts[i].result;
				if (res->err != SMTP_CLIENT_OK || res->code != 250) {
					status = -1;
					put_result(res, r->txn.nrcpts > 1 ? r->rcpts[i].addr : NULL, err);
				}
			}
			if (smtp_client_reusable(r->eng))
				smtp_client_quit(r->eng);
			break;
		case SMTP_CLIENT_EV_CLOSED:
			closed = true;
			if (!r->done) {
				const struct smtp_client_result *e = smtp_client_error(r->eng);
				if (e)
					put_result(e, NULL, err);
				else
					buf_puts(err, "connection closed before the message was sent\n");
			}
			break;
		}
	}
	buf_free(&in);
	return status;
}

int sendmail_smtp_submit(const struct sendmail_submission *s, struct buf *err)
{
	const struct conf_submit *cf = s->conf;
	char terr[TLS_ERR_MAX];
	const char *ca[1] = {s->ca_file};
	struct tls_client_opts to = {.ca_files = ca, .n_ca_files = s->ca_file ? 1 : 0, .ca_additional_to_system = true};
	struct sm_run r = {.s = s, .data = s->data, .conn = {.fd = -1}};
	buf_init(&r.conn.out);
	r.ctx = tls_ctx_client_new(&to, terr);
	if (!r.ctx) {
		buf_printf(err, "TLS: %s\n", terr);
		return -1;
	}
	int status = -1;
	bool verified = false;
	r.conn.fd = dial(cf, err);
	if (r.conn.fd >= 0 && (!cf->tls || handshake(&r.conn, r.ctx, cf, &verified, err) == 0)) {
		char host[256] = "localhost";
		if (*cf->local_hostname)
			snprintf(host, sizeof host, "%s", cf->local_hostname);
		else if (gethostname(host, sizeof host) != 0 || !*host || strchr(host, ' '))
			snprintf(host, sizeof host, "localhost");
		struct sendmail_auth auth = {.cf = cf, .tls = &r.conn.tls};
		buf_init(&auth.cb);
		struct smtp_client_config cfg = {
			.ehlo_name = host,
			.tls = cf->tls ? SMTP_CLIENT_TLS_IMPLICIT : cf->starttls ? SMTP_CLIENT_TLS_REQUIRED : SMTP_CLIENT_TLS_NONE,
			.implicit_verified = verified,
			.auth = *cf->username ? &sendmail_auth_ops : NULL,
			.auth_ctx = &auth,
		};
		r.rcpts = xcalloc(s->nrcpts, sizeof *r.rcpts);
		for (size_t i = 0; i < s->nrcpts; i++)
			r.rcpts[i].addr = s->rcpts[i];
		r.txn = (struct smtp_client_txn){.mail_from = cf->from, .rcpts = r.rcpts, .nrcpts = s->nrcpts,
		                                 .data_size = s->data.len, .read_cb = read_cb, .read_ctx = &r.data,
		                                 .has8bit = s->has8bit, .requiretls = s->requiretls};
		r.eng = smtp_client_new(&cfg);
		if (!r.eng)
			buf_printf(err, "invalid EHLO name \"%s\" (set LocalHostname)\n", host);
		else
			status = run(&r, err);
		smtp_client_free(r.eng);
		smtp_client_txn_clear(&r.txn);
		free(r.rcpts);
		sendmail_auth_free(&auth);
	} else if (err->len && err->p[err->len - 1] != '\n') {
		buf_putc(err, '\n');
	}
	tls_conn_free(&r.conn.tls);
	if (r.conn.fd >= 0)
		close(r.conn.fd);
	buf_free(&r.conn.out);
	tls_ctx_free(&r.ctx);
	return status;
}
