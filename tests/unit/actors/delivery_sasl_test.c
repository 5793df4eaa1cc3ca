/* The SMTP client's SASL plug-in for delivery (delivery_sasl.c) against Tern's own
 * SASL server engine: mechanism choice from the configured list, full SCRAM-SHA-256
 * and CRAM-MD5 exchanges, a wrong password, a 235 before the server proved itself,
 * and SCRAM-SHA-256-PLUS with channel binding over a real (in-memory) TLS 1.3
 * session between two wolfSSL connections. */
#include "check.h"

#include <unistd.h>

#include "actors/delivery_sasl.h"
#include "core/xmalloc.h"
#include "proto/password.h"
#include "proto/tls.h"

static struct password_secrets secrets;

static struct conf_transport_auth auth_of(const char *pw, const char *const *mechs)
{
	struct conf_transport_auth a = {.username = "user", .password = (char *)pw};
	size_t n = 0;
	while (mechs[n])
		n++;
	a.mechanisms.v = (char **)mechs;
	a.mechanisms.n = n;
	return a;
}

static const char *choose(const struct conf_transport_auth *a, const char *const *offered, size_t n, bool tls,
                          struct tls_conn *const *t)
{
	struct delivery_sasl s;
	delivery_sasl_init(&s, a, t);
	const char *m = delivery_sasl_ops.choose_cb(&s, offered, n, tls);
	delivery_sasl_free(&s);
	return m ? m : "(none)";
}

TEST(choice_follows_the_configured_order)
{
	const char *const defaults[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	                                "CRAM-MD5", NULL};
	struct conf_transport_auth a = auth_of("pencil", defaults);
	const char *const o1[] = {"PLAIN", "CRAM-MD5", "SCRAM-SHA-1"};
	CHECK_STR(choose(&a, o1, 3, false, NULL), "SCRAM-SHA-1");
	const char *const o2[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
	CHECK_STR(choose(&a, o2, 2, false, NULL), "SCRAM-SHA-256"); /* no TLS: no PLUS */
	CHECK_STR(choose(&a, o2, 2, true, NULL), "SCRAM-SHA-256");  /* no binding data either */
	const char *const o3[] = {"PLAIN", "LOGIN"};
	CHECK_STR(choose(&a, o3, 2, true, NULL), "(none)"); /* PLAIN only when listed */
	const char *const plain[] = {"LOGIN", "PLAIN", NULL};
	struct conf_transport_auth b = auth_of("pencil", plain);
	CHECK_STR(choose(&b, o3, 2, true, NULL), "PLAIN"); /* LOGIN is never used */
}

/* Runs the plug-in against a server engine for mech; returns the server's last status
 * and whether finish_cb accepted. */
static enum sasl_status exchange(struct delivery_sasl *s, const char *mech, struct sasl_channel chan, bool *finished)
{
	const char *const offered[] = {mech};
	const char *m = delivery_sasl_ops.choose_cb(s, offered, 1, chan.tls);
	CHECK(m && strcmp(m, mech) == 0);
	enum sasl_mech sm;
	ASSERT(sasl_mech_parse(slice_str(mech), &sm) == 0);
	struct sasl_server_cfg cfg = {.mech = sm, .chan = chan, .hostname = SLICE_LIT("relay.test")};
	struct sasl_server *srv = sasl_server_new(&cfg);
	struct buf out;
	buf_init(&out);
	int rc = delivery_sasl_ops.step_cb(s, true, (struct slice){0}, &out);
	struct sasl_step st;
	if (rc == SMTP_CLIENT_SASL_NO_IR) {
		sasl_server_start(srv, NULL, &st);
	} else {
		CHECK_INT(rc, SMTP_CLIENT_SASL_OK);
		struct slice ir = buf_slice(&out);
		sasl_server_start(srv, &ir, &st);
	}
	for (int i = 0; i < 10; i++) {
		if (st.status == SASL_NEED_SECRETS) {
			sasl_server_secrets(srv, &secrets, &st);
			continue;
		}
		if (st.status != SASL_CONTINUE)
			break;
		buf_reset(&out);
		rc = delivery_sasl_ops.step_cb(s, false, st.out, &out);
		if (rc != SMTP_CLIENT_SASL_OK)
			break;
		sasl_server_step(srv, buf_slice(&out), &st);
	}
	*finished = delivery_sasl_ops.finish_cb(s) == 0;
	buf_free(&out);
	sasl_server_free(srv);
	return st.status;
}

TEST(scram_sha_256_and_cram_md5_exchanges)
{
	const char *const mechs[] = {"SCRAM-SHA-256", "CRAM-MD5", NULL};
	struct conf_transport_auth a = auth_of("pencil", mechs);
	struct delivery_sasl s;
	bool fin;
	delivery_sasl_init(&s, &a, NULL);
	CHECK_INT(exchange(&s, "SCRAM-SHA-256", (struct sasl_channel){0}, &fin), SASL_OK);
	CHECK(fin);
	delivery_sasl_free(&s);
	delivery_sasl_init(&s, &a, NULL);
	CHECK_INT(exchange(&s, "CRAM-MD5", (struct sasl_channel){0}, &fin), SASL_OK);
	CHECK(fin);
	delivery_sasl_free(&s);
	struct conf_transport_auth wrong = auth_of("eraser", mechs);
	delivery_sasl_init(&s, &wrong, NULL);
	CHECK(exchange(&s, "SCRAM-SHA-256", (struct sasl_channel){0}, &fin) != SASL_OK);
	CHECK(!fin); /* no server signature: a 235 here would not be trusted */
	delivery_sasl_free(&s);
}

static void move(struct tls_conn *from, struct tls_conn *to)
{
	struct buf b;
	buf_init(&b);
	tls_conn_out_take(from, &b);
	if (b.len)
		ASSERT(tls_conn_feed(to, buf_slice(&b)) == TLS_OK);
	buf_free(&b);
}

TEST(scram_plus_binds_to_the_tls_session)
{
	char dir[] = "/tmp/tern-dsasl-XXXXXX", crt[64], key[64], err[TLS_ERR_MAX];
	ASSERT(mkdtemp(dir));
	snprintf(crt, sizeof crt, "%s/c.pem", dir);
	snprintf(key, sizeof key, "%s/k.pem", dir);
	struct buf c, k;
	buf_init(&c);
	buf_init(&k);
	ASSERT(tls_cert_selfsigned("relay.test", 2, &c, &k, err) == 0);
	FILE *f = fopen(crt, "wb");
	fwrite(c.p, 1, c.len, f);
	fclose(f);
	f = fopen(key, "wb");
	fwrite(k.p, 1, k.len, f);
	fclose(f);
	struct tls_keycert kc = {crt, key};
	struct tls_ctx *sctx = tls_ctx_server_new(&kc, 1, TLS_V12, err);
	struct tls_client_opts o = {.no_system_roots = true};
	struct tls_ctx *cctx = tls_ctx_client_new(&o, err);
	ASSERT(sctx && cctx);
	struct tls_conn *cli = tls_conn_client_new(cctx, "relay.test", TLS_VERIFY_NONE);
	struct tls_conn *srv = tls_conn_server_new(sctx);
	int rc = TLS_WANT_IO, rs = TLS_WANT_IO;
	for (int i = 0; i < 20 && (rc == TLS_WANT_IO || rs == TLS_WANT_IO); i++) {
		if (rc == TLS_WANT_IO)
			rc = tls_conn_handshake(cli);
		move(cli, srv);
		if (rs == TLS_WANT_IO)
			rs = tls_conn_handshake(srv);
		move(srv, cli);
	}
	CHECK(rc == TLS_OK && rs == TLS_OK);
	struct buf cb;
	buf_init(&cb);
	ASSERT(tls_conn_channel_binding(srv, tls_conn_cb_type(srv), &cb) == TLS_OK);
	struct sasl_channel chan = {.tls = true, .tls_version = tls_conn_cb_type(srv) == TLS_CB_EXPORTER ? 13 : 12,
	                            .cb_data = buf_slice(&cb)};
	const char *const mechs[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", NULL};
	struct conf_transport_auth a = auth_of("pencil", mechs);
	struct delivery_sasl s;
	bool fin;
	delivery_sasl_init(&s, &a, &cli);
	const char *const offered[] = {"SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"};
	CHECK_STR(delivery_sasl_ops.choose_cb(&s, offered, 2, true), "SCRAM-SHA-256-PLUS");
	CHECK_INT(exchange(&s, "SCRAM-SHA-256-PLUS", chan, &fin), SASL_OK);
	CHECK(fin);
	delivery_sasl_free(&s);
	/* binding data of another session does not verify */
	uint8_t other[32] = {1};
	chan.cb_data = slice_of(other, chan.tls_version == 13 ? 32 : cb.len);
	delivery_sasl_init(&s, &a, &cli);
	CHECK(exchange(&s, "SCRAM-SHA-256-PLUS", chan, &fin) != SASL_OK);
	delivery_sasl_free(&s);
	buf_free(&cb);
	tls_conn_free(&cli);
	tls_conn_free(&srv);
	tls_ctx_free(&sctx);
	tls_ctx_free(&cctx);
	buf_free(&c);
	buf_free(&k);
	unlink(crt);
	unlink(key);
	rmdir(dir);
}

int main(int argc, char **argv);
#define main check_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	ASSERT(password_derive(slice_str("pencil"), PASSWORD_SCRAM_ITERATIONS_MIN, 4, &secrets) == 0);
	int rc = check_main(argc, argv);
	tls_thread_exit();
	return rc;
}
