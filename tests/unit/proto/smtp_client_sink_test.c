/* SMTP client engine against Postfix's smtp-sink on loopback: a normal delivery
 * (checked in its dump file), and the faults smtp-sink can inject: 421 after a
 * command, soft and hard rejects, abort after DATA, disconnect without a reply,
 * a slow DATA reply (badinput.md #54, #56, #58, #59). */
#include "smtp_client_live.h"

#include <dirent.h>

static char dir[64];

static bool sink(struct live_server *srv, const char *const *opts)
{
	snprintf(dir, sizeof dir, "/tmp/tern-sink-XXXXXX");
	ASSERT(mkdtemp(dir));
	chmod(dir, 0777); /* smtp-sink writes its dumps as nobody */
	bool ok = live_sink(srv, opts, dir);
	CHECK(ok);
	return ok;
}

static void sink_done(struct live_server *srv)
{
	live_stop(srv);
	live_rmdir(dir);
}

/* The contents of the only dump file, or NULL. */
static char *dump(int *count)
{
	DIR *d = opendir(dir);
	char *got = NULL;
	*count = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		free(got);
		got = live_slurp(path);
		(*count)++;
	}
	if (d)
		closedir(d);
	return got;
}

static struct buf msg;

static struct smtp_client_txn txn3(struct smtp_client_rcpt *r)
{
	static const char *const addrs[] = {"a@d.example", "b@d.example", "c@d.example"};
	buf_reset(&msg);
	buf_puts(&msg, "Subject: sink\r\n\r\n.dot line\r\nbody\r\n");
	for (int i = 0; i < 3; i++)
		r[i] = (struct smtp_client_rcpt){.addr = addrs[i], .notify = "SUCCESS,FAILURE",
		                                 .orcpt = "rfc822;A+b@d.example"};
	return (struct smtp_client_txn){.mail_from = "s@x.example", .rcpts = r, .nrcpts = 3,
	                                .data_size = msg.len, .read_cb = live_read_cb,
	                                .read_ctx = &msg, .ret = "HDRS", .envid = "env 1"};
}

static const struct smtp_client_config cfg = {.ehlo_name = "client.test"};

TEST(sink_delivery_and_dump)
{
	struct live_server srv = {0};
	if (!sink(&srv, NULL))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(smtp_client_error(c) == NULL);
	CHECK(smtp_client_caps(c)->pipelining && smtp_client_caps(c)->dsn);
	for (int i = 0; i < 3; i++)
		CHECK_INT(r[i].result.err, SMTP_CLIENT_OK);
	int n;
	char *d = dump(&n);
	CHECK_INT(n, 1);
	CHECK(d && strstr(d, "X-Mail-Args: <s@x.example> BODY=7BIT RET=HDRS ENVID=env+201\n"));
	CHECK(d && strstr(d, "X-Rcpt-Args: <b@d.example> NOTIFY=SUCCESS,FAILURE "
	                     "ORCPT=rfc822;A+2Bb@d.example\n"));
	CHECK(d && strstr(d, "Subject: sink\n\n.dot line\nbody\n"));
	free(d);
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_421_after_rcpt)
{
	static const char *const opts[] = {"-Q", "RCPT", NULL};
	struct live_server srv = {0};
	if (!sink(&srv, opts))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r[i].result.code, 421);
		CHECK(!r[i].result.data_sent);
	}
	CHECK(smtp_client_error(c) && smtp_client_error(c)->code == 421);
	CHECK(!smtp_client_reusable(c));
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_soft_reject_rcpt_lockstep)
{
	static const char *const opts[] = {"-r", "RCPT", NULL};
	struct live_server srv = {0};
	if (!sink(&srv, opts))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(!smtp_client_caps(c)->pipelining); /* -r implies -p */
	CHECK(smtp_client_error(c) == NULL);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r[i].result.code / 100, 4);
		CHECK_INT(r[i].result.stage, SMTP_CLIENT_STAGE_RCPT);
	}
	int n;
	char *d = dump(&n);
	CHECK(!d || !strstr(d, "Subject: sink")); /* no message body reached it */
	free(d);
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_hard_reject_end_of_data)
{
	static const char *const opts[] = {"-f", ".", NULL};
	struct live_server srv = {0};
	if (!sink(&srv, opts))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r[i].result.err, SMTP_CLIENT_ERR_REPLY);
		CHECK_INT(r[i].result.code / 100, 5);
		CHECK_INT(r[i].result.stage, SMTP_CLIENT_STAGE_DOT);
		CHECK(r[i].result.data_sent);
	}
	CHECK(smtp_client_error(c) == NULL);
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_mail_and_ehlo_and_greeting_rejects)
{
	static const char *const mail[] = {"-f", "MAIL", NULL};
	static const char *const ehlo[] = {"-f", "EHLO", NULL};
	static const char *const conn[] = {"-Q", "CONNECT", NULL};
	struct live_server srv = {0};
	struct smtp_client_rcpt r[3];
	if (sink(&srv, mail)) {
		struct smtp_client_txn t = txn3(r);
		struct live_run run = {.txns = {&t}, .ntxn = 1};
		struct smtp_client *c = live_session(srv.port, &cfg, &run);
		for (int i = 0; i < 3; i++)
			CHECK(r[i].result.stage == SMTP_CLIENT_STAGE_MAIL && r[i].result.code / 100 == 5);
		smtp_client_txn_clear(&t);
		smtp_client_free(c);
		sink_done(&srv);
	}
	if (sink(&srv, ehlo)) {
		struct live_run run = {0};
		struct smtp_client *c = live_session(srv.port, &cfg, &run);
		const struct smtp_client_result *e = smtp_client_error(c);
		CHECK(e && e->stage == SMTP_CLIENT_STAGE_EHLO && e->code / 100 == 5);
		smtp_client_free(c);
		sink_done(&srv);
	}
	if (sink(&srv, conn)) {
		struct live_run run = {0};
		struct smtp_client *c = live_session(srv.port, &cfg, &run);
		const struct smtp_client_result *e = smtp_client_error(c);
		CHECK(e && e->stage == SMTP_CLIENT_STAGE_GREETING && e->code == 421);
		smtp_client_free(c);
		sink_done(&srv);
	}
}

TEST(sink_abort_after_data_is_never_success)
{
	/* 354, then at once a 550 and no more reading. If the 550 is read before the body
	 * went out it is premature (#54: temporary protocol error); if the body and the
	 * dot were already written it is indistinguishable from a refusal of the data.
	 * Either way the message is never taken as delivered. */
	static const char *const opts[] = {"-A", "0", NULL};
	struct live_server srv = {0};
	if (!sink(&srv, opts))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	for (int i = 0; i < 3; i++) {
		const struct smtp_client_result *res = &r[i].result;
		CHECK(res->err == SMTP_CLIENT_ERR_PROTOCOL ||
		      (res->err == SMTP_CLIENT_ERR_REPLY && res->code == 550 && res->data_sent));
	}
	CHECK(!smtp_client_reusable(c));
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_disconnect_after_dot)
{
	static const char *const opts[] = {"-q", ".", NULL};
	struct live_server srv = {0};
	if (!sink(&srv, opts))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(run.eof);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r[i].result.err, SMTP_CLIENT_ERR_IO);
		CHECK(r[i].result.data_sent);
	}
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_slow_data_reply_times_out)
{
	/* the driver caps each wait at 300 ms; smtp-sink answers DATA after 2 s (-p: no
	 * pipelining, so MAIL and RCPT are answered first) */
	static const char *const opts[] = {"-p", "-w", "2", NULL};
	struct live_server srv = {0};
	if (!sink(&srv, opts))
		return;
	struct smtp_client_rcpt r[3];
	struct smtp_client_txn t = txn3(r);
	struct live_run run = {.txns = {&t}, .ntxn = 1, .cap_ms = 300};
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK_INT(run.timeouts, 1);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r[i].result.err, SMTP_CLIENT_ERR_TIMEOUT);
		CHECK(!r[i].result.data_sent);
	}
	CHECK_STR(rtext_live(&r[0].result), "timeout waiting for DATA");
	smtp_client_txn_clear(&t);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST(sink_many_messages_one_connection)
{
	struct live_server srv = {0};
	if (!sink(&srv, NULL))
		return;
	struct smtp_client_rcpt r[8][3];
	struct smtp_client_txn t[8];
	struct live_run run = {.ntxn = 8};
	for (int k = 0; k < 8; k++) {
		t[k] = txn3(r[k]);
		run.txns[k] = &t[k];
	}
	struct smtp_client *c = live_session(srv.port, &cfg, &run);
	CHECK(smtp_client_error(c) == NULL);
	CHECK_INT(run.done, 8);
	for (int k = 0; k < 8; k++)
		for (int i = 0; i < 3; i++)
			CHECK_INT(r[k][i].result.err, SMTP_CLIENT_OK);
	int n;
	free(dump(&n));
	CHECK_INT(n, 8);
	for (int k = 0; k < 8; k++)
		smtp_client_txn_clear(&t[k]);
	smtp_client_free(c);
	sink_done(&srv);
}

TEST_MAIN()
