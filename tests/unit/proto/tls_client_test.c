/* The TLS engine as a client on a real loopback socket against Debian's
 * `openssl s_server -www`: PKIX failure on an untrusted self-signed
 * certificate, success with the CA file, host name mismatch, opportunistic
 * mode, DANE-EE/DANE-TA matching on the captured chain (RSA, ECDSA and
 * Ed25519 certificates). */
#include "check.h"

#include <signal.h>

#include "tls_socklib.h"

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
	size_t chain_len;
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
		r->chain_len = n;
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

/* Paths and contexts shared by the tests (tls_test_path rotates its buffers). */
static char ec[256], eck[256], leaf[256], leafk[256], ca[256], ed[256], edk[256];
static struct tls_ctx *untrusting, *trusting;

/* Association data of a PEM certificate. */
static void assoc(const char *pem, uint8_t sel, uint8_t mt, struct buf *out)
{
	char der[300];
	uint8_t tmp[4096];
	snprintf(der, sizeof der, "%s.der", pem);
	ASSERT(tls_test_sh("openssl x509 -in '%s' -outform DER -out '%s'", pem, der) == 0);
	FILE *f = fopen(der, "r");
	ASSERT(f);
	size_t n = fread(tmp, 1, sizeof tmp, f);
	fclose(f);
	ASSERT(tls_cert_assoc(slice_of(tmp, n), sel, mt, out) == 0);
}

TEST(setup)
{
	char err[TLS_ERR_MAX];
	tls_test_setup();
	signal(SIGPIPE, SIG_IGN);
	snprintf(ec, sizeof ec, "%s", tls_test_path("ec.crt"));
	snprintf(eck, sizeof eck, "%s", tls_test_path("ec.key"));
	snprintf(leaf, sizeof leaf, "%s", tls_test_path("leaf.crt"));
	snprintf(leafk, sizeof leafk, "%s", tls_test_path("leaf.key"));
	snprintf(ca, sizeof ca, "%s", tls_test_path("ca.crt"));
	snprintf(ed, sizeof ed, "%s", tls_test_path("ed.crt"));
	snprintf(edk, sizeof edk, "%s", tls_test_path("ed.key"));
	struct tls_client_opts none = {.no_system_roots = true};
	const char *files[] = {ca};
	struct tls_client_opts with_ca = {.ca_files = files, .n_ca_files = 1}; /* replaces the system roots */
	untrusting = tls_ctx_client_new(&none, err);
	trusting = tls_ctx_client_new(&with_ca, err);
	CHECK(untrusting && trusting);
}

TEST(untrusted_self_signed)
{
	struct client_run r;
	client_run(untrusting, ec, eck, NULL, "a.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK(r.rc < 0);
	CHECK(strstr(r.err, "not trusted: self-signed certificate") != NULL);
	/* opportunistic: the same server is used, the verdicts are recorded */
	client_run(untrusting, ec, eck, NULL, "a.example.test", TLS_VERIFY_NONE, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(!r.verified);
	CHECK(r.name_ok);
	CHECK(strncmp(r.page, "HTTP/1.0 200 ok", 15) == 0);
}

TEST(trusted_with_ca_file)
{
	struct client_run r;
	client_run(trusting, leaf, leafk, NULL, "mx.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(r.verified);
	CHECK(r.name_ok);
	CHECK(strncmp(r.page, "HTTP/1.0 200 ok", 15) == 0);
	/* with the CA in the sent chain too */
	client_run(trusting, leaf, leafk, ca, "MX.example.test.", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(r.verified);
	CHECK(r.name_ok);
}

/* An IP literal is checked against the certificate's IP addresses and not sent as SNI. */
TEST(ip_literal_name)
{
	struct client_run r;
	char ipc[256], ipk[256];
	snprintf(ipc, sizeof ipc, "%s", tls_test_path("ip.crt"));
	snprintf(ipk, sizeof ipk, "%s", tls_test_path("ip.key"));
	ASSERT(tls_test_sh("cd '%s' && openssl req -new -key leaf.key -subj /CN=ip -out ip.csr 2>/dev/null && "
			   "printf 'subjectAltName=IP:127.0.0.1\\n' > ip.ext && "
			   "openssl x509 -req -in ip.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
			   "-extfile ip.ext -out ip.crt 2>/dev/null && cp leaf.key ip.key",
			   tls_test_dir) == 0);
	client_run(trusting, ipc, ipk, NULL, "127.0.0.1", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(r.name_ok);
	client_run(trusting, ipc, ipk, NULL, "127.0.0.2", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK(r.rc < 0);
	CHECK(!r.name_ok);
}

TEST(host_name_mismatch)
{
	struct client_run r;
	client_run(trusting, leaf, leafk, NULL, "other.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK(r.rc < 0);
	CHECK(strstr(r.err, "does not match host name other.example.test") != NULL);
	client_run(trusting, leaf, leafk, NULL, "other.example.test", TLS_VERIFY_NONE, NULL, 0, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK(r.verified);
	CHECK(!r.name_ok);
}

TEST(dane_on_captured_chain)
{
	struct buf ee, ta, ed_ee;
	struct client_run r;
	buf_init(&ee);
	buf_init(&ta);
	buf_init(&ed_ee);
	assoc(leaf, 1, 1, &ee);
	assoc(ca, 0, 1, &ta);
	assoc(ed, 1, 1, &ed_ee);
	struct tls_tlsa recs_ee = {3, 1, 1, buf_slice(&ee)}, recs_ta = {2, 0, 1, buf_slice(&ta)};
	struct tls_tlsa recs_ed = {3, 1, 1, buf_slice(&ed_ee)};

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
	/* an Ed25519 server certificate: wolfSSL cannot make an X509 of it, the chain is still captured */
	client_run(untrusting, ed, edk, NULL, "ed.example.test", TLS_VERIFY_NONE, &recs_ed, 1, &r);
	CHECK_INT(r.rc, TLS_OK);
	CHECK_INT(r.dane, TLS_DANE_MATCH);
	CHECK(!r.verified);
	CHECK(strncmp(r.page, "HTTP/1.0 200 ok", 15) == 0);
	buf_free(&ee);
	buf_free(&ta);
	buf_free(&ed_ee);
}

/* badinput.md #68: a 100 kB chain ends the handshake or is accepted with the
 * kept chain capped; nothing crashes. */
TEST(huge_chain)
{
	struct client_run r;
	char big[256];
	snprintf(big, sizeof big, "%s", tls_test_path("big-chain.pem"));
	ASSERT(tls_test_sh("for i in $(seq 200); do cat '%s'; done > '%s'", ca, big) == 0);
	client_run(untrusting, leaf, leafk, big, "mx.example.test", TLS_VERIFY_NONE, NULL, 0, &r);
	CHECK(r.rc == TLS_OK || r.rc < 0);
	CHECK(r.chain_len <= TLS_PEER_CHAIN_MAX);
	if (r.rc < 0)
		CHECK(r.err[0] != 0);
	client_run(trusting, leaf, leafk, big, "mx.example.test", TLS_VERIFY_PKIX, NULL, 0, &r);
	CHECK(r.rc == TLS_OK || r.rc < 0);
	fprintf(stderr, "huge chain: rc=%d err=%s kept=%zu\n", r.rc, r.err, r.chain_len);
}

TEST(teardown)
{
	tls_ctx_free(&untrusting);
	tls_ctx_free(&trusting);
	CHECK(!untrusting && !trusting);
}

TEST_MAIN()
