/* SMTP client engine: the reply observer (smtp_client_config.reply_cb) behind
 * tern_smtpclient_command_duration_seconds — every reply matched to its command, in
 * order, pipelined or not; nothing for replies that match no command. */
#include "smtp_client_script.h"

#define OBS_MAX 32

struct obs {
	enum smtp_client_cmd cmd[OBS_MAX];
	int code[OBS_MAX];
	char ecode[OBS_MAX][SMTP_REPLY_ECODE_MAX];
	int n;
	bool negative;
};

static void reply_cb(void *ctx, enum smtp_client_cmd cmd, const struct smtp_reply *r, int64_t ns)
{
	struct obs *o = ctx;
	if (ns < 0)
		o->negative = true;
	if (o->n == OBS_MAX)
		return;
	o->cmd[o->n] = cmd;
	o->code[o->n] = r->code;
	memcpy(o->ecode[o->n], r->ecode, sizeof o->ecode[0]);
	o->n++;
}

/* "cmd code ecode" of observation i. */
static const char *seen(const struct obs *o, int i)
{
	static char s[64];
	if (i >= o->n)
		return "(none)";
	snprintf(s, sizeof s, "%s %d %s", smtp_client_cmd_name(o->cmd[i]), o->code[i], o->ecode[i]);
	return s;
}

TEST(pipelined_replies_in_order)
{
	static const char *const lines[] = {
	    "CMAIL FROM:<s@x.example> SIZE=3 BODY=7BIT\r\nRCPT TO:<r0@d.example>\r\nRCPT TO:<r1@d.example>\r\nDATA\r\n",
	    "S250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go\r\n",
	    "Cm\r\n.\r\n", "S250 2.0.0 queued\r\n", "CQUIT\r\n", "S221 bye\r\n", NULL};
	struct obs o = {0};
	struct smtp_client_config cfg = {.ehlo_name = "c.example", .reply_cb = reply_cb, .reply_ctx = &o};
	struct smtp_client_txn t = mk(2, "m\r\n");
	struct smtp_client_txn *tp = &t;
	struct script s;
	run(&s, PIPE, lines, &tp, 1, &cfg);
	CHECK_INT(o.n, 8);
	CHECK_STR(seen(&o, 0), "greeting 220 ");
	CHECK_STR(seen(&o, 1), "ehlo 250 ");
	CHECK_STR(seen(&o, 2), "mail 250 2.1.0");
	CHECK_STR(seen(&o, 3), "rcpt 250 2.1.5");
	CHECK_STR(seen(&o, 4), "rcpt 550 5.1.1");
	CHECK_STR(seen(&o, 5), "data 354 ");
	CHECK_STR(seen(&o, 6), "dot 250 2.0.0");
	CHECK_STR(seen(&o, 7), "quit 221 ");
	CHECK(!o.negative);
	script_free(&s);
}

TEST(spare_reply_is_not_observed)
{
	static const char *const lines[] = {"S220 mx.example ESMTP\r\n250 extra\r\n", NULL};
	struct obs o = {0};
	struct smtp_client_config cfg = {.ehlo_name = "c.example", .reply_cb = reply_cb, .reply_ctx = &o};
	struct script s;
	script_init(&s, &cfg, lines);
	CHECK_INT(script_run(&s), SMTP_CLIENT_EV_CLOSED);
	CHECK_INT(o.n, 1); /* the greeting; "250 extra" came before EHLO was handed out */
	CHECK_STR(seen(&o, 0), "greeting 220 ");
	CHECK(smtp_client_error(s.c) && smtp_client_error(s.c)->err == SMTP_CLIENT_ERR_PROTOCOL);
	script_free(&s);
}

TEST(cmd_names)
{
	CHECK_STR(smtp_client_cmd_name(SMTP_CLIENT_CMD_BDAT), "bdat");
	CHECK_STR(smtp_client_cmd_name(SMTP_CLIENT_CMD_DOT), "dot");
	CHECK_STR(smtp_client_cmd_name(SMTP_CLIENT_NCMDS), "other");
}

TEST_MAIN()
