/* Tests for sasl_plain.c: PLAIN and LOGIN server exchanges with every
 * malformed form of badinput.md #42, the SMTP line conventions (`=`, `*`,
 * bad base64), and PLAIN client <-> server round trips. */
#include "check.h"

#include <pthread.h>

#include "core/xmalloc.h"
#include "proto/base64.h"
#include "proto/sasl.h"

static struct password_secrets secrets; /* for "user" / "pencil" */

static void secrets_init(void)
{
	if (password_derive(SLICE_LIT("pencil"), 4096, 4, &secrets) != 0)
		panic("derive");
}

static const struct password_secrets *user_secrets(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, secrets_init);
	return &secrets;
}

static struct sasl_server *server(enum sasl_mech mech)
{
	struct sasl_server_cfg cfg = {.mech = mech, .hostname = SLICE_LIT("mx.example.test"),
	                              .fake_secret = SLICE_LIT("k")};
	return sasl_server_new(&cfg);
}

/* Runs a PLAIN exchange with raw initial response in; answers NEED_SECRETS
 * for "user" only. Returns the final step. */
static struct sasl_step plain(struct slice in)
{
	struct sasl_server *s = server(SASL_PLAIN);
	struct sasl_step st;
	sasl_server_start(s, &in, &st);
	if (st.status == SASL_NEED_SECRETS) {
		bool known = slice_eq(st.user, SLICE_LIT("user"));
		sasl_server_secrets(s, known ? user_secrets() : NULL, &st);
	}
	static char user[SASL_NAME_MAX + 1];
	snprintf(user, sizeof user, "%.*s", (int)st.user.len, (const char *)st.user.p);
	st.user = slice_str(user); /* survives the free below */
	sasl_server_free(s);
	return st;
}

#define CHECK_STEP(st, status_, err_) \
	do { \
		struct sasl_step s_ = (st); \
		CHECK_INT(s_.status, status_); \
		CHECK_INT(s_.err, err_); \
	} while (0)

TEST(plain_success)
{
	struct sasl_step st = plain(slice_of("\0user\0pencil", 12));
	CHECK_STEP(st, SASL_OK, SASL_ERR_NONE);
	CHECK_MEM(st.user.p, st.user.len, "user");
	st = plain(slice_of("user\0user\0pencil", 16)); /* authzid == authcid */
	CHECK_STEP(st, SASL_OK, SASL_ERR_NONE);
}

TEST(plain_bad_credentials)
{
	CHECK_STEP(plain(slice_of("\0user\0pencil2", 13)), SASL_FAIL, SASL_ERR_CREDENTIALS);
	CHECK_STEP(plain(slice_of("\0user\0Pencil", 12)), SASL_FAIL, SASL_ERR_CREDENTIALS);
	CHECK_STEP(plain(slice_of("\0nobody\0pencil", 14)), SASL_FAIL, SASL_ERR_CREDENTIALS);
	CHECK_STEP(plain(slice_of("other\0user\0pencil", 17)), SASL_FAIL, SASL_ERR_AUTHZID);
	CHECK_STEP(plain(slice_of("User\0user\0pencil", 16)), SASL_FAIL, SASL_ERR_AUTHZID);
}

/* badinput.md #42. */
TEST(plain_malformed)
{
	CHECK_STEP(plain(SLICE_LIT("userpencil")), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("user\0pencil", 11)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("\0user\0pen\0cil", 14)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("\0\0pencil", 8)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("\0user\0", 6)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("\0\0", 2)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("", 0)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	/* No C-string truncation: "pencil\0..." is not "pencil". */
	CHECK_STEP(plain(slice_of("\0user\0pencil\0", 13)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(plain(slice_of("\0user\0pencil\0junk", 17)), SASL_MALFORMED, SASL_ERR_SYNTAX);
	/* Fields over 255 octets. */
	uint8_t m[600];
	memset(m, 'a', sizeof m);
	m[0] = 0;
	m[257] = 0; /* authcid of 256 */
	CHECK_STEP(plain(slice_of(m, 260)), SASL_MALFORMED, SASL_ERR_TOO_LONG);
	m[257] = 'a';
	m[256] = 0; /* authcid of 255, password of 256 */
	CHECK_STEP(plain(slice_of(m, 513)), SASL_MALFORMED, SASL_ERR_TOO_LONG);
	CHECK_STEP(plain(slice_of(m, 512)), SASL_FAIL, SASL_ERR_CREDENTIALS); /* 255 / 255: fine */
	memset(m, 'a', sizeof m);
	m[256] = 0;
	m[261] = 0; /* authzid of 256 */
	CHECK_STEP(plain(slice_of(m, 270)), SASL_MALFORMED, SASL_ERR_TOO_LONG);
}

TEST(plain_line_conventions)
{
	struct sasl_server *s = server(SASL_PLAIN);
	struct sasl_step st;
	struct slice eq = SLICE_LIT("=");
	sasl_server_start_b64(s, &eq, &st); /* `=`: empty initial response */
	CHECK_STEP(st, SASL_MALFORMED, SASL_ERR_SYNTAX);
	sasl_server_free(s);

	s = server(SASL_PLAIN);
	struct slice bad = SLICE_LIT("AHVzZXIAcGVuY2lsbA=");
	sasl_server_start_b64(s, &bad, &st);
	CHECK_STEP(st, SASL_MALFORMED, SASL_ERR_BASE64);
	sasl_server_free(s);

	s = server(SASL_PLAIN); /* no initial response: empty challenge, then the data */
	sasl_server_start_b64(s, NULL, &st);
	CHECK_INT(st.status, SASL_CONTINUE);
	CHECK_INT(st.out.len, 0);
	sasl_server_step_b64(s, SLICE_LIT("AHVzZXIAcGVuY2ls"), &st);
	CHECK_INT(st.status, SASL_NEED_SECRETS);
	CHECK_MEM(st.user.p, st.user.len, "user");
	sasl_server_secrets(s, user_secrets(), &st);
	CHECK_INT(st.status, SASL_OK);
	sasl_server_free(s);

	s = server(SASL_PLAIN);
	sasl_server_start_b64(s, NULL, &st);
	sasl_server_step_b64(s, SLICE_LIT("*"), &st);
	CHECK_STEP(st, SASL_ABORTED, SASL_ERR_NONE);
	sasl_server_free(s);

	s = server(SASL_PLAIN);
	sasl_server_start_b64(s, NULL, &st);
	sasl_server_step_b64(s, SLICE_LIT("AHVzZXIAcGVuY2ls\r"), &st);
	CHECK_STEP(st, SASL_MALFORMED, SASL_ERR_BASE64);
	sasl_server_free(s);

	/* Over the AUTH line limit of 12288 octets: bounded, malformed. */
	struct buf big;
	buf_init(&big);
	for (int i = 0; i < 12300 / 4; i++)
		buf_puts(&big, "QUFB");
	s = server(SASL_PLAIN);
	sasl_server_start_b64(s, NULL, &st);
	sasl_server_step_b64(s, buf_slice(&big), &st);
	CHECK_STEP(st, SASL_MALFORMED, SASL_ERR_TOO_LONG);
	sasl_server_free(s);
	buf_free(&big);
}

/* Runs LOGIN with the given decoded replies (initial: first reply goes in AUTH). */
static struct sasl_step login(bool initial, struct slice u, struct slice p)
{
	struct sasl_server *s = server(SASL_LOGIN);
	struct sasl_step st;
	if (initial) {
		sasl_server_start(s, &u, &st);
	} else {
		sasl_server_start(s, NULL, &st);
		CHECK_INT(st.status, SASL_CONTINUE);
		CHECK_MEM(st.out.p, st.out.len, "Username:");
		sasl_server_step(s, u, &st);
	}
	if (st.status == SASL_CONTINUE) {
		CHECK_MEM(st.out.p, st.out.len, "Password:");
		sasl_server_step(s, p, &st);
	}
	if (st.status == SASL_NEED_SECRETS) {
		CHECK_MEM(st.user.p, st.user.len, "user");
		sasl_server_secrets(s, user_secrets(), &st);
	}
	sasl_server_free(s);
	return st;
}

TEST(login_exchanges)
{
	CHECK_STEP(login(false, SLICE_LIT("user"), SLICE_LIT("pencil")), SASL_OK, SASL_ERR_NONE);
	CHECK_STEP(login(true, SLICE_LIT("user"), SLICE_LIT("pencil")), SASL_OK, SASL_ERR_NONE);
	CHECK_STEP(login(false, SLICE_LIT("user"), SLICE_LIT("pencil1")), SASL_FAIL,
	           SASL_ERR_CREDENTIALS);
	CHECK_STEP(login(false, SLICE_LIT(""), SLICE_LIT("pencil")), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(login(false, SLICE_LIT("user"), SLICE_LIT("")), SASL_MALFORMED, SASL_ERR_SYNTAX);
	CHECK_STEP(login(false, SLICE_LIT("user"), slice_of("pencil\0", 7)), SASL_MALFORMED,
	           SASL_ERR_SYNTAX);
	CHECK_STEP(login(false, slice_of("us\0er", 5), SLICE_LIT("pencil")), SASL_MALFORMED,
	           SASL_ERR_SYNTAX);
	uint8_t big[256];
	memset(big, 'x', sizeof big);
	CHECK_STEP(login(false, SLICE_LIT("user"), slice_of(big, sizeof big)), SASL_MALFORMED,
	           SASL_ERR_TOO_LONG);
}

TEST(login_prompts_base64)
{
	struct buf b;
	buf_init(&b);
	struct sasl_server *s = server(SASL_LOGIN);
	struct sasl_step st;
	sasl_server_start_b64(s, NULL, &st);
	base64_encode(&b, st.out);
	CHECK_MEM(b.p, b.len, "VXNlcm5hbWU6"); /* smtp.md §7 */
	buf_reset(&b);
	sasl_server_step_b64(s, SLICE_LIT("dXNlcg=="), &st);
	base64_encode(&b, st.out);
	CHECK_MEM(b.p, b.len, "UGFzc3dvcmQ6");
	sasl_server_step_b64(s, SLICE_LIT("*"), &st);
	CHECK_INT(st.status, SASL_ABORTED);
	sasl_server_free(s);
	buf_free(&b);
}

/* Client <-> server round trip, through the base64 line helpers. */
static struct sasl_step plain_round_trip(const char *user, const char *pw, bool use_ir)
{
	struct sasl_client_cfg ccfg = {.mech = SASL_PLAIN, .user = slice_str(user),
	                               .password = slice_str(pw)};
	struct sasl_client *c = sasl_client_new(&ccfg);
	struct sasl_server *s = server(SASL_PLAIN);
	struct sasl_cstep cs;
	struct sasl_step st;
	struct buf line;
	buf_init(&line);
	sasl_client_start(c, &cs);
	CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
	if (use_ir) {
		base64_encode(&line, cs.out);
		struct slice l = buf_slice(&line);
		sasl_server_start_b64(s, &l, &st);
	} else {
		sasl_server_start_b64(s, NULL, &st);
		CHECK_INT(st.status, SASL_CONTINUE);
		sasl_client_step(c, st.out, &cs); /* empty challenge: resend */
		CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
		base64_encode(&line, cs.out);
		sasl_server_step_b64(s, buf_slice(&line), &st);
	}
	if (st.status == SASL_NEED_SECRETS)
		sasl_server_secrets(s, slice_eq(st.user, SLICE_LIT("user")) ? user_secrets() : NULL,
		                    &st);
	CHECK(sasl_client_verified(c));
	if (use_ir) { /* one empty challenge gets the credentials again, once */
		sasl_client_step(c, SLICE_LIT(""), &cs);
		CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
	}
	sasl_client_step(c, SLICE_LIT(""), &cs); /* a further challenge is a protocol error */
	CHECK_INT(cs.status, SASL_CLIENT_FAIL);
	CHECK_INT(cs.err, SASL_ERR_PROTOCOL);
	CHECK(!sasl_client_verified(c));
	sasl_client_free(c);
	sasl_server_free(s);
	buf_free(&line);
	return st;
}

TEST(plain_client_round_trip)
{
	CHECK_STEP(plain_round_trip("user", "pencil", true), SASL_OK, SASL_ERR_NONE);
	CHECK_STEP(plain_round_trip("user", "pencil", false), SASL_OK, SASL_ERR_NONE);
	CHECK_STEP(plain_round_trip("user", "crayon", true), SASL_FAIL, SASL_ERR_CREDENTIALS);
	CHECK_STEP(plain_round_trip("nobody", "pencil", true), SASL_FAIL, SASL_ERR_CREDENTIALS);
}

TEST(client_rejects_unusable_config)
{
	uint8_t big[256];
	memset(big, 'x', sizeof big);
	struct sasl_client_cfg bad[] = {
		{.mech = SASL_PLAIN, .user = SLICE_LIT(""), .password = SLICE_LIT("p")},
		{.mech = SASL_PLAIN, .user = SLICE_LIT("u"), .password = SLICE_LIT("")},
		{.mech = SASL_PLAIN, .user = SLICE_LIT("u"), .password = slice_of("p\0q", 3)},
		{.mech = SASL_PLAIN, .user = slice_of(big, 256), .password = SLICE_LIT("p")},
		{.mech = SASL_LOGIN, .user = SLICE_LIT("u"), .password = SLICE_LIT("p")},
		{.mech = SASL_CRAM_MD5, .user = SLICE_LIT("u"), .password = slice_of(big, 256)},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sasl_client *c = sasl_client_new(&bad[i]);
		if (c)
			CHECK_FAIL("config %zu accepted", i);
		sasl_client_free(c);
	}
}

TEST(mech_names)
{
	enum sasl_mech m;
	CHECK_INT(sasl_mech_parse(SLICE_LIT("plain"), &m), 0);
	CHECK_INT(m, SASL_PLAIN);
	CHECK_INT(sasl_mech_parse(SLICE_LIT("SCRAM-SHA-256-plus"), &m), 0);
	CHECK_INT(m, SASL_SCRAM_SHA_256_PLUS);
	CHECK_INT(sasl_mech_parse(SLICE_LIT("SCRAM-SHA-512"), &m), -1);
	CHECK_INT(sasl_mech_parse(SLICE_LIT("PLAINX"), &m), -1);
	struct buf all;
	buf_init(&all);
	for (int i = 0; i < SASL_MECH_COUNT; i++)
		buf_printf(&all, "%s%s", i ? " " : "", sasl_mech_name((enum sasl_mech)i));
	CHECK_MEM(all.p, all.len, /* smtp.md §7 announcement order */
	          "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN");
	buf_free(&all);
	CHECK_STR(sasl_err_str(SASL_ERR_AUTHZID), "authorization identity differs");
}

TEST_MAIN()
