/* Engine results as queue outcomes: which results settle a recipient and which fail
 * the host (queue.md §9, §11.3), the text and reply lines kept, the retry-once
 * condition, a job's outcome when every host failed (temporary, permanent, 554 5.6.7),
 * and the DSN ASCII/UTF-8 transaction choice. Pure functions, no sockets. */
#include "check.h"

#include "actors/delivery_job.h"
#include "actors/delivery_result.h"
#include "actors/delivery_txn.h"
#include "core/xmalloc.h"
#include "proto/smtp_reply.h"

static struct smtp_client_result remote(const char *reply, enum smtp_client_stage stage)
{
	struct smtp_client_result r = {.err = SMTP_CLIENT_ERR_REPLY, .stage = stage};
	r.reply = smtp_reply_parse_str(reply);
	ASSERT(r.reply);
	r.code = r.reply->code;
	memcpy(r.ecode, r.reply->ecode, sizeof r.ecode);
	if (r.code / 100 == 2)
		r.err = SMTP_CLIENT_OK;
	return r;
}

static struct smtp_client_result local(enum smtp_client_err err, int code, const char *ecode,
                                       enum smtp_client_stage stage, bool data_sent)
{
	struct smtp_client_result r = {.err = err, .stage = stage, .code = code, .data_sent = data_sent};
	snprintf(r.ecode, sizeof r.ecode, "%s", ecode);
	r.text = xstrdup("local problem");
	return r;
}

static void drop(struct smtp_client_result *r)
{
	smtp_reply_unref(r->reply);
	free(r->text);
}

/* verdict as "final" / "host temp" / "host perm" (+ " utf8") */
static const char *verdict(struct smtp_client_result r, bool direct)
{
	static char s[32];
	bool temp, utf8;
	enum delivery_verdict v = delivery_result_verdict(&r, direct, &temp, &utf8);
	snprintf(s, sizeof s, "%s%s", v == DELIVERY_V_FINAL ? "final" : temp ? "host temp" : "host perm",
	         v == DELIVERY_V_NEXT_HOST && utf8 ? " utf8" : "");
	drop(&r);
	return s;
}

TEST(verdicts)
{
	CHECK_STR(verdict(remote("250 2.0.0 ok\r\n", SMTP_CLIENT_STAGE_DOT), true), "final");
	CHECK_STR(verdict(remote("550 5.1.1 no\r\n", SMTP_CLIENT_STAGE_RCPT), true), "final");
	CHECK_STR(verdict(remote("450 4.2.0 busy\r\n", SMTP_CLIENT_STAGE_RCPT), true), "final");
	CHECK_STR(verdict(remote("421 4.3.2 bye\r\n", SMTP_CLIENT_STAGE_RCPT), true), "host temp");
	CHECK_STR(verdict(remote("550 5.7.1 no\r\n", SMTP_CLIENT_STAGE_MAIL), true), "final");
	CHECK_STR(verdict(remote("554 5.6.0 no\r\n", SMTP_CLIENT_STAGE_DOT), true), "final");
	CHECK_STR(verdict(remote("451 4.3.0 later\r\n", SMTP_CLIENT_STAGE_MAIL), true), "host temp");
	CHECK_STR(verdict(remote("451 4.3.0 later\r\n", SMTP_CLIENT_STAGE_DOT), true), "host temp");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_IO, 451, "4.4.2", SMTP_CLIENT_STAGE_MAIL, false), true), "host temp");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_IO, 451, "4.4.2", SMTP_CLIENT_STAGE_DOT, true), true), "final");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_TIMEOUT, 451, "4.4.2", SMTP_CLIENT_STAGE_DOT, true), true), "final");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_PROTOCOL, 451, "4.5.0", SMTP_CLIENT_STAGE_RCPT, false), true),
	          "host temp");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_SMTPUTF8, 554, "5.6.7", SMTP_CLIENT_STAGE_MAIL, false), true),
	          "host perm utf8");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_REQUIRETLS, 554, "5.7.30", SMTP_CLIENT_STAGE_MAIL, false), true),
	          "host perm");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_REQUIRETLS, 554, "5.7.30", SMTP_CLIENT_STAGE_MAIL, false), false),
	          "final");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_SIZE, 554, "5.3.4", SMTP_CLIENT_STAGE_MAIL, false), true), "final");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_ARG, 554, "5.5.4", SMTP_CLIENT_STAGE_RCPT, false), true), "final");
	CHECK_STR(verdict(local(SMTP_CLIENT_ERR_DATA, 451, "4.3.0", SMTP_CLIENT_STAGE_DATA, false), true), "final");
}

TEST(fill_keeps_every_line_and_joins_the_text)
{
	struct smtp_client_result r =
	    remote("550-5.1.1 first\r\n550-5.1.1 second\r\n550 5.1.1 third\r\n", SMTP_CLIENT_STAGE_RCPT);
	struct delivery_res res = {0};
	delivery_result_fill(&r, &res);
	CHECK_INT(res.outcome, DELIVERY_PERMANENT);
	CHECK_INT(res.code, 550);
	CHECK_STR(res.secode, "1.1");
	CHECK_STR(res.error, "remote: 550 5.1.1 first second third");
	CHECK_INT(res.nreply, 3);
	CHECK_STR(res.reply[2], "550 5.1.1 third");
	drop(&r);
	/* a reply with control bytes arrives sanitised */
	r = remote("451 4.7.1 bad \x1b[31mred\r\n", SMTP_CLIENT_STAGE_RCPT);
	delivery_result_fill(&r, &res);
	CHECK_INT(res.outcome, DELIVERY_TEMPORARY);
	CHECK_STR(res.error, "remote: 451 4.7.1 bad ?[31mred");
	drop(&r);
	r = local(SMTP_CLIENT_ERR_IO, 451, "4.4.2", SMTP_CLIENT_STAGE_MAIL, false);
	delivery_result_fill(&r, &res);
	CHECK_STR(res.secode, "4.2");
	CHECK_STR(res.error, "local problem");
	CHECK_INT(res.nreply, 0);
	drop(&r);
	delivery_res_free(&res);
}

TEST(retry_once_condition)
{
	struct smtp_client_result r = local(SMTP_CLIENT_ERR_IO, 451, "4.4.2", SMTP_CLIENT_STAGE_MAIL, false);
	CHECK(delivery_result_before_mail(&r));
	drop(&r);
	r = local(SMTP_CLIENT_ERR_IO, 451, "4.4.2", SMTP_CLIENT_STAGE_RSET, false);
	CHECK(delivery_result_before_mail(&r));
	drop(&r);
	r = remote("421 4.3.2 bye\r\n", SMTP_CLIENT_STAGE_MAIL);
	CHECK(delivery_result_before_mail(&r));
	drop(&r);
	r = remote("451 4.3.2 later\r\n", SMTP_CLIENT_STAGE_MAIL);
	CHECK(!delivery_result_before_mail(&r));
	drop(&r);
	r = local(SMTP_CLIENT_ERR_IO, 451, "4.4.2", SMTP_CLIENT_STAGE_RCPT, false);
	CHECK(!delivery_result_before_mail(&r));
	drop(&r);
	r = remote("554 5.7.1 no\r\n", SMTP_CLIENT_STAGE_GREETING);
	CHECK(!delivery_result_session_temp(&r));
	drop(&r);
	r = remote("421 4.3.2 busy\r\n", SMTP_CLIENT_STAGE_GREETING);
	CHECK(delivery_result_session_temp(&r));
	drop(&r);
}

static struct delivery_job *job3(void)
{
	uint64_t ids[3] = {1, 2, 3};
	struct delivery_job *j = delivery_job_new(ids, 3, slice_str(""), slice_str("x.test"), 1);
	for (size_t i = 0; i < 3; i++)
		j->recs[i].loaded = true;
	j->hosts = xcalloc(2, sizeof *j->hosts);
	j->hosts[0] = xstrdup("mx1.x.test");
	j->hosts[1] = xstrdup("mx2.x.test");
	j->nhosts = 2;
	return j;
}

static void host_fail(struct delivery_job *j, int outcome, int code, const char *ecode, bool temp, bool utf8)
{
	struct delivery_res res = {0};
	delivery_res_local(&res, outcome, code, ecode, "failed with %d", code);
	delivery_job_host_failed(j, &res, temp, utf8);
	delivery_res_free(&res);
}

TEST(every_host_failed)
{
	struct delivery_job *j = job3();
	struct delivery_res ok = {0};
	delivery_res_local(&ok, DELIVERY_DELIVERED, 250, "2.0.0", "ok");
	delivery_job_settle(j, 0, &ok); /* settled on the way: kept */
	host_fail(j, DELIVERY_PERMANENT, 554, "5.7.1", false, false);
	host_fail(j, DELIVERY_TEMPORARY, 421, "4.3.2", true, false);
	CHECK_INT(delivery_job_open(j), 2);
	delivery_job_exhausted(j);
	CHECK_INT(delivery_job_open(j), 0);
	CHECK_INT(j->recs[0].res.outcome, DELIVERY_DELIVERED);
	CHECK_INT(j->recs[1].res.outcome, DELIVERY_TEMPORARY);
	CHECK_INT(j->recs[1].res.code, 421); /* the last error */
	delivery_job_free(j);

	j = job3();
	host_fail(j, DELIVERY_PERMANENT, 554, "5.7.1", false, false);
	host_fail(j, DELIVERY_PERMANENT, 550, "5.0.0", false, false);
	delivery_job_exhausted(j);
	CHECK_INT(j->recs[2].res.outcome, DELIVERY_PERMANENT);
	CHECK_INT(j->recs[2].res.code, 550);
	delivery_job_free(j);

	j = job3();
	host_fail(j, DELIVERY_PERMANENT, 554, "5.6.7", false, true);
	host_fail(j, DELIVERY_PERMANENT, 554, "5.6.7", false, true);
	delivery_job_exhausted(j);
	CHECK_INT(j->recs[0].res.outcome, DELIVERY_PERMANENT);
	CHECK_INT(j->recs[0].res.code, 554);
	CHECK_STR(j->recs[0].res.secode, "6.7");
	CHECK_STR(j->recs[0].res.error, "remote servers do not support smtputf8");
	delivery_job_free(j);
	delivery_res_free(&ok);
}

TEST(dsnutf8_variant_choice)
{
	uint64_t id = 5;
	struct delivery_job *j = delivery_job_new(&id, 1, slice_str(""), slice_str("x.test"), 1);
	struct delivery_rec *r = &j->recs[0];
	r->loaded = true;
	r->q.recipient_localpart = xstrdup("a");
	r->q.recipient_domain = xstrdup("x.test");
	buf_puts(&r->q.dsn_utf8, "utf8 dsn");
	buf_puts(&r->q.msg_prefix, "P: 1\r\n");
	r->q.size = 20;
	struct smtp_caps with = {.smtputf8 = true, .eightbitmime = true}, without = {.eightbitmime = true};
	struct delivery_txn x;
	CHECK(delivery_txn_next(&x, j, &with, false, NULL));
	CHECK(x.utf8_variant && x.t.prefix.len == 0 && x.t.data_size == 8 && x.t.smtputf8);
	delivery_txn_clear(&x);
	CHECK(!delivery_txn_next(&x, j, &with, false, NULL)); /* tried on this connection */
	r->tried = false;
	CHECK(delivery_txn_next(&x, j, &without, false, NULL));
	CHECK(!x.utf8_variant && x.t.prefix.len == 6 && x.t.data_size == 14);
	CHECK_STR(x.t.rcpts[0].addr, "a@x.test");
	delivery_txn_clear(&x);
	delivery_job_free(j);
}

TEST_MAIN()
