/* YAML writer: quoting rules, round trips (load -> write -> load gives equal
 * structs), builders, and a YAML 1.1 reader (PyYAML) seeing the same strings. */
#include "check.h"
#include "conf_testutil.h"

#include <jansson.h>

#include "conf/conf_domains.h"
#include "conf/conf_schema.h"
#include "conf/conf_static.h"

static const char *const tricky[] = {
	"yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null", "~", "", "0755", "1:20", "2025-01-01",
	"2001-12-14t21:59:43.10-05:00", ".inf", "-.5", "+1", "1e3", "0x1f", "1_000", "12345", "=", "<<", "-", "- x",
	"? x", ": x", "a: b", "a #b", "#c", "@example.com", "*alias", "&anchor", "!tag", "|", ">", "%x", "'q", "\"q",
	"`b", "[a]", "{a}", "a,b", "x ", " x", "tab\there", "line\nbreak", "back\\slash", "bücher", "nel\xc2\x85x",
	"bom\xef\xbb\xbfx", "ls\xe2\x80\xa8x", "c1\xc2\x9fx", "::1", "2001:db8::1", "https://x.example/a#f",
	"Bearer 8hd72hd", "7m30s", "2025a", "NO", "nO", "yes please",
};
#define NTRICKY (sizeof tricky / sizeof tricky[0])

static char *scalar(const char *s)
{
	struct buf b;
	buf_init(&b);
	conf_write_scalar(&b, s);
	return buf_cstr(&b);
}

#define SCALAR(in, want) \
	do { \
		char *s_ = scalar(in); \
		CHECK_STR(s_, want); \
		free(s_); \
	} while (0)

TEST(scalar_quoting)
{
	SCALAR("example.com", "example.com");
	SCALAR("admin@example.com", "admin@example.com");
	SCALAR("7m30s", "7m30s");
	SCALAR("168h", "168h");
	SCALAR("/account/", "/account/");
	SCALAR("Bearer 8hd72hd", "Bearer 8hd72hd");
	SCALAR("https://app.example.com/hooks/mail", "https://app.example.com/hooks/mail");
	SCALAR("bücher.example", "bücher.example");
	SCALAR("2001:db8::10", "\"2001:db8::10\""); /* conservative: digits, hex and colons */
	SCALAR("fe80::1", "fe80::1");
	SCALAR("yes", "\"yes\"");
	SCALAR("Off", "\"Off\"");
	SCALAR("null", "\"null\"");
	SCALAR("~", "\"~\"");
	SCALAR("", "\"\"");
	SCALAR("0755", "\"0755\"");
	SCALAR("20250101", "\"20250101\"");
	SCALAR("1:20", "\"1:20\"");
	SCALAR("2025-01-01", "\"2025-01-01\"");
	SCALAR(".inf", "\".inf\"");
	SCALAR("+", "\"+\"");
	SCALAR("@example.com", "\"@example.com\"");
	SCALAR("::1", "\"::1\"");
	SCALAR("a: b", "\"a: b\"");
	SCALAR("a #b", "\"a #b\"");
	SCALAR("x ", "\"x \"");
	SCALAR("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"");
	SCALAR("tab\there", "\"tab\\x09here\"");
	SCALAR("nel\xc2\x85x", "\"nel\\x85x\"");
	SCALAR("ls\xe2\x80\xa8x", "\"ls\\u2028x\"");
}

/* Builds a domains.conf whose descriptions are the tricky strings, one domain each. */
static struct conf_domains *tricky_domains(void)
{
	struct conf_domains *dc = conf_domains_new();
	for (size_t i = 0; i < NTRICKY; i++) {
		char name[32];
		snprintf(name, sizeof name, "d%zu.example", i);
		struct conf_domain *d = conf_domains_add_domain(dc, name);
		d->description = xstrdup(tricky[i]);
	}
	struct conf_account *a = conf_domains_add_account(dc, "yes", "d0.example");
	conf_account_add_destination(a, "@d0.example", "no");
	conf_account_add_destination(a, "on@d1.example", NULL);
	a->full_name = xstrdup("0x10");
	a->login_disabled = xstrdup("null");
	return dc;
}

TEST(tricky_strings_round_trip)
{
	struct conf_domains *dc = tricky_domains(), *back;
	struct buf y, err;
	buf_init(&y);
	buf_init(&err);
	conf_domains_write(dc, &y);
	CHECK_INT(conf_domains_parse("w", y.p, y.len, NULL, NULL, &back, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	if (back) {
		CHECK(conf_domains_eq(dc, back));
		for (size_t i = 0; i < NTRICKY; i++)
			CHECK_STR(back->domains[i].description, tricky[i]);
		CHECK_STR(back->accounts[0].name, "yes");
		CHECK_STR(back->accounts[0].destinations[0].name, "@d0.example");
		CHECK_STR(back->accounts[0].destinations[0].mailbox, "no");
		conf_domains_release(back);
	}
	conf_domains_release(dc);
	buf_free(&y);
	buf_free(&err);
}

/* A YAML 1.1 reader must see every tricky string as that same string. */
TEST(yaml11_reader_sees_strings)
{
	if (access("/usr/bin/python3", X_OK) != 0 || system("/usr/bin/python3 -c 'import yaml' 2>/dev/null") != 0) {
		fprintf(stderr, "skipping: /usr/bin/python3 with PyYAML not available\n");
		return;
	}
	struct conf_domains *dc = tricky_domains();
	struct buf y;
	buf_init(&y);
	conf_domains_write(dc, &y);
	char *dir = tu_tmpdir();
	tu_write(dir, "domains.conf", buf_cstr(&y));
	char *cmd = xasprintf("/usr/bin/python3 -c 'import yaml,json,sys; d=yaml.safe_load(open(sys.argv[1]));"
			      " print(json.dumps([[type(v[\"Description\"]).__name__, str(v[\"Description\"])] for v in d[\"Domains\"].values()]"
			      " + [[type(k).__name__, k] for k in d[\"Accounts\"]]))' %s/domains.conf > %s/out.json",
			      dir, dir);
	CHECK_INT(system(cmd), 0);
	char *out = tu_read(dir, "out.json");
	json_error_t je;
	json_t *arr = out ? json_loads(out, 0, &je) : NULL;
	CHECK(arr && json_array_size(arr) == NTRICKY + 1);
	for (size_t i = 0; arr && i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *type = json_string_value(json_array_get(e, 0));
		const char *val = json_string_value(json_array_get(e, 1));
		const char *want = i < NTRICKY ? tricky[i] : "yes";
		if (!type || strcmp(type, "str") != 0 || !val || strcmp(val, want) != 0)
			CHECK_FAIL("YAML 1.1 reader: entry %zu is %s \"%s\", want str \"%s\"", i, type, val, want);
	}
	json_decref(arr);
	free(out);
	free(cmd);
	tu_rmdir(dir);
	buf_free(&y);
	conf_domains_release(dc);
}

TEST(spec_examples_round_trip)
{
	struct conf_static *st, *st2;
	struct conf_domains *dc, *dc2;
	struct buf err, y;
	buf_init(&err);
	buf_init(&y);
	CHECK_INT(conf_static_parse("t", TU_TERN_CONF, strlen(TU_TERN_CONF), "/c", &st, &err), 0);
	conf_static_write(st, &y);
	CHECK_INT(conf_static_parse("t2", y.p, y.len, "/c", &st2, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	CHECK(st && st2 && conf_static_eq(st, st2));
	CHECK(strstr(buf_cstr(&y), "{") == NULL); /* block style only */
	buf_reset(&y);
	CHECK_INT(conf_domains_parse("d", TU_DOMAINS_CONF, strlen(TU_DOMAINS_CONF), st, "/c", &dc, &err), 0);
	conf_domains_write(dc, &y);
	CHECK_INT(conf_domains_parse("d2", y.p, y.len, st, "/c", &dc2, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	CHECK(dc && dc2 && conf_domains_eq(dc, dc2));
	CHECK(strstr(buf_cstr(&y), "PolicyID: \"20250101\"") != NULL);
	CHECK(strstr(buf_cstr(&y), "      admin@example.com: {}\n") != NULL);
	CHECK(strstr(buf_cstr(&y), "Routes:\n  - ToDomain:\n      - \".corp.example\"\n    MinimumAttempts: 3\n") != NULL);
	/* a changed field makes them differ */
	if (dc2) {
		dc2->domains[1].disabled = false;
		CHECK(!conf_domains_eq(dc, dc2));
	}
	conf_domains_release(dc);
	conf_domains_release(dc2);
	conf_static_free(st);
	conf_static_free(st2);
	buf_free(&err);
	buf_free(&y);
}

TEST(static_builder)
{
	struct conf_static *st = conf_static_new();
	st->hostname = xstrdup("localhost");
	st->data_dir = xstrdup(".");
	st->log_level = CONF_LOG_TRACEAUTH;
	free(st->user);
	st->user = xstrdup("1000");
	st->postmaster.account = xstrdup("tern");
	st->postmaster.mailbox = xstrdup("Inbox");
	st->webhooks.allow_internal_targets = true;
	st->tls.ca.additional_to_system = true;
	conf_strs_add(&st->tls.ca.cert_files, "localhost.crt");
	struct conf_listener *l = conf_static_add_listener(st, "local");
	conf_strs_add(&l->ips, "127.0.0.1");
	conf_strs_add(&l->ips, "::1");
	l->tls = conf_static_new_tls();
	conf_static_tls_add_keycert(l->tls, "localhost.crt", "localhost.key");
	l->smtp.enabled = true;
	l->smtp.port = 1025;
	l->submission.enabled = true;
	l->submission.port = 1587;
	l->submission.no_require_starttls = true;
	l->webapi_http.enabled = true;
	l->webapi_http.port = 1080;
	struct conf_transport *t = conf_static_add_transport(st, "relay");
	t->submission = conf_static_new_transport_smtp("smtp.example");
	struct buf y, err;
	buf_init(&y);
	buf_init(&err);
	conf_static_write(st, &y);
	CHECK(strstr(buf_cstr(&y), "User: \"1000\"\n") != NULL);
	CHECK(strstr(buf_cstr(&y), "    IPs:\n      - \"127.0.0.1\"\n      - \"::1\"\n") != NULL);
	CHECK(strstr(buf_cstr(&y), "LogLevel: traceauth\n") != NULL);
	CHECK(strstr(buf_cstr(&y), "Limits") == NULL); /* defaults are left out */
	struct conf_static *back;
	CHECK_INT(conf_static_parse("gen", y.p, y.len, "/dir", &back, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	if (back) {
		CHECK_STR(back->user, "1000");
		CHECK_INT(back->listeners[0].smtp.port, 1025);
		CHECK_STR(back->listeners[0].tls->keycerts[0].key_path, "/dir/localhost.key");
		CHECK_STR(back->tls.ca.cert_paths.v[0], "/dir/localhost.crt");
		CHECK(back->webhooks.allow_internal_targets);
		CHECK_INT(back->transports[0].submission->port, 587);
	}
	conf_static_free(back);
	conf_static_free(st);
	buf_free(&y);
	buf_free(&err);
}

TEST(durations_written_exactly)
{
	const char *t = "Hostname: h\nDataDir: d\nPostmaster: {Account: a, Mailbox: b}\nListeners: {l: {IPs: [::1]}}\n"
			"Queue: {RetryIntervals: [1s500ms, 1h58m3s, 2h], ConnectionIdleTimeout: 0}\n";
	struct conf_static *st, *back;
	struct buf y, err;
	buf_init(&y);
	buf_init(&err);
	CHECK_INT(conf_static_parse("t", t, strlen(t), NULL, &st, &err), 0);
	conf_static_write(st, &y);
	CHECK(strstr(buf_cstr(&y), "  RetryIntervals:\n    - 1s500ms\n    - 1h58m3s\n    - 2h\n  ConnectionIdleTimeout: 0s\n") != NULL);
	CHECK_INT(conf_static_parse("t2", y.p, y.len, NULL, &back, &err), 0);
	CHECK(st && back && conf_static_eq(st, back));
	conf_static_free(st);
	conf_static_free(back);
	buf_free(&y);
	buf_free(&err);
}

TEST_MAIN()
