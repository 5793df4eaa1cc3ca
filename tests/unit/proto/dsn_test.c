/* DSN composition tests. Every variant is parsed by Python's email package
 * (Debian's /usr/bin/python3, policy=email.policy.default) through
 * dsn_check.py, and the fields of queue.md §5 are checked on what that
 * reference parser returns; the templates are also checked as exact text. */
#include "check.h"

#include <jansson.h>
#include <strings.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "proto/dsn.h"
#include "proto/xtext.h"

/* Tue, 24 Nov 2026 22:44:47 +0000 */
#define NOW_MS 1795560287000LL
#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)

static const char orig_msg[] =
    "Received: from mail.example.com by mail.example.com ([192.0.2.10])\r\n"
    "\tvia tcp with ESMTPSA id abc; Tue, 24 Nov 2026 06:52:17 +0000\r\n"
    "From: App <app@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Your receipt\r\n"
    "Message-ID: <orig1@example.com>\r\n"
    "\r\n"
    "Thanks for your order.\r\n";

static const struct slice reply550[] = {SLICE_LIT("550-5.1.1 no such user here"),
                                        SLICE_LIT("550 5.1.1 try another (x)")};

static struct dsn_msg base_msg(const struct dsn_rcpt *r, size_t n, enum dsn_kind kind)
{
	return (struct dsn_msg){
	    .kind = kind, .hostname = "mail.example.com", .now_ms = NOW_MS,
	    .mail_from = "app@example.com", .message_id = "<orig1@example.com>",
	    .arrival_ms = NOW_MS - 15 * HOUR_MS - 52 * MIN_MS - 30000,
	    .original = slice_str(orig_msg), .rcpts = r, .nrcpts = n,
	    .dsn_message_id = "<dsn1@mail.example.com>", .boundary = "BOUNDARY"};
}

static const struct dsn_rcpt bob_failed = {
    .recipient = "bob@example.org", .code = 550, .secode = "1.1",
    .error = "remote: 550 5.1.1 no such user here 550 5.1.1 try another (x)",
    .remote_host = "mx.example.org", .remote_ip = "198.51.100.25", .reply = reply550, .nreply = 2,
    .last_attempt_ms = NOW_MS - 1000};

/* ---- helpers ---- */

static void check_lines(const struct buf *b)
{
	size_t col = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] == '\r' && (i + 1 >= b->len || b->p[i + 1] != '\n'))
			CHECK_FAIL("bare CR at %zu", i);
		if (b->p[i] == '\n' && (i == 0 || b->p[i - 1] != '\r'))
			CHECK_FAIL("bare LF at %zu", i);
		if (b->p[i] == '\n')
			col = 0;
		else if (++col > 998 + 1)
			CHECK_FAIL("line over 998 octets at %zu", i);
	}
}

/* Runs dsn_check.py on the DSN; returns its JSON (caller frees) or NULL. */
static json_t *reference_parse(const struct buf *dsn)
{
	check_lines(dsn);
	char path[] = "/tmp/tern-dsn-test-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, dsn->p, dsn->len) != (ssize_t)dsn->len) {
		CHECK_FAIL("cannot write %s", path);
		return NULL;
	}
	close(fd);
	/* The script lives next to this file (ctest also sets TERN_SRC). */
	const char *src = getenv("TERN_SRC");
	const char *here = __FILE__;
	const char *slash = strrchr(here, '/');
	char *cmd = src ? xasprintf("/usr/bin/python3 %s/tests/unit/proto/dsn_check.py %s", src, path)
	                : xasprintf("/usr/bin/python3 %.*s/dsn_check.py %s",
	                            (int)(slash ? slash - here : 1), slash ? here : ".", path);
	FILE *f = popen(cmd, "r");
	struct buf out;
	buf_init(&out);
	char chunk[4096];
	size_t n;
	while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&out, chunk, n);
	int st = f ? pclose(f) : -1;
	if (getenv("DSN_KEEP")) fprintf(stderr, "kept %s\n", path); else unlink(path);
	free(cmd);
	json_error_t err;
	json_t *j = st == 0 ? json_loadb((const char *)out.p, out.len, 0, &err) : NULL;
	if (!j)
		CHECK_FAIL("reference parser failed (status %d): %.*s", st, (int)out.len, (char *)out.p);
	buf_free(&out);
	return j;
}

/* Value of the first field named name in a [[name, value], ...] array. */
static const char *field(json_t *pairs, const char *name)
{
	size_t i;
	json_t *kv;
	json_array_foreach(pairs, i, kv)
		if (strcasecmp(json_string_value(json_array_get(kv, 0)), name) == 0)
			return json_string_value(json_array_get(kv, 1));
	return NULL;
}

static const char *names(json_t *pairs, struct buf *b)
{
	size_t i;
	json_t *kv;
	buf_reset(b);
	json_array_foreach(pairs, i, kv)
		buf_printf(b, "%s%s", i ? "," : "", json_string_value(json_array_get(kv, 0)));
	return buf_cstr(b);
}

static const char *str(json_t *j, const char *path1, const char *path2)
{
	json_t *v = json_object_get(j, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *part(json_t *j, size_t i)
{
	return json_array_get(json_object_get(j, "parts"), i);
}

static json_t *block(json_t *j, size_t i)
{
	return json_array_get(json_object_get(j, "status"), i);
}

/* The checks every DSN must pass, whatever its kind. */
static void check_common(json_t *j, bool utf8, const char *subject, size_t nrcpts)
{
	struct buf b;
	buf_init(&b);
	/* Python's email package reads headers as ASCII and notes RFC 6532 UTF-8
	 * in address fields as defects; those are expected in the UTF-8 variant
	 * (and in the To field of an ASCII DSN to a UTF-8 sender). Nothing else. */
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(j, "defects"), i, d) {
		const char *dn = json_string_value(d);
		const char *colon = strchr(dn, ':');
		bool ok = colon && (strcmp(colon, ":NonASCIILocalPartDefect") == 0 ||
		                    strcmp(colon, ":UndecodableBytesDefect") == 0);
		if (!ok || !utf8)
			CHECK_FAIL("defect %s", dn);
	}
	CHECK_STR(names(json_object_get(j, "headers"), &b),
	          "From,To,Subject,Message-Id,References,Date,MIME-Version,Content-Type");
	json_t *h = json_object_get(j, "headers");
	CHECK_STR(field(h, "Subject"), subject);
	CHECK_STR(field(h, "MIME-Version"), "1.0");
	CHECK_STR(str(j, "content_type", NULL), "multipart/report");
	CHECK_STR(str(j, "report_type", NULL), "delivery-status");
	CHECK_INT(json_array_size(json_object_get(j, "parts")), 3);
	CHECK_STR(str(part(j, 0), "type", NULL), "text/plain");
	CHECK_STR(str(part(j, 1), "type", NULL),
	          utf8 ? "message/global-delivery-status" : "message/delivery-status");
	CHECK_INT(json_array_size(json_object_get(j, "status")), 1 + nrcpts);
	CHECK_STR(field(block(j, 0), "Reporting-MTA"), "dns; mail.example.com");
	CHECK_STR(field(block(j, 0), "Arrival-Date"), "Tue, 24 Nov 2026 06:52:17 +0000");
	buf_free(&b);
}

/* ---- tests ---- */

TEST(failed_single_exact_and_reference)
{
	struct dsn_msg m = base_msg(&bob_failed, 1, DSN_FAILED);
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	CHECK_STR(buf_cstr(&b),
	    "From: <postmaster@mail.example.com>\r\n"
	    "To: <app@example.com>\r\n"
	    "Subject: mail delivery failed\r\n"
	    "Message-Id: <dsn1@mail.example.com>\r\n"
	    "References: <orig1@example.com>\r\n"
	    "Date: Tue, 24 Nov 2026 22:44:47 +0000\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=\"delivery-status\";\r\n"
	    "\tboundary=\"BOUNDARY\"\r\n"
	    "\r\n"
	    "This is a MIME-formatted delivery status notification.\r\n"
	    "\r\n--BOUNDARY\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "Delivery has failed permanently for your email to:\r\n"
	    "\r\n"
	    "\tbob@example.org\r\n"
	    "\r\n"
	    "No further deliveries will be attempted.\r\n"
	    "\r\n"
	    "Error during the last delivery attempt:\r\n"
	    "\r\n"
	    "\tremote: 550 5.1.1 no such user here 550 5.1.1 try another (x)\r\n"
	    "\r\n"
	    "Full SMTP response:\r\n"
	    "\r\n"
	    "\t550-5.1.1 no such user here\r\n"
	    "\t550 5.1.1 try another (x)\r\n"
	    "\r\n--BOUNDARY\r\n"
	    "Content-Type: message/delivery-status\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "Reporting-MTA: dns; mail.example.com\r\n"
	    "Arrival-Date: Tue, 24 Nov 2026 06:52:17 +0000\r\n"
	    "\r\n"
	    "Final-Recipient: rfc822; bob@example.org\r\n"
	    "Action: failed\r\n"
	    "Status: 5.1.1 (remote: 550 5.1.1 no such user here 550 5.1.1 try another \\(x\\))\r\n"
	    "Remote-MTA: dns; mx.example.org ([198.51.100.25])\r\n"
	    "Diagnostic-Code: smtp; 550-5.1.1 no such user here\r\n"
	    " 550 5.1.1 try another (x)\r\n"
	    "Last-Attempt-Date: Tue, 24 Nov 2026 22:44:46 +0000\r\n"
	    "\r\n--BOUNDARY\r\n"
	    "Content-Type: text/rfc822-headers\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "Received: from mail.example.com by mail.example.com ([192.0.2.10])\r\n"
	    "\tvia tcp with ESMTPSA id abc; Tue, 24 Nov 2026 06:52:17 +0000\r\n"
	    "From: App <app@example.com>\r\n"
	    "To: bob@example.org\r\n"
	    "Subject: Your receipt\r\n"
	    "Message-ID: <orig1@example.com>\r\n"
	    "\r\n--BOUNDARY--\r\n");

	json_t *j = reference_parse(&b);
	if (j) {
		check_common(j, false, "mail delivery failed", 1);
		json_t *h = json_object_get(j, "headers");
		CHECK_STR(field(h, "From"), "postmaster@mail.example.com");
		CHECK_STR(field(h, "To"), "app@example.com");
		CHECK_STR(field(h, "Message-Id"), "<dsn1@mail.example.com>");
		CHECK_STR(field(h, "References"), "<orig1@example.com>");
		CHECK_STR(field(h, "Date"), "Tue, 24 Nov 2026 22:44:47 +0000");
		CHECK_STR(str(part(j, 0), "charset", NULL), "us-ascii");
		CHECK_STR(str(part(j, 0), "cte", NULL), "7bit");
		CHECK(strstr(str(j, "text", NULL), "\tbob@example.org\n") != NULL);
		struct buf nb;
		buf_init(&nb);
		CHECK_STR(names(block(j, 0), &nb), "Reporting-MTA,Arrival-Date");
		json_t *r = block(j, 1);
		CHECK_STR(names(r, &nb),
		          "Final-Recipient,Action,Status,Remote-MTA,Diagnostic-Code,Last-Attempt-Date");
		buf_free(&nb);
		CHECK_STR(field(r, "Final-Recipient"), "rfc822; bob@example.org");
		CHECK_STR(field(r, "Action"), "failed");
		CHECK_STR(field(r, "Status"),
		          "5.1.1 (remote: 550 5.1.1 no such user here 550 5.1.1 try another \\(x\\))");
		CHECK_STR(field(r, "Remote-MTA"), "dns; mx.example.org ([198.51.100.25])");
		/* Unfolded: the reply lines joined by one space. */
		CHECK_STR(field(r, "Diagnostic-Code"),
		          "smtp; 550-5.1.1 no such user here 550 5.1.1 try another (x)");
		CHECK_STR(field(r, "Last-Attempt-Date"), "Tue, 24 Nov 2026 22:44:46 +0000");
		CHECK(field(r, "Will-Retry-Until") == NULL);
		CHECK_STR(str(json_object_get(j, "part3"), "type", NULL), "text/rfc822-headers");
		CHECK(strstr(str(json_object_get(j, "part3"), "text", NULL), "Subject: Your receipt") != NULL);
		json_decref(j);
	}
	buf_free(&b);
}

TEST(failed_multi_orcpt_envid)
{
	static const struct slice reply452[] = {SLICE_LIT("452 4.2.2 mailbox full")};
	struct dsn_rcpt r[3] = {bob_failed,
	                        {.recipient = "carol@example.net", .orcpt = "rfc822;e=mc2+x@example.net",
	                         .code = 452, .secode = "2.2", .error = "remote: 452 4.2.2 mailbox full",
	                         .remote_host = "mx.example.net", .remote_ip = "2001:db8::25",
	                         .reply = reply452, .nreply = 1, .last_attempt_ms = NOW_MS},
	                        {.recipient = "dave@nx.example", .secode = "1.2",
	                         .error = "no such domain", .last_attempt_ms = NOW_MS}};
	struct dsn_msg m = base_msg(r, 3, DSN_FAILED);
	m.envid = "order 17=a+b";
	m.future_release = "until;2026-11-24T07:00:00Z";
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	CHECK(strstr(buf_cstr(&b), "\tbob@example.org\r\n\tcarol@example.net\r\n\tdave@nx.example\r\n\r\n"
	                          "No further deliveries will be attempted.\r\n\r\n"
	                          "Error during the last delivery attempt for bob@example.org:\r\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "Error during the last delivery attempt for dave@nx.example:\r\n\r\n"
	                          "\tno such domain\r\n\r\n--BOUNDARY") != NULL);
	json_t *j = reference_parse(&b);
	if (j) {
		check_common(j, false, "mail delivery failed", 3);
		json_t *pm = block(j, 0);
		struct buf nb;
		buf_init(&nb);
		CHECK_STR(names(pm, &nb),
		          "Original-Envelope-Id,Reporting-MTA,Arrival-Date,Future-Release-Request");
		CHECK_STR(field(pm, "Original-Envelope-Id"), "order+2017+3Da+2Bb");
		CHECK_STR(field(pm, "Future-Release-Request"), "until;2026-11-24T07:00:00Z");
		json_t *c = block(j, 2);
		CHECK_STR(names(c, &nb), "Original-Recipient,Final-Recipient,Action,Status,Remote-MTA,"
		                         "Diagnostic-Code,Last-Attempt-Date");
		CHECK_STR(field(c, "Original-Recipient"), "rfc822; e+3Dmc2+2Bx@example.net");
		CHECK_STR(field(c, "Final-Recipient"), "rfc822; carol@example.net");
		CHECK_STR(field(c, "Action"), "failed");
		CHECK_STR(field(c, "Status"), "4.2.2 (remote: 452 4.2.2 mailbox full)");
		CHECK_STR(field(c, "Remote-MTA"), "dns; mx.example.net ([2001:db8::25])");
		CHECK_STR(field(c, "Diagnostic-Code"), "smtp; 452 4.2.2 mailbox full");
		json_t *d = block(j, 3);
		CHECK_STR(names(d, &nb), "Final-Recipient,Action,Status,Last-Attempt-Date");
		CHECK_STR(field(d, "Status"), "5.1.2 (no such domain)");
		buf_free(&nb);
		json_decref(j);
	}
	buf_free(&b);
}

TEST(delayed_with_schedule)
{
	static const struct slice reply[] = {SLICE_LIT("451 4.3.0 try again later")};
	struct dsn_rcpt r = {.recipient = "bob@example.org", .code = 451, .secode = "3.0",
	                     .error = "remote: 451 4.3.0 try again later", .remote_host = "mx.example.org",
	                     .remote_ip = "198.51.100.25", .reply = reply, .nreply = 1,
	                     .last_attempt_ms = NOW_MS};
	/* After attempt 5 with the default schedule: next in about 2h, 6h and 14h. */
	int64_t next[3] = {NOW_MS + 2 * HOUR_MS - 4000, NOW_MS + 6 * HOUR_MS + 3000,
	                   NOW_MS + 14 * HOUR_MS - 1000};
	struct dsn_msg m = base_msg(&r, 1, DSN_DELAYED);
	m.next_attempts_ms = next;
	m.nnext = 3;
	struct buf t;
	buf_init(&t);
	dsn_text(&m, &t);
	CHECK_STR(buf_cstr(&t),
	    "Delivery has been delayed of your email to:\r\n"
	    "\r\n"
	    "\tbob@example.org\r\n"
	    "\r\n"
	    "Next attempts to deliver: in 2h, 6h and 14h.\r\n"
	    "If these attempts all fail, you will receive a notice.\r\n"
	    "\r\n"
	    "Error during the last delivery attempt:\r\n"
	    "\r\n"
	    "\tremote: 451 4.3.0 try again later\r\n"
	    "\r\n"
	    "Full SMTP response:\r\n"
	    "\r\n"
	    "\t451 4.3.0 try again later\r\n");
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	json_t *j = reference_parse(&b);
	if (j) {
		check_common(j, false, "mail delivery delayed", 1);
		json_t *d = block(j, 1);
		CHECK_STR(field(d, "Action"), "delayed");
		CHECK_STR(field(d, "Status"), "4.3.0 (remote: 451 4.3.0 try again later)");
		CHECK_STR(field(d, "Will-Retry-Until"), "Wed, 25 Nov 2026 12:44:46 +0000");
		CHECK(strstr(str(j, "text", NULL), "Next attempts to deliver: in 2h, 6h and 14h.\n") != NULL);
		json_decref(j);
	}
	/* Two and one remaining attempts, and a 1h58m wait. */
	m.nnext = 2;
	next[0] = NOW_MS + 1 * HOUR_MS + 58 * MIN_MS + 10000;
	buf_reset(&t);
	dsn_text(&m, &t);
	CHECK(strstr(buf_cstr(&t), "Next attempts to deliver: in 1h58m and 6h.\r\n") != NULL);
	m.nnext = 1;
	buf_reset(&t);
	dsn_text(&m, &t);
	CHECK(strstr(buf_cstr(&t), "Next attempts to deliver: in 1h58m.\r\n") != NULL);
	buf_free(&t);
	buf_free(&b);
}

TEST(relayed)
{
	struct dsn_rcpt r = {.recipient = "bob@example.org", .code = 250, .secode = "0.0",
	                     .remote_host = "mx.example.org", .remote_ip = "198.51.100.25",
	                     .last_attempt_ms = NOW_MS};
	struct dsn_msg m = base_msg(&r, 1, DSN_RELAYED);
	struct buf t;
	buf_init(&t);
	dsn_text(&m, &t);
	CHECK_STR(buf_cstr(&t),
	    "Your email to:\r\n"
	    "\r\n"
	    "\tbob@example.org\r\n"
	    "\r\n"
	    "was delivered to mx.example.org, which does not send delivery status\r\n"
	    "notifications. No further notifications will be sent.\r\n");
	buf_free(&t);
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	json_t *j = reference_parse(&b);
	if (j) {
		check_common(j, false, "mail delivery report", 1);
		CHECK_STR(field(block(j, 1), "Action"), "relayed");
		CHECK_STR(field(block(j, 1), "Status"), "2.0.0");
		json_decref(j);
	}
	buf_free(&b);
}

TEST(ret_full_small_large_requiretls)
{
	struct dsn_msg m = base_msg(&bob_failed, 1, DSN_FAILED);
	m.ret_full = true;
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	json_t *j = reference_parse(&b);
	if (j) {
		check_common(j, false, "mail delivery failed", 1);
		json_t *p3 = json_object_get(j, "part3");
		CHECK_STR(str(p3, "type", NULL), "message/rfc822");
		CHECK_STR(field(json_object_get(p3, "headers"), "Subject"), "Your receipt");
		CHECK_STR(str(p3, "body", NULL), "Thanks for your order.\r\n");
		json_decref(j);
	}
	/* REQUIRETLS: headers only (RFC 8689). */
	m.requiretls = true;
	buf_reset(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	j = reference_parse(&b);
	if (j) {
		CHECK_STR(str(json_object_get(j, "part3"), "type", NULL), "text/rfc822-headers");
		CHECK(strstr(buf_cstr(&b), "Thanks for your order") == NULL);
		json_decref(j);
	}
	/* Over 100 KiB (only the headers were loaded, the size says the rest). */
	m.requiretls = false;
	m.original_size = DSN_FULL_MAX + 1;
	buf_reset(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	j = reference_parse(&b);
	if (j) {
		CHECK_STR(str(json_object_get(j, "part3"), "type", NULL), "text/rfc822-headers");
		json_decref(j);
	}
	/* A real 50 MB original: headers only, DSN stays small (#83). */
	size_t big = 50u << 20;
	char *msg = xmalloc(big);
	memcpy(msg, orig_msg, sizeof(orig_msg) - 1);
	memset(msg + sizeof(orig_msg) - 1, 'x', big - sizeof(orig_msg) + 1);
	m.original = slice_of(msg, big);
	m.original_size = 0;
	buf_reset(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	CHECK(b.len < 8192);
	CHECK(strstr(buf_cstr(&b), "Content-Type: text/rfc822-headers\r\n") != NULL);
	/* Exactly 100 KiB is still returned in full. */
	m.original = slice_of(msg, DSN_FULL_MAX);
	buf_reset(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	CHECK(strstr(buf_cstr(&b), "Content-Type: message/rfc822\r\n") != NULL);
	CHECK(b.len > DSN_FULL_MAX);
	free(msg);
	buf_free(&b);
}

static const char utf8_msg[] =
    "From: =?utf-8?q?J=C3=B8rn?= <j\xc3\xb8rn@caf\xc3\xa9.example>\r\n"
    "To: b\xc3\xa9@example.org\r\n"
    "Subject: caf\xc3\xa9 ol\xc3\xa9\r\n"
    "Message-ID: <u1@caf\xc3\xa9.example>\r\n"
    "\r\n"
    "D\xc3\xa9j\xc3\xa0 vu.\r\n";

TEST(utf8_pair)
{
	static const struct slice reply[] = {SLICE_LIT("550 5.1.1 b\xc3\xa9 unknown \x1b[31m")};
	struct dsn_rcpt r = {.recipient = "b\xc3\xa9@example.org", .orcpt = "utf-8;b\xc3\xa9@example.org",
	                     .code = 550, .secode = "1.1", .error = "remote: 550 5.1.1 b\xc3\xa9 unknown",
	                     .remote_host = "mx.example.org", .remote_ip = "198.51.100.25",
	                     .reply = reply, .nreply = 1, .last_attempt_ms = NOW_MS};
	struct dsn_msg m = base_msg(&r, 1, DSN_FAILED);
	m.smtputf8 = true;
	m.mail_from = "j\xc3\xb8rn@caf\xc3\xa9.example";
	m.message_id = "<u1@caf\xc3\xa9.example>";
	m.original = slice_str(utf8_msg);
	CHECK(dsn_needs_utf8(&m));
	struct buf a, u;
	buf_init(&a);
	buf_init(&u);
	CHECK_INT(dsn_compose_pair(&m, &a, &u), 0);
	CHECK(a.len > 0 && u.len > 0);

	/* ASCII variant: structured parts ASCII, UTF-8 headers as base64. */
	json_t *j = reference_parse(&a);
	if (j) {
		check_common(j, false, "mail delivery failed", 1);
		CHECK_STR(str(part(j, 0), "charset", NULL), "utf-8");
		CHECK_STR(str(part(j, 0), "cte", NULL), "8bit");
		CHECK(strstr(str(j, "text", NULL), "\tb\xc3\xa9@example.org\n") != NULL);
		json_t *r1 = block(j, 1);
		CHECK_STR(field(r1, "Final-Recipient"), "utf-8; b\\x{E9}@example.org");
		CHECK_STR(field(r1, "Original-Recipient"), "utf-8; b+C3+A9@example.org");
		CHECK_STR(field(r1, "Status"), "5.1.1 (remote: 550 5.1.1 b? unknown)");
		CHECK_STR(field(r1, "Diagnostic-Code"), "smtp; 550 5.1.1 b? unknown ?[31m");
		json_t *p3 = json_object_get(j, "part3");
		CHECK_STR(str(p3, "type", NULL), "text/rfc822-headers");
		CHECK_STR(str(p3, "charset", NULL), "utf-8");
		CHECK_STR(str(p3, "cte", NULL), "base64");
		CHECK(strstr(str(p3, "text", NULL), "Subject: caf\xc3\xa9 ol\xc3\xa9\r\n") != NULL);
		json_decref(j);
	}
	/* The part 2 of the ASCII variant is pure ASCII. */
	const char *p2 = strstr(buf_cstr(&a), "message/delivery-status");
	const char *p3 = p2 ? strstr(p2, "--BOUNDARY") : NULL;
	for (const char *c = p2; c && c < p3; c++)
		CHECK((uint8_t)*c < 0x80);

	/* UTF-8 variant: global types, utf-8 address type, raw UTF-8. */
	j = reference_parse(&u);
	if (j) {
		check_common(j, true, "mail delivery failed", 1);
		CHECK_STR(field(json_object_get(j, "headers"), "To"), "j\xc3\xb8rn@caf\xc3\xa9.example");
		CHECK_STR(str(part(j, 1), "cte", NULL), "8bit");
		json_t *r1 = block(j, 1);
		CHECK_STR(field(r1, "Final-Recipient"), "utf-8; b\xc3\xa9@example.org");
		CHECK_STR(field(r1, "Status"), "5.1.1 (remote: 550 5.1.1 b\xc3\xa9 unknown)");
		CHECK_STR(field(r1, "Diagnostic-Code"), "smtp; 550 5.1.1 b\xc3\xa9 unknown ?[31m");
		json_t *p = json_object_get(j, "part3");
		CHECK_STR(str(p, "type", NULL), "message/global-headers");
		CHECK_STR(field(json_object_get(p, "headers"), "Subject"), "caf\xc3\xa9 ol\xc3\xa9");
		json_decref(j);
	}
	/* RET=FULL in the UTF-8 variant: message/global; in ASCII, still headers. */
	m.ret_full = true;
	buf_reset(&a);
	buf_reset(&u);
	CHECK_INT(dsn_compose_pair(&m, &a, &u), 0);
	j = reference_parse(&u);
	if (j) {
		json_t *p = json_object_get(j, "part3");
		CHECK_STR(str(p, "type", NULL), "message/global");
		CHECK_STR(str(p, "body", NULL), "D\xc3\xa9j\xc3\xa0 vu.\r\n");
		json_decref(j);
	}
	CHECK(strstr(buf_cstr(&a), "text/rfc822-headers; charset=utf-8") != NULL);
	buf_free(&a);
	buf_free(&u);
}

TEST(ascii_only_needs_no_utf8_variant)
{
	struct dsn_msg m = base_msg(&bob_failed, 1, DSN_FAILED);
	CHECK(!dsn_needs_utf8(&m));
	struct buf a, u;
	buf_init(&a);
	buf_init(&u);
	CHECK_INT(dsn_compose_pair(&m, &a, &u), 0);
	CHECK(a.len > 0);
	CHECK_INT(u.len, 0);
	buf_free(&a);
	buf_free(&u);
	/* Random Message-Id and boundary when none is fixed. */
	m.dsn_message_id = m.boundary = NULL;
	buf_init(&a);
	CHECK_INT(dsn_compose(&m, false, &a), 0);
	json_t *j = reference_parse(&a);
	if (j) {
		const char *bd = str(j, "boundary", NULL);
		CHECK(strncmp(bd, "tern-", 5) == 0 && strlen(bd) == 5 + 22);
		const char *id = field(json_object_get(j, "headers"), "Message-Id");
		CHECK(id && strlen(id) == 1 + 22 + 1 + strlen("mail.example.com") + 1);
		json_decref(j);
	}
	buf_free(&a);
	m.nrcpts = 0;
	buf_init(&a);
	CHECK_INT(dsn_compose(&m, false, &a), -1);
	CHECK_INT(a.len, 0);
	buf_free(&a);
}

TEST(null_sender_goes_to_postmaster)
{
	struct dsn_msg m = base_msg(&bob_failed, 1, DSN_FAILED);
	m.mail_from = "";
	m.message_id = NULL;
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	json_t *j = reference_parse(&b);
	if (j) {
		json_t *h = json_object_get(j, "headers");
		CHECK_STR(field(h, "To"), "postmaster@mail.example.com");
		CHECK(field(h, "References") == NULL);
		json_decref(j);
	}
	buf_free(&b);
}

TEST(mx_incoming_failure_and_delivered)
{
	static const struct slice reply[] = {SLICE_LIT("452 4.2.2 account storage full")};
	struct dsn_rcpt r = {.recipient = "bob@hosted.example", .orcpt = "rfc822;bob@hosted.example",
	                     .code = 452, .secode = "2.2", .error = "account storage full",
	                     .reply = reply, .nreply = 1};
	struct dsn_mx mx = {.rcpt_domain = "hosted.example", .client_ehlo = "sender.example.org",
	                    .client_ip = "203.0.113.5"};
	struct dsn_msg m = base_msg(&r, 1, DSN_FAILED);
	m.mx = &mx;
	m.mail_from = "alice@example.org";
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	json_t *j = reference_parse(&b);
	if (j) {
		struct buf nb;
		buf_init(&nb);
		json_t *h = json_object_get(j, "headers");
		CHECK_STR(field(h, "From"), "postmaster@hosted.example");
		CHECK_STR(field(h, "To"), "alice@example.org");
		CHECK_STR(field(h, "Subject"), "mail delivery failure");
		CHECK_STR(names(block(j, 0), &nb), "Reporting-MTA,Received-From-MTA,Arrival-Date");
		CHECK_STR(field(block(j, 0), "Received-From-MTA"), "dns; sender.example.org ([203.0.113.5])");
		json_t *r1 = block(j, 1);
		CHECK_STR(names(r1, &nb), "Original-Recipient,Final-Recipient,Action,Status,Diagnostic-Code");
		CHECK_STR(field(r1, "Status"), "4.2.2 (account storage full)");
		buf_free(&nb);
		json_decref(j);
	}
	m.kind = DSN_DELIVERED;
	r.code = 250;
	r.secode = "0.0";
	r.error = NULL;
	r.nreply = 0;
	buf_reset(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	j = reference_parse(&b);
	if (j) {
		CHECK_STR(field(json_object_get(j, "headers"), "Subject"), "mail delivery report");
		CHECK_STR(field(block(j, 1), "Action"), "delivered");
		CHECK_STR(field(block(j, 1), "Status"), "2.0.0");
		CHECK(strstr(str(j, "text", NULL), "was delivered to the recipient's mailbox at") != NULL);
		json_decref(j);
	}
	buf_free(&b);
}

TEST(hostile_inputs_stay_contained)
{
	/* Reply lines with CR/LF/NUL, 100 lines of 2000 bytes, an error with
	 * parentheses and line breaks, an original with bare LF and CR. */
	struct slice lines[101];
	char *longline = xmalloc(2000);
	memset(longline, 'z', 2000);
	memcpy(longline, "550-5.0.0 ", 10);
	lines[0] = SLICE_LIT("550-5.0.0 evil\r\nBcc: x\0y");
	for (int i = 1; i < 101; i++)
		lines[i] = slice_of(longline, 2000);
	struct dsn_rcpt r = {.recipient = "bob@example.org\r\nX: y", .code = 550,
	                     .secode = "1.1\r\nX: 1", .error = "a (b) \\ c\r\nInjected: yes",
	                     .remote_host = "mx\r\n.example", .remote_ip = "1.2.3.4",
	                     .reply = lines, .nreply = 101, .orcpt = "rfc822;x\r\n@y"};
	static const char bad_orig[] = "Subject: a\nXb: b\rY: c\r\n\r\nbody\nline\r";
	struct dsn_msg m = base_msg(&r, 1, DSN_FAILED);
	m.original = slice_of(bad_orig, sizeof(bad_orig) - 1);
	m.envid = "e\r\nX: 1";
	m.ret_full = true;
	struct buf b;
	buf_init(&b);
	CHECK_INT(dsn_compose(&m, false, &b), 0);
	CHECK(strstr(buf_cstr(&b), "\r\nBcc:") == NULL);
	CHECK(strstr(buf_cstr(&b), "\r\nInjected:") == NULL);
	CHECK(strstr(buf_cstr(&b), "\r\nX: ") == NULL);
	CHECK(strstr(buf_cstr(&b), "Status: 5.0.0 (a \\(b\\) \\\\ c??Injected: yes)\r\n") != NULL);
	json_t *j = reference_parse(&b); /* also checks CR/LF and line lengths */
	if (j) {
		json_t *r1 = block(j, 1);
		CHECK_STR(field(r1, "Final-Recipient"), "rfc822; bob@example.org??X: y");
		CHECK_STR(field(r1, "Original-Recipient"), "rfc822; x+0D+0A@y");
		CHECK_STR(field(block(j, 0), "Original-Envelope-Id"), "e+0D+0AX:+201");
		const char *dc = field(r1, "Diagnostic-Code");
		CHECK(dc && strncmp(dc, "smtp; 550-5.0.0 evil??Bcc: x?y 550-5.0.0 zzz", 44) == 0);
		CHECK_STR(str(json_object_get(j, "part3"), "type", NULL), "message/rfc822");
		json_decref(j);
	}
	free(longline);
	buf_free(&b);
}

TEST(durations)
{
	const int64_t in[] = {0, -5000, 999, 45000, 60000, 450000, 599499, 599500, 7195000, 7080000,
	                      6 * HOUR_MS + 3000, 50 * HOUR_MS + 29 * 1000};
	const char *want[] = {"0s", "0s", "1s", "45s", "1m", "7m30s", "9m59s", "10m", "2h", "1h58m",
	                      "6h", "50h"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct buf b;
		buf_init(&b);
		dsn_duration(in[i], &b);
		CHECK_STR(buf_cstr(&b), want[i]);
		buf_free(&b);
	}
}

/* ENVID and ORCPT are written with xtext.h's encoder (RFC 3461 §4). */
TEST(xtext)
{
	struct buf b;
	buf_init(&b);
	xtext_encode(slice_str("a+b=c d\x7f\xc3\xa9~!"), &b);
	CHECK_STR(buf_cstr(&b), "a+2Bb+3Dc+20d+7F+C3+A9~!");
	buf_free(&b);
}

TEST_MAIN()
