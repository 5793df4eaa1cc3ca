/* `tern sendmail` message preparation: CRLF, header end, From: rewrite, -t, TLS-Required. */
#include "check.h"

#include "actors/sendmail_msg.h"

static char *prep(const char *in, const struct sendmail_msg_opts *o, struct rfc5322_addr_list *to, int *rc)
{
	struct buf out, err;
	buf_init(&out);
	buf_init(&err);
	bool has8;
	*rc = sendmail_msg_prepare(slice_str(in), o, &out, to, &has8, &err);
	buf_free(&err);
	return buf_cstr(&out);
}

TEST(from_replaced_and_crlf)
{
	struct sendmail_msg_opts o = {.from = "app@example.com"};
	int rc;
	char *m = prep("From: root (Cron Daemon)\nTo: root\nSubject: x\n\nline1\nline2\r\nline3\rend", &o, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(m, "From: <app@example.com>\r\nTo: root\r\nSubject: x\r\n\r\nline1\r\nline2\r\nline3\r\nend");
	free(m);
}

TEST(display_names)
{
	struct sendmail_msg_opts o = {.from = "app@example.com", .from_name = "Cron \"Daemon\""};
	int rc;
	char *m = prep("Subject: x\n\nbody\n", &o, NULL, &rc);
	CHECK_STR(m, "From: \"Cron \\\"Daemon\\\"\" <app@example.com>\r\nSubject: x\r\n\r\nbody\r\n");
	free(m);
	o.from_name = "Jos\xc3\xa9";
	m = prep("Subject: x\n\nbody\n", &o, NULL, &rc);
	CHECK_STR(m, "From: =?utf-8?q?Jos=C3=A9?= <app@example.com>\r\nSubject: x\r\n\r\nbody\r\n");
	free(m);
}

TEST(headerless_and_unterminated_header)
{
	struct sendmail_msg_opts o = {.from = "a@b.example"};
	int rc;
	char *m = prep("just a line of text\nand another\n", &o, NULL, &rc);
	CHECK_STR(m, "From: <a@b.example>\r\n\r\njust a line of text\r\nand another\r\n");
	free(m);
	/* a header without the empty line: the first non-field line starts the body */
	m = prep("Subject: hi\nhello there\n", &o, NULL, &rc);
	CHECK_STR(m, "From: <a@b.example>\r\nSubject: hi\r\n\r\nhello there\r\n");
	free(m);
	/* only fields: an empty body */
	m = prep("Subject: hi\n", &o, NULL, &rc);
	CHECK_STR(m, "From: <a@b.example>\r\nSubject: hi\r\n\r\n");
	free(m);
	/* an mbox separator line is dropped; folded fields stay whole */
	m = prep("From someone Mon Jan  1 00:00:00 2024\nSubject: a\n b\n\nx", &o, NULL, &rc);
	CHECK_STR(m, "From: <a@b.example>\r\nSubject: a\r\n b\r\n\r\nx");
	free(m);
}

TEST(tls_required_no)
{
	struct sendmail_msg_opts o = {.from = "a@b.example", .tls_required_no = true};
	int rc;
	char *m = prep("TLS-Required: yes\nSubject: s\n\nb", &o, NULL, &rc);
	CHECK_STR(m, "From: <a@b.example>\r\nSubject: s\r\nTLS-Required: No\r\n\r\nb");
	free(m);
}

TEST(to_header_collected)
{
	struct sendmail_msg_opts o = {.from = "a@b.example", .collect_to = true};
	struct rfc5322_addr_list to = {0};
	int rc;
	char *m = prep("To: Bob <bob@example.org>, carol@example.net\nCc: x@example.com\nTo: root\n\nb", &o, &to, &rc);
	free(m);
	CHECK_INT(rc, 0);
	CHECK_INT(to.n, 3);
	if (to.n == 3) {
		CHECK_STR(to.v[0].address, "bob@example.org");
		CHECK_STR(to.v[1].address, "carol@example.net");
		CHECK_STR(to.v[2].address, "root");
	}
	rfc5322_addr_list_free(&to);
	m = prep("To: <<<\n\nb", &o, &to, &rc);
	CHECK_INT(rc, -1);
	free(m);
	rfc5322_addr_list_free(&to);
}

TEST(eight_bit)
{
	struct sendmail_msg_opts o = {.from = "a@b.example"};
	struct buf out, err;
	buf_init(&out);
	buf_init(&err);
	bool has8 = true;
	CHECK_INT(sendmail_msg_prepare(SLICE_LIT("Subject: a\n\nascii\n"), &o, &out, NULL, &has8, &err), 0);
	CHECK(!has8);
	buf_reset(&out);
	CHECK_INT(sendmail_msg_prepare(SLICE_LIT("Subject: a\n\ncaf\xc3\xa9\n"), &o, &out, NULL, &has8, &err), 0);
	CHECK(has8);
	buf_free(&out);
	buf_free(&err);
}

TEST_MAIN()
