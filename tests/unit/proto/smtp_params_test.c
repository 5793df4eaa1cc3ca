/* MAIL/RCPT parameters (smtp.md §3, §4, §9; badinput #30-#36). */
#include <stdlib.h>

#include "check.h"
#include "proto/smtp_params.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z */

static struct smtp_params_ctx ctx_sub = {
	.submission = true, .tls = true, .requiretls_announced = true, .max_size = 1000, .now_ms = NOW,
};
static struct smtp_params_ctx ctx_mx = {
	.submission = false, .tls = false, .requiretls_announced = false, .max_size = 1000, .now_ms = NOW,
};

static char last[200];

/* Returns 0, or the reply code with the text in `last`. */
static int mail(const char *in, const struct smtp_params_ctx *c, struct smtp_mail_params *out)
{
	struct smtp_mail_params tmp;
	struct smtp_params_err err;
	if (!out)
		out = &tmp;
	last[0] = 0;
	if (smtp_params_mail(slice_str(in), c, out, &err) == 0) {
		if (out == &tmp)
			smtp_mail_params_free(&tmp);
		return 0;
	}
	snprintf(last, sizeof(last), "%d %s", err.code, err.text);
	return err.code;
}

static int rcpt(const char *in, struct smtp_rcpt_params *out)
{
	struct smtp_rcpt_params tmp;
	struct smtp_params_err err;
	if (!out)
		out = &tmp;
	last[0] = 0;
	if (smtp_params_rcpt(slice_str(in), out, &err) == 0) {
		if (out == &tmp)
			smtp_rcpt_params_free(&tmp);
		return 0;
	}
	snprintf(last, sizeof(last), "%d %s", err.code, err.text);
	return err.code;
}

#define MAIL_ERR(in, c, want) do { mail(in, c, NULL); CHECK_STR(last, want); } while (0)
#define RCPT_ERR(in, want) do { rcpt(in, NULL); CHECK_STR(last, want); } while (0)

TEST(all_mail_params)
{
	struct smtp_mail_params p;
	CHECK_INT(mail(" SIZE=1000 BODY=8bitmime SMTPUTF8 AUTH=<> REQUIRETLS RET=hdrs ENVID=QQ+2B1",
	               &ctx_sub, &p), 0);
	CHECK(p.has_size);
	CHECK_INT(p.size, 1000);
	CHECK_INT(p.body, SMTP_BODY_8BITMIME);
	CHECK(p.smtputf8 && p.requiretls);
	CHECK_INT(p.ret, SMTP_RET_HDRS);
	CHECK(p.has_envid);
	CHECK_MEM(p.envid.p, p.envid.len, "QQ+1");
	smtp_mail_params_free(&p);
	CHECK_INT(mail("", &ctx_mx, &p), 0);
	CHECK(!p.has_size && p.body == SMTP_BODY_NONE && p.ret == SMTP_RET_NONE);
	smtp_mail_params_free(&p);
	CHECK_INT(mail(" BODY=7BIT AUTH=joe+40example.org", &ctx_mx, NULL), 0);
}

TEST(size)
{
	/* badinput #30 */
	MAIL_ERR(" SIZE=99999999999999999999999", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" SIZE=-1", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" SIZE=1e9", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" SIZE=", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" SIZE", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" SIZE=18446744073709551616", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" SIZE=18446744073709551615", &ctx_mx, "552 5.3.4 message too large");
	MAIL_ERR(" SIZE=1001", &ctx_mx, "552 5.3.4 message too large");
	CHECK_INT(mail(" SIZE=00000000000000001000", &ctx_mx, NULL), 0);
}

TEST(tokenising)
{
	/* badinput #35 */
	MAIL_ERR(" AUTH=", &ctx_mx, "501 5.5.4 bad AUTH parameter");
	MAIL_ERR(" =x", &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR(" SIZE==5", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	char spaces[202];
	memset(spaces, ' ', 200);
	spaces[200] = 0;
	MAIL_ERR(spaces, &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR(" X=\"quoted > value\"", &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR("  SIZE=1", &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR(" SIZE=1 ", &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR("SIZE=1", &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR(" -X=1", &ctx_mx, "501 5.5.4 bad parameter syntax");
	MAIL_ERR(" FOO=bar", &ctx_mx, "555 5.5.4 unrecognized parameter \"FOO\"");
	MAIL_ERR(" x-Foo", &ctx_mx, "555 5.5.4 unrecognized parameter \"x-Foo\"");
}

TEST(body_ret_dup)
{
	/* badinput #34 */
	MAIL_ERR(" BODY=BINARYMIME", &ctx_mx, "501 5.5.4 bad BODY parameter");
	MAIL_ERR(" RET=FULL,HDRS", &ctx_mx, "501 5.5.4 bad RET parameter");
	MAIL_ERR(" RET=FULL RET=HDRS", &ctx_mx, "501 5.5.4 duplicate parameter \"RET\"");
	MAIL_ERR(" ENVID=a envid=b", &ctx_mx, "501 5.5.4 duplicate parameter \"ENVID\"");
	MAIL_ERR(" SMTPUTF8=yes", &ctx_mx, "501 5.5.4 bad SMTPUTF8 parameter");
	MAIL_ERR(" SMTPUTF8 SMTPUTF8", &ctx_mx, "501 5.5.4 duplicate parameter \"SMTPUTF8\"");
}

TEST(envid)
{
	/* badinput #32 */
	MAIL_ERR(" ENVID=+ZZ", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=+2", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=abc+", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=a\xc3\xa9", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=a=b", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=a+0Db", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=a+0Ab", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=a+00b", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	MAIL_ERR(" ENVID=", &ctx_mx, "501 5.5.4 bad ENVID parameter");
	char in[200];
	int k = snprintf(in, sizeof(in), " ENVID=");
	for (int i = 0; i < 100; i++)
		in[k++] = 'e';
	in[k] = 0;
	CHECK_INT(mail(in, &ctx_mx, NULL), 0);
	in[k++] = 'e';
	in[k] = 0;
	MAIL_ERR(in, &ctx_mx, "501 5.5.4 bad ENVID parameter");
}

TEST(auth_param)
{
	/* badinput #36: validated, then ignored. */
	MAIL_ERR(" AUTH=a+0A", &ctx_mx, "");
	MAIL_ERR(" AUTH=a+0a", &ctx_mx, "501 5.5.4 bad AUTH parameter");
	MAIL_ERR(" AUTH=+", &ctx_mx, "501 5.5.4 bad AUTH parameter");
	MAIL_ERR(" AUTH=a=b", &ctx_mx, "501 5.5.4 bad AUTH parameter");
}

TEST(requiretls)
{
	MAIL_ERR(" REQUIRETLS", &ctx_mx, "523 5.7.10 requiretls only allowed on tls-encrypted connections");
	struct smtp_params_ctx c = ctx_mx;
	c.tls = true;
	MAIL_ERR(" REQUIRETLS", &c, "555 5.5.4 requiretls not allowed for this connection");
	c.requiretls_announced = true;
	CHECK_INT(mail(" REQUIRETLS", &c, NULL), 0);
	MAIL_ERR(" REQUIRETLS=yes", &c, "501 5.5.4 bad REQUIRETLS parameter");
}

TEST(hold)
{
	struct smtp_mail_params p;
	MAIL_ERR(" HOLDFOR=10", &ctx_mx, "555 5.5.4 unrecognized parameter \"HOLDFOR\"");
	MAIL_ERR(" HOLDUNTIL=2026-01-02T00:00:00Z", &ctx_mx,
	         "555 5.5.4 unrecognized parameter \"HOLDUNTIL\"");
	CHECK_INT(mail(" HOLDFOR=5184000", &ctx_sub, &p), 0);
	CHECK(p.has_holdfor);
	CHECK_INT(p.holdfor_s, 5184000);
	smtp_mail_params_free(&p);
	MAIL_ERR(" HOLDFOR=5184001", &ctx_sub, "554 5.5.4 future release interval too far in the future");
	MAIL_ERR(" HOLDFOR=0000000001", &ctx_sub, "554 5.5.4 future release interval too far in the future");
	MAIL_ERR(" HOLDFOR=x", &ctx_sub, "501 5.5.4 bad HOLDFOR parameter");
	MAIL_ERR(" HOLDFOR=", &ctx_sub, "501 5.5.4 bad HOLDFOR parameter");
	CHECK_INT(mail(" HOLDUNTIL=2026-01-02T00:00:00Z", &ctx_sub, &p), 0);
	CHECK(p.has_holduntil);
	CHECK_INT(p.holduntil_ms, NOW + 86400000LL);
	smtp_mail_params_free(&p);
	MAIL_ERR(" HOLDUNTIL=2025-12-31T23:59:59Z", &ctx_sub,
	         "554 5.5.4 requested future release time is in the past");
	MAIL_ERR(" HOLDUNTIL=2026-03-03T00:00:00Z", &ctx_sub,
	         "554 5.5.4 requested future release time is too far in the future");
	CHECK_INT(mail(" HOLDUNTIL=2026-03-02T00:00:00Z", &ctx_sub, NULL), 0); /* exactly 60 days */
	MAIL_ERR(" HOLDUNTIL=tomorrow", &ctx_sub, "501 5.5.4 bad HOLDUNTIL parameter");
	MAIL_ERR(" HOLDFOR=10 HOLDUNTIL=2026-01-02T00:00:00Z", &ctx_sub,
	         "501 5.5.4 cannot use both HOLDUNTIL and HOLDFOR");
	MAIL_ERR(" HOLDUNTIL=2026-01-02T00:00:00Z HOLDFOR=10", &ctx_sub,
	         "501 5.5.4 cannot use both HOLDUNTIL and HOLDFOR");
	MAIL_ERR(" HOLDFOR=10 HOLDFOR=10", &ctx_sub, "501 5.5.4 duplicate parameter \"HOLDFOR\"");
}

TEST(notify)
{
	struct smtp_rcpt_params p;
	CHECK_INT(rcpt(" NOTIFY=success,FAILURE,Delay", &p), 0);
	CHECK_INT(p.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
	smtp_rcpt_params_free(&p);
	CHECK_INT(rcpt(" NOTIFY=NEVER", &p), 0);
	CHECK_INT(p.notify, SMTP_NOTIFY_NEVER);
	smtp_rcpt_params_free(&p);
	CHECK_INT(rcpt("", &p), 0);
	CHECK_INT(p.notify, 0);
	smtp_rcpt_params_free(&p);
	RCPT_ERR(" NOTIFY=NEVER,SUCCESS", "501 5.5.4 bad NOTIFY parameter");
	RCPT_ERR(" NOTIFY=FOO", "501 5.5.4 bad NOTIFY parameter");
	RCPT_ERR(" NOTIFY=SUCCESS,SUCCESS", "501 5.5.4 bad NOTIFY parameter");
	RCPT_ERR(" NOTIFY=", "501 5.5.4 bad NOTIFY parameter");
	RCPT_ERR(" NOTIFY=SUCCESS,", "501 5.5.4 bad NOTIFY parameter");
	RCPT_ERR(" NOTIFY=DELAY NOTIFY=DELAY", "501 5.5.4 duplicate parameter \"NOTIFY\"");
	RCPT_ERR(" SIZE=1", "555 5.5.4 unrecognized parameter \"SIZE\"");
}

TEST(orcpt)
{
	/* badinput #33 */
	struct smtp_rcpt_params p;
	CHECK_INT(rcpt(" ORCPT=rfc822;e+3Dmc2@example.com", &p), 0);
	CHECK(p.has_orcpt);
	CHECK_STR(p.orcpt_type, "rfc822");
	CHECK_MEM(p.orcpt.p, p.orcpt.len, "e=mc2@example.com");
	smtp_rcpt_params_free(&p);
	RCPT_ERR(" ORCPT=e+3Dmc2@example.com", "501 5.5.4 bad ORCPT parameter");
	RCPT_ERR(" ORCPT=rfc822;a+0D+0Ab@x", "501 5.5.4 bad ORCPT parameter");
	RCPT_ERR(" ORCPT=rfc822;a+00b@x", "501 5.5.4 bad ORCPT parameter");
	RCPT_ERR(" ORCPT=rfc822;", "501 5.5.4 bad ORCPT parameter");
	RCPT_ERR(" ORCPT=;a@b", "501 5.5.4 bad ORCPT parameter");
	RCPT_ERR(" ORCPT=rfc822;a+ZZ", "501 5.5.4 bad ORCPT parameter");
	char in[700];
	int k = snprintf(in, sizeof(in), " ORCPT=rfc822;");
	while (k < 7 + 500)
		in[k++] = 'a';
	in[k] = 0;
	CHECK_INT(rcpt(in, NULL), 0);
	in[k++] = 'a';
	in[k] = 0;
	RCPT_ERR(in, "501 5.5.4 bad ORCPT parameter");
}

TEST(first_error_wins)
{
	MAIL_ERR(" FOO=1 SIZE=x", &ctx_mx, "555 5.5.4 unrecognized parameter \"FOO\"");
	MAIL_ERR(" SIZE=x FOO=1", &ctx_mx, "501 5.5.4 bad SIZE parameter");
	MAIL_ERR(" FOO=1 =x", &ctx_mx, "501 5.5.4 bad parameter syntax");
}

TEST_MAIN()
