/* TLS engine, wolfSSL client <-> wolfSSL server entirely in memory:
 * handshakes on TLS 1.2 and 1.3, data both ways, channel binding equal on
 * both ends, SNI certificate choice, verification modes, close detection,
 * and bad input (garbage, truncation, half handshakes) under ASan. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#include "tls_testlib.h"

static struct tls_ctx *srv_ctx12, *srv_ctx13;

static struct tls_ctx *client_ctx(const char *ca_file)
{
	char err[TLS_ERR_MAX] = "";
	const char *files[1] = {ca_file};
	struct tls_client_opts o = {.ca_files = files, .n_ca_files = ca_file ? 1 : 0, .no_system_roots = true};
	struct tls_ctx *c = tls_ctx_client_new(&o, err);
	if (!c)
		fprintf(stderr, "client ctx: %s\n", err);
	return c;
}

static struct tls_ctx *server_ctx(enum tls_version min)
{
	char err[TLS_ERR_MAX] = "";
	struct tls_keycert kc[] = {
	    {tls_test_path("ec.crt"), tls_test_path("ec.key")},
	    {tls_test_path("rsa.crt"), tls_test_path("rsa.key")},
	    {tls_test_path("leaf.crt"), tls_test_path("leaf.key")},
	};
	struct tls_ctx *s = tls_ctx_server_new(kc, 3, min, err);
	if (!s)
		fprintf(stderr, "server ctx: %s\n", err);
	return s;
}

/* One full connection between a fresh client and server. */
struct pair {
	struct tls_ctx *cctx;
	struct tls_conn *cli, *srv;
	int rc_c, rc_s;
};

static void pair_open2(struct pair *p, struct tls_ctx *sctx, const char *ca, const char *name, enum tls_verify mode,
		       enum tls_version cmin, enum tls_version cmax)
{
	char err[TLS_ERR_MAX];
	const char *files[1] = {ca};
	struct tls_client_opts o = {
	    .ca_files = files, .n_ca_files = ca ? 1 : 0, .no_system_roots = true, .min = cmin, .max = cmax};
	p->cctx = tls_ctx_client_new(&o, err);
	ASSERT(p->cctx);
	p->cli = tls_conn_client_new(p->cctx, name, mode);
	p->srv = tls_conn_server_new(sctx);
	p->rc_c = tls_test_pump(p->cli, p->srv, &p->rc_s);
}

static void pair_open(struct pair *p, struct tls_ctx *sctx, const char *ca, const char *name, enum tls_verify mode,
		      enum tls_version cmin)
{
	pair_open2(p, sctx, ca, name, mode, cmin, 0);
}

static void pair_open_max(struct pair *p, struct tls_ctx *sctx, const char *ca, const char *name,
			  enum tls_verify mode, enum tls_version cmax)
{
	pair_open2(p, sctx, ca, name, mode, 0, cmax);
}

static void pair_close(struct pair *p)
{
	tls_conn_free(&p->cli);
	tls_conn_free(&p->srv);
	tls_ctx_free(&p->cctx);
}

/* Reads everything buffered on c into out. */
static int drain(struct tls_conn *c, struct buf *out)
{
	int rc;
	while ((rc = tls_conn_read(c, out, 4096)) == TLS_OK)
		;
	return rc;
}

TEST(setup)
{
	tls_test_setup();
	srv_ctx12 = server_ctx(TLS_V12);
	srv_ctx13 = server_ctx(TLS_V13);
	CHECK(srv_ctx12 != NULL);
	CHECK(srv_ctx13 != NULL);
}

TEST(tls13_handshake_data_and_exporter)
{
	struct pair p;
	pair_open(&p, srv_ctx12, tls_test_path("ec.crt"), "a.example.test", TLS_VERIFY_PKIX, 0);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK_INT(p.rc_s, TLS_OK);
	CHECK_STR(tls_conn_version(p.cli), "TLS1.3");
	CHECK_STR(tls_conn_version(p.srv), "TLS1.3");
	CHECK(strncmp(tls_conn_cipher(p.srv), "TLS_", 4) == 0);
	CHECK_STR(tls_conn_cipher(p.cli), tls_conn_cipher(p.srv));
	CHECK_STR(tls_conn_sni(p.srv), "a.example.test");
	CHECK(tls_conn_peer_verified(p.cli));
	CHECK(tls_conn_peer_name_ok(p.cli));
	CHECK_INT(tls_conn_peer_chain_len(p.cli), 1);

	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	CHECK_INT(tls_conn_cb_type(p.cli), TLS_CB_EXPORTER);
	CHECK_INT(tls_conn_channel_binding(p.cli, TLS_CB_EXPORTER, &a), TLS_OK);
	CHECK_INT(tls_conn_channel_binding(p.srv, TLS_CB_EXPORTER, &b), TLS_OK);
	CHECK_INT(a.len, 32);
	CHECK(slice_eq(buf_slice(&a), buf_slice(&b)));
	CHECK_INT(tls_conn_channel_binding(p.srv, TLS_CB_UNIQUE, &b), TLS_ERR_STATE);

	/* data both ways, the server reply also carries the session ticket */
	buf_reset(&a);
	CHECK_INT(tls_conn_write(p.cli, SLICE_LIT("EHLO client\r\n")), TLS_OK);
	tls_test_move(p.cli, p.srv);
	CHECK_INT(tls_conn_read(p.srv, &a, 4096), TLS_OK);
	CHECK_MEM(a.p, a.len, "EHLO client\r\n");
	CHECK_INT(tls_conn_read(p.srv, &a, 4096), TLS_WANT_IO);
	buf_reset(&a);
	CHECK_INT(tls_conn_write(p.srv, SLICE_LIT("250 ok\r\n")), TLS_OK);
	tls_test_move(p.srv, p.cli);
	CHECK_INT(drain(p.cli, &a), TLS_WANT_IO);
	CHECK_MEM(a.p, a.len, "250 ok\r\n");

	/* close_notify from the client is seen by the server exactly as such */
	CHECK_INT(tls_conn_close_notify(p.cli), TLS_OK);
	CHECK_INT(tls_conn_close_notify(p.cli), TLS_OK);
	CHECK_INT(tls_conn_write(p.cli, SLICE_LIT("x")), TLS_ERR_STATE);
	tls_test_move(p.cli, p.srv);
	CHECK_INT(drain(p.srv, &a), TLS_CLOSED);
	CHECK(tls_conn_peer_closed(p.srv));
	CHECK(tls_conn_peer_close_notify(p.srv));
	buf_free(&a);
	buf_free(&b);
	pair_close(&p);
}

TEST(tls12_unique_equal_on_both_ends)
{
	struct pair p;
	pair_open_max(&p, srv_ctx12, tls_test_path("rsa.crt"), "b.example.test", TLS_VERIFY_PKIX, TLS_V12);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK_INT(p.rc_s, TLS_OK);
	CHECK_STR(tls_conn_version(p.cli), "TLS1.2");
	CHECK_STR(tls_conn_version(p.srv), "TLS1.2");
	CHECK(strstr(tls_conn_cipher(p.srv), "TLS_ECDHE_RSA_WITH_") == tls_conn_cipher(p.srv));
	CHECK(strstr(tls_conn_cipher(p.srv), "GCM") || strstr(tls_conn_cipher(p.srv), "CHACHA20"));
	CHECK(!tls_conn_resumed(p.srv));

	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	CHECK_INT(tls_conn_cb_type(p.srv), TLS_CB_UNIQUE);
	CHECK_STR(tls_cb_type_name(tls_conn_cb_type(p.srv)), "tls-unique");
	CHECK_INT(tls_conn_channel_binding(p.cli, TLS_CB_UNIQUE, &a), TLS_OK);
	CHECK_INT(tls_conn_channel_binding(p.srv, TLS_CB_UNIQUE, &b), TLS_OK);
	CHECK_INT(a.len, 12);
	CHECK(slice_eq(buf_slice(&a), buf_slice(&b)));
	CHECK_INT(tls_conn_channel_binding(p.srv, TLS_CB_EXPORTER, &b), TLS_ERR_STATE);

	/* a large write crosses record boundaries and arrives whole */
	static uint8_t big[100000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	buf_reset(&a);
	CHECK_INT(tls_conn_write(p.srv, slice_of(big, sizeof big)), TLS_OK);
	tls_test_move(p.srv, p.cli);
	CHECK_INT(drain(p.cli, &a), TLS_WANT_IO);
	CHECK_INT(a.len, sizeof big);
	CHECK(a.len == sizeof big && memcmp(a.p, big, sizeof big) == 0);

	/* the transport ends without close_notify */
	tls_conn_feed_eof(p.srv);
	CHECK_INT(drain(p.srv, &b), TLS_CLOSED);
	CHECK(tls_conn_peer_closed(p.srv));
	CHECK(!tls_conn_peer_close_notify(p.srv));
	buf_free(&a);
	buf_free(&b);
	pair_close(&p);
}

TEST(sni_picks_certificate)
{
	const char *names[] = {"a.example.test", "b.example.test", "x.wild.test", "mx.example.test", "other.test", NULL};
	const char *want_cn[] = {"a.example.test", "b.example.test", "b.example.test", "mx.example.test",
				 "a.example.test", "a.example.test"};
	for (int i = 0; i < 6; i++) {
		struct pair p;
		pair_open(&p, srv_ctx12, NULL, names[i], TLS_VERIFY_NONE, 0);
		CHECK_INT(p.rc_c, TLS_OK);
		CHECK_INT(p.rc_s, TLS_OK);
		CHECK(!tls_conn_peer_verified(p.cli));
		struct slice leaf = tls_conn_peer_cert(p.cli, 0);
		CHECK(leaf.len > 0);
		/* the CN appears verbatim in the DER */
		CHECK(memmem(leaf.p, leaf.len, want_cn[i], strlen(want_cn[i])) != NULL);
		if (names[i])
			CHECK_STR(tls_conn_sni(p.srv), names[i]);
		else
			CHECK(tls_conn_sni(p.srv) == NULL);
		pair_close(&p);
	}
}

TEST(verify_modes)
{
	struct pair p;

	/* PKIX, untrusted: the handshake fails with a reason */
	pair_open(&p, srv_ctx12, NULL, "a.example.test", TLS_VERIFY_PKIX, 0);
	CHECK(p.rc_c < 0);
	CHECK(p.rc_s < 0);
	CHECK(strstr(tls_conn_error(p.cli), "not trusted: self-signed certificate") != NULL);
	CHECK_INT(tls_conn_verify_failure(p.cli), TLS_VF_UNTRUSTED);
	CHECK(!tls_conn_established(p.cli));
	CHECK_INT(tls_conn_write(p.cli, SLICE_LIT("x")), p.rc_c);
	pair_close(&p);

	/* PKIX, trusted CA, wrong name */
	pair_open(&p, srv_ctx12, tls_test_path("ca.crt"), "mx.example.test", TLS_VERIFY_PKIX, 0);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK(tls_conn_peer_verified(p.cli));
	CHECK_INT(tls_conn_peer_chain_len(p.cli), 1);
	pair_close(&p);
	struct tls_keycert kc = {tls_test_path("chain.crt"), tls_test_path("leaf.key")};
	char err[TLS_ERR_MAX];
	struct tls_ctx *s = tls_ctx_server_new(&kc, 1, TLS_V12, err);
	ASSERT(s);
	pair_open(&p, s, tls_test_path("ca.crt"), "wrong.example.test", TLS_VERIFY_PKIX, 0);
	CHECK(p.rc_c < 0);
	CHECK(strstr(tls_conn_error(p.cli), "does not match") != NULL);
	pair_close(&p);

	/* opportunistic: same peer accepted, verdicts recorded */
	pair_open(&p, s, tls_test_path("ca.crt"), "wrong.example.test", TLS_VERIFY_NONE, 0);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK(tls_conn_peer_verified(p.cli));
	CHECK(!tls_conn_peer_name_ok(p.cli));
	CHECK_INT(tls_conn_peer_chain_len(p.cli), 2);
	pair_close(&p);
	pair_open(&p, s, NULL, "mx.example.test", TLS_VERIFY_NONE, 0);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK(!tls_conn_peer_verified(p.cli));
	CHECK(tls_conn_peer_name_ok(p.cli));
	CHECK(tls_conn_verify_error(p.cli)[0] != 0);
	pair_close(&p);
	tls_ctx_free(&s);
}

TEST(expired_certificate)
{
	char err[TLS_ERR_MAX];
	struct tls_keycert kc = {tls_test_path("expired.crt"), tls_test_path("leaf.key")};
	struct tls_ctx *s = tls_ctx_server_new(&kc, 1, TLS_V12, err);
	ASSERT(s);
	struct pair p;
	pair_open(&p, s, tls_test_path("ca.crt"), "mx.example.test", TLS_VERIFY_PKIX, 0);
	CHECK(p.rc_c < 0);
	CHECK_INT(tls_conn_verify_failure(p.cli), TLS_VF_EXPIRED);
	CHECK(strstr(tls_conn_error(p.cli), "certificate has expired") != NULL);
	pair_close(&p);
	/* opportunistic: used for encryption, reported as expired, and DANE-EE still matches */
	pair_open(&p, s, tls_test_path("ca.crt"), "mx.example.test", TLS_VERIFY_NONE, 0);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK(!tls_conn_peer_verified(p.cli));
	CHECK(tls_conn_peer_name_ok(p.cli));
	CHECK_INT(tls_conn_verify_failure(p.cli), TLS_VF_EXPIRED);
	struct buf a;
	buf_init(&a);
	struct slice leaf = tls_conn_peer_cert(p.cli, 0);
	CHECK_INT(tls_cert_assoc(leaf, 1, 1, &a), 0);
	struct tls_tlsa r = {3, 1, 1, buf_slice(&a)};
	CHECK_INT(tls_dane_match(&r, 1, &leaf, 1, NULL, 0, NULL), TLS_DANE_MATCH);
	buf_free(&a);
	pair_close(&p);
	tls_ctx_free(&s);
}

TEST(min_version_13_refuses_12_client)
{
	struct pair p;
	pair_open(&p, srv_ctx13, NULL, "a.example.test", TLS_VERIFY_NONE, TLS_V13);
	CHECK_INT(p.rc_c, TLS_OK);
	CHECK_STR(tls_conn_version(p.srv), "TLS1.3");
	pair_close(&p);
	pair_open_max(&p, srv_ctx13, NULL, "a.example.test", TLS_VERIFY_NONE, TLS_V12);
	CHECK(p.rc_c < 0);
	CHECK(p.rc_s < 0);
	CHECK(tls_conn_error(p.srv)[0] != 0);
	pair_close(&p);
}

TEST(garbage_and_truncation)
{
	/* plain text where a ClientHello should be */
	struct tls_conn *s = tls_conn_server_new(srv_ctx12);
	CHECK_INT(tls_conn_feed(s, SLICE_LIT("EHLO example.test\r\nMAIL FROM:<a@b>\r\n")), TLS_OK);
	CHECK(tls_conn_handshake(s) < 0);
	CHECK(tls_conn_error(s)[0] != 0);
	CHECK(tls_conn_handshake(s) < 0);
	CHECK(tls_conn_read(s, &(struct buf){0}, 10) < 0);
	tls_conn_free(&s);
	tls_conn_free(&s); /* second free is a no-op */
	CHECK(s == NULL);

	/* a real ClientHello cut short, then EOF */
	struct tls_ctx *cc = client_ctx(NULL);
	struct tls_conn *c = tls_conn_client_new(cc, "a.example.test", TLS_VERIFY_NONE);
	CHECK_INT(tls_conn_handshake(c), TLS_WANT_IO);
	struct buf hello;
	buf_init(&hello);
	tls_conn_out_take(c, &hello);
	CHECK(hello.len > 20);
	for (size_t cut = 1; cut < hello.len; cut += 37) {
		s = tls_conn_server_new(srv_ctx12);
		CHECK_INT(tls_conn_feed(s, slice_of(hello.p, cut)), TLS_OK);
		CHECK_INT(tls_conn_handshake(s), TLS_WANT_IO);
		tls_conn_feed_eof(s);
		CHECK(tls_conn_handshake(s) < 0);
		tls_conn_free(&s);
	}
	/* ClientHello with flipped bytes */
	for (size_t pos = 5; pos < hello.len; pos += 11) {
		s = tls_conn_server_new(srv_ctx12);
		hello.p[pos] ^= 0x5a;
		CHECK_INT(tls_conn_feed(s, buf_slice(&hello)), TLS_OK);
		int rc = tls_conn_handshake(s);
		CHECK(rc == TLS_WANT_IO || rc == TLS_OK || rc < 0);
		hello.p[pos] ^= 0x5a;
		tls_conn_free(&s);
	}
	buf_free(&hello);
	tls_conn_free(&c);

	/* half-finished handshake: stop after the server's first flight */
	c = tls_conn_client_new(cc, "a.example.test", TLS_VERIFY_NONE);
	s = tls_conn_server_new(srv_ctx12);
	CHECK_INT(tls_conn_handshake(c), TLS_WANT_IO);
	tls_test_move(c, s);
	CHECK_INT(tls_conn_handshake(s), TLS_WANT_IO);
	CHECK(tls_conn_out_pending(s));
	CHECK_INT(tls_conn_read(s, &(struct buf){0}, 10), TLS_ERR_STATE);
	CHECK_INT(tls_conn_write(s, SLICE_LIT("x")), TLS_ERR_STATE);
	CHECK_INT(tls_conn_channel_binding(s, TLS_CB_EXPORTER, &(struct buf){0}), TLS_ERR_STATE);
	CHECK(tls_conn_version(s) == NULL);
	tls_conn_free(&c);
	tls_conn_free(&s);

	/* garbage records after an established session */
	struct pair p;
	pair_open(&p, srv_ctx12, NULL, "a.example.test", TLS_VERIFY_NONE, 0);
	CHECK_INT(p.rc_s, TLS_OK);
	CHECK_INT(tls_conn_feed(p.srv, SLICE_LIT("\x17\x03\x03\x00\x20garbagegarbagegarbagegarbage!!!!")), TLS_OK);
	struct buf out;
	buf_init(&out);
	CHECK(drain(p.srv, &out) < 0);
	CHECK(tls_conn_error(p.srv)[0] != 0);
	buf_free(&out);
	pair_close(&p);
	tls_ctx_free(&cc);
}

TEST(feed_limit)
{
	struct tls_conn *s = tls_conn_server_new(srv_ctx12);
	static uint8_t big[TLS_CONN_INBUF_MAX];
	memset(big, 0x16, sizeof big);
	CHECK_INT(tls_conn_feed(s, slice_of(big, sizeof big)), TLS_OK);
	CHECK_INT(tls_conn_feed(s, SLICE_LIT("x")), TLS_ERR_LIMIT);
	CHECK(tls_conn_handshake(s) < 0);
	tls_conn_free(&s);
}

TEST(out_take_appends_or_swaps)
{
	struct tls_ctx *cc = client_ctx(NULL);
	struct tls_conn *c = tls_conn_client_new(cc, "a.example.test", TLS_VERIFY_NONE);
	CHECK(!tls_conn_out_pending(c));
	CHECK_INT(tls_conn_handshake(c), TLS_WANT_IO);
	CHECK(tls_conn_out_pending(c));
	struct buf dst;
	buf_init(&dst);
	buf_puts(&dst, "prefix");
	tls_conn_out_take(c, &dst);
	CHECK(dst.len > 6);
	CHECK(memcmp(dst.p, "prefix", 6) == 0);
	CHECK_INT(dst.p[6], 0x16); /* handshake record follows */
	CHECK(!tls_conn_out_pending(c));
	buf_free(&dst);
	tls_conn_free(&c);
	tls_ctx_free(&cc);
}

TEST(ctx_errors)
{
	char err[TLS_ERR_MAX] = "";
	struct tls_keycert bad = {tls_test_path("missing.crt"), tls_test_path("ec.key")};
	CHECK(tls_ctx_server_new(&bad, 1, TLS_V12, err) == NULL);
	CHECK(strstr(err, "missing.crt") != NULL);
	struct tls_keycert mismatch = {tls_test_path("ec.crt"), tls_test_path("rsa.key")};
	CHECK(tls_ctx_server_new(&mismatch, 1, TLS_V12, err) == NULL);
	CHECK(err[0] != 0);
	CHECK(tls_ctx_server_new(&bad, 0, TLS_V12, err) == NULL);
	const char *files[] = {tls_test_path("nope.pem")};
	struct tls_client_opts o = {.ca_files = files, .n_ca_files = 1};
	CHECK(tls_ctx_client_new(&o, err) == NULL);
	CHECK(strstr(err, "nope.pem") != NULL);
}

/* Several threads share one server and one client context (SNI matching,
 * ticket keys, session cache); each thread frees wolfSSL's thread state. */
#define SHARED_THREADS 3
#define SHARED_ROUNDS 8
static struct tls_ctx *shared_cli;
static _Atomic int shared_ok;

static void *shared_worker(void *arg)
{
	const char *names[] = {"a.example.test", "b.example.test", "mx.example.test"};
	for (int i = 0; i < SHARED_ROUNDS; i++) {
		const char *name = names[(i + (int)(intptr_t)arg) % 3];
		struct tls_conn *c = tls_conn_client_new(shared_cli, name, TLS_VERIFY_NONE);
		struct tls_conn *s = tls_conn_server_new(i % 2 ? srv_ctx12 : srv_ctx13);
		int rs, rc = tls_test_pump(c, s, &rs);
		if (rc == TLS_OK && rs == TLS_OK && strcmp(tls_conn_sni(s), name) == 0 && tls_conn_peer_name_ok(c))
			atomic_fetch_add(&shared_ok, 1);
		tls_conn_free(&c);
		tls_conn_free(&s);
	}
	tls_thread_exit();
	return NULL;
}

TEST(shared_contexts_across_threads)
{
	pthread_t th[SHARED_THREADS];
	shared_cli = client_ctx(NULL);
	for (int i = 0; i < SHARED_THREADS; i++)
		pthread_create(&th[i], NULL, shared_worker, (void *)(intptr_t)i);
	for (int i = 0; i < SHARED_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(atomic_load(&shared_ok), SHARED_THREADS * SHARED_ROUNDS);
	tls_ctx_free(&shared_cli);
}

TEST(teardown)
{
	tls_ctx_free(&srv_ctx12);
	tls_ctx_free(&srv_ctx13);
	CHECK(srv_ctx12 == NULL);
}

TEST_MAIN()
