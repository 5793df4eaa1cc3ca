/* Helpers shared by the tls_*_test.c files: a temporary directory with
 * certificates generated at test time (never committed), shell commands,
 * and an in-memory pump between two engine connections. */
#ifndef TERN_TESTS_TLS_TESTLIB_H
#define TERN_TESTS_TLS_TESTLIB_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/tls.h"

#define TLS_TEST_FN static __attribute__((unused))
#define TLS_TEST_PUMP_ROUNDS 50 /* a handshake takes 2-4 round trips */

static char tls_test_dir[64];

TLS_TEST_FN void tls_test_rmdir(void)
{
	char cmd[128];
	if (!tls_test_dir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tls_test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tls_test_dir);
}

/* Path of name inside the test directory (static buffer rotation of 8). */
TLS_TEST_FN const char *tls_test_path(const char *name)
{
	static char bufs[8][256];
	static int k;
	char *b = bufs[k++ % 8];
	snprintf(b, 256, "%s/%s", tls_test_dir, name);
	return b;
}

/* Runs a shell command (formatted); returns its exit status. */
TLS_TEST_FN int tls_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
TLS_TEST_FN int tls_test_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a command and captures its stdout+stderr into out (NUL-terminated). */
TLS_TEST_FN int tls_test_capture(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
TLS_TEST_FN int tls_test_capture(struct buf *out, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(out, tmp, n);
	buf_cstr(out);
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TLS_TEST_FN void tls_test_write_file(const char *path, struct slice s)
{
	FILE *f = fopen(path, "w");
	ASSERT(f);
	ASSERT(fwrite(s.p, 1, s.len, f) == s.len);
	fclose(f);
}

/* Makes the directory and the certificates used by the tests:
 *  ec.crt/ec.key    our generator: ECDSA P-256, a.example.test (CA:TRUE)
 *  rsa.crt/rsa.key  openssl: RSA-2048 self-signed, b.example.test + *.wild.test
 *  ca.crt/ca.key    openssl: a test CA; leaf.crt/leaf.key: mx.example.test signed by it
 *  chain.crt        leaf.crt followed by ca.crt
 *  expired.crt      like leaf.crt (same key) but expired yesterday
 *  ed.crt/ed.key    openssl: Ed25519 self-signed, ed.example.test */
TLS_TEST_FN void tls_test_setup(void)
{
	char err[TLS_ERR_MAX];
	struct buf c, k;

	snprintf(tls_test_dir, sizeof tls_test_dir, "/tmp/tern-tls-test-XXXXXX");
	ASSERT(mkdtemp(tls_test_dir));
	atexit(tls_test_rmdir);
	buf_init(&c);
	buf_init(&k);
	if (tls_cert_selfsigned("a.example.test", 30, &c, &k, err) != 0)
		panic("tls_cert_selfsigned: %s", err);
	tls_test_write_file(tls_test_path("ec.crt"), buf_slice(&c));
	tls_test_write_file(tls_test_path("ec.key"), buf_slice(&k));
	buf_free(&c);
	buf_free(&k);
	const char *d = tls_test_dir;
	ASSERT(tls_test_sh("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt "
			   "-days 30 -subj /CN=b.example.test "
			   "-addext subjectAltName=DNS:b.example.test,DNS:*.wild.test 2>/dev/null",
			   d) == 0);
	ASSERT(tls_test_sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			   "-keyout ca.key -out ca.crt -days 30 -subj '/CN=Tern Test CA' 2>/dev/null && "
			   "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
			   "-out leaf.csr -subj /CN=mx.example.test 2>/dev/null && "
			   "printf 'subjectAltName=DNS:mx.example.test\\nbasicConstraints=CA:FALSE\\n' > leaf.ext && "
			   "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
			   "-extfile leaf.ext -out leaf.crt 2>/dev/null && cat leaf.crt ca.crt > chain.crt && "
			   "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 "
			   "-extfile leaf.ext -out expired.crt 2>/dev/null && "
			   "openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.crt -days 30 "
			   "-subj /CN=ed.example.test 2>/dev/null",
			   d) == 0);
}

/* Moves pending output of `from` into `to` as input. */
TLS_TEST_FN void tls_test_move(struct tls_conn *from, struct tls_conn *to)
{
	struct buf b;
	buf_init(&b);
	tls_conn_out_take(from, &b);
	if (b.len)
		ASSERT(tls_conn_feed(to, buf_slice(&b)) == TLS_OK);
	buf_free(&b);
}

/* Drives both handshakes in memory; returns the client's final status
 * (the server's in *srv_rc). */
TLS_TEST_FN int tls_test_pump(struct tls_conn *cli, struct tls_conn *srv, int *srv_rc)
{
	int rc_c = TLS_WANT_IO, rc_s = TLS_WANT_IO;
	for (int i = 0; i < TLS_TEST_PUMP_ROUNDS; i++) {
		if (rc_c == TLS_WANT_IO)
			rc_c = tls_conn_handshake(cli);
		tls_test_move(cli, srv);
		if (rc_s == TLS_WANT_IO)
			rc_s = tls_conn_handshake(srv);
		tls_test_move(srv, cli);
		if (rc_c != TLS_WANT_IO && rc_s != TLS_WANT_IO)
			break;
	}
	if (srv_rc)
		*srv_rc = rc_s;
	return rc_c;
}

/* Hex of a byte string into a static buffer. */
TLS_TEST_FN const char *tls_test_hex(const uint8_t *p, size_t n)
{
	static char s[2 * 512 + 1];
	if (n > 512)
		n = 512;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = 0;
	return s;
}

#endif
