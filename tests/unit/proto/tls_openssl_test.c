/* The TLS engine on real loopback sockets against real peers:
 *  - a small blocking server built from the engine, with Debian's
 *    `openssl s_client` (version, cipher, SNI certificate choice, MinVersion,
 *    tls-exporter compared with -keymatexport) and /usr/bin/python3's ssl
 *    module (tls-unique on TLS 1.2 compared with the server's value);
 *  - the engine as a client against `openssl s_server` (PKIX failure on an
 *    untrusted self-signed certificate, success with the CA file, host name
 *    mismatch, DANE matching on the captured chain).
 * Every wait is a poll() with a timeout and every loop is bounded. */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include "tls_testlib.h"

#define WAIT_MS 10000   /* per poll() */
#define MAX_STEPS 400   /* receive/handshake/read iterations per connection */

/* ---- blocking transport around the engine ---- */

static int flush_out(int fd, struct tls_conn *c)
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
static int pull_in(int fd, struct tls_conn *c)
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
static int handshake_blocking(int fd, struct tls_conn *c)
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
static int read_blocking(int fd, struct tls_conn *c, struct buf *out, bool stop_at_nl)
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

static int listen_loopback(int *port)
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

static int connect_loopback(int port)
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

/* ---- the engine as a server, one thread, one connection ---- */

struct served {
	int rc;
	char version[16], cipher[80], sni[TLS_NAME_MAX + 1], err[TLS_ERR_MAX], line[128];
	char cb[2 * TLS_CB_LEN_MAX + 1];
};

struct server {
	int lfd, port;
	struct tls_ctx *ctx;
	pthread_t th;
	struct served r;
};

static void serve_app(int fd, struct tls_conn *c, struct served *r)
{
	struct buf in, cb;
	buf_init(&in);
	buf_init(&cb);
	snprintf(r->version, sizeof r->version, "%s", tls_conn_version(c));
	snprintf(r->cipher, sizeof r->cipher, "%s", tls_conn_cipher(c));
	snprintf(r->sni, sizeof r->sni, "%s", tls_conn_sni(c) ? tls_conn_sni(c) : "");
	if (tls_conn_channel_binding(c, tls_conn_cb_type(c), &cb) == TLS_OK)
		snprintf(r->cb, sizeof r->cb, "%.128s", tls_test_hex(cb.p, cb.len));
	if (read_blocking(fd, c, &in, true) == TLS_OK) {
		size_t n = (uint8_t *)memchr(in.p, '\n', in.len) - in.p;
		snprintf(r->line, sizeof r->line, "%.*s", (int)n, (char *)in.p);
		struct buf reply;
		buf_init(&reply);
		buf_printf(&reply, "echo %s\n", r->line);
		tls_conn_write(c, buf_slice(&reply));
		buf_free(&reply);
	}
	tls_conn_close_notify(c);
	flush_out(fd, c);
	shutdown(fd, SHUT_WR);
	buf_reset(&in);
	read_blocking(fd, c, &in, false); /* until the client goes away */
	buf_free(&in);
	buf_free(&cb);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd p = {.fd = s->lfd, .events = POLLIN};
	s->r.rc = TLS_ERR;
	if (poll(&p, 1, WAIT_MS) != 1)
		return NULL;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	struct tls_conn *c = tls_conn_server_new(s->ctx);
	s->r.rc = handshake_blocking(fd, c);
	if (s->r.rc == TLS_OK)
		serve_app(fd, c, &s->r);
	else
		snprintf(s->r.err, sizeof s->r.err, "%s", tls_conn_error(c));
	tls_conn_free(&c);
	close(fd);
	tls_thread_exit();
	return NULL;
}

static void server_start(struct server *s, struct tls_ctx *ctx)
{
	memset(s, 0, sizeof *s);
	s->ctx = ctx;
	s->lfd = listen_loopback(&s->port);
	ASSERT(pthread_create(&s->th, NULL, server_main, s) == 0);
}

static void server_join(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static struct tls_ctx *srv12, *srv13;

/* Value after `key` up to the end of the line, from s_client output. */
static bool field(const char *out, const char *key, char *val, size_t cap)
{
	const char *p = strstr(out, key);
	if (!p)
		return false;
	p += strlen(key);
	size_t n = strcspn(p, "\r\n");
	snprintf(val, cap, "%.*s", (int)n, p);
	return true;
}

/* Runs s_client against a fresh server connection; returns its output. */
static void s_client(struct tls_ctx *ctx, const char *args, struct buf *out, struct served *r)
{
	struct server s;
	server_start(&s, ctx);
	tls_test_capture(out,
			 "echo PING | timeout 20 openssl s_client -connect 127.0.0.1:%d %s -ign_eof "
			 "-keymatexport EXPORTER-Channel-Binding -keymatexportlen 32 2>&1",
			 s.port, args);
	server_join(&s);
	*r = s.r;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

TEST(setup)
{
	char err[TLS_ERR_MAX];
	tls_test_setup();
	struct tls_keycert kc[] = {
	    {tls_test_path("ec.crt"), tls_test_path("ec.key")},
	    {tls_test_path("rsa.crt"), tls_test_path("rsa.key")},
	};
	srv12 = tls_ctx_server_new(kc, 2, TLS_V12, err);
	srv13 = tls_ctx_server_new(kc, 2, TLS_V13, err);
	CHECK(srv12 && srv13);
	signal(SIGPIPE, SIG_IGN);
}

TEST(s_client_tls13_exporter_and_sni)
{
	struct buf out;
	struct served r;
	char v[200];
	buf_init(&out);
	s_client(srv12, "-tls1_3 -servername a.example.test", &out, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_STR(r.version, "TLS1.3");
	CHECK_STR(r.sni, "a.example.test");
	CHECK_STR(r.line, "PING");
	CHECK(strstr((char *)out.p, "echo PING") != NULL);
	CHECK(field((char *)out.p, "New, ", v, sizeof v));
	char want[200];
	snprintf(want, sizeof want, "TLSv1.3, Cipher is %s", r.cipher);
	CHECK_STR(v, want);
	CHECK(field((char *)out.p, "subject=", v, sizeof v));
	CHECK_STR(v, "CN = a.example.test");
	CHECK(field((char *)out.p, "Keying material: ", v, sizeof v));
	lower(v);
	CHECK_INT(strlen(r.cb), 64);
	CHECK_STR(v, r.cb);
	CHECK(strstr((char *)out.p, "Server Temp Key: X25519") != NULL);
	buf_free(&out);
}

/* Session tickets: a second s_client connection resumes, on both versions. */
TEST(s_client_resumes_with_ticket)
{
	const char *vers[] = {"-tls1_3", "-tls1_2"};
	for (int i = 0; i < 2; i++) {
		struct buf out;
		struct served r;
		char args[512], sess[300];
		buf_init(&out);
		snprintf(sess, sizeof sess, "%s", tls_test_path("sess.pem"));
		unlink(sess);
		snprintf(args, sizeof args, "%s -servername a.example.test -sess_out '%s'", vers[i], sess);
		s_client(srv12, args, &out, &r);
		CHECK_INT(r.rc, TLS_OK);
		CHECK(strstr((char *)out.p, "New, TLSv1.") != NULL);
		buf_reset(&out);
		snprintf(args, sizeof args, "%s -servername a.example.test -sess_in '%s'", vers[i], sess);
		s_client(srv12, args, &out, &r);
		CHECK_INT(r.rc, TLS_OK);
		CHECK(strstr((char *)out.p, "Reused, TLSv1.") != NULL);
		CHECK_STR(r.line, "PING");
		if (i == 1)
			CHECK_INT(strlen(r.cb), 24);
		buf_free(&out);
	}
}

/* An Ed25519 certificate made by openssl serves as the default. */
TEST(s_client_ed25519_certificate)
{
	char err[TLS_ERR_MAX];
	struct tls_keycert kc = {tls_test_path("ed.crt"), tls_test_path("ed.key")};
	struct tls_ctx *ctx = tls_ctx_server_new(&kc, 1, TLS_V12, err);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	const char *vers[] = {"-tls1_3", "-tls1_2"};
	for (int i = 0; i < 2; i++) {
		struct buf out;
		struct served r;
		char v[200], args[100];
		buf_init(&out);
		snprintf(args, sizeof args, "%s -servername ed.example.test -sigalgs ed25519", vers[i]);
		s_client(ctx, args, &out, &r);
		CHECK_INT(r.rc, TLS_OK);
		CHECK(field((char *)out.p, "subject=", v, sizeof v));
		CHECK_STR(v, "CN = ed.example.test");
		CHECK_STR(r.line, "PING");
		buf_free(&out);
	}
	tls_ctx_free(&ctx);
}

TEST(s_client_tls12_rsa_by_sni)
{
	struct buf out, names;
	struct served r;
	char v[200], ossl[100];
	buf_init(&out);
	buf_init(&names);
	s_client(srv12, "-tls1_2 -servername B.Example.Test", &out, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_STR(r.version, "TLS1.2");
	CHECK_STR(r.sni, "b.example.test");
	CHECK(field((char *)out.p, "subject=", v, sizeof v));
	CHECK_STR(v, "CN = b.example.test");
	/* s_client names TLS 1.2 suites the OpenSSL way; map ours through `openssl ciphers -stdname` */
	CHECK(field((char *)out.p, "New, TLSv1.2, Cipher is ", ossl, sizeof ossl));
	tls_test_capture(&names, "openssl ciphers -stdname ALL | awk '$3 == \"%s\" {print $1}'", ossl);
	CHECK(names.len > 0);
	if (names.len)
		CHECK_MEM(names.p, strcspn((char *)names.p, "\n"), r.cipher);
	CHECK(strstr(ossl, "ECDHE-RSA-") == ossl);
	CHECK(strstr(ossl, "GCM") || strstr(ossl, "CHACHA20"));
	CHECK_INT(strlen(r.cb), 24); /* tls-unique: 12 bytes */
	buf_free(&out);
	buf_free(&names);
}

TEST(s_client_sni_wildcard_and_default)
{
	struct buf out;
	struct served r;
	char v[200];
	buf_init(&out);
	s_client(srv12, "-servername www.wild.test", &out, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(field((char *)out.p, "subject=", v, sizeof v));
	CHECK_STR(v, "CN = b.example.test");
	buf_reset(&out);
	s_client(srv12, "-noservername", &out, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_STR(r.sni, "");
	CHECK(field((char *)out.p, "subject=", v, sizeof v));
	CHECK_STR(v, "CN = a.example.test");
	buf_free(&out);
}

TEST(s_client_min_version_13_refuses_12)
{
	struct buf out;
	struct served r;
	buf_init(&out);
	s_client(srv13, "-tls1_2 -servername a.example.test", &out, &r);
	CHECK(r.rc < 0);
	CHECK(r.err[0] != 0);
	CHECK(strstr((char *)out.p, "New, TLSv1.2") == NULL);
	CHECK(strstr((char *)out.p, "alert") != NULL);
	buf_reset(&out);
	s_client(srv13, "-servername a.example.test", &out, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_STR(r.version, "TLS1.3");
	buf_free(&out);
}

/* Python resumes the TLS 1.2 session: tls-unique is then the server's Finished. */
TEST(python_tls_unique_resumed)
{
	static const char script[] =
	    "import socket, ssl, sys\n"
	    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
	    "ctx.check_hostname = False\n"
	    "ctx.verify_mode = ssl.CERT_NONE\n"
	    "ctx.maximum_version = ssl.TLSVersion.TLSv1_2\n"
	    "sess = None\n"
	    "for port in sys.argv[1:]:\n"
	    "    raw = socket.create_connection(('127.0.0.1', int(port)), timeout=10)\n"
	    "    s = ctx.wrap_socket(raw, server_hostname='b.example.test', session=sess)\n"
	    "    print(s.session_reused, s.get_channel_binding('tls-unique').hex())\n"
	    "    s.sendall(b'PING\\n')\n"
	    "    for _ in range(100):\n"
	    "        if not s.recv(4096): break\n"
	    "    sess = s.session\n"
	    "    s.close()\n";
	tls_test_write_file(tls_test_path("resume.py"), SLICE_LIT(script));
	struct server s1, s2;
	struct buf out;
	buf_init(&out);
	server_start(&s1, srv12);
	server_start(&s2, srv12);
	int st = tls_test_capture(&out, "timeout 20 /usr/bin/python3 '%s' %d %d 2>&1", tls_test_path("resume.py"),
				  s1.port, s2.port);
	server_join(&s1);
	server_join(&s2);
	CHECK_INT(st, 0);
	CHECK_INT(s1.r.rc, TLS_OK);
	CHECK_INT(s2.r.rc, TLS_OK);
	char want[400];
	snprintf(want, sizeof want, "False %s\nTrue %s\n", s1.r.cb, s2.r.cb);
	CHECK_STR((char *)out.p, want);
	CHECK(strcmp(s1.r.cb, s2.r.cb) != 0);
	buf_free(&out);
}

TEST(python_tls_unique)
{
	static const char script[] =
	    "import socket, ssl, sys\n"
	    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
	    "ctx.check_hostname = False\n"
	    "ctx.verify_mode = ssl.CERT_NONE\n"
	    "ctx.maximum_version = ssl.TLSVersion.TLSv1_2\n"
	    "raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
	    "s = ctx.wrap_socket(raw, server_hostname='b.example.test')\n"
	    "print(s.version(), s.get_channel_binding('tls-unique').hex())\n"
	    "s.sendall(b'PING\\n')\n"
	    "data = b''\n"
	    "for _ in range(100):\n"
	    "    d = s.recv(4096)\n"
	    "    if not d: break\n"
	    "    data += d\n"
	    "print(data.decode().strip())\n";
	tls_test_write_file(tls_test_path("cb.py"), SLICE_LIT(script));
	struct server s;
	struct buf out;
	buf_init(&out);
	server_start(&s, srv12);
	int st = tls_test_capture(&out, "timeout 20 /usr/bin/python3 '%s' %d 2>&1", tls_test_path("cb.py"), s.port);
	server_join(&s);
	CHECK_INT(st, 0);
	CHECK_INT(s.r.rc, TLS_OK);
	CHECK_STR(s.r.version, "TLS1.2");
	CHECK_INT(strlen(s.r.cb), 24);
	char want[200];
	snprintf(want, sizeof want, "TLSv1.2 %s\necho PING\n", s.r.cb);
	CHECK_STR((char *)out.p, want);
	buf_free(&out);
}

/* ---- the engine as a client against openssl s_server -www ---- */

struct s_server {
	pid_t pid;
	int port;
};

/* Starts s_server -www for one connection; `extra` (may be NULL) is sent as
 * the rest of the chain. */
static bool s_server_start(struct s_server *s, const char *cert, const char *key, const char *extra)
{
	int pfd[2];
	ASSERT(pipe(pfd) == 0);
	s->pid = fork();
	ASSERT(s->pid >= 0);
	if (s->pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		if (extra)
			execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key,
			       "-cert_chain", extra, "-www", "-naccept", "1", (char *)NULL);
		else
			execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key,
			       "-www", "-naccept", "1", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char line[256];
	size_t len = 0;
	s->port = 0;
	for (int i = 0; i < 100 && !s->port; i++) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		if (poll(&p, 1, WAIT_MS) != 1)
			break;
		ssize_t n = read(pfd[0], line + len, sizeof line - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = 0;
		char *a = strstr(line, "ACCEPT 127.0.0.1:");
		if (a && strchr(a, '\n'))
			s->port = atoi(a + strlen("ACCEPT 127.0.0.1:"));
	}
	close(pfd[0]);
	if (!s->port)
		fprintf(stderr, "s_server did not start: %.*s\n", (int)len, line);
	return s->port > 0;
}

static void s_server_stop(struct s_server *s)
{
	int st;
	if (s->pid <= 0)
		return;
	if (waitpid(s->pid, &st, WNOHANG) == 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &st, 0);
	}
	s->pid = 0;
}

struct client_run {
	int rc;
	bool verified, name_ok;
	char err[TLS_ERR_MAX], page[64];
	enum tls_dane_result dane;
};

/* One connection to a fresh s_server; the DANE records are checked on the
 * captured chain. */
static void client_run(struct tls_ctx *cctx, const char *cert, const char *key, const char *extra, const char *name,
		       enum tls_verify mode, const struct tls_tlsa *tlsa, size_t n_tlsa, struct client_run *r)
{
	struct s_server srv;
	memset(r, 0, sizeof *r);
	r->rc = TLS_ERR;
	r->dane = TLS_DANE_UNUSABLE;
	if (!s_server_start(&srv, cert, key, extra)) {
		s_server_stop(&srv);
		return;
	}
	int fd = connect_loopback(srv.port);
	if (fd >= 0) {
		struct tls_conn *c = tls_conn_client_new(cctx, name, mode);
		r->rc = handshake_blocking(fd, c);
		r->verified = tls_conn_peer_verified(c);
		r->name_ok = tls_conn_peer_name_ok(c);
		snprintf(r->err, sizeof r->err, "%s", tls_conn_error(c));
		struct slice chain[TLS_PEER_CHAIN_MAX];
		size_t n = tls_conn_peer_chain_len(c);
		for (size_t i = 0; i < n; i++)
			chain[i] = tls_conn_peer_cert(c, i);
		const char *names[] = {name};
		r->dane = tls_dane_match(tlsa, n_tlsa, chain, n, names, 1, NULL);
		if (r->rc == TLS_OK) {
			struct buf page;
			buf_init(&page);
			tls_conn_write(c, SLICE_LIT("GET / HTTP/1.0\r\n\r\n"));
			flush_out(fd, c);
			read_blocking(fd, c, &page, false);
			snprintf(r->page, sizeof r->page, "%.*s", (int)(page.len < 40 ? page.len : 40), (char *)page.p);
			buf_free(&page);
		}
		tls_conn_free(&c);
		close(fd);
	}
	s_server_stop(&srv);
}

TEST(client_against_s_server)
{
	char err[TLS_ERR_MAX];
	struct tls_client_opts none = {.no_system_roots = true};
	const char *files[] = {tls_test_path("ca.crt")};
	struct tls_client_opts with_ca = {.ca_files = files, .n_ca_files = 1};
	struct tls_ctx *untrusting = tls_ctx_client_new(&none, err);
	struct tls_ctx *trusting = tls_ctx_client_new(&with_ca, err);
	ASSERT(untrusting && trusting);
	struct client_run r;
	char ec[256], eck[256], leaf[256], leafk[256], ca[256];
	snprintf(ec, sizeof ec, "%s", tls_test_path("ec.crt"));
	snprintf(eck, sizeof eck, "%s", tls_test_path("ec.key"));
	snprintf(leaf, sizeof leaf, "%s", tls_test_path("leaf.crt"));
	snprintf(leafk, sizeof leafk, "%s", tls_test_path("leaf.key"));
	snprintf(ca, sizeof ca, "%s", tls_test_path("ca.crt"));

	/* untrusted self-signed certificate: PKIX fails, opportunistic works */
	client_run(untrusting, ec, eck, NULL, "a.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK(r.rc < 0);
	CHECK(strstr(r.err, "not trusted") != NULL);
	client_run(untrusting, ec, eck, NULL, "a.example.test", TLS_VERIFY_NONE, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(!r.verified);
	CHECK(r.name_ok);
	CHECK(strncmp(r.page, "HTTP/1.0 200 ok", 15) == 0);

	/* CA file added (replacing the system roots) */
	client_run(trusting, leaf, leafk, NULL, "mx.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(r.verified);
	CHECK(r.name_ok);
	CHECK(strncmp(r.page, "HTTP/1.0 200 ok", 15) == 0);

	/* host name mismatch */
	client_run(trusting, leaf, leafk, NULL, "other.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK(r.rc < 0);
	CHECK(strstr(r.err, "does not match host name other.example.test") != NULL);
	client_run(trusting, leaf, leafk, NULL, "other.example.test", TLS_VERIFY_NONE, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(r.verified);
	CHECK(!r.name_ok);

	/* DANE on the captured chain: DANE-EE 3 1 1 of the leaf, DANE-TA 2 0 1 of the CA */
	struct buf leaf_der, ca_der, ee, ta;
	buf_init(&leaf_der);
	buf_init(&ca_der);
	buf_init(&ee);
	buf_init(&ta);
	ASSERT(tls_test_sh("openssl x509 -in '%s' -outform DER -out '%s'", tls_test_path("leaf.crt"),
			   tls_test_path("leaf.der")) == 0);
	ASSERT(tls_test_sh("openssl x509 -in '%s' -outform DER -out '%s'", tls_test_path("ca.crt"),
			   tls_test_path("ca.der")) == 0);
	FILE *f = fopen(tls_test_path("leaf.der"), "r");
	uint8_t tmp[4096];
	buf_append(&leaf_der, tmp, fread(tmp, 1, sizeof tmp, f));
	fclose(f);
	f = fopen(tls_test_path("ca.der"), "r");
	buf_append(&ca_der, tmp, fread(tmp, 1, sizeof tmp, f));
	fclose(f);
	ASSERT(tls_cert_assoc(buf_slice(&leaf_der), 1, 1, &ee) == 0);
	ASSERT(tls_cert_assoc(buf_slice(&ca_der), 0, 1, &ta) == 0);
	struct tls_tlsa recs_ee = {3, 1, 1, buf_slice(&ee)}, recs_ta = {2, 0, 1, buf_slice(&ta)};
	client_run(untrusting, leaf, leafk, NULL, "mx.example.test", TLS_VERIFY_NONE, &recs_ee, 1, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_INT(r.dane, TLS_DANE_MATCH);
	client_run(untrusting, leaf, leafk, NULL, "mx.example.test", TLS_VERIFY_NONE, &recs_ta, 1, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_INT(r.dane, TLS_DANE_NO_MATCH); /* the CA was not sent */
	client_run(untrusting, leaf, leafk, ca, "mx.example.test", TLS_VERIFY_NONE, &recs_ta, 1, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_INT(r.dane, TLS_DANE_MATCH);
	client_run(untrusting, ec, eck, NULL, "mx.example.test", TLS_VERIFY_NONE, &recs_ee, 1, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_INT(r.dane, TLS_DANE_NO_MATCH);

	/* an Ed25519 server certificate: the chain is still captured for DANE */
	struct buf ed_der, ed_ee;
	buf_init(&ed_der);
	buf_init(&ed_ee);
	ASSERT(tls_test_sh("openssl x509 -in '%s' -outform DER -out '%s'", tls_test_path("ed.crt"),
			   tls_test_path("ed.der")) == 0);
	f = fopen(tls_test_path("ed.der"), "r");
	buf_append(&ed_der, tmp, fread(tmp, 1, sizeof tmp, f));
	fclose(f);
	ASSERT(tls_cert_assoc(buf_slice(&ed_der), 1, 1, &ed_ee) == 0);
	struct tls_tlsa recs_ed = {3, 1, 1, buf_slice(&ed_ee)};
	char ed[256], edk[256];
	snprintf(ed, sizeof ed, "%s", tls_test_path("ed.crt"));
	snprintf(edk, sizeof edk, "%s", tls_test_path("ed.key"));
	client_run(untrusting, ed, edk, NULL, "ed.example.test", TLS_VERIFY_NONE, &recs_ed, 1, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_INT(r.dane, TLS_DANE_MATCH);
	CHECK(!r.verified);
	CHECK(strncmp(r.page, "HTTP/1.0 200 ok", 15) == 0);
	buf_free(&ed_der);
	buf_free(&ed_ee);
	buf_free(&leaf_der);
	buf_free(&ca_der);
	buf_free(&ee);
	buf_free(&ta);
	tls_ctx_free(&untrusting);
	tls_ctx_free(&trusting);
}

TEST(teardown)
{
	tls_ctx_free(&srv12);
	tls_ctx_free(&srv13);
	CHECK(!srv12 && !srv13);
}

TEST_MAIN()
