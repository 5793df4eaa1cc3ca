/* DKIM cross-checks with Debian's dkimpy (python3-dkim), which nobody here
 * wrote: our signatures verify there and its signatures verify here, for
 * rsa-sha256 and ed25519-sha256 and all four canonicalisation pairs; plus
 * our own round trips, header sealing, l=, several selectors and the
 * badinput.md #51 limits. Keys are generated with openssl at test time. */
#include "check.h"

#include <time.h>

#include "dkim_testlib.h"
#include "proto/dkim_sign.h"

static char *tmpdir;
static struct dkim_privkey *key_ed, *key_rsa;
static struct buf rec_ed, rec_rsa;

static const char sample[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.net\r\n"
	"Subject:  hello\t there \r\n"
	" folded\r\n"
	"Date: Thu, 27 Mar 2025 10:00:00 +0000\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"\r\n"
	"Body line with  two spaces \r\n"
	"\r\n"
	"trailing\t tab\t\r\n"
	"\r\n\r\n";

static void setup(void)
{
	if (tmpdir)
		return;
	tmpdir = dkim_test_tmpdir();
	key_ed = dkim_test_genkey(tmpdir, "ed", "ed25519");
	key_rsa = dkim_test_genkey(tmpdir, "rsa", "2048");
	ASSERT(key_ed && key_rsa);
	buf_init(&rec_ed);
	buf_init(&rec_rsa);
	dkim_sign_dns_record(key_ed, &rec_ed);
	dkim_sign_dns_record(key_rsa, &rec_rsa);
	buf_cstr(&rec_ed);
	buf_cstr(&rec_rsa);
}

static const char *helper(void)
{
	static char path[1024];
	const char *src = getenv("TERN_SRC");
	if (src)
		snprintf(path, sizeof path, "%s/tests/unit/proto/dkimpy_helper.py", src);
	else
		snprintf(path, sizeof path, "%.*s/dkimpy_helper.py", (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
	return path;
}

/* Runs cmd, returns its stdout (caller frees). */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	ASSERT(p);
	struct buf out;
	buf_init(&out);
	char tmp[1024];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
		buf_append(&out, tmp, n);
	int rc = pclose(p);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return buf_cstr(&out);
}

/* dkimpy's verdicts for msg with the given (name, TXT) pairs: "0 True\n1 False\n"... */
static char *dkimpy_verify(struct slice msg, const char *const *dns, size_t ndns)
{
	char mpath[512], dpath[512], cmd[4096];
	snprintf(mpath, sizeof mpath, "%s/msg", tmpdir);
	snprintf(dpath, sizeof dpath, "%s/dns", tmpdir);
	dkim_test_write(mpath, msg);
	struct buf d;
	buf_init(&d);
	for (size_t i = 0; i < ndns; i++)
		buf_printf(&d, "%s\t%s\n", dns[2 * i], dns[2 * i + 1]);
	dkim_test_write(dpath, buf_slice(&d));
	buf_free(&d);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' verify '%s' '%s'", helper(), mpath, dpath);
	return run(cmd);
}

/* dkimpy signs msg with the key file name.pem; returns the signed message. */
static char *dkimpy_sign(const char *msg, const char *name, const char *algo, const char *hc, const char *bc,
                         bool length)
{
	char mpath[512], cmd[4096];
	snprintf(mpath, sizeof mpath, "%s/in", tmpdir);
	dkim_test_write(mpath, slice_str(msg));
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' sign '%s' '%s/%s.pem' sel example.org %s %s %s %d", helper(),
	         mpath, tmpdir, name, algo, hc, bc, length);
	char *sig = run(cmd);
	char *out = xasprintf("%s%s", sig, msg);
	free(sig);
	return out;
}

static struct dkim_signer signer(struct dkim_privkey *k, const char *sel, bool hr, bool br)
{
	return (struct dkim_signer){.domain = "example.org", .selector = sel, .alg = DKIM_HASH_SHA256,
	                            .header_relaxed = hr, .body_relaxed = br, .key = k};
}

static char *sign_ours(const struct dkim_signer *s, size_t n, const char *msg)
{
	struct buf out;
	buf_init(&out);
	const char *err;
	ASSERT(dkim_sign(s, n, slice_str(msg), time(NULL), &out, &err) == 0);
	buf_puts(&out, msg);
	return buf_cstr(&out);
}

static enum dkim_status verify_ours(const char *msg, const char *sel, const char *rec, size_t idx)
{
	char name[128];
	snprintf(name, sizeof name, "%s._domainkey.example.org", sel);
	const struct testdns_rr dns[] = {{MAILAUTH_DNS_TXT, name, {rec}}, {0}};
	struct dkim_verify *v = dkim_test_verify(slice_str(msg), dns, time(NULL));
	const struct dkim_result *r = dkim_verify_result(v, idx);
	enum dkim_status st = r ? r->status : DKIM_NONE;
	if (r && r->reason)
		fprintf(stderr, "  verify: %s\n", r->reason);
	dkim_verify_free(v);
	return st;
}

TEST(ours_verify_in_dkimpy_and_ours)
{
	setup();
	for (int k = 0; k < 2; k++) {
		for (int c = 0; c < 4; c++) {
			struct dkim_signer s = signer(k ? key_rsa : key_ed, "sel", c & 1, c & 2);
			char *m = sign_ours(&s, 1, sample);
			const char *dns[] = {"sel._domainkey.example.org", (char *)(k ? rec_rsa.p : rec_ed.p)};
			char *res = dkimpy_verify(slice_str(m), dns, 1);
			CHECK_STR(res, "0 True\n");
			CHECK_INT(verify_ours(m, "sel", dns[1], 0), DKIM_PASS);
			free(res);
			free(m);
		}
	}
}

TEST(dkimpy_signatures_verify_here)
{
	setup();
	static const char *const canon[] = {"simple", "relaxed"};
	for (int k = 0; k < 2; k++) {
		for (int c = 0; c < 4; c++) {
			char *m = dkimpy_sign(sample, k ? "rsa" : "ed", k ? "rsa-sha256" : "ed25519-sha256", canon[c & 1],
			                      canon[(c >> 1) & 1], false);
			CHECK(strncmp(m, "DKIM-Signature:", 15) == 0);
			CHECK_INT(verify_ours(m, "sel", (char *)(k ? rec_rsa.p : rec_ed.p), 0), DKIM_PASS);
			free(m);
		}
	}
}

/* rsa-sha1 is verify-only (RFC 8301): a dkimpy rsa-sha1 signature still verifies. */
TEST(rsa_sha1_verifies)
{
	setup();
	char *m = dkimpy_sign(sample, "rsa", "rsa-sha1", "relaxed", "simple", false);
	CHECK(strstr(m, "a=rsa-sha1") != NULL);
	CHECK_INT(verify_ours(m, "sel", (char *)rec_rsa.p, 0), DKIM_PASS);
	char *rec = xasprintf("%s; h=sha256", (char *)rec_rsa.p); /* key restricted to sha256 */
	CHECK_INT(verify_ours(m, "sel", rec, 0), DKIM_PERMERROR);
	free(rec);
	free(m);
}

/* l=: content appended after signing is unsigned; the result shows it. */
TEST(body_length_limit)
{
	setup();
	char *m = dkimpy_sign(sample, "ed", "ed25519-sha256", "relaxed", "relaxed", true);
	char *m2 = xasprintf("%sappended by a list\r\n", m);
	const struct testdns_rr dns[] = {{MAILAUTH_DNS_TXT, "sel._domainkey.example.org", {(char *)rec_ed.p}}, {0}};
	struct dkim_verify *v = dkim_test_verify(slice_str(m2), dns, time(NULL));
	const struct dkim_result *r = dkim_verify_result(v, 0);
	CHECK_INT(r->status, DKIM_PASS);
	CHECK(r->l >= 0 && (uint64_t)r->l < r->body_len);
	dkim_verify_free(v);
	free(m);
	free(m2);
}

TEST(two_selectors_and_sealing)
{
	setup();
	struct dkim_signer s[2] = {signer(key_ed, "a", true, true), signer(key_rsa, "b", false, false)};
	s[1].expiration_s = 3600;
	char *m = sign_ours(s, 2, sample);
	CHECK(strstr(m, "x=") != NULL);
	const char *dns[] = {"a._domainkey.example.org", (char *)rec_ed.p, "b._domainkey.example.org", (char *)rec_rsa.p};
	char *res = dkimpy_verify(slice_str(m), dns, 2);
	CHECK_STR(res, "0 True\n1 True\n");
	free(res);
	CHECK_INT(verify_ours(m, "a", (char *)rec_ed.p, 0), DKIM_PASS);
	/* an added Cc: breaks a sealed signature, not an unsealed one */
	char *body = strstr(m, "\r\n\r\n");
	char *m2 = xasprintf("%.*s\r\nCc: eve@example.com%s", (int)(body - m), m, body);
	CHECK_INT(verify_ours(m2, "a", (char *)rec_ed.p, 0), DKIM_FAIL);
	free(m2);
	free(m);
	s[0].dont_seal = true;
	m = sign_ours(s, 1, sample);
	body = strstr(m, "\r\n\r\n");
	m2 = xasprintf("%.*s\r\nCc: eve@example.com%s", (int)(body - m), m, body);
	CHECK_INT(verify_ours(m2, "a", (char *)rec_ed.p, 0), DKIM_PASS);
	free(m2);
	free(m);
}

TEST(signer_refusals)
{
	setup();
	struct dkim_signer s = signer(key_rsa, "sel", true, true);
	struct buf out;
	buf_init(&out);
	const char *err;
	CHECK_INT(dkim_sign(&s, 1, SLICE_LIT("To: x@y\r\n\r\nbody\r\n"), 1, &out, &err), -1);
	CHECK_STR(err, "message has no From header");
	static const char *const badnames[] = {"From", "X Bad"};
	s.headers = badnames;
	s.nheaders = 2;
	CHECK_INT(dkim_sign(&s, 1, slice_str(sample), 1, &out, &err), -1);
	CHECK_STR(err, "bad header name");
	s.headers = NULL;
	s.nheaders = 0;
	s.alg = DKIM_HASH_SHA1;
	CHECK_INT(dkim_sign(&s, 1, slice_str(sample), 1, &out, &err), -1);
	CHECK_INT(out.len, 0);
	buf_free(&out);
	CHECK(dkim_privkey_load(SLICE_LIT("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), &err) == NULL);
	char path[512];
	snprintf(path, sizeof path, "%s/small.pem", tmpdir);
	CHECK_INT(dkim_test_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out '%s' 2>/dev/null", path), 0);
	struct buf pem;
	buf_init(&pem);
	CHECK(dkim_test_read(path, &pem));
	CHECK(dkim_privkey_load(buf_slice(&pem), &err) == NULL);
	CHECK_STR(err, "RSA key size outside 1024-4096 bits");
	buf_free(&pem);
}

/* An SPKI DER for an RSA key with a modulus of nbytes (value irrelevant). */
static void fake_spki(size_t nbytes, struct buf *out)
{
	struct buf rsapub, bits, alg, all;
	buf_init(&rsapub), buf_init(&bits), buf_init(&alg), buf_init(&all);
	static const uint8_t algid[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	uint8_t hdr[8];
	/* INTEGER n: 0x00 + nbytes with the top bit set */
	size_t il = nbytes + 1;
	buf_append(&rsapub, (uint8_t[]){0x02, 0x82, (uint8_t)(il >> 8), (uint8_t)il, 0x00}, 5);
	for (size_t i = 0; i < nbytes; i++)
		buf_putc(&rsapub, i == 0 ? 0xc3 : (uint8_t)(i * 7 + 1));
	buf_append(&rsapub, (uint8_t[]){0x02, 0x03, 0x01, 0x00, 0x01}, 5);
	size_t sl = rsapub.len;
	hdr[0] = 0x30, hdr[1] = 0x82, hdr[2] = (uint8_t)(sl >> 8), hdr[3] = (uint8_t)sl;
	buf_append(&bits, (uint8_t[]){0x03, 0x82, (uint8_t)((sl + 5) >> 8), (uint8_t)(sl + 5), 0x00}, 5);
	buf_append(&bits, hdr, 4);
	buf_append(&bits, rsapub.p, rsapub.len);
	size_t tl = sizeof algid + bits.len;
	buf_append(out, (uint8_t[]){0x30, 0x82, (uint8_t)(tl >> 8), (uint8_t)tl}, 4);
	buf_append(out, algid, sizeof algid);
	buf_append(out, bits.p, bits.len);
	buf_free(&rsapub), buf_free(&bits), buf_free(&alg), buf_free(&all);
}

/* badinput.md #51: keys outside 1024-4096 bits, 50 signatures. */
TEST(costly_dkim)
{
	setup();
	struct dkim_signer s = signer(key_rsa, "sel", true, true);
	char *m = sign_ours(&s, 1, sample);
	char path[512], cmd[1024];
	snprintf(path, sizeof path, "%s/small.pem", tmpdir);
	dkim_test_sh("test -f '%s' || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out '%s' 2>/dev/null",
	             path, path);
	snprintf(cmd, sizeof cmd, "openssl pkey -in '%s' -pubout -outform DER | base64 -w0", path);
	char *p512 = run(cmd);
	char *rec = xasprintf("v=DKIM1; p=%s", p512);
	CHECK_INT(verify_ours(m, "sel", rec, 0), DKIM_PERMERROR);
	free(rec);
	free(p512);
	struct buf der, txt;
	buf_init(&der), buf_init(&txt);
	fake_spki(2048, &der); /* 16384 bits */
	buf_puts(&txt, "v=DKIM1; k=rsa; p=");
	base64_encode(&txt, buf_slice(&der));
	CHECK_INT(verify_ours(m, "sel", buf_cstr(&txt), 0), DKIM_PERMERROR);
	buf_free(&der), buf_free(&txt);
	/* 50 signatures: 5 are looked at, 5 DNS queries at most */
	struct buf many;
	buf_init(&many);
	char *first = strstr(m, "\r\nFrom:") + 2;
	for (int i = 0; i < 50; i++)
		buf_append(&many, m, (size_t)(first - m));
	buf_puts(&many, first);
	const struct testdns_rr dns[] = {{MAILAUTH_DNS_TXT, "sel._domainkey.example.org", {(char *)rec_rsa.p}}, {0}};
	struct dkim_verify *v = dkim_verify_new(time(NULL));
	struct mailauth_dns_query q;
	struct mailauth_dns_answer a;
	struct testdns_state st = {0};
	int rc = dkim_verify_start(v, buf_slice(&many), &q);
	while (rc == MAILAUTH_STEP_DNS && st.queries < 50) {
		testdns_answer(dns, &q, &st, &a);
		rc = dkim_verify_answer(v, &a, &q);
	}
	CHECK_INT(st.queries, DKIM_VERIFY_SIGS_MAX);
	CHECK_INT(dkim_verify_count(v), DKIM_VERIFY_SIGS_MAX);
	CHECK_INT(dkim_verify_skipped(v), 45);
	for (size_t i = 0; i < dkim_verify_count(v); i++)
		CHECK_INT(dkim_verify_result(v, i)->status, DKIM_PASS);
	dkim_verify_free(v);
	buf_free(&many);
	free(m);
}

TEST(cleanup)
{
	dkim_privkey_free(key_ed);
	dkim_privkey_free(key_rsa);
	buf_free(&rec_ed);
	buf_free(&rec_rsa);
	if (tmpdir)
		dkim_test_rmdir(tmpdir);
	tmpdir = NULL;
}

TEST_MAIN()
