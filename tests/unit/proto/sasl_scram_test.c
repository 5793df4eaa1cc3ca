/* Tests for the SCRAM engines (sasl_scram.c, sasl_scram_client.c,
 * sasl_scram_msg.c): the RFC 5802 §5 and RFC 7677 §3 exchanges byte for byte
 * on both sides, client <-> server round trips for every SCRAM mechanism and
 * both channel-binding types, the binding rules and downgrade detection of
 * smtp.md §7, fake salts for unknown users, and a cross-check of the
 * SCRAM-SHA-256 proof and server signature against Debian's Python
 * (hashlib/hmac). The abuse cases of badinput.md #44 are in
 * sasl_scram_abuse_test.c. */
#include "check.h"

#include "scram_fixture.h"

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
	/* No configured secret: a random per-process one, still stable in the process. */
	server_first_for("ghost", "", 4096, a, sizeof a, &la);
	server_first_for("ghost", "", 4096, b, sizeof b, &lb);
	CHECK_STR(a, b);
	password_scram_fake(SASL_HASH_SHA256, SLICE_LIT(""), SLICE_LIT("ghost"), 4096, &fake);
	buf_init(&want);
	buf_puts(&want, "r=abcSRV,s=");
	base64_encode(&want, slice_of(fake.salt, fake.salt_len));
	CHECK(strncmp(a, buf_cstr(&want), want.len) != 0); /* not the guessable empty-key salt */
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

/* Engines are per exchange; only the random generator is shared. Many
 * exchanges at once on several threads (run under Tsan too). */
static void *thread_round_trips(void *arg)
{
	long ok = 0;
	for (int i = 0; i < 20; i++) {
		struct sasl_client_cfg cfg = {.mech = SASL_SCRAM_SHA_256_PLUS, .user = SLICE_LIT("user"),
		                              .password = SLICE_LIT("pencil"), .chan = tls13()};
		struct sasl_client *c = sasl_client_new(&cfg);
		struct sasl_server *s = server(SASL_SCRAM_SHA_256_PLUS, tls13());
		struct sasl_cstep cs;
		struct sasl_step st = drive(c, s, user_secrets(), &cs);
		ok += st.status == SASL_OK && sasl_client_verified(c);
		sasl_client_free(c);
		sasl_server_free(s);
	}
	return (void *)ok;
}

TEST(exchanges_on_threads)
{
	user_secrets();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&th[i], NULL, thread_round_trips, NULL), 0);
	long total = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		total += (long)r;
	}
	CHECK_INT(total, 80);
}

TEST_MAIN()