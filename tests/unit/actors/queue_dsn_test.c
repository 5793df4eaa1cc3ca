/* Results and DSNs (queue.md §4, §5; badinput.md #73, #80-#82): a delayed DSN
 * after attempt 5 with the real remaining schedule, a failure DSN after the
 * last attempt and on a permanent error, one DSN for the recipients of one
 * submission settled in one attempt, NOTIFY rules, the null sender's notice
 * in the postmaster's Inbox, a gone account, DMARC reports, the first-attempt
 * IP-family retry, and message data removed with its last record. Each DSN is
 * read back from the mailbox store and parsed by Debian's Python `email`
 * package (tests/unit/proto/dsn_check.py). */
#include "check.h"
#include "queue_testlib.h"

#include <jansson.h>

#include "proto/dsn.h"

/* The mailbox record as docs/store.md documents it (accounts `b` key). */
struct mbrec {
	uint64_t id;
	char *name;
	uint64_t uidvalidity, uidnext;
	int64_t created;
};
#define F(num, T, member, name) {num, STORE_FT_##T, 512, offsetof(struct mbrec, member), name, NULL}
static const struct store_field mb_fields[] = {
	F(1, U64, id, "ID"), F(2, STR, name, "Name"), F(3, U64, uidvalidity, "UIDValidity"),
	F(4, U64, uidnext, "UIDNext"), F(5, TIME, created, "Created"),
};
#undef F
static const struct store_schema mb_schema = {"mailbox", 1, sizeof(struct mbrec), mb_fields, 5, 0};

/* The name of mailbox id of account (static buffer), or "". */
static const char *mailbox_name(struct qt *t, const char *account, uint64_t id)
{
	static char name[256];
	name[0] = 0;
	struct store_key k;
	store_key_account(&k, slice_str(account));
	struct store_iter *it = store_iter_prefix(t->s, STORE_CF_ACCOUNTS, store_key_slice(&k));
	for (; store_iter_valid(it); store_iter_next(it)) {
		struct slice key = store_iter_key(it);
		if (key.len <= k.len || key.p[k.len] != STORE_KA_MAILBOX)
			continue;
		struct mbrec r = {0};
		char why[64];
		if (store_codec_decode(&mb_schema, store_iter_value(it), &r, why, sizeof why) == 0 && r.id == id)
			snprintf(name, sizeof name, "%s", r.name);
		store_codec_free(&mb_schema, &r);
	}
	store_iter_free(it);
	return name;
}

#define MSGS_MAX 64
static struct store_mailmsg msgs[MSGS_MAX];
static int nmsgs;

static void msgs_free(void)
{
	for (int i = 0; i < nmsgs; i++)
		store_codec_free(&store_rec_mailmsg, &msgs[i]);
	nmsgs = 0;
}

/* Waits until there are n mailbox entries (and no more appear for a moment); loads them. */
static int wait_msgs(struct qt *t, int n)
{
	for (int i = 0; i < QT_WAIT_S * 20; i++) {
		msgs_free();
		nmsgs = qt_mailmsgs(t, msgs, MSGS_MAX);
		if (nmsgs >= n)
			break;
		qt_sleep_ms(50);
	}
	qt_sleep_ms(100);
	msgs_free();
	nmsgs = qt_mailmsgs(t, msgs, MSGS_MAX);
	return nmsgs;
}

static json_t *parse(struct qt *t, const struct store_mailmsg *m)
{
	char *text = qt_mailmsg_text(t, m);
	char path[] = "/tmp/tern-qdsn-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		panic("write %s", path);
	close(fd);
	free(text);
	/* The reference parser lives in tests/unit/proto (ctest sets TERN_SRC; else next to us). */
	const char *src = getenv("TERN_SRC");
	const char *slash = strrchr(__FILE__, '/');
	char *cmd = src ? xasprintf("/usr/bin/python3 %s/tests/unit/proto/dsn_check.py %s", src, path)
	                : xasprintf("/usr/bin/python3 %.*s/../proto/dsn_check.py %s", (int)(slash - __FILE__), __FILE__, path);
	FILE *f = popen(cmd, "r");
	struct buf out;
	buf_init(&out);
	char chunk[4096];
	size_t n;
	while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&out, chunk, n);
	int st = f ? pclose(f) : -1;
	unlink(path);
	free(cmd);
	json_error_t err;
	json_t *j = st == 0 ? json_loadb((const char *)out.p, out.len, 0, &err) : NULL;
	if (!j)
		CHECK_FAIL("dsn_check.py failed (%d): %.*s", st, (int)out.len, (char *)out.p);
	buf_free(&out);
	return j;
}

/* The first value of field name in a [[name, value], ...] list, or "". */
static const char *field(json_t *list, const char *name)
{
	size_t i;
	json_t *kv;
	json_array_foreach(list, i, kv) if (strcasecmp(json_string_value(json_array_get(kv, 0)), name) == 0) return json_string_value(json_array_get(kv, 1));
	return "";
}

static const char *header(json_t *j, const char *name)
{
	return field(json_object_get(j, "headers"), name);
}

/* Number of recipient blocks in part 2. */
static size_t nrcpt_blocks(json_t *j)
{
	size_t n = json_array_size(json_object_get(j, "status"));
	return n ? n - 1 : 0;
}

static const char *rcpt_field(json_t *j, size_t i, const char *name)
{
	return field(json_array_get(json_object_get(j, "status"), i + 1), name);
}

static const char *text(json_t *j)
{
	const char *s = json_string_value(json_object_get(j, "text"));
	return s ? s : "";
}

static void advance_to_attempt(struct qt *t, int next)
{
	qt_advance(t, (int64_t)(next - 1) * 60000 + 10000);
	CHECK(qt_wait_ge(&qt_r->results, next));
}

TEST(delayed_after_attempt_5_then_failed_after_8)
{
	struct qt t;
	store_tmp_dir(t.dir);
	qt_start_conf(&t, QT_TCONF_MIN, QT_DCONF, false, qt_outcome_temp);
	struct qt_rcpt rc = {"bob", "example.org"};
	CHECK_INT(qt_add(&t, &rc, 1), 0);
	uint64_t id = qt_c->add_ids[0];
	CHECK(qt_wait_ge(&qt_r->results, 1));
	for (int a = 2; a <= 4; a++)
		advance_to_attempt(&t, a);
	CHECK_INT(wait_msgs(&t, 0), 0); /* nothing before attempt 5 */
	advance_to_attempt(&t, 5);
	CHECK_INT(wait_msgs(&t, 1), 1);
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, id, &r), 0);
	CHECK_INT(r.attempts, 5);
	uint64_t data_id = r.data_id;
	CHECK_STR(msgs[0].account, "app");
	CHECK_STR(mailbox_name(&t, "app", msgs[0].mailbox_id), "Inbox");
	CHECK(msgs[0].flags & STORE_MF_DSN);
	CHECK(!(msgs[0].flags & STORE_MF_SEEN));
	json_t *j = parse(&t, &msgs[0]);
	CHECK_STR(header(j, "Return-Path"), "<postmaster@mail.example.com>");
	CHECK_STR(header(j, "Delivered-To"), "<app@example.com>");
	CHECK_STR(header(j, "Subject"), "mail delivery delayed");
	CHECK_STR(header(j, "To"), "app@example.com"); /* the parser shows the address */
	CHECK_STR(header(j, "References"), "<orig1@example.com>");
	CHECK_INT(nrcpt_blocks(j), 1);
	CHECK_STR(rcpt_field(j, 0, "Action"), "delayed");
	CHECK_STR(rcpt_field(j, 0, "Final-Recipient"), "rfc822; bob@example.org");
	CHECK_STR(rcpt_field(j, 0, "Status"), "4.2.0 (remote: 451 4.2.0 mailbox busy)");
	/* The real remaining schedule: attempts 6, 7, 8 at NextAttempt, +6m, +6m+7m. */
	char want[64];
	clock_rfc5322(want, r.next_attempt + 13 * 60000);
	CHECK_STR(rcpt_field(j, 0, "Will-Retry-Until"), want);
	CHECK(strstr(text(j), "Next attempts to deliver: in ") && strstr(text(j), ", 11m and 18m.\n"));
	CHECK(strstr(text(j), "\tremote: 451 4.2.0 mailbox busy\n"));
	json_decref(j);
	store_codec_free(&store_rec_queue, &r);
	/* Attempts 6 and 7 make no DSN; attempt 8 is the last: failure DSN, retired as failed. */
	for (int a = 6; a <= 8; a++)
		advance_to_attempt(&t, a);
	CHECK(qt_wait_gone(&t, id));
	CHECK_INT(wait_msgs(&t, 2), 2);
	j = parse(&t, &msgs[1]);
	CHECK_STR(header(j, "Subject"), "mail delivery failed");
	CHECK_STR(rcpt_field(j, 0, "Action"), "failed");
	CHECK(strstr(text(j), "Delivery has failed permanently for your email to:\n\n\tbob@example.org\n"));
	json_decref(j);
	struct store_retired_rec rr;
	CHECK_INT(qt_load_retired(&t, id, &rr), 0);
	CHECK(!rr.success);
	CHECK_INT(rr.q.attempts, 8);
	CHECK_INT(rr.q.results.n, 8);
	CHECK_STR(rr.recipient_address, "bob@example.org");
	CHECK(rr.keep_until - rr.last_activity == 3600 * 1000);
	store_codec_free(&store_rec_retired, &rr);
	/* The original's data went with its last record; the DSNs' data stays. */
	struct store_key k;
	store_key_datameta(&k, data_id);
	CHECK(!qt_has(&t, STORE_CF_MSGDATA, &k));
	store_key_datameta(&k, msgs[1].data_id);
	CHECK(qt_has(&t, STORE_CF_MSGDATA, &k));
	msgs_free();
	qt_stop(&t);
}

/* x.example fails permanently; other domains are delivered. */
static void perm_x(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r)
{
	if (strcmp(domain, "x.example") == 0)
		qt_outcome_perm(id, domain, attempt, r);
	else
		qt_outcome_delivered(id, domain, attempt, r);
}

TEST(one_dsn_per_submission_and_attempt)
{
	struct qt t;
	qt_start(&t, false, perm_x);
	static const struct qt_rcpt rc[] = {{"a", "x.example"}, {"b", "x.example"}, {"c", "y.example"}};
	CHECK_INT(qt_add(&t, rc, 3), 0);
	uint64_t ids[3];
	memcpy(ids, qt_c->add_ids, sizeof ids);
	for (int i = 0; i < 3; i++)
		CHECK(qt_wait_gone(&t, ids[i]));
	CHECK_INT(wait_msgs(&t, 1), 1);
	json_t *j = parse(&t, &msgs[0]);
	CHECK_STR(header(j, "Subject"), "mail delivery failed");
	CHECK_INT(nrcpt_blocks(j), 2);
	CHECK_STR(rcpt_field(j, 0, "Final-Recipient"), "rfc822; a@x.example");
	CHECK_STR(rcpt_field(j, 1, "Final-Recipient"), "rfc822; b@x.example");
	CHECK_STR(rcpt_field(j, 1, "Status"), "5.1.1 (remote: 550 5.1.1 no such user)");
	CHECK_STR(rcpt_field(j, 1, "Diagnostic-Code"), "smtp; 550-5.1.1 no such user 550 5.1.1 try another");
	CHECK_STR(rcpt_field(j, 1, "Remote-MTA"), "dns; mx.example.org ([192.0.2.7])");
	CHECK_INT(json_array_size(json_object_get(j, "defects")), 0);
	json_decref(j);
	struct store_retired_rec rr;
	CHECK_INT(qt_load_retired(&t, ids[2], &rr), 0);
	CHECK(rr.success);
	CHECK_INT(rr.q.results.n, 1);
	CHECK(((struct store_msg_result *)rr.q.results.v)[0].success);
	CHECK_STR(((struct store_msg_result *)rr.q.results.v)[0].error, "");
	store_codec_free(&store_rec_retired, &rr);
	CHECK_INT(qt_load_retired(&t, ids[0], &rr), 0);
	CHECK(!rr.success);
	/* Three retired records, the shared message data gone, one DSN data object. */
	CHECK_INT(qt_count(&t, STORE_CF_RETIRED, STORE_K_RREC), 3);
	struct store_key k;
	store_key_datameta(&k, rr.q.data_id);
	CHECK(!qt_has(&t, STORE_CF_MSGDATA, &k));
	store_codec_free(&store_rec_retired, &rr);
	msgs_free();
	qt_stop(&t);
}

static void delivered_no_dsn_hop(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r)
{
	qt_outcome_delivered(id, domain, attempt, r);
	r->remote_dsn = strcmp(domain, "dsn.example") == 0;
}

/* Adds one record to dom with NOTIFY notify from account acc (sender lp@example.com or <>). */
static uint64_t add_notify(struct qt *t, const char *acc, const char *lp, const char *dom, const char *notify)
{
	struct qt_rcpt rc = {"bob", dom};
	struct queue_add *a = qt_add_new(acc, lp, *lp ? "example.com" : "", &rc, 1, store_next_id(t->s));
	a->recs[0].notify = xstrdup(notify);
	CHECK_INT(qt_add_send(t, a), 0);
	return qt_c->add_ids[0];
}

TEST(notify_rules)
{
	struct qt t;
	qt_start(&t, false, delivered_no_dsn_hop);
	/* SUCCESS: a relayed DSN when the next hop lacks DSN, none when it has it. */
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "nodsn.example", "SUCCESS,FAILURE")));
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "dsn.example", "SUCCESS")));
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "nodsn.example", "")));
	CHECK_INT(wait_msgs(&t, 1), 1);
	json_t *j = parse(&t, &msgs[0]);
	CHECK_STR(header(j, "Subject"), "mail delivery report");
	CHECK_STR(rcpt_field(j, 0, "Action"), "relayed");
	CHECK(strstr(text(j), "was delivered to mx.example.org, which does not send delivery status\n"));
	json_decref(j);
	/* Permanent failures: NEVER and SUCCESS-only get none, FAILURE and empty get one. */
	pthread_mutex_lock(&qt_mu);
	qt_r->outcome = qt_outcome_perm;
	pthread_mutex_unlock(&qt_mu);
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "a.example", "NEVER")));
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "a.example", "SUCCESS")));
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "a.example", "FAILURE")));
	CHECK(qt_wait_gone(&t, add_notify(&t, "app", "app", "a.example", "")));
	CHECK_INT(wait_msgs(&t, 3), 3);
	msgs_free();
	qt_stop(&t);
}

TEST(delay_notify_and_reports)
{
	struct qt t;
	store_tmp_dir(t.dir);
	qt_start_conf(&t, QT_TCONF_MIN, QT_DCONF, false, qt_outcome_temp);
	add_notify(&t, "app", "app", "a.example", "FAILURE");       /* no DELAY: no delayed DSN */
	add_notify(&t, "app", "app", "b.example", "DELAY");         /* delayed DSN */
	struct qt_rcpt rc = {"bob", "c.example"};
	struct queue_add *a = qt_add_new("admin", "", "", &rc, 1, store_next_id(t.s));
	a->recs[0].is_dmarc_report = true;
	a->recs[0].max_attempts = 5;
	CHECK_INT(qt_add_send(&t, a), 0); /* a DMARC report: never delayed, fails after attempt 5 */
	uint64_t report = qt_c->add_ids[0];
	CHECK(qt_wait_ge(&qt_r->results, 3));
	for (int n = 2; n <= 5; n++) {
		qt_advance(&t, (int64_t)(n - 1) * 60000 + 10000);
		CHECK(qt_wait_ge(&qt_r->results, 3 * n));
	}
	CHECK(qt_wait_gone(&t, report));
	CHECK_INT(wait_msgs(&t, 2), 2);
	int delayed = 0, dmarc = 0;
	for (int i = 0; i < nmsgs; i++) {
		json_t *j = parse(&t, &msgs[i]);
		if (strcmp(header(j, "Subject"), "mail delivery delayed") == 0) {
			delayed++;
			CHECK_STR(rcpt_field(j, 0, "Final-Recipient"), "rfc822; bob@b.example");
		} else {
			dmarc++;
			CHECK_STR(header(j, "Subject"), "mail delivery failed");
			CHECK_STR(header(j, "To"), "postmaster@mail.example.com");
			CHECK_STR(msgs[i].account, "admin");
			CHECK_STR(mailbox_name(&t, "admin", msgs[i].mailbox_id), "Postmaster/dmarc");
			CHECK(msgs[i].flags & STORE_MF_SEEN);
		}
		json_decref(j);
	}
	CHECK_INT(delayed, 1);
	CHECK_INT(dmarc, 1);
	msgs_free();
	qt_stop(&t);
}

TEST(null_sender_and_gone_account)
{
	struct qt t;
	qt_start(&t, false, qt_outcome_perm);
	CHECK(qt_wait_gone(&t, add_notify(&t, "admin", "", "a.example", "")));
	CHECK_INT(wait_msgs(&t, 1), 1);
	CHECK_STR(msgs[0].account, "admin");
	CHECK_STR(mailbox_name(&t, "admin", msgs[0].mailbox_id), "Inbox");
	json_t *j = parse(&t, &msgs[0]);
	CHECK_STR(header(j, "To"), "postmaster@mail.example.com");
	CHECK_STR(header(j, "Delivered-To"), "<postmaster@mail.example.com>");
	json_decref(j);
	CHECK(qt_wait_gone(&t, add_notify(&t, "ghost", "ghost", "a.example", "")));
	CHECK_INT(wait_msgs(&t, 2), 2);
	int pm = 0;
	for (int i = 0; i < nmsgs; i++)
		pm += strcmp(mailbox_name(&t, msgs[i].account, msgs[i].mailbox_id), "Postmaster") == 0;
	CHECK_INT(pm, 1);
	/* The gone account's retired record is kept for 7 days. */
	CHECK_INT(qt_count(&t, STORE_CF_RETIRED, STORE_K_RREC), 1);
	msgs_free();
	qt_stop(&t);
}

static void family_perm(uint64_t id, const char *domain, int64_t attempt, struct qt_result *r)
{
	qt_outcome_perm(id, domain, attempt, r);
	r->secode = "7.1";
}

TEST(family_retry_on_first_attempt_is_temporary)
{
	struct qt t;
	store_tmp_dir(t.dir);
	qt_start_conf(&t, QT_TCONF_MIN, QT_DCONF, true, NULL);
	struct qt_rcpt rc = {"bob", "example.org"};
	CHECK_INT(qt_add(&t, &rc, 1), 0);
	uint64_t id = qt_c->add_ids[0];
	CHECK(qt_wait_ge(&qt_r->handed, 1));
	/* Play the router by hand: account, then report a 5.7.1 with family_retry. */
	struct queue_attempt_req ar = {.ids = {.v = &id, .n = 1}};
	QUEUE_MSG_ATTEMPT_REQ_send(t.queue, &qt_r->a, &ar, NULL);
	CHECK(qt_wait_ge(&qt_r->attempt_res, 1));
	CHECK_INT(qt_r->nlast_accounted, 1);
	struct qt_result res;
	family_perm(id, "example.org", 1, &res);
	struct slice line = slice_str(res.reply[0]);
	struct queue_result_evt e = {.id = id, .outcome = 2, .code = 550, .secode = slice_str("7.1"),
	                             .error = slice_str("remote: 550 5.7.1 blocked"), .reply = {.v = &line, .n = 1},
	                             .family_retry = true};
	QUEUE_MSG_RESULT_EVT_send(t.queue, &qt_r->a, &e, NULL);
	struct delivery_done_evt d = {.ids = {.v = &id, .n = 1}};
	DELIVERY_MSG_DONE_EVT_send(t.queue, &qt_r->a, &d, NULL);
	qt_sleep_ms(300);
	struct store_queue_rec r;
	CHECK_INT(qt_load(&t, id, &r), 0); /* still queued: treated as temporary */
	CHECK_INT(r.attempts, 1);
	CHECK_STR(((struct store_msg_result *)r.results.v)[0].error, "remote: 550 5.7.1 blocked");
	store_codec_free(&store_rec_queue, &r);
	CHECK_INT(wait_msgs(&t, 0), 0);
	qt_stop(&t);
}

TEST_MAIN()
