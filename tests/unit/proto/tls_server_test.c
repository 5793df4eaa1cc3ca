/* The TLS engine as a server on a real loopback socket (a small blocking
 * loop in a thread) against real clients: Debian's `openssl s_client`
 * (version, cipher, X25519, SNI certificate choice incl. wildcard and
 * default, MinVersion, ticket resumption, Ed25519 certificate, tls-exporter
 * compared with -keymatexport) and /usr/bin/python3's ssl module (tls-unique
 * on TLS 1.2, full and resumed, compared with the server's value). */
#include "check.h"

#include <pthread.h>
#include <signal.h>

#include "tls_socklib.h"

/* One thread, one connection. */
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
/* Only ECDHE + AEAD on TLS 1.2, and nothing below TLS 1.2. */
TEST(s_client_weak_offers_refused)
{
	const char *offers[] = {
	    "-tls1_2 -cipher ECDHE-RSA-AES128-SHA -servername b.example.test",
	    "-tls1_2 -cipher AES128-GCM-SHA256 -servername b.example.test",
	    "-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 -servername b.example.test",
	    "-tls1_1 -cipher DEFAULT@SECLEVEL=0 -servername b.example.test",
	};
	for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++) {
		struct buf out;
		struct served r;
		buf_init(&out);
		s_client(srv12, offers[i], &out, &r);
		CHECK(r.rc < 0);
		CHECK(r.err[0] != 0); /* the server saw a hello and refused it */
		CHECK(strstr((char *)out.p, "New, TLSv1") == NULL);
		if (r.rc >= 0)
			fprintf(stderr, "accepted: %s\n", offers[i]);
		buf_free(&out);
	}
}

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

TEST(teardown)
{
	tls_ctx_free(&srv12);
	tls_ctx_free(&srv13);
	CHECK(!srv12 && !srv13);
}

TEST_MAIN()
