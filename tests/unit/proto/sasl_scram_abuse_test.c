/* Abuse tests for the SCRAM engines (badinput.md #44): faults in the
 * client-first and client-final messages on the server, what follows the
 * server-final message, and a hostile server against the client. */
#include "check.h"

#include "scram_fixture.h"

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
		if (a_.status != SASL_CONTINUE || !slice_eq(a_.out, SLICE_LIT(e_text)) || a_.err != (err_) || \
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

TEST_MAIN()
