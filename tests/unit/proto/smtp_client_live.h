/* Drives the SMTP client engine against real servers on loopback: a small blocking
 * driver (plain sockets, OpenSSL for STARTTLS) plus helpers to start peer servers
 * (Debian's python3 with aiosmtpd, the scripts in tests/integ/smtp_servers, Postfix's
 * smtp-sink) and to read what they recorded. Every wait and loop is bounded. */
#ifndef TERN_TESTS_SMTP_CLIENT_LIVE_H
#define TERN_TESTS_SMTP_CLIENT_LIVE_H

#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "proto/smtp_client.h"

extern char **environ;

#define LIVE_WAIT_CAP_MS 20000 /* no single wait in a test lasts longer than this */
#define LIVE_STEPS_MAX 1000000

struct live_server {
	pid_t pid;
	int port;
};

static inline const char *live_src(void)
{
	const char *s = getenv("TERN_SRC");
	static char buf[4096];
	if (s)
		return s;
	snprintf(buf, sizeof buf, "%s", __FILE__);
	char *p = strstr(buf, "/tests/unit/proto/");
	if (p)
		*p = '\0';
	return buf;
}

/* Starts argv[0] with stdout on a pipe and reads its first line into line (cap bytes,
 * NUL-terminated; waits at most 15 s). False when it could not start; *pid is the child
 * either way once it started, for live_kill. */
static inline bool live_spawn_line(pid_t *pid, char *const argv[], char *line, size_t cap)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return false;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	int rc = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return false;
	}
	memset(line, 0, cap);
	size_t n = 0;
	struct pollfd p = {.fd = pfd[0], .events = POLLIN};
	while (n < cap - 1 && !memchr(line, '\n', n) && poll(&p, 1, 15000) == 1) {
		ssize_t r = read(pfd[0], line + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(pfd[0]);
	return true;
}

/* Starts argv[0] with stdout on a pipe and reads the port it prints (python peers). */
static inline bool live_spawn_port(struct live_server *srv, char *const argv[])
{
	char line[32];
	if (!live_spawn_line(&srv->pid, argv, line, sizeof line))
		return false;
	srv->port = atoi(line);
	return srv->port > 0;
}

/* Ends the child *pid (SIGTERM, SIGKILL after 5 s), reaps it and sets *pid to 0. */
static inline void live_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		usleep(50000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static inline void live_stop(struct live_server *srv)
{
	live_kill(&srv->pid);
}

static inline int live_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A port that was free a moment ago (for servers that cannot report theirs). */
static inline int live_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	close(fd);
	return ntohs(a.sin_port);
}

/* Starts smtp-sink with extra options on a free port; waits until it accepts. */
static inline bool live_sink(struct live_server *srv, const char *const *opts, const char *dumpdir)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		char *argv[32], addr[64], dump[512];
		int n = 0, port = live_free_port();
		snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
		snprintf(dump, sizeof dump, "%s/%%H%%M%%S.", dumpdir);
		argv[n++] = "/usr/sbin/smtp-sink";
		argv[n++] = "-u";
		argv[n++] = "nobody";
		argv[n++] = "-d";
		argv[n++] = dump;
		for (; opts && *opts && n < 28; opts++)
			argv[n++] = (char *)*opts;
		argv[n++] = addr;
		argv[n++] = "16";
		argv[n] = NULL;
		if (posix_spawn(&srv->pid, argv[0], NULL, NULL, argv, environ) != 0)
			return false;
		srv->port = port;
		for (int i = 0; i < 100; i++) {
			int fd = live_connect(port);
			if (fd >= 0) {
				/* a probe session: read the greeting, leave */
				char g[512];
				struct pollfd p = {.fd = fd, .events = POLLIN};
				if (poll(&p, 1, 5000) == 1 && read(fd, g, sizeof g) > 0 &&
				    write(fd, "QUIT\r\n", 6) == 6 && poll(&p, 1, 5000) == 1)
					(void)!read(fd, g, sizeof g);
				close(fd);
				return true;
			}
			if (waitpid(srv->pid, NULL, WNOHANG) == srv->pid)
				break; /* exited: port taken, try another */
			usleep(50000);
		}
		live_stop(srv);
	}
	return false;
}

/* ---- the blocking driver ---- */

struct live_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

struct live_run {
	struct smtp_client_txn *txns[8];
	size_t ntxn, begun, done;
	unsigned cap_ms;   /* 0: LIVE_WAIT_CAP_MS */
	int timeouts;      /* waits that expired */
	bool eof;
};

static inline ssize_t live_write(struct live_conn *k, const uint8_t *p, size_t n)
{
	if (k->ssl) {
		int r = SSL_write(k->ssl, p, (int)n);
		return r > 0 ? r : -1;
	}
	return send(k->fd, p, n, MSG_NOSIGNAL);
}

static inline ssize_t live_read(struct live_conn *k, uint8_t *p, size_t n)
{
	if (k->ssl) {
		int r = SSL_read(k->ssl, p, (int)n);
		return r > 0 ? r : (SSL_get_error(k->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
	}
	return recv(k->fd, p, n, 0);
}

static inline bool live_handshake(struct live_conn *k)
{
	k->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(k->ctx, SSL_VERIFY_NONE, NULL);
	k->ssl = SSL_new(k->ctx);
	SSL_set_fd(k->ssl, k->fd);
	return SSL_connect(k->ssl) == 1;
}

/* Runs the session to CLOSED; returns false if the step budget ran out. */
static inline bool live_drive(struct smtp_client *c, struct live_conn *k, struct live_run *run)
{
	static uint8_t rbuf[65536];
	unsigned cap = run->cap_ms ? run->cap_ms : LIVE_WAIT_CAP_MS;
	for (int i = 0; i < LIVE_STEPS_MAX; i++) {
		enum smtp_client_event ev = smtp_client_step(c);
		struct slice out = smtp_client_output(c);
		size_t off = 0;
		bool broken = false;
		while (off < out.len && !broken) {
			struct pollfd p = {.fd = k->fd, .events = POLLOUT};
			ssize_t w = poll(&p, 1, (int)cap) == 1 ? live_write(k, out.p + off, out.len - off) : -1;
			if (w <= 0)
				broken = true;
			else
				off += (size_t)w;
		}
		smtp_client_output_consumed(c, out.len);
		if (broken && ev != SMTP_CLIENT_EV_CLOSED) {
			smtp_client_io_error(c, "write failed");
			continue;
		}
		switch (ev) {
		case SMTP_CLIENT_EV_SEND:
			break;
		case SMTP_CLIENT_EV_NEED_INPUT: {
			unsigned ms = smtp_client_timeout_ms(c) < cap ? smtp_client_timeout_ms(c) : cap;
			struct pollfd p = {.fd = k->fd, .events = POLLIN};
			bool pending = k->ssl && SSL_pending(k->ssl) > 0;
			if (!pending && poll(&p, 1, (int)ms) == 0) {
				run->timeouts++;
				smtp_client_timeout(c);
				break;
			}
			ssize_t r = live_read(k, rbuf, sizeof rbuf);
			if (r > 0) {
				smtp_client_feed(c, rbuf, (size_t)r);
			} else {
				run->eof = r == 0;
				smtp_client_io_error(c, r == 0 ? "connection closed by remote" : "read error");
			}
			break;
		}
		case SMTP_CLIENT_EV_STARTTLS:
			if (live_handshake(k))
				smtp_client_tls_started(c, false);
			else
				smtp_client_io_error(c, "TLS handshake failed");
			break;
		case SMTP_CLIENT_EV_READY:
			if (run->begun < run->ntxn)
				smtp_client_begin(c, run->txns[run->begun++]);
			else
				smtp_client_quit(c);
			break;
		case SMTP_CLIENT_EV_TXN_DONE:
			run->done++;
			break;
		case SMTP_CLIENT_EV_CLOSED:
			return true;
		}
	}
	return false;
}

static inline void live_close(struct live_conn *k)
{
	if (k->ssl)
		SSL_free(k->ssl);
	if (k->ctx)
		SSL_CTX_free(k->ctx);
	if (k->fd >= 0)
		close(k->fd);
	memset(k, 0, sizeof *k);
	k->fd = -1;
}

/* One session: connect, drive, close. */
static inline struct smtp_client *live_session(int port, const struct smtp_client_config *cfg,
                                               struct live_run *run)
{
	struct live_conn k = {.fd = live_connect(port)};
	struct smtp_client *c = smtp_client_new(cfg);
	CHECK(k.fd >= 0 && c);
	if (k.fd >= 0 && c)
		CHECK(live_drive(c, &k, run));
	live_close(&k);
	return c;
}

/* ---- files ---- */

static inline char *live_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[65536];
	size_t n;
	if (!f)
		return NULL;
	buf_init(&b);
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_cstr(&b);
}

static inline int live_rm_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(p);
}

static inline void live_rmdir(const char *dir)
{
	nftw(dir, live_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* The result text of a recipient, in a static buffer. */
static inline const char *rtext_live(const struct smtp_client_result *r)
{
	static char s[4096];
	struct buf b;
	buf_init(&b);
	smtp_client_result_text(r, &b);
	snprintf(s, sizeof s, "%s", b.len ? buf_cstr(&b) : "");
	buf_free(&b);
	return s;
}

/* The body source for live tests: a heap string. */
static inline int live_read_cb(void *ctx, uint64_t off, struct slice *out)
{
	const struct buf *b = ctx;
	*out = slice_of(b->p + off, b->len - (size_t)off);
	return 0;
}

#endif
