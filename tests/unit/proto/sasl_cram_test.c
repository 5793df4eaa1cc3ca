/* Tests for sasl_cram.c: the RFC 2195 example on both sides, the challenge
 * format of smtp.md §7, malformed responses, unknown users and client <->
 * server round trips. */
#include "check.h"

#include <ctype.h>
#include <pthread.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/sasl.h"

#define RFC_CHALLENGE "<1896.697170952@postoffice.reston.mci.net>"

static struct password_secrets tim; /* RFC 2195: tim / tanstaaftanstaaf */

static void tim_init(void)
{
	if (password_derive(SLICE_LIT("tanstaaftanstaaf"), 4096, 4, &tim) != 0)
		panic("derive");
}

static const struct password_secrets *tim_secrets(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, tim_init);
	return &tim;
}

static struct sasl_server *server(void)
{
	struct sasl_server_cfg cfg = {.mech = SASL_CRAM_MD5, .hostname = SLICE_LIT("mx.example.test")};
	return sasl_server_new(&cfg);
}

/* Runs the server against response to the RFC challenge. */
static struct sasl_step respond(struct slice response, const struct password_secrets *sec)
{
	struct sasl_server *s = server();
	sasl_server_set_nonce(s, SLICE_LIT(RFC_CHALLENGE));
	struct sasl_step st;
	sasl_server_start(s, NULL, &st);
	CHECK_INT(st.status, SASL_CONTINUE);
	CHECK_MEM(st.out.p, st.out.len, RFC_CHALLENGE);
	sasl_server_step(s, response, &st);
	if (st.status == SASL_NEED_SECRETS)
		sasl_server_secrets(s, sec, &st);
	sasl_server_free(s);
	return st;
}

TEST(rfc2195_server)
{
	struct sasl_step st = respond(SLICE_LIT("tim b913a602c7eda7a495b4e6e7334d3890"), tim_secrets());
	CHECK_INT(st.status, SASL_OK);
	st = respond(SLICE_LIT("tim B913A602C7EDA7A495B4E6E7334D3890"), tim_secrets());
	CHECK_INT(st.status, SASL_OK);
	st = respond(SLICE_LIT("tim b913a602c7eda7a495b4e6e7334d3891"), tim_secrets());
	CHECK_INT(st.status, SASL_FAIL);
	CHECK_INT(st.err, SASL_ERR_CREDENTIALS);
	st = respond(SLICE_LIT("tim b913a602c7eda7a495b4e6e7334d3890"), NULL); /* unknown user */
	CHECK_INT(st.status, SASL_FAIL);
	CHECK_INT(st.err, SASL_ERR_CREDENTIALS);
	struct password_secrets no_cram = *tim_secrets();
	no_cram.have &= ~(unsigned)PASSWORD_HAVE_CRAM_MD5;
	st = respond(SLICE_LIT("tim b913a602c7eda7a495b4e6e7334d3890"), &no_cram);
	CHECK_INT(st.status, SASL_FAIL);
}

TEST(rfc2195_client)
{
	struct sasl_client_cfg cfg = {.mech = SASL_CRAM_MD5, .user = SLICE_LIT("tim"),
	                              .password = SLICE_LIT("tanstaaftanstaaf")};
	struct sasl_client *c = sasl_client_new(&cfg);
	struct sasl_cstep cs;
	sasl_client_start(c, &cs);
	CHECK_INT(cs.status, SASL_CLIENT_WAIT);
	CHECK(!sasl_client_verified(c));
	sasl_client_step(c, SLICE_LIT(RFC_CHALLENGE), &cs);
	CHECK_INT(cs.status, SASL_CLIENT_RESPOND);
	CHECK_MEM(cs.out.p, cs.out.len, "tim b913a602c7eda7a495b4e6e7334d3890");
	CHECK(sasl_client_verified(c));
	sasl_client_step(c, SLICE_LIT(RFC_CHALLENGE), &cs);
	CHECK_INT(cs.status, SASL_CLIENT_FAIL);
	sasl_client_free(c);
}

/* `<random.unixtime@hostname>` with a fresh random part each time. */
TEST(challenge_format)
{
	char first[128] = "";
	for (int i = 0; i < 2; i++) {
		struct sasl_server *s = server();
		struct sasl_step st;
		int64_t before = clock_wall_ms() / 1000;
		sasl_server_start(s, NULL, &st);
		int64_t after = clock_wall_ms() / 1000;
		CHECK_INT(st.status, SASL_CONTINUE);
		char ch[128];
		snprintf(ch, sizeof ch, "%.*s", (int)st.out.len, (const char *)st.out.p);
		unsigned long long rnd;
		long long t;
		char host[64];
		int n = 0;
		CHECK_INT(sscanf(ch, "<%llu.%lld@%63[^>]>%n", &rnd, &t, host, &n), 3);
		CHECK_INT(n, strlen(ch));
		CHECK(isdigit((unsigned char)ch[1]));
		CHECK(t >= before && t <= after);
		CHECK_STR(host, "mx.example.test");
		if (i == 0)
			strcpy(first, ch);
		else
			CHECK(strcmp(first, ch) != 0);
		sasl_server_free(s);
	}
}

TEST(malformed_responses)
{
	static const char *const bad[] = {
		"timb913a602c7eda7a495b4e6e7334d3890",    /* no space */
		"tim b913a602c7eda7a495b4e6e7334d389",     /* 31 hex */
		"tim b913a602c7eda7a495b4e6e7334d38900",   /* 33 hex */
		"tim b913a602c7eda7a495b4e6e7334d389g",    /* not hex */
		" b913a602c7eda7a495b4e6e7334d3890",       /* empty user */
		"tim  913a602c7eda7a495b4e6e7334d3890",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sasl_step st = respond(slice_str(bad[i]), tim_secrets());
		if (st.status != SASL_MALFORMED)
			CHECK_FAIL("\"%s\": status %d", bad[i], st.status);
	}
	struct sasl_step st = respond(slice_of("t\0m b913a602c7eda7a495b4e6e7334d3890", 36), tim_secrets());
	CHECK_INT(st.status, SASL_MALFORMED);
	char big[300 + 34];
	memset(big, 'u', 300);
	memcpy(big + 300, " b913a602c7eda7a495b4e6e7334d3890", 33);
	st = respond(slice_of(big, 333), tim_secrets());
	CHECK_INT(st.status, SASL_MALFORMED);
	CHECK_INT(st.err, SASL_ERR_TOO_LONG);
	/* A user name with spaces: the digest follows the last one. */
	st = respond(SLICE_LIT("tim smith b913a602c7eda7a495b4e6e7334d3890"), NULL);
	CHECK_INT(st.status, SASL_FAIL);
	/* CRAM-MD5 takes no initial response. */
	struct sasl_server *s = server();
	struct slice ir = SLICE_LIT("tim");
	sasl_server_start(s, &ir, &st);
	CHECK_INT(st.status, SASL_MALFORMED);
	sasl_server_free(s);
}

TEST(round_trip)
{
	static const char *const pw[] = {"tanstaaftanstaaf", "tanstaaftanstaa"};
	for (int i = 0; i < 2; i++) {
		struct sasl_client_cfg cfg = {.mech = SASL_CRAM_MD5, .user = SLICE_LIT("tim"),
		                              .password = slice_str(pw[i])};
		struct sasl_client *c = sasl_client_new(&cfg);
		struct sasl_server *s = server();
		struct sasl_cstep cs;
		struct sasl_step st;
		sasl_client_start(c, &cs);
		sasl_server_start_b64(s, NULL, &st);
		sasl_client_step(c, st.out, &cs);
		sasl_server_step(s, cs.out, &st);
		CHECK_INT(st.status, SASL_NEED_SECRETS);
		CHECK_MEM(st.user.p, st.user.len, "tim");
		sasl_server_secrets(s, tim_secrets(), &st);
		CHECK_INT(st.status, i == 0 ? SASL_OK : SASL_FAIL);
		sasl_client_free(c);
		sasl_server_free(s);
	}
}

TEST_MAIN()
