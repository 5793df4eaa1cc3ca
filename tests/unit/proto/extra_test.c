/* Tests for X-Tern-Extra-* collection and the TLS-Required rule (smtp.md §13
 * steps 6 and 8). */
#include "check.h"

#include "proto/extra.h"

TEST(canon)
{
	const char *in[] = {"user-id", "USER-ID", "a", "x--y", "-lead", "9abc-DEF", "\xc3\xa9t\xc3\xa9"};
	const char *out[] = {"User-Id", "User-Id", "A", "X--Y", "-Lead", "9abc-Def", "\xc3\xa9t\xc3\xa9"};
	for (int i = 0; i < 7; i++) {
		struct buf b;
		buf_init(&b);
		extra_canon(slice_str(in[i]), &b);
		CHECK_STR(buf_cstr(&b), out[i]);
		buf_free(&b);
	}
}

TEST(collect)
{
	struct slice h = slice_str("From: a@b\r\n"
	                           "x-tern-extra-user-id: 456\r\n"
	                           "X-Tern-Extra-Campaign:   spring\r\n  sale  \r\n"
	                           "X-Tern-Extra-: empty key ignored\r\n"
	                           "X-Tern-Extras: not ours\r\n"
	                           "X-TERN-EXTRA-ORDER : 7\r\n");
	struct extra e = {0};
	struct buf err;
	buf_init(&err);
	CHECK_INT(extra_parse(h, &e, &err), 0);
	CHECK_INT(e.n, 3);
	CHECK_STR(e.v[0].key, "User-Id");
	CHECK_STR(e.v[0].value, "456");
	CHECK_STR(e.v[1].key, "Campaign");
	CHECK_STR(e.v[1].value, "spring  sale");
	CHECK_STR(extra_get(&e, "Order"), "7");
	CHECK(extra_get(&e, "order") == NULL);
	CHECK_INT(err.len, 0);
	extra_free(&e);
	buf_free(&err);
}

TEST(duplicate)
{
	struct slice h = slice_str("X-Tern-Extra-B: 1\r\n"
	                           "X-Tern-Extra-User-Id: 1\r\n"
	                           "x-tern-extra-b: 2\r\n"
	                           "x-tern-extra-user-id: 2\r\n"
	                           "X-Tern-Extra-User-ID: 3\r\n");
	struct extra e = {0};
	struct buf err;
	buf_init(&err);
	CHECK_INT(extra_parse(h, &e, &err), EXTRA_EDUP);
	CHECK_STR(buf_cstr(&err), "duplicate x-tern-extra- key \"B\"");
	CHECK_INT(e.n, 0);
	extra_free(&e);
	buf_free(&err);
}

TEST(many_extra_fields)
{
	/* 60000 distinct keys and then one repeat: found, in n log n. */
	struct buf h, err;
	buf_init(&h);
	buf_init(&err);
	for (int i = 0; i < 60000; i++)
		buf_printf(&h, "X-Tern-Extra-K%d: v\r\n", i);
	struct extra e = {0};
	CHECK_INT(extra_parse(buf_slice(&h), &e, &err), 0);
	CHECK_INT(e.n, 60000);
	extra_free(&e);
	buf_puts(&h, "x-tern-extra-k59999: again\r\n");
	CHECK_INT(extra_parse(buf_slice(&h), &e, &err), EXTRA_EDUP);
	CHECK_STR(buf_cstr(&err), "duplicate x-tern-extra- key \"K59999\"");
	buf_free(&h);
	buf_free(&err);
}

TEST(tls_required)
{
	int rt;
	CHECK_INT(extra_require_tls(slice_str("Subject: x\r\n"), false, &rt), 0);
	CHECK_INT(rt, -1);
	CHECK_INT(extra_require_tls(slice_str("Subject: x\r\n"), true, &rt), 0);
	CHECK_INT(rt, 1);
	CHECK_INT(extra_require_tls(slice_str("TLS-Required: No\r\n"), false, &rt), 0);
	CHECK_INT(rt, 0);
	CHECK_INT(extra_require_tls(slice_str("tls-required:  NO \r\ntls-required: no\r\n"), false, &rt), 0);
	CHECK_INT(rt, 0);
	/* REQUIRETLS wins over the header. */
	CHECK_INT(extra_require_tls(slice_str("TLS-Required: No\r\n"), true, &rt), 0);
	CHECK_INT(rt, 1);
	CHECK_INT(extra_require_tls(slice_str("TLS-Required: No\r\nTLS-Required: yes\r\n"), false, &rt),
	          EXTRA_TLSREQ_EINVAL);
	CHECK_INT(rt, -1);
	CHECK_INT(extra_require_tls(slice_str("TLS-Required:\r\n"), false, &rt), EXTRA_TLSREQ_EINVAL);
}

TEST_MAIN()
