/* SMTP client engine against real servers on loopback: aiosmtpd (recording every
 * transaction, with AUTH and STARTTLS) and tests/integ/smtp_servers/quirky.py
 * (LIMITS RCPTMAX=2, an unannounced recipient limit, no 8BITMIME, multi-line 5xx,
 * CHUNKING). Checks what the servers recorded, byte for byte. */
#include "smtp_client_live.h"

#include <jansson.h>

#define PY "/usr/bin/python3"

static char dir[64];
static char outfile[128];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/tern-client-XXXXXX");
	ASSERT(mkdtemp(dir));
	snprintf(outfile, sizeof outfile, "%s/records.jsonl", dir);
}

static bool start_py(struct live_server *srv, const char *script, const char *const *extra)
{
	char path[8192];
	char *argv[16];
	int n = 0;
	snprintf(path, sizeof path, "%s/tests/integ/smtp_servers/%s", live_src(), script);
	argv[n++] = PY;
	argv[n++] = path;
	argv[n++] = outfile;
	for (; extra && *extra && n < 15; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	return live_spawn_port(srv, argv);
}

/* Records written so far, as a JSON array (caller decrefs). */
static json_t *records(void)
{
	json_t *arr = json_array();
	char *all = live_slurp(outfile);
	for (char *line = all, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		json_t *j = json_loads(line, 0, NULL);
		CHECK(j != NULL);
		if (j)
			json_array_append_new(arr, j);
		if (!next)
			break;
	}
	free(all);
	return arr;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static bool options_have(json_t *rec, const char *key, const char *opt)
{
	json_t *a = json_object_get(rec, key);
	for (size_t i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), opt) == 0)
			return true;
	return false;
}

/* A CRLF message of about n octets with dot lines and 8-bit text. */
static void make_message(struct buf *b, size_t n)
{
	buf_puts(b, "Subject: test\r\nFrom: s@x.example\r\n\r\n.leading dot\r\n..two\r\n.\r\n"
	            "caf\xc3\xa9\r\n");
	for (unsigned i = 0; b->len < n; i++)
		buf_printf(b, "%s line %u of the body, some filler text to make it longer\r\n",
		           i % 7 == 0 ? "." : "", i);
}

static struct smtp_client_txn txn_of(struct smtp_client_rcpt *r, size_t n, struct buf *msg,
                                     const char *prefix)
{
	struct smtp_client_txn t = {.mail_from = "s@x.example", .rcpts = r, .nrcpts = n,
	                            .prefix = slice_str(prefix), .data_size = msg->len,
	                            .read_cb = live_read_cb, .read_ctx = msg, .has8bit = true};
	return t;
}

TEST(aiosmtpd_exact_bytes_utf8_and_reuse)
{
	struct live_server srv = {0};
	setup();
	CHECK(start_py(&srv, "recorder.py", NULL));
	struct buf msg;
	buf_init(&msg);
	make_message(&msg, 700 * 1024);
	struct smtp_client_rcpt r1[3] = {{.addr = "a@d.example"}, {.addr = "j\xc3\xb6@d.example"},
	                                 {.addr = "c@d.example"}};
	struct smtp_client_rcpt r2[1] = {{.addr = "second@d.example"}};
	struct smtp_client_txn t1 = txn_of(r1, 3, &msg, "Received: by test\r\n");
	struct smtp_client_txn t2 = txn_of(r2, 1, &msg, "");
	struct live_run run = {.txns = {&t1, &t2}, .ntxn = 2};
	struct smtp_client_config cfg = {.ehlo_name = "client.test"};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(smtp_client_error(c) == NULL);
	CHECK_INT(run.done, 2);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r1[i].result.err, SMTP_CLIENT_OK);
		CHECK_STR(rtext_live(&r1[i].result), "remote: 250 2.0.0 recorded");
	}
	CHECK_INT(r2[0].result.err, SMTP_CLIENT_OK);
	json_t *recs = records();
	CHECK_INT(json_array_size(recs), 2);
	json_t *a = json_array_get(recs, 0), *b = json_array_get(recs, 1);
	if (a && b) {
		char size[32];
		snprintf(size, sizeof size, "SIZE=%zu", msg.len + 19);
		CHECK(options_have(a, "mail_options", size));
		CHECK(options_have(a, "mail_options", "BODY=8BITMIME"));
		CHECK(options_have(a, "mail_options", "SMTPUTF8"));
		CHECK(!options_have(b, "mail_options", "SMTPUTF8"));
		CHECK_STR(jstr(a, "helo"), "client.test");
		CHECK_INT(json_array_size(json_object_get(a, "rcpt_tos")), 3);
		CHECK_STR(json_string_value(json_array_get(json_object_get(a, "rcpt_tos"), 1)),
		          "j\xc3\xb6@d.example");
		/* content is latin-1 decoded by the recorder: compare as bytes */
		struct buf want;
		buf_init(&want);
		buf_puts(&want, "Received: by test\r\n");
		buf_append(&want, msg.p, msg.len);
		json_t *jc = json_object_get(a, "content");
		struct buf got;
		buf_init(&got);
		for (const unsigned char *p = (const unsigned char *)json_string_value(jc); p && *p; p++) {
			if (*p < 0x80)
				buf_putc(&got, *p);
			else /* U+0080..U+00FF as two UTF-8 octets */
				buf_putc(&got, (uint8_t)(((p[0] & 0x1f) << 6) | (p[1] & 0x3f))), p++;
		}
		CHECK_INT(got.len, want.len);
		CHECK(got.len == want.len && memcmp(got.p, want.p, got.len) == 0);
		buf_free(&got);
		buf_free(&want);
	}
	json_decref(recs);
	smtp_client_txn_clear(&t1);
	smtp_client_txn_clear(&t2);
	smtp_client_free(c);
	buf_free(&msg);
	live_stop(&srv);
	live_rmdir(dir);
}

/* ---- AUTH against aiosmtpd: PLAIN and LOGIN, right and wrong passwords ---- */

struct pw_sasl {
	const char *mech;
	const char *pass;
};

static const char *pw_choose_cb(void *ctx, const char *const *offered, size_t n, bool tls)
{
	struct pw_sasl *s = ctx;
	for (size_t i = 0; i < n; i++)
		if (strcmp(offered[i], s->mech) == 0)
			return s->mech;
	return NULL;
}

static int pw_step_cb(void *ctx, bool first, struct slice chal, struct buf *out)
{
	struct pw_sasl *s = ctx;
	if (strcmp(s->mech, "PLAIN") == 0) {
		buf_append(out, "\0user\0", 6);
		buf_puts(out, s->pass);
		return SMTP_CLIENT_SASL_OK;
	}
	if (first)
		return SMTP_CLIENT_SASL_NO_IR;
	if (slice_prefix_nocase(chal, "user"))
		buf_puts(out, "user");
	else
		buf_puts(out, s->pass);
	return SMTP_CLIENT_SASL_OK;
}

static const struct smtp_client_auth_ops pw_ops = {pw_choose_cb, pw_step_cb, NULL};

TEST(aiosmtpd_auth)
{
	static const char *const extra[] = {"--auth", NULL};
	struct live_server srv = {0};
	setup();
	CHECK(start_py(&srv, "recorder.py", extra));
	struct buf msg;
	buf_init(&msg);
	make_message(&msg, 1000);
	static const struct {
		const char *mech, *pass;
		bool ok;
	} cases[] = {{"PLAIN", "secret", true}, {"LOGIN", "secret", true}, {"PLAIN", "wrong", false},
	             {"LOGIN", "wrong", false}};
	for (size_t k = 0; k < 4; k++) {
		struct pw_sasl sasl = {cases[k].mech, cases[k].pass};
		struct smtp_client_config cfg = {.ehlo_name = "client.test", .auth = &pw_ops,
		                                 .auth_ctx = &sasl};
		struct smtp_client_rcpt r = {.addr = "a@d.example"};
		struct smtp_client_txn t = txn_of(&r, 1, &msg, "");
		struct live_run run = {.txns = {&t}, .ntxn = 1};
		struct smtp_client *c = live_session(srv.port, &cfg, &run);
		const struct smtp_client_result *e = smtp_client_error(c);
		if (cases[k].ok) {
			CHECK(e == NULL);
			CHECK_INT(r.result.err, SMTP_CLIENT_OK);
		} else {
			CHECK(e && e->stage == SMTP_CLIENT_STAGE_AUTH && e->code == 535);
			CHECK_INT(run.done, 0);
		}
		smtp_client_txn_clear(&t);
		smtp_client_free(c);
	}
	json_t *recs = records();
	CHECK_INT(json_array_size(recs), 2);
	CHECK(json_is_true(json_object_get(json_array_get(recs, 0), "auth")));
	json_decref(recs);
	buf_free(&msg);
	live_stop(&srv);
	live_rmdir(dir);
}

TEST(aiosmtpd_starttls)
{
	struct live_server srv = {0};
	setup();
	char cmd[1024], crt[256], key[256];
	snprintf(crt, sizeof crt, "%s/c.pem", dir);
	snprintf(key, sizeof key, "%s/k.pem", dir);
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
	         "-subj /CN=recorder.test -keyout %s -out %s >/dev/null 2>&1",
	         key, crt);
	CHECK_INT(system(cmd), 0);
	const char *const extra[] = {"--tls", crt, key, NULL};
	CHECK(start_py(&srv, "recorder.py", extra));
	struct buf msg;
	buf_init(&msg);
	make_message(&msg, 5000);
	struct smtp_client_rcpt r = {.addr = "a@d.example"};
	struct smtp_client_txn t = txn_of(&r, 1, &msg, "");
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client_config cfg = {.ehlo_name = "client.test",
	                                 .tls = SMTP_CLIENT_TLS_REQUIRED};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(smtp_client_error(c) == NULL);
	CHECK_INT(r.result.err, SMTP_CLIENT_OK);
	struct smtp_client_tls_info ti;
	smtp_client_tls_info(c, &ti);
	CHECK(ti.starttls_offered && ti.active && !ti.verified);
	json_t *recs = records();
	CHECK(json_is_true(json_object_get(json_array_get(recs, 0), "tls")));
	json_decref(recs);
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	buf_free(&msg);
	live_stop(&srv);
	live_rmdir(dir);
}

/* ---- quirky.py ---- */

static void run_quirky(const char *mode, size_t *txns_out, struct smtp_client_rcpt *r, size_t n,
                       struct buf *msg, json_t **recs)
{
	const char *const extra[] = {mode, NULL};
	struct live_server srv = {0};
	setup();
	CHECK(start_py(&srv, "quirky.py", extra));
	struct smtp_client_txn t = txn_of(r, n, msg, "X-Prefix: 1\r\n");
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client_config cfg = {.ehlo_name = "client.test"};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(smtp_client_error(c) == NULL);
	CHECK(!smtp_client_caps(c)->eightbitmime && smtp_client_caps(c)->chunking);
	*txns_out = t.transactions;
	*recs = records();
	smtp_client_free(c);
	live_stop(&srv);
	live_rmdir(dir);
}

static void check_quirky_records(json_t *recs, struct buf *msg, size_t want_rcpts)
{
	size_t total = 0;
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *rec = json_array_get(recs, i);
		size_t nr = json_array_size(json_object_get(rec, "rcpts"));
		CHECK(nr >= 1 && nr <= 2);
		total += nr;
		CHECK_STR(jstr(rec, "via"), "BDAT");
		/* no 8BITMIME: no BODY, even for this 8-bit message (#60) */
		CHECK(strstr(jstr(rec, "mail"), "BODY=") == NULL);
		CHECK(strstr(jstr(rec, "mail"), "SIZE=") != NULL);
		json_t *chunks = json_object_get(rec, "chunks");
		size_t sum = 0;
		for (size_t k = 0; k < json_array_size(chunks); k++) {
			size_t cs = (size_t)json_integer_value(json_array_get(chunks, k));
			CHECK(cs <= SMTP_CLIENT_BDAT_CHUNK_MAX);
			sum += cs;
		}
		CHECK_INT(sum, msg->len + 13);
		CHECK_INT(json_array_size(chunks), (msg->len + 13 + SMTP_CLIENT_BDAT_CHUNK_MAX - 1) /
		                                       SMTP_CLIENT_BDAT_CHUNK_MAX);
	}
	CHECK_INT(total, want_rcpts);
}

TEST(quirky_rcptmax_and_multiline_5xx)
{
	struct buf msg;
	buf_init(&msg);
	make_message(&msg, 2500 * 1024);
	struct smtp_client_rcpt r[5] = {{.addr = "a@d.example"}, {.addr = "reject@d.example"},
	                                {.addr = "b@d.example"}, {.addr = "c@d.example"},
	                                {.addr = "e@d.example"}};
	size_t ntx;
	json_t *recs;
	run_quirky("rcptmax", &ntx, r, 5, &msg, &recs);
	CHECK_INT(ntx, 3);
	CHECK_INT(r[1].result.code, 550);
	CHECK(r[1].result.reply && r[1].result.reply->nlines == 3);
	if (r[1].result.reply)
		CHECK_STR(r[1].result.reply->lines[2], "550 5.1.1 really");
	CHECK_STR(rtext_live(&r[1].result), "remote: 550 5.1.1 the account does not exist at all really");
	for (int i = 0; i < 5; i++)
		if (i != 1)
			CHECK_INT(r[i].result.err, SMTP_CLIENT_OK);
	CHECK_INT(json_array_size(recs), 3);
	check_quirky_records(recs, &msg, 4);
	json_decref(recs);
	smtp_client_txn_clear(&(struct smtp_client_txn){.rcpts = r, .nrcpts = 5});
	buf_free(&msg);
}

TEST(quirky_unannounced_limit_452)
{
	struct buf msg;
	buf_init(&msg);
	make_message(&msg, 3000);
	struct smtp_client_rcpt r[5] = {{.addr = "a@d.example"}, {.addr = "b@d.example"},
	                                {.addr = "c@d.example"}, {.addr = "e@d.example"},
	                                {.addr = "f@d.example"}};
	size_t ntx;
	json_t *recs;
	run_quirky("limit", &ntx, r, 5, &msg, &recs);
	CHECK_INT(ntx, 3);
	for (int i = 0; i < 5; i++)
		CHECK_INT(r[i].result.err, SMTP_CLIENT_OK);
	CHECK_INT(json_array_size(recs), 3);
	check_quirky_records(recs, &msg, 5);
	json_decref(recs);
	smtp_client_txn_clear(&(struct smtp_client_txn){.rcpts = r, .nrcpts = 5});
	buf_free(&msg);
}

TEST_MAIN()
