/* Tests for the SCRAM engines (sasl_scram.c, sasl_scram_client.c,
 * sasl_scram_msg.c): the RFC 5802 §5 and RFC 7677 §3 exchanges byte for byte
 * on both sides, client <-> server round trips for every SCRAM mechanism and
 * both channel-binding types, the binding rules and downgrade detection of
 * smtp.md §7, every abuse case of badinput.md #44, fake salts for unknown
 * users, and a cross-check of the SCRAM-SHA-256 proof and server signature
 * against Debian's Python (hashlib/hmac). */
#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/sasl.h"

static const struct sasl_channel no_tls = {0};
static const uint8_t exporter[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t finished[12] = "tls-unique!!";

static struct sasl_channel tls13(void)
{
	return (struct sasl_channel){.tls = true, .tls_version = 13,
	                             .cb_data = slice_of(exporter, sizeof exporter)};
}

static struct sasl_channel tls12(void)
{
	return (struct sasl_channel){.tls = true, .tls_version = 12,
	                             .cb_data = slice_of(finished, sizeof finished)};
}

static struct sasl_server *server(enum sasl_mech m, struct sasl_channel ch)
{
	struct sasl_server_cfg cfg = {.mech = m, .chan = ch, .hostname = SLICE_LIT("mx.example.test"),
	                              .fake_secret = SLICE_LIT("server secret")};
	return sasl_server_new(&cfg);
}

static struct buf b64d(const char *s)
{
	struct buf b;
	buf_init(&b);
	if (base64_decode(&b, slice_str(s)) != 0)
		panic("bad base64 in test: %s", s);
	return b;
}

/* Secrets holding only the SCRAM key for h, from password/salt/iterations. */
static struct password_secrets scram_secrets(enum sasl_hash h, const char *pw, const char *salt_b64,
                                             uint32_t iter)
{
	struct password_secrets s = {0};
	struct buf salt = b64d(salt_b64);
	password_scram_derive(h, slice_str(pw), buf_slice(&salt), iter,
	                      h == SASL_HASH_SHA1 ? &s.scram_sha1 : &s.scram_sha256);
	s.have = h == SASL_HASH_SHA1 ? PASSWORD_HAVE_SCRAM_SHA1 : PASSWORD_HAVE_SCRAM_SHA256;
	buf_free(&salt);
	return s;
}

static struct password_secrets full; /* "user" / "pencil", every mechanism */

static void full_init(void)
{
	if (password_derive(SLICE_LIT("pencil"), 4096, 4, &full) != 0)
		panic("derive");
}

static const struct password_secrets *user_secrets(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, full_init);
	return &full;
}

#define CHECK_OUT(st, text) CHECK_MEM((st).out.p, (st).out.len, text)

struct rfc_case {
	enum sasl_mech mech;
	enum sasl_hash hash;
	const char *salt, *cnonce, *snonce, *client_first, *server_first, *client_final,
	    *server_final;
};

static const struct rfc_case rfc5802 = {
	SASL_SCRAM_SHA_1, SASL_HASH_SHA1, "QSXCR+Q6sek8bf92", "fyko+d2lbbFgONRv9qkxdawL",
	"3rfcNHYJY1ZVvWVs7j", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

static const struct rfc_case rfc7677 = {
	SASL_SCRAM_SHA_256, SASL_HASH_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==", "rOprNGfwEbeRWgbNEkqO",
	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

static void rfc_server(const struct rfc_case *r)
{
	struct password_secrets sec = scram_secrets(r->hash, "pencil", r->salt, 4096);
	struct sasl_server *s = server(r->mech, no_tls);
	sasl_server_set_nonce(s, slice_str(r->snonce));
	struct sasl_step st;
	struct slice cf = slice_str(r->client_first);
	sasl_server_start(s, &cf, &st);
	CHECK_INT(st.status, SASL_NEED_SECRETS);
	CHECK_MEM(st.user.p, st.user.len, "user");
	sasl_server_secrets(s, &sec, &st);
	CHECK_INT(st.status, SASL_CONTINUE);
	CHECK_OUT(st, r->server_first);
	sasl_server_step(s, slice_str(r->client_final), &st);
	CHECK_INT(st.status, SASL_CONTINUE); /* server-final as a challenge (no 235 data) */
	CHECK_OUT(st, r->server_final);
	sasl_server_step(s, SLICE_LIT(""), &st);
	CHECK_INT(st.status, SASL_OK);
	CHECK_MEM(st.user.p, st.user.len, "user");
	sasl_server_free(s);
}

static void rfc_client(const struct rfc_case *r)
{
	struct sasl_client_cfg cfg = {.mech = r->mech, .user = SLICE_LIT("user"),
	                              .password = SLICE_LIT("pencil")};
	struct sasl_client *c = sasl_client_new(&cfg);
	sasl_client_set_nonce(c, slice_str(r->cnonce));
	struct sasl_cstep cs;
	sasl_client_start(c, &cs);
	CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
	CHECK_OUT(cs, r->client_first);
	sasl_client_step(c, slice_str(r->server_first), &cs);
	CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
	CHECK_OUT(cs, r->client_final);
	CHECK(!sasl_client_verified(c));
	sasl_client_step(c, slice_str(r->server_final), &cs);
	CHECK_INT(cs.status, SASL_CLIENT_DONE);
	CHECK_INT(cs.out.len, 0);
	CHECK(sasl_client_verified(c));
	sasl_client_free(c);
}

TEST(rfc5802_sha1_server) { rfc_server(&rfc5802); }
TEST(rfc5802_sha1_client) { rfc_client(&rfc5802); }
TEST(rfc7677_sha256_server) { rfc_server(&rfc7677); }
TEST(rfc7677_sha256_client) { rfc_client(&rfc7677); }

/* Drives client c against server s over base64 lines, as SMTP would, for at
 * most 8 rounds. Returns the server's final step; *cfinal gets the client's last. */
static struct sasl_step drive(struct sasl_client *c, struct sasl_server *s,
                              const struct password_secrets *sec, struct sasl_cstep *cfinal)
{
	struct sasl_cstep cs;
	struct sasl_step st;
	struct buf line;
	buf_init(&line);
	sasl_client_start(c, &cs);
	if (cs.status == SASL_CLIENT_WAIT) {
		sasl_server_start_b64(s, NULL, &st);
	} else {
		base64_encode(&line, cs.out);
		struct slice l = buf_slice(&line);
		sasl_server_start_b64(s, &l, &st);
	}
	for (int round = 0; round < 8; round++) {
		if (st.status == SASL_NEED_SECRETS) {
			sasl_server_secrets(s, slice_eq(st.user, SLICE_LIT("user")) ? sec : NULL, &st);
			continue;
		}
		if (st.status != SASL_CONTINUE)
			break;
		sasl_client_step(c, st.out, &cs);
		buf_reset(&line);
		if (cs.status == SASL_CLIENT_FAIL)
			buf_puts(&line, "*");
		else
			base64_encode(&line, cs.out);
		sasl_server_step_b64(s, buf_slice(&line), &st);
	}
	*cfinal = cs;
	buf_free(&line);
	return st;
}

static void round_trip(enum sasl_mech m, struct sasl_channel sch, struct sasl_channel cch,
                       const char *pw, enum sasl_status want, enum sasl_err want_err)
{
	struct sasl_client_cfg cfg = {.mech = m, .user = SLICE_LIT("user"), .password = slice_str(pw),
	                              .chan = cch};
	struct sasl_client *c = sasl_client_new(&cfg);
	CHECK(c != NULL);
	if (!c)
		return;
	struct sasl_server *s = server(m, sch);
	struct sasl_cstep cs;
	struct sasl_step st = drive(c, s, user_secrets(), &cs);
	if (st.status != want || st.err != want_err)
		CHECK_FAIL("%s: status %d err %d, want %d %d", sasl_mech_name(m), st.status, st.err,
		           want, want_err);
	if (want == SASL_OK) {
		CHECK_INT(cs.status, SASL_CLIENT_DONE);
		CHECK(sasl_client_verified(c));
		CHECK_MEM(st.user.p, st.user.len, "user");
	} else {
		CHECK(!sasl_client_verified(c));
	}
	sasl_client_free(c);
	sasl_server_free(s);
}

TEST(round_trips_every_mechanism)
{
	round_trip(SASL_SCRAM_SHA_256, no_tls, no_tls, "pencil", SASL_OK, SASL_ERR_NONE);
	round_trip(SASL_SCRAM_SHA_1, no_tls, no_tls, "pencil", SASL_OK, SASL_ERR_NONE);
	round_trip(SASL_SCRAM_SHA_256_PLUS, tls13(), tls13(), "pencil", SASL_OK, SASL_ERR_NONE);
	round_trip(SASL_SCRAM_SHA_1_PLUS, tls13(), tls13(), "pencil", SASL_OK, SASL_ERR_NONE);
	round_trip(SASL_SCRAM_SHA_256_PLUS, tls12(), tls12(), "pencil", SASL_OK, SASL_ERR_NONE);
	round_trip(SASL_SCRAM_SHA_1_PLUS, tls12(), tls12(), "pencil", SASL_OK, SASL_ERR_NONE);
	round_trip(SASL_SCRAM_SHA_256, no_tls, no_tls, "pencil2", SASL_FAIL, SASL_ERR_CREDENTIALS);
	round_trip(SASL_SCRAM_SHA_1_PLUS, tls12(), tls12(), "Pencil", SASL_FAIL, SASL_ERR_CREDENTIALS);
}

TEST(channel_binding_data_mismatch)
{
	struct sasl_channel other = tls13();
	other.cb_data = SLICE_LIT("another exporter value of 32 by");
	round_trip(SASL_SCRAM_SHA_256_PLUS, tls13(), other, "pencil", SASL_FAIL,
	           SASL_ERR_CHANNEL_BINDING);
	struct sasl_channel other12 = tls12();
	other12.cb_data = SLICE_LIT("tls-unique??");
	round_trip(SASL_SCRAM_SHA_1_PLUS, tls12(), other12, "pencil", SASL_FAIL,
	           SASL_ERR_CHANNEL_BINDING);
}

/* A client that binds but picked a non-PLUS mechanism sends `y`: downgrade. */
TEST(downgrade_detection)
{
	round_trip(SASL_SCRAM_SHA_256, tls13(), tls13(), "pencil", SASL_FAIL, SASL_ERR_DOWNGRADE);
	round_trip(SASL_SCRAM_SHA_1, tls12(), tls12(), "pencil", SASL_FAIL, SASL_ERR_DOWNGRADE);
	/* A client without binding data on TLS sends `n` and succeeds. */
	struct sasl_channel nocb = tls13();
	nocb.cb_data = slice_of("", 0);
	round_trip(SASL_SCRAM_SHA_256, tls13(), nocb, "pencil", SASL_OK, SASL_ERR_NONE);
}

/* Server result for one client-first message. */
static struct sasl_step first(enum sasl_mech m, struct sasl_channel ch, const char *msg, size_t len)
{
	struct sasl_server *s = server(m, ch);
	struct sasl_step st;
	struct slice in = slice_of(msg, len ? len : strlen(msg));
	sasl_server_start(s, &in, &st);
	sasl_server_free(s);
	st.user = slice_of("", 0);
	return st;
}

#define CHECK_FIRST(m, ch, msg, status_, err_) \
	do { \
		struct sasl_step f_ = first(m, ch, msg, 0); \
		if (f_.status != (status_) || f_.err != (err_)) \
			CHECK_FAIL("%s \"%s\": status %d err %d, want %d %d", sasl_mech_name(m), msg, \
			           f_.status, f_.err, status_, err_); \
	} while (0)

/* smtp.md §7 binding rules, decided on the client-first message. */
TEST(binding_rules)
{
	enum sasl_mech P256 = SASL_SCRAM_SHA_256_PLUS, S256 = SASL_SCRAM_SHA_256;
	CHECK_FIRST(P256, tls13(), "p=tls-exporter,,n=user,r=abc", SASL_NEED_SECRETS, SASL_ERR_NONE);
	CHECK_FIRST(P256, tls12(), "p=tls-unique,,n=user,r=abc", SASL_NEED_SECRETS, SASL_ERR_NONE);
	CHECK_FIRST(P256, tls13(), "p=tls-unique,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, tls12(), "p=tls-exporter,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, tls13(), "p=tls-server-end-point,,n=user,r=abc", SASL_FAIL,
	            SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, tls12(), "p=tls-server-end-point,,n=user,r=abc", SASL_FAIL,
	            SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, tls13(), "p=TLS-EXPORTER,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, no_tls, "p=tls-exporter,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, tls13(), "n,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(P256, tls13(), "y,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	struct sasl_channel nodata = tls13();
	nodata.cb_data = slice_of("", 0);
	CHECK_FIRST(P256, nodata, "p=tls-exporter,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	struct sasl_channel tls11 = tls12();
	tls11.tls_version = 11;
	CHECK_FIRST(P256, tls11, "p=tls-unique,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	/* `p=` on a mechanism without PLUS; `y` is a downgrade with or without TLS. */
	CHECK_FIRST(S256, tls13(), "p=tls-exporter,,n=user,r=abc", SASL_FAIL, SASL_ERR_CHANNEL_BINDING);
	CHECK_FIRST(S256, tls13(), "y,,n=user,r=abc", SASL_FAIL, SASL_ERR_DOWNGRADE);
	CHECK_FIRST(S256, no_tls, "y,,n=user,r=abc", SASL_FAIL, SASL_ERR_DOWNGRADE);
	CHECK_FIRST(S256, tls13(), "n,,n=user,r=abc", SASL_NEED_SECRETS, SASL_ERR_NONE);
}

/* badinput.md #44 and syntax faults in the client-first message. */
TEST(client_first_abuse)
{
	enum sasl_mech M = SASL_SCRAM_SHA_256;
	CHECK_FIRST(M, no_tls, "n,,m=ext,n=user,r=abc", SASL_FAIL, SASL_ERR_EXTENSION);
	CHECK_FIRST(M, no_tls, "n,,n=us=2Xer,r=abc", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,,n=user=,r=abc", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,,n=user=2,r=abc", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,,n=us=2cer,r=abc", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,a=us=2Xer,n=user,r=abc", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,,r=abc", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,,n=user", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,,r=abc,n=user", SASL_FAIL, SASL_ERR_ENCODING);
	CHECK_FIRST(M, no_tls, "n,a=other,n=user,r=abc", SASL_FAIL, SASL_ERR_AUTHZID);
	CHECK_FIRST(M, no_tls, "n,a=user,n=user,r=abc", SASL_NEED_SECRETS, SASL_ERR_NONE);
	CHECK_FIRST(M, no_tls, "n,a=a=2Cb,n=a=2Cb,r=abc", SASL_NEED_SECRETS, SASL_ERR_NONE);
	CHECK_FIRST(M, no_tls, "n,,n=user,r=abc,x=ext", SASL_NEED_SECRETS, SASL_ERR_NONE);
	/* Not SCRAM-shaped: malformed (501). */
	CHECK_FIRST(M, no_tls, "hello", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "x,,n=user,r=abc", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "n,n=user,r=abc", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "n,,n=user,r=abc,", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "n,,n=,r=abc", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "n,,n=user,r=a b", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "p=,,n=user,r=abc", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "p=tls_x,,n=user,r=abc", SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_FIRST(M, no_tls, "", SASL_MALFORMED, SASL_ERR_SYNTAX);
	struct sasl_step st = first(M, no_tls, "n,,n=us\0er,r=abc", 16);
	CHECK_INT(st.status, SASL_MALFORMED);
	/* Names over 255 octets once decoded, and an oversized nonce. */
	struct buf m;
	buf_init(&m);
	buf_puts(&m, "n,,n=");
	for (int i = 0; i < 86; i++)
		buf_puts(&m, "=2C"); /* 86 octets decoded: fine */
	buf_puts(&m, ",r=abc");
	CHECK_FIRST(M, no_tls, buf_cstr(&m), SASL_NEED_SECRETS, SASL_ERR_NONE);
	buf_reset(&m);
	buf_puts(&m, "n,,n=");
	for (int i = 0; i < 256; i++)
		buf_putc(&m, 'u');
	buf_puts(&m, ",r=abc");
	CHECK_FIRST(M, no_tls, buf_cstr(&m), SASL_MALFORMED, SASL_ERR_TOO_LONG);
	buf_reset(&m);
	buf_puts(&m, "n,,n=user,r=");
	for (int i = 0; i < SASL_NONCE_MAX + 1; i++)
		buf_putc(&m, 'r');
	CHECK_FIRST(M, no_tls, buf_cstr(&m), SASL_MALFORMED, SASL_ERR_TOO_LONG);
	buf_free(&m);
}

/* Runs client-first "n,,n=user,r=abc" with fixed server nonce "XYZ" and the
 * full secrets, then the given client-final; returns the step after it and
 * the step after the client's next reply (`reply`). */
static void final(const char *client_final, const char *reply, struct sasl_step *after_final,
                  struct sasl_step *after_reply)
{
	struct sasl_server *s = server(SASL_SCRAM_SHA_256, no_tls);
	sasl_server_set_nonce(s, SLICE_LIT("XYZ"));
	struct sasl_step st;
	struct slice cf = SLICE_LIT("n,,n=user,r=abc");
	sasl_server_start(s, &cf, &st);
	sasl_server_secrets(s, user_secrets(), &st);
	CHECK_INT(st.status, SASL_CONTINUE);
	sasl_server_step(s, slice_str(client_final), &st);
	*after_final = st;
	static char out[256];
	snprintf(out, sizeof out, "%.*s", (int)st.out.len, (const char *)st.out.p);
	after_final->out = slice_str(out);
	if (st.status == SASL_CONTINUE)
		sasl_server_step_b64(s, slice_str(reply), &st);
	*after_reply = st;
	sasl_server_free(s);
}

#define CHECK_FINAL(msg, e_text, err_) \
	do { \
		struct sasl_step a_, b_; \
		final(msg, "*", &a_, &b_); \
		if (a_.status != SASL_CONTINUE || !slice_eq(a_.out, SLICE_LIT(e_text)) || \
		    b_.status != SASL_FAIL || b_.err != (err_)) \
			CHECK_FAIL("\"%s\": %d \"%.*s\" then %d err %d", msg, a_.status, (int)a_.out.len, \
			           (const char *)a_.out.p, b_.status, b_.err); \
	} while (0)

/* badinput.md #44 in the client-final message: answered with e=, then 535. */
TEST(client_final_abuse)
{
	/* A correct proof would need the password; every case here fails earlier
	 * or at the proof. */
	CHECK_FINAL("r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=invalid-encoding",
	            SASL_ERR_ENCODING);                                       /* missing c= */
	CHECK_FINAL("c=biws,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=invalid-encoding",
	            SASL_ERR_ENCODING);                                       /* missing r= */
	CHECK_FINAL("c=biws,r=abcXYZ", "e=invalid-encoding", SASL_ERR_ENCODING); /* missing p= */
	CHECK_FINAL("c=biws,r=abcXYZ,x=1", "e=invalid-encoding", SASL_ERR_ENCODING);
	CHECK_FINAL("c=biws,r=abcXYW,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=other-error",
	            SASL_ERR_NONCE);                                          /* nonce changed */
	CHECK_FINAL("c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=other-error",
	            SASL_ERR_NONCE);                                          /* not extended */
	CHECK_FINAL("c=biws,r=abcXYZ,p=AAAA*AAA", "e=invalid-encoding", SASL_ERR_ENCODING);
	CHECK_FINAL("c=biws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "e=invalid-encoding",
	            SASL_ERR_ENCODING);                                       /* unpadded */
	CHECK_FINAL("c=biws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=invalid-encoding",
	            SASL_ERR_ENCODING);                                       /* 20 bytes for SHA-256 */
	CHECK_FINAL("c=eSws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	            "e=channel-bindings-dont-match", SASL_ERR_CHANNEL_BINDING); /* "y,," */
	CHECK_FINAL("c=bi*s,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=invalid-encoding",
	            SASL_ERR_ENCODING);
	CHECK_FINAL("c=biws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "e=invalid-proof",
	            SASL_ERR_CREDENTIALS);                                    /* wrong proof */
	/* Whatever the client answers after e=, the result is FAIL, not ABORTED. */
	struct sasl_step a, b;
	final("c=biws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "", &a, &b);
	CHECK_INT(b.status, SASL_FAIL);
	final("c=biws,r=abcXYZ,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "!!", &a, &b);
	CHECK_INT(b.status, SASL_FAIL);
	/* Syntax garbage is malformed at once. */
	final("garbage", "", &a, &b);
	CHECK_INT(a.status, SASL_MALFORMED);
	CHECK_INT(a.err, SASL_ERR_SYNTAX);
	final("c=biws,r=abc XYZ,p=AAAA", "", &a, &b);
	CHECK_INT(a.status, SASL_MALFORMED);
}

/* After a good server-final, only an empty reply completes the exchange. */
TEST(after_server_final)
{
	for (int i = 0; i < 3; i++) {
		struct sasl_client_cfg cfg = {.mech = SASL_SCRAM_SHA_1, .user = SLICE_LIT("user"),
		                              .password = SLICE_LIT("pencil")};
		struct sasl_client *c = sasl_client_new(&cfg);
		struct sasl_server *s = server(SASL_SCRAM_SHA_1, no_tls);
		struct sasl_cstep cs;
		struct sasl_step st;
		sasl_client_start(c, &cs);
		sasl_server_start(s, &cs.out, &st);
		sasl_server_secrets(s, user_secrets(), &st);
		sasl_client_step(c, st.out, &cs);
		sasl_server_step(s, cs.out, &st);
		CHECK_INT(st.status, SASL_CONTINUE);
		sasl_client_step(c, st.out, &cs);
		CHECK_INT(cs.status, SASL_CLIENT_DONE);
		if (i == 0) {
			sasl_server_step(s, SLICE_LIT("x"), &st);
			CHECK_INT(st.status, SASL_FAIL);
			CHECK_INT(st.err, SASL_ERR_PROTOCOL);
		} else if (i == 1) {
			sasl_server_step_b64(s, SLICE_LIT("*"), &st);
			CHECK_INT(st.status, SASL_ABORTED);
		} else {
			sasl_server_step_b64(s, SLICE_LIT(""), &st);
			CHECK_INT(st.status, SASL_OK);
		}
		sasl_client_free(c);
		sasl_server_free(s);
	}
}

/* A server-first message from a hostile server, against a client with nonce "abc". */
static struct sasl_cstep client_vs(enum sasl_mech m, const char *server_first,
                                   const char *server_final)
{
	struct sasl_client_cfg cfg = {.mech = m, .user = SLICE_LIT("user"),
	                              .password = SLICE_LIT("pencil")};
	struct sasl_client *c = sasl_client_new(&cfg);
	sasl_client_set_nonce(c, SLICE_LIT("abc"));
	struct sasl_cstep cs;
	sasl_client_start(c, &cs);
	sasl_client_step(c, slice_str(server_first), &cs);
	if (server_final && cs.status == SASL_CLIENT_RESPOND)
		sasl_client_step(c, slice_str(server_final), &cs);
	if (cs.status != SASL_CLIENT_DONE)
		CHECK(!sasl_client_verified(c));
	sasl_client_free(c);
	return cs;
}

TEST(client_against_hostile_server)
{
	enum sasl_mech M = SASL_SCRAM_SHA_1;
	struct {
		const char *first, *final;
		enum sasl_err err;
	} cases[] = {
		{"r=abd123,s=QSXCR+Q6sek8bf92,i=4096", NULL, SASL_ERR_NONCE},    /* not our nonce */
		{"r=abc,s=QSXCR+Q6sek8bf92,i=4096", NULL, SASL_ERR_NONCE},       /* not extended */
		{"r=ab,s=QSXCR+Q6sek8bf92,i=4096", NULL, SASL_ERR_NONCE},
		{"m=x,r=abc1,s=QSXCR+Q6sek8bf92,i=4096", NULL, SASL_ERR_EXTENSION},
		{"r=abc1,s=QSXCR+Q6sek8bf9,i=4096", NULL, SASL_ERR_ENCODING},    /* bad base64 */
		{"r=abc1,i=4096,s=QSXCR+Q6sek8bf92", NULL, SASL_ERR_ENCODING},   /* order */
		{"r=abc1,s=QSXCR+Q6sek8bf92", NULL, SASL_ERR_ENCODING},          /* no i= */
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=04096", NULL, SASL_ERR_ENCODING},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=4096x", NULL, SASL_ERR_ENCODING},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=99999999999", NULL, SASL_ERR_ENCODING},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=4095", NULL, SASL_ERR_SERVER},     /* too few */
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=1000001", NULL, SASL_ERR_SERVER},  /* too much work */
		{"nonsense", NULL, SASL_ERR_SYNTAX},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=4096", "e=invalid-proof", SASL_ERR_SERVER},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=4096", "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", SASL_ERR_SERVER},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=4096", "v=rmF9pqV8S7suAoZWja4dJRkF", SASL_ERR_ENCODING},
		{"r=abc1,s=QSXCR+Q6sek8bf92,i=4096", "x=1", SASL_ERR_ENCODING},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sasl_cstep cs = client_vs(M, cases[i].first, cases[i].final);
		if (cs.status != SASL_CLIENT_FAIL || cs.err != cases[i].err)
			CHECK_FAIL("case %zu: status %d err %d, want FAIL %d", i, cs.status, cs.err,
			           cases[i].err);
	}
}

/* A success reply without a verified server-final must not be trusted. */
TEST(client_not_verified_without_server_final)
{
	struct sasl_client_cfg cfg = {.mech = SASL_SCRAM_SHA_256, .user = SLICE_LIT("user"),
	                              .password = SLICE_LIT("pencil")};
	struct sasl_client *c = sasl_client_new(&cfg);
	struct sasl_server *s = server(SASL_SCRAM_SHA_256, no_tls);
	struct sasl_cstep cs;
	struct sasl_step st;
	sasl_client_start(c, &cs);
	sasl_server_start(s, &cs.out, &st);
	sasl_server_secrets(s, user_secrets(), &st);
	sasl_client_step(c, st.out, &cs);
	CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
	CHECK(!sasl_client_verified(c)); /* a 235 here would be rejected by the transport */
	sasl_client_free(c);
	sasl_server_free(s);
	/* -PLUS without binding data cannot even start. */
	struct sasl_client_cfg plus = {.mech = SASL_SCRAM_SHA_256_PLUS, .user = SLICE_LIT("u"),
	                               .password = SLICE_LIT("p"), .chan = no_tls};
	CHECK(sasl_client_new(&plus) == NULL);
	plus.chan = tls13();
	plus.chan.cb_data = slice_of("", 0);
	CHECK(sasl_client_new(&plus) == NULL);
}

/* Unknown users: a deterministic fake salt, the same iteration count, and
 * the same failure as a wrong password. */
static void server_first_for(const char *user, const char *secret, uint32_t iters, char *out,
                             size_t cap, struct sasl_step *last)
{
	struct sasl_server_cfg cfg = {.mech = SASL_SCRAM_SHA_256, .fake_secret = slice_str(secret),
	                              .fake_iterations = iters};
	struct sasl_server *s = sasl_server_new(&cfg);
	sasl_server_set_nonce(s, SLICE_LIT("SRV"));
	char cf[128];
	snprintf(cf, sizeof cf, "n,,n=%s,r=abc", user);
	struct slice in = slice_str(cf);
	struct sasl_step st;
	sasl_server_start(s, &in, &st);
	CHECK_INT(st.status, SASL_NEED_SECRETS);
	sasl_server_secrets(s, strcmp(user, "user") == 0 ? user_secrets() : NULL, &st);
	snprintf(out, cap, "%.*s", (int)st.out.len, (const char *)st.out.p);
	sasl_server_step(s, SLICE_LIT("c=biws,r=abcSRV,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	                 &st);
	CHECK_INT(st.status, SASL_CONTINUE);
	CHECK_MEM(st.out.p, st.out.len, "e=invalid-proof");
	sasl_server_step(s, SLICE_LIT(""), &st);
	*last = st;
	sasl_server_free(s);
}

TEST(unknown_user_fake_salt)
{
	char a[256], b[256], c[256], d[256], real[256];
	struct sasl_step la, lb, lr;
	server_first_for("ghost", "k1", 4096, a, sizeof a, &la);
	server_first_for("ghost", "k1", 4096, b, sizeof b, &lb);
	server_first_for("ghost2", "k1", 4096, c, sizeof c, &lb);
	server_first_for("ghost", "k2", 4096, d, sizeof d, &lb);
	server_first_for("user", "k1", 4096, real, sizeof real, &lr);
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	CHECK(strcmp(a, d) != 0);
	/* Same shape as a real account: 16-byte salt, 4096 iterations. */
	struct password_scram fake;
	password_scram_fake(SASL_HASH_SHA256, SLICE_LIT("k1"), SLICE_LIT("ghost"), 4096, &fake);
	struct buf want;
	buf_init(&want);
	buf_puts(&want, "r=abcSRV,s=");
	base64_encode(&want, slice_of(fake.salt, fake.salt_len));
	buf_puts(&want, ",i=4096");
	CHECK_STR(a, buf_cstr(&want));
	CHECK_INT(strlen(a), strlen(real));
	CHECK(strncmp(real, "r=abcSRV,s=", 11) == 0 && strstr(real, ",i=4096") != NULL);
	CHECK_INT(la.status, SASL_FAIL);
	CHECK_INT(la.err, lr.err);
	CHECK_INT(la.status, lr.status);
	buf_free(&want);
	/* The default iteration count for unknown users is Tern's own. */
	server_first_for("ghost", "k1", 0, a, sizeof a, &la);
	char it[32];
	snprintf(it, sizeof it, ",i=%d", PASSWORD_SCRAM_ITERATIONS);
	CHECK(strstr(a, it) != NULL);
}

TEST(saslname_escaping_round_trip)
{
	static struct password_secrets sec;
	if (password_derive(SLICE_LIT("pw"), 4096, 4, &sec) != 0)
		panic("derive");
	struct sasl_client_cfg cfg = {.mech = SASL_SCRAM_SHA_256, .user = SLICE_LIT("a,b=c"),
	                              .password = SLICE_LIT("pw")};
	struct sasl_client *c = sasl_client_new(&cfg);
	struct sasl_server *s = server(SASL_SCRAM_SHA_256, no_tls);
	struct sasl_cstep cs;
	struct sasl_step st;
	sasl_client_start(c, &cs);
	CHECK(memmem(cs.out.p, cs.out.len, "n=a=2Cb=3Dc,", 12) != NULL);
	sasl_server_start(s, &cs.out, &st);
	CHECK_INT(st.status, SASL_NEED_SECRETS);
	CHECK_MEM(st.user.p, st.user.len, "a,b=c");
	sasl_server_secrets(s, &sec, &st);
	sasl_client_step(c, st.out, &cs);
	sasl_server_step(s, cs.out, &st);
	sasl_client_step(c, st.out, &cs);
	CHECK_INT(cs.status, SASL_CLIENT_DONE);
	sasl_server_step(s, cs.out, &st);
	CHECK_INT(st.status, SASL_OK);
	CHECK_MEM(st.user.p, st.user.len, "a,b=c");
	sasl_client_free(c);
	sasl_server_free(s);
}

/* ---- cross-check with an independent implementation (Python hashlib/hmac) ---- */

static const char python_scram[] =
    "import base64,hashlib,hmac,sys\n"
    "pw,salt,it,am=bytes.fromhex(sys.argv[1]),bytes.fromhex(sys.argv[2]),int(sys.argv[3]),"
    "bytes.fromhex(sys.argv[4])\n"
    "sp=hashlib.pbkdf2_hmac('sha256',pw,salt,it)\n"
    "ck=hmac.new(sp,b'Client Key','sha256').digest()\n"
    "sk=hmac.new(sp,b'Server Key','sha256').digest()\n"
    "cs=hmac.new(hashlib.sha256(ck).digest(),am,'sha256').digest()\n"
    "p=bytes(a^b for a,b in zip(ck,cs))\n"
    "print(base64.b64encode(p).decode(),base64.b64encode(hmac.new(sk,am,'sha256').digest()).decode())\n";

static void hexs(struct buf *out, struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		buf_printf(out, "%02x", s.p[i]);
}

TEST(python_cross_check_sha256)
{
	FILE *f = fopen("/usr/bin/python3", "r");
	CHECK(f != NULL); /* Debian's python3 is part of the test environment */
	if (!f)
		return;
	fclose(f);
	char script[] = "/tmp/tern_scram_XXXXXX";
	int fd = mkstemp(script);
	CHECK(fd >= 0);
	CHECK(write(fd, python_scram, sizeof python_scram - 1) == (ssize_t)(sizeof python_scram - 1));
	close(fd);
	for (int round = 0; round < 3; round++) {
		uint8_t pwb[12];
		sasl_crypto_random(pwb, sizeof pwb);
		struct buf pw;
		buf_init(&pw);
		base64_encode(&pw, slice_of(pwb, sizeof pwb)); /* printable random password */
		struct password_secrets sec;
		CHECK_INT(password_derive(buf_slice(&pw), 4096 + (uint32_t)round * 1000, 4, &sec), 0);
		struct sasl_client_cfg cfg = {.mech = SASL_SCRAM_SHA_256_PLUS, .user = SLICE_LIT("user"),
		                              .password = buf_slice(&pw), .chan = tls13()};
		struct sasl_client *c = sasl_client_new(&cfg);
		struct sasl_server *s = server(SASL_SCRAM_SHA_256_PLUS, tls13());
		struct sasl_cstep cs;
		struct sasl_step st;
		struct buf am, cfinal, sfinal;
		buf_init(&am);
		buf_init(&cfinal);
		buf_init(&sfinal);
		sasl_client_start(c, &cs);
		buf_append(&am, cs.out.p + 16, cs.out.len - 16); /* after "p=tls-exporter,," */
		sasl_server_start(s, &cs.out, &st);
		sasl_server_secrets(s, &sec, &st);
		buf_putc(&am, ',');
		buf_append(&am, st.out.p, st.out.len);
		sasl_client_step(c, st.out, &cs);
		buf_append(&cfinal, cs.out.p, cs.out.len);
		const uint8_t *pp = memmem(cs.out.p, cs.out.len, ",p=", 3);
		CHECK(pp != NULL);
		buf_putc(&am, ',');
		buf_append(&am, cs.out.p, (size_t)(pp - cs.out.p));
		sasl_server_step(s, cs.out, &st);
		buf_append(&sfinal, st.out.p, st.out.len);
		CHECK_INT(st.status, SASL_CONTINUE);

		struct buf cmd;
		buf_init(&cmd);
		buf_printf(&cmd, "/usr/bin/python3 %s ", script);
		hexs(&cmd, buf_slice(&pw));
		buf_putc(&cmd, ' ');
		hexs(&cmd, slice_of(sec.scram_sha256.salt, sec.scram_sha256.salt_len));
		buf_printf(&cmd, " %u ", sec.scram_sha256.iterations);
		hexs(&cmd, buf_slice(&am));
		FILE *p = popen(buf_cstr(&cmd), "r");
		CHECK(p != NULL);
		char line[256] = "";
		if (p) {
			if (!fgets(line, sizeof line, p))
				line[0] = 0;
			CHECK_INT(pclose(p), 0);
		}
		char proof[128], sig[128];
		CHECK_INT(sscanf(line, "%127s %127s", proof, sig), 2);
		char want_p[160], want_v[160];
		snprintf(want_p, sizeof want_p, ",p=%s", proof);
		snprintf(want_v, sizeof want_v, "v=%s", sig);
		CHECK(cfinal.len > strlen(want_p) &&
		      memcmp(cfinal.p + cfinal.len - strlen(want_p), want_p, strlen(want_p)) == 0);
		CHECK_MEM(sfinal.p, sfinal.len, want_v);
		buf_free(&cmd);
		buf_free(&am);
		buf_free(&cfinal);
		buf_free(&sfinal);
		buf_free(&pw);
		sasl_client_free(c);
		sasl_server_free(s);
	}
	unlink(script);
}

TEST_MAIN()
