/* `tern queue ...` through the real control socket (queue.md §7, §13): every
 * command, the exact output lines scripts parse, filters and sorts, usage and
 * not-found errors, and the retired-record cleanup after a restart. The
 * commands run in the control server started with control_start on a temp
 * socket; the client side is control_client_run, the CLI's own path. No
 * router runs, so records stay queued and nothing is in flight. */
#include "check.h"
#include "queue_testlib.h"

#include <fcntl.h>
#include <jansson.h>

#include "actors/control.h"
#include "actors/queue_fmt.h"

static char sock[128];

struct out {
	char *o, *e;
	int status;
};

static char *slurp_fd(int fd)
{
	struct buf b;
	buf_init(&b);
	lseek(fd, 0, SEEK_SET);
	char tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_append(&b, tmp, (size_t)n);
	close(fd);
	return buf_cstr(&b);
}

/* Runs `tern queue <args...>` through the control socket; captures stdout and stderr. */
static struct out run(const char *a0, ...)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "queue";
	va_list ap;
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	char po[] = "/tmp/tern-qout-XXXXXX", pe[] = "/tmp/tern-qerr-XXXXXX";
	int fo = mkstemp(po), fe = mkstemp(pe);
	unlink(po);
	unlink(pe);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	struct out r;
	r.status = control_client_run(sock, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	r.o = slurp_fd(fo);
	r.e = slurp_fd(fe);
	return r;
}

static void out_free(struct out *r)
{
	free(r->o);
	free(r->e);
}

#define EXPECT(r, st, text) \
	do { \
		struct out r_ = (r); \
		CHECK_INT(r_.status, st); \
		CHECK_STR(r_.o, text); \
		out_free(&r_); \
	} while (0)

static char *list_line(struct qt *t, uint64_t id)
{
	struct store_queue_rec r;
	struct buf b;
	buf_init(&b);
	if (qt_load(t, id, &r) == 0)
		queue_fmt_line(&b, &r, clock_wall_ms());
	store_codec_free(&store_rec_queue, &r);
	return buf_cstr(&b);
}

static char *rfc3339(int64_t ms)
{
	char t[32];
	return xstrdup(clock_rfc3339(t, ms));
}

TEST(list_lines_exact_format)
{
	/* A crafted record: times, durations, hold, error escaping, null sender. */
	int64_t now = 1743069602000; /* 2025-03-27T10:00:02Z */
	struct store_msg_result res = {.start = now - 10000, .error = "remote: 451 4.2.0 \"busy\" \\ try later"};
	struct store_queue_rec r = {.id = 17, .queued = now, .sender_localpart = "noreply", .sender_domain = "example.com",
	                            .recipient_localpart = "bob", .recipient_domain = "example.org",
	                            .next_attempt = now + 449000, .last_attempt = now - 10000,
	                            .results = {.v = &res, .n = 1}};
	struct buf b;
	buf_init(&b);
	queue_fmt_line(&b, &r, now);
	CHECK_STR(buf_cstr(&b), "17 2025-03-27T10:00:02Z from:noreply@example.com to:bob@example.org next in 7m29s "
	                        "last 10s ago error \"remote: 451 4.2.0 \\\"busy\\\" \\\\ try later\"\n");
	b.len = 0;
	r.hold = true;
	r.next_attempt = now - 1;
	r.last_attempt = now - 7083000;
	r.sender_localpart = r.sender_domain = NULL;
	r.results.n = 0;
	queue_fmt_line(&b, &r, now);
	CHECK_STR(buf_cstr(&b), "17 2025-03-27T10:00:02Z from:<> to:bob@example.org next now last 1h58m3s ago hold error \"\"\n");
	b.len = 0;
	r.last_attempt = 0;
	r.hold = false;
	queue_fmt_line(&b, &r, now);
	CHECK_STR(buf_cstr(&b), "17 2025-03-27T10:00:02Z from:<> to:bob@example.org next now last - error \"\"\n");
	b.len = 0;
	struct store_retired_rec rr = {.q = r, .last_activity = now - 5000, .success = true};
	queue_fmt_retired_line(&b, &rr, now);
	CHECK_STR(buf_cstr(&b), "17 2025-03-27T10:00:02Z success from:<> to:bob@example.org last 5s ago error \"\"\n");
	buf_free(&b);
}

TEST(queue_commands)
{
	struct qt t;
	qt_start(&t, true, NULL);
	queue_set_peers(0, t.mailbox); /* no router: nothing is handed out */
	snprintf(sock, sizeof sock, "%s/ctl", t.dir);
	static bool started;
	if (!started) {
		queue_cmds_register();
		struct buf err;
		buf_init(&err);
		CHECK_INT(control_start(sock, &err), 0);
		buf_free(&err);
		started = true;
	}
	struct qt_rcpt one = {"bob", "example.org"};
	static const struct qt_rcpt two[] = {{"a", "x.example"}, {"b", "x.example"}};
	CHECK_INT(qt_add(&t, &one, 1), 0);
	uint64_t r1 = qt_c->add_ids[0];
	qt_sleep_ms(5);
	CHECK_INT(qt_add(&t, two, 2), 0);
	uint64_t r2 = qt_c->add_ids[0], r3 = qt_c->add_ids[1];
	char *l1 = list_line(&t, r1), *l2 = list_line(&t, r2), *l3 = list_line(&t, r3);
	CHECK(strstr(l1, " from:app@example.com to:bob@example.org next now last - error \"\"\n") != NULL);
	char *all = xasprintf("%s%s%s", l3, l2, l1); /* NextAttempt descending, then id descending */
	EXPECT(run("list", NULL), 0, all);
	free(all);
	all = xasprintf("%s%s", l2, l3);
	EXPECT(run("list", "-to", "@x.example", "-sort", "queued", "-asc", NULL), 0, all);
	free(all);
	EXPECT(run("list", "-n", "1", "-sort=queued", "-asc", NULL), 0, l1);
	EXPECT(run("list", "-account", "nobody", NULL), 0, "");
	EXPECT(run("list", "-from", "APP@", "-submitted", ">1h", "-nextattempt", "<1m", "-n", "1", NULL), 0, l3);
	EXPECT(run("list", "-submitted", "<1h", NULL), 0, "");
	/* hold / unhold */
	EXPECT(run("hold", "-to", "x.example", NULL), 0, "2 messages changed\n");
	EXPECT(run("hold", "-to", "x.example", NULL), 0, "0 messages changed\n");
	struct out o = run("list", "-hold", "true", "-sort", "queued", "-asc", NULL);
	CHECK_INT(o.status, 0);
	CHECK(strstr(o.o, " last - hold error \"\"\n") != NULL);
	CHECK_INT(strlen(o.o), strlen(l2) + strlen(l3) + 10);
	out_free(&o);
	EXPECT(run("unhold", NULL), 0, "2 messages changed\n");
	/* schedule */
	EXPECT(run("schedule", "-ids", "1234567", "1h", NULL), 0, "0 messages changed\n");
	char ids[64];
	snprintf(ids, sizeof ids, "%llu", (unsigned long long)r1);
	EXPECT(run("schedule", "-ids", ids, "-now", "2h", NULL), 0, "1 messages changed\n");
	o = run("list", "-ids", ids, NULL);
	CHECK(strstr(o.o, " next in 2h last - error") != NULL);
	out_free(&o);
	EXPECT(run("schedule", "-ids", ids, "-30m", NULL), 0, "1 messages changed\n");
	o = run("list", "-nextattempt", ">1h", NULL);
	CHECK(strstr(o.o, " next in 1h30m last - error") != NULL);
	out_free(&o);
	EXPECT(run("schedule", "-ids", ids, "-now", "0", NULL), 0, "1 messages changed\n");
	/* transport */
	EXPECT(run("transport", "-ids", ids, "relay", NULL), 0, "1 messages changed\n");
	o = run("transport", "-ids", ids, "nosuch", NULL);
	CHECK_INT(o.status, 1);
	CHECK(strstr(o.e, "unknown transport") != NULL);
	out_free(&o);
	o = run("list", "-transport", "relay", NULL);
	CHECK(strncmp(o.o, ids, strlen(ids)) == 0 && strchr(o.o, '\n') == o.o + strlen(o.o) - 1);
	out_free(&o);
	EXPECT(run("transport", "-transport", "relay", "", NULL), 0, "1 messages changed\n");
	EXPECT(run("list", "-transport", "relay", NULL), 0, "");
	/* requiretls and print */
	EXPECT(run("requiretls", "-ids", ids, "yes", NULL), 0, "1 messages changed\n");
	o = run("print", ids, NULL);
	CHECK_INT(o.status, 0);
	json_error_t jerr;
	json_t *j = json_loads(o.o, 0, &jerr);
	CHECK(j != NULL);
	CHECK_INT(json_integer_value(json_object_get(j, "ID")), (int64_t)r1);
	CHECK_STR(json_string_value(json_object_get(j, "SenderAccount")), "app");
	CHECK_STR(json_string_value(json_object_get(j, "RecipientDomainStr")), "example.org");
	CHECK(json_is_true(json_object_get(j, "RequireTLS")));
	CHECK(json_is_null(json_object_get(j, "LastAttempt")));
	CHECK(json_object_get(j, "DataID") == NULL);
	json_decref(j);
	out_free(&o);
	EXPECT(run("requiretls", "-ids", ids, "default", NULL), 0, "1 messages changed\n");
	o = run("requiretls", "maybe", NULL);
	CHECK_INT(o.status, 2);
	out_free(&o);
	o = run("print", "999999", NULL);
	CHECK_INT(o.status, 1);
	CHECK_STR(o.o, "");
	out_free(&o);
	/* dump: the raw message, prefix included */
	EXPECT(run("dump", ids, NULL), 0, QT_MSG);
	o = run("dump", "999999", NULL);
	CHECK_INT(o.status, 1);
	out_free(&o);
	/* hold rules */
	EXPECT(run("holdrule", "list", NULL), 0, "");
	o = run("holdrule", "add", "-account", "app", "-recipientdom", "x.example", NULL);
	CHECK_INT(o.status, 0);
	unsigned long long h1 = strtoull(o.o + 3, NULL, 10);
	char *want = xasprintf("id %llu: account \"app\", recipient domain \"x.example\"\n", h1);
	CHECK_STR(o.o, want);
	out_free(&o);
	o = run("holdrule", "add", NULL);
	unsigned long long h2 = strtoull(o.o + 3, NULL, 10);
	char *want2 = xasprintf("id %llu: all messages\n", h2);
	CHECK_STR(o.o, want2);
	out_free(&o);
	char *both = xasprintf("%s%s", want, want2);
	EXPECT(run("holdrule", "list", NULL), 0, both);
	char hs[32];
	snprintf(hs, sizeof hs, "%llu", h2);
	EXPECT(run("holdrule", "remove", hs, NULL), 0, "");
	EXPECT(run("holdrule", "list", NULL), 0, want);
	o = run("holdrule", "remove", hs, NULL);
	CHECK_INT(o.status, 1);
	out_free(&o);
	free(want);
	free(want2);
	free(both);
	EXPECT(run("unhold", NULL), 0, "3 messages changed\n");
	snprintf(hs, sizeof hs, "%llu", h1);
	EXPECT(run("holdrule", "remove", hs, NULL), 0, "");
	/* fail (DSN) and drop (none); the retired list */
	snprintf(ids, sizeof ids, "%llu", (unsigned long long)r2);
	EXPECT(run("fail", "-ids", ids, NULL), 0, "1 messages changed\n");
	EXPECT(run("drop", "-to", "x.example", NULL), 0, "1 messages changed\n");
	CHECK(qt_wait_gone(&t, r3));
	struct store_mailmsg m[4];
	int nm = qt_mailmsgs(&t, m, 4);
	CHECK_INT(nm, 1);
	for (int i = 0; i < nm; i++)
		store_codec_free(&store_rec_mailmsg, &m[i]);
	o = run("retired", "list", "-result", "failure", "-sort", "queued", "-asc", NULL);
	CHECK_INT(o.status, 0);
	char *q2 = NULL;
	struct store_retired_rec rr;
	CHECK_INT(qt_load_retired(&t, r2, &rr), 0);
	q2 = rfc3339(rr.q.queued);
	char *w2 = xasprintf("%llu %s failure from:app@example.com to:a@x.example last 0s ago error \"delivery canceled by admin\"\n",
	                     (unsigned long long)r2, q2);
	CHECK(strncmp(o.o, w2, strlen(w2)) == 0);
	CHECK(strstr(o.o + strlen(w2), " to:b@x.example last ") != NULL);
	store_codec_free(&store_rec_retired, &rr);
	free(q2);
	free(w2);
	out_free(&o);
	EXPECT(run("retired", "list", "-result", "success", NULL), 0, "");
	o = run("retired", "print", ids, NULL);
	j = json_loads(o.o, 0, &jerr);
	CHECK(j && json_is_false(json_object_get(j, "Success")));
	CHECK(j && json_object_get(j, "KeepUntil") && json_object_get(j, "Hold") == NULL);
	json_decref(j);
	out_free(&o);
	/* usage errors */
	o = run("list", "-bogus", "1", NULL);
	CHECK_INT(o.status, 2);
	out_free(&o);
	o = run("hold", "-hold", "maybe", NULL);
	CHECK_INT(o.status, 2);
	out_free(&o);
	/* Cleanup: two hours later the retired records (kept 1h) go, a few seconds after start. */
	CHECK_INT(qt_count(&t, STORE_CF_RETIRED, STORE_K_RREC), 2);
	qt_stop_actors(&t);
	clock_wall_advance(2 * 3600 * 1000);
	qt_start_actors(&t);
	queue_set_peers(0, t.mailbox);
	for (int i = 0; i < 200 && qt_count(&t, STORE_CF_RETIRED, STORE_K_RREC) > 0; i++)
		qt_sleep_ms(50);
	CHECK_INT(qt_count(&t, STORE_CF_RETIRED, STORE_K_RREC), 0);
	CHECK_INT(qt_count(&t, STORE_CF_RETIRED, STORE_K_RKEEP), 0);
	CHECK_INT(qt_count(&t, STORE_CF_RETIRED, STORE_K_RLAST), 0);
	free(l1);
	free(l2);
	free(l3);
	qt_stop(&t);
}

TEST_MAIN()
