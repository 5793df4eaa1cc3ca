/* Helpers for the DKIM tests: drive a verifier over a DNS table, compare a
 * canonical body, make keys with openssl in a temporary directory, run
 * shell commands. */
#ifndef TERN_TESTS_DKIM_TESTLIB_H
#define TERN_TESTS_DKIM_TESTLIB_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "mailauth_testdns.h"
#include "proto/base64.h"
#include "proto/dkim_canon.h"
#include "proto/dkim_verify.h"

/* Most DNS round trips a test drives (the engine needs at most 5). */
#define DKIM_TEST_STEPS_MAX 16

static inline bool dkim_test_body_is(bool relaxed, struct slice body, const char *want)
{
	uint8_t d1[32], d2[32];
	uint64_t total;
	struct dkim_hash *h = dkim_hash_new(DKIM_HASH_SHA256), *w = dkim_hash_new(DKIM_HASH_SHA256);
	dkim_canon_body(relaxed, body, -1, h, &total);
	dkim_hash_update(w, want, strlen(want));
	dkim_hash_final(h, d1);
	dkim_hash_final(w, d2);
	dkim_hash_free(h);
	dkim_hash_free(w);
	return memcmp(d1, d2, 32) == 0 && total == strlen(want);
}

static inline struct dkim_verify *dkim_test_verify(struct slice msg, const struct testdns_rr *dns, int64_t now)
{
	struct dkim_verify *v = dkim_verify_new(now);
	struct mailauth_dns_query q;
	struct mailauth_dns_answer a;
	struct testdns_state st = {0};
	int rc = dkim_verify_start(v, msg, &q);
	for (int i = 0; rc == MAILAUTH_STEP_DNS && i < DKIM_TEST_STEPS_MAX; i++) {
		ASSERT(q.type == MAILAUTH_DNS_TXT);
		testdns_answer(dns, &q, &st, &a);
		rc = dkim_verify_answer(v, &a, &q);
	}
	ASSERT(rc == MAILAUTH_STEP_DONE);
	return v;
}

/* An Ed25519 private key from a raw base64 seed (RFC 8410 PKCS#8 wrapper). */
static inline struct dkim_privkey *dkim_test_ed25519_from_seed(const char *seed_b64)
{
	static const uint8_t pre[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b,
	                              0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
	struct buf der, pem;
	buf_init(&der);
	buf_init(&pem);
	buf_append(&der, pre, sizeof pre);
	ASSERT(base64_decode(&der, slice_str(seed_b64)) == 0 && der.len == sizeof pre + 32);
	buf_puts(&pem, "-----BEGIN PRIVATE KEY-----\n");
	base64_encode(&pem, buf_slice(&der));
	buf_puts(&pem, "\n-----END PRIVATE KEY-----\n");
	const char *err;
	struct dkim_privkey *k = dkim_privkey_load(buf_slice(&pem), &err);
	buf_free(&der);
	buf_free(&pem);
	return k;
}

static inline int dkim_test_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static inline bool dkim_test_read(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(out, tmp, n);
	fclose(f);
	return true;
}

static inline void dkim_test_write(const char *path, struct slice s)
{
	FILE *f = fopen(path, "wb");
	ASSERT(f && fwrite(s.p, 1, s.len, f) == s.len);
	fclose(f);
}

/* A fresh temporary directory (removed by dkim_test_rmdir). */
static inline char *dkim_test_tmpdir(void)
{
	char *d = xstrdup("/tmp/tern-dkim-XXXXXX");
	ASSERT(mkdtemp(d) != NULL);
	return d;
}

static inline void dkim_test_rmdir(char *d)
{
	dkim_test_sh("rm -rf '%s'", d);
	free(d);
}

/* Generates a key with openssl genpkey into dir/name.pem and loads it.
 * algo: "ed25519" or an RSA size in bits ("2048"). */
static inline struct dkim_privkey *dkim_test_genkey(const char *dir, const char *name, const char *algo)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.pem", dir, name);
	int rc = strcmp(algo, "ed25519") == 0
	                 ? dkim_test_sh("openssl genpkey -algorithm ed25519 -out '%s' 2>/dev/null", path)
	                 : dkim_test_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%s -out '%s' 2>/dev/null",
	                                algo, path);
	ASSERT(rc == 0);
	struct buf pem;
	buf_init(&pem);
	ASSERT(dkim_test_read(path, &pem));
	const char *err;
	struct dkim_privkey *k = dkim_privkey_load(buf_slice(&pem), &err);
	buf_free(&pem);
	return k;
}

#endif
