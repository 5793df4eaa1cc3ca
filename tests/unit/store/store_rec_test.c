/* Versioned records: every record type round-trips exactly, and the strict
 * decoder rejects truncation, wrong versions, wrong types, unknown, repeated
 * and missing fields, oversize values, NULs in strings and trailing bytes. */
#include "check.h"

#include <errno.h>
#include <msgpack.h>

#include "core/xmalloc.h"
#include "store/store_rec.h"

static struct store_queue_rec full_queue_rec(void)
{
	struct store_queue_rec r = {0};
	r.id = 123456789;
	r.base_id = 123456700;
	r.queued = 1711533602123;
	r.hold = true;
	r.sender_account = xstrdup("mjl");
	r.sender_localpart = xstrdup("mjl+bounces");
	r.sender_domain = xstrdup("example.org");
	r.from_id = xstrdup("f8Kx2AbC");
	r.recipient_localpart = xstrdup("Ünïcode");
	r.recipient_domain = xstrdup("[192.0.2.1]");
	r.attempts = 3;
	r.max_attempts = 5;
	r.dialed_ips.n = 2;
	r.dialed_ips.v = xcalloc(2, sizeof *r.dialed_ips.v);
	r.dialed_ips.v[0].host = xstrdup("mx1.example.com");
	r.dialed_ips.v[0].ips.n = 2;
	r.dialed_ips.v[0].ips.v = xcalloc(2, sizeof(char *));
	r.dialed_ips.v[0].ips.v[0] = xstrdup("192.0.2.10");
	r.dialed_ips.v[0].ips.v[1] = xstrdup("2001:db8::10");
	r.dialed_ips.v[1].host = xstrdup("mx2.example.com");
	r.dialed_ips.v[1].ips.v = xcalloc(1, sizeof(char *));
	r.next_attempt = 1711534000000;
	r.last_attempt = 1711533700000;
	r.results.n = 2;
	struct store_msg_result *res = xcalloc(2, sizeof *res);
	res[0] = (struct store_msg_result){1711533602200, 1500, false, 451, xstrdup("4.7.0"), xstrdup("remote: 451 4.7.0 try later")};
	res[1] = (struct store_msg_result){1711533700000, 20, false, 0, xstrdup(""), xstrdup("delivering...")};
	r.results.v = res;
	r.has_8bit = true;
	r.smtputf8 = true;
	r.is_tls_report = true;
	r.size = 4711;
	r.message_id = xstrdup("<abc@example.org>");
	r.subject = xstrdup("hello \"world\" = yes");
	buf_append(&r.msg_prefix, "Received: from x\r\n\0binary\xff", 26);
	buf_append(&r.dsn_utf8, "dsn", 3);
	r.transport = xstrdup("submit");
	r.require_tls = 0;
	r.future_release_request = xstrdup("for;3600");
	r.extra.n = 2;
	r.extra.v = xcalloc(2, sizeof *r.extra.v);
	r.extra.v[0] = (struct store_kv){xstrdup("customer"), xstrdup("42")};
	r.extra.v[1] = (struct store_kv){xstrdup("campaign"), xstrdup("")};
	r.env_id = xstrdup("env-1");
	r.ret = xstrdup("HDRS");
	r.notify = xstrdup("SUCCESS,FAILURE");
	r.orcpt = xstrdup("rfc822;x@example.com");
	r.data_id = 987654321;
	return r;
}

/* Encodes, decodes, re-encodes: the second encoding must equal the first byte for byte. */
static void roundtrip(const struct store_schema *s, const void *rec, void *out)
{
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	CHECK_INT(store_codec_encode(s, rec, &a), 0);
	CHECK_INT(a.p[0], s->version);
	char why[200] = "";
	int r = store_codec_decode(s, buf_slice(&a), out, why, sizeof why);
	if (r)
		CHECK_FAIL("%s decode: %s", s->name, why);
	CHECK_INT(store_codec_encode(s, out, &b), 0);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	buf_free(&a);
	buf_free(&b);
}

TEST(queue_record_roundtrips)
{
	struct store_queue_rec r = full_queue_rec(), d;
	roundtrip(&store_rec_queue, &r, &d);
	CHECK_INT(d.id, 123456789);
	CHECK_INT(d.queued, 1711533602123);
	CHECK(d.hold);
	CHECK_STR(d.recipient_localpart, "Ünïcode");
	CHECK_INT(d.dialed_ips.n, 2);
	CHECK_STR(d.dialed_ips.v[0].ips.v[1], "2001:db8::10");
	CHECK_INT(d.dialed_ips.v[1].ips.n, 0);
	CHECK_INT(d.results.n, 2);
	struct store_msg_result *res = d.results.v;
	CHECK_INT(res[0].code, 451);
	CHECK_STR(res[0].error, "remote: 451 4.7.0 try later");
	CHECK_INT(d.msg_prefix.len, 26);
	CHECK(memcmp(d.msg_prefix.p, "Received: from x\r\n\0binary\xff", 26) == 0);
	CHECK_INT(d.require_tls, 0);
	CHECK_INT(d.last_attempt, 1711533700000);
	CHECK_STR(d.extra.v[1].k, "campaign");
	CHECK_INT(d.data_id, 987654321);
	store_codec_free(&store_rec_queue, &d);
	/* Nulls: LastAttempt and RequireTLS; NULL strings come back as "". */
	r.last_attempt = 0;
	r.require_tls = -1;
	free(r.subject);
	r.subject = NULL;
	roundtrip(&store_rec_queue, &r, &d);
	CHECK_INT(d.last_attempt, 0);
	CHECK_INT(d.require_tls, -1);
	CHECK_STR(d.subject, "");
	store_codec_free(&store_rec_queue, &d);
	r.require_tls = 1;
	roundtrip(&store_rec_queue, &r, &d);
	CHECK_INT(d.require_tls, 1);
	store_codec_free(&store_rec_queue, &d);
	store_codec_free(&store_rec_queue, &r);
	CHECK(r.subject == NULL && r.results.v == NULL); /* free zeroes */
}

TEST(retired_record_roundtrips_without_queue_only_fields)
{
	struct store_retired_rec r = {.q = full_queue_rec()}, d;
	/* The queue-only fields are not part of a retired record. */
	buf_free(&r.q.msg_prefix);
	buf_free(&r.q.dsn_utf8);
	r.last_activity = 1711540000000;
	r.recipient_address = xstrdup("Ünïcode@[192.0.2.1]");
	r.success = true;
	r.keep_until = 1712140000000;
	roundtrip(&store_rec_retired, &r, &d);
	CHECK_INT(d.q.id, 123456789);
	CHECK_STR(d.q.from_id, "f8Kx2AbC");
	CHECK_INT(d.q.next_attempt, 0);
	CHECK(!d.q.hold);
	CHECK(d.success);
	CHECK_INT(d.keep_until, 1712140000000);
	CHECK_STR(d.recipient_address, "Ünïcode@[192.0.2.1]");
	/* A queue record is not a retired record: the version matches but the fields differ. */
	struct buf enc;
	buf_init(&enc);
	CHECK_INT(store_codec_encode(&store_rec_retired, &r, &enc), 0);
	struct store_queue_rec q;
	CHECK_INT(store_codec_decode(&store_rec_queue, buf_slice(&enc), &q, NULL, 0), -EBADMSG);
	buf_free(&enc);
	store_codec_free(&store_rec_retired, &d);
	r.q.next_attempt = 0;
	store_codec_free(&store_rec_retired, &r);
}

TEST(holdrule_mailmsg_datameta_quarantine_roundtrip)
{
	struct store_holdrule h = {7, xstrdup("mjl"), xstrdup("example.org"), xstrdup("")}, hd;
	roundtrip(&store_rec_holdrule, &h, &hd);
	CHECK_STR(hd.sender_domain, "example.org");
	store_codec_free(&store_rec_holdrule, &hd);
	store_codec_free(&store_rec_holdrule, &h);

	struct store_mailmsg m = {.account = xstrdup("mjl"), .mailbox_id = 3, .uid = 4000000000u, .data_id = 77,
	                          .size = 1234, .received = 1711533602000,
	                          .flags = STORE_MF_SEEN | STORE_MF_DSN}, md;
	m.keywords.n = 2;
	m.keywords.v = xcalloc(2, sizeof(char *));
	m.keywords.v[0] = xstrdup("$Label1");
	m.keywords.v[1] = xstrdup("work");
	buf_puts(&m.prefix, "Received: by tern\r\n");
	roundtrip(&store_rec_mailmsg, &m, &md);
	CHECK_INT(md.uid, 4000000000u);
	CHECK(md.flags & STORE_MF_DSN);
	CHECK_STR(md.keywords.v[1], "work");
	store_codec_free(&store_rec_mailmsg, &md);
	store_codec_free(&store_rec_mailmsg, &m);

	struct store_datameta dm = {1 << 20, 16, 3}, dd;
	roundtrip(&store_rec_datameta, &dm, &dd);
	CHECK_INT(dd.chunks, 16);
	CHECK_INT(dd.refs, 3);

	struct store_quarantine_rec q = {.time = 5, .cf = xstrdup("queue"), .value_len = 3, .reason = xstrdup("bad")}, qd;
	buf_append(&q.key, "q\0\0\0\0\0\0\0\1", 9);
	buf_append(&q.value, "\x01\x02\x03", 3);
	roundtrip(&store_rec_quarantine, &q, &qd);
	CHECK_INT(qd.key.len, 9);
	store_codec_free(&store_rec_quarantine, &qd);
	store_codec_free(&store_rec_quarantine, &q);
}

TEST(every_truncation_is_rejected)
{
	struct store_queue_rec r = full_queue_rec(), d;
	struct buf enc;
	buf_init(&enc);
	CHECK_INT(store_codec_encode(&store_rec_queue, &r, &enc), 0);
	int accepted = 0;
	for (size_t n = 0; n < enc.len; n++)
		if (store_codec_decode(&store_rec_queue, slice_of(enc.p, n), &d, NULL, 0) != -EBADMSG)
			accepted++;
	CHECK_INT(accepted, 0);
	/* Trailing bytes too. */
	buf_putc(&enc, 0xc0);
	char why[200];
	CHECK_INT(store_codec_decode(&store_rec_queue, buf_slice(&enc), &d, why, sizeof why), -EBADMSG);
	CHECK(strstr(why, "trailing") != NULL);
	buf_free(&enc);
	store_codec_free(&store_rec_queue, &r);
}

/* Hand-made hold rules: version byte, then a map built by fn. */
static int decode_handmade(void (*fn)(msgpack_packer *pk), int version, char *why, size_t whylen)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	fn(&pk);
	struct buf b;
	buf_init(&b);
	buf_putc(&b, (uint8_t)version);
	buf_append(&b, sb.data, sb.size);
	struct store_holdrule h;
	int r = store_codec_decode(&store_rec_holdrule, buf_slice(&b), &h, why, whylen);
	if (r == 0)
		store_codec_free(&store_rec_holdrule, &h);
	buf_free(&b);
	msgpack_sbuffer_destroy(&sb);
	return r;
}

static void pstr(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void hr_ok(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 2), pstr(pk, "mjl", 3);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
}
static void hr_wrong_type(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	msgpack_pack_uint32(pk, 1), pstr(pk, "7", 1);
	msgpack_pack_uint32(pk, 2), pstr(pk, "mjl", 3);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
}
static void hr_bin_for_str(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 2), msgpack_pack_bin(pk, 3), msgpack_pack_bin_body(pk, "mjl", 3);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
}
static void hr_missing(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 2), pstr(pk, "mjl", 3);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
}
static void hr_unknown5(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 2), pstr(pk, "mjl", 3);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
	msgpack_pack_uint32(pk, 9), pstr(pk, "?", 1);
}
static void hr_repeated(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 8);
	msgpack_pack_uint32(pk, 2), pstr(pk, "mjl", 3);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
}
static void hr_oversize(msgpack_packer *pk)
{
	static char big[STORE_CAP_NAME + 1];
	memset(big, 'a', sizeof big);
	msgpack_pack_map(pk, 4);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 2), pstr(pk, big, sizeof big);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
}
static void hr_nul(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 4);
	msgpack_pack_uint32(pk, 1), msgpack_pack_int64(pk, 7);
	msgpack_pack_uint32(pk, 2), pstr(pk, "mj\0l", 4);
	msgpack_pack_uint32(pk, 3), pstr(pk, "", 0);
	msgpack_pack_uint32(pk, 4), pstr(pk, "x.org", 5);
}
static void hr_array(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_int64(pk, 7);
}

TEST(strict_decoder_rejects_with_a_reason)
{
	char why[200];
	CHECK_INT(decode_handmade(hr_ok, 1, why, sizeof why), 0);
	CHECK_INT(decode_handmade(hr_ok, 2, why, sizeof why), -EBADMSG);
	CHECK(strstr(why, "version 2") != NULL);
	struct { void (*fn)(msgpack_packer *); const char *want; } cases[] = {
		{hr_wrong_type, "field 1 (ID): not an integer"},
		{hr_bin_for_str, "field 2 (Account): not a string"},
		{hr_missing, "field 4 (RecipientDomainStr): missing"},
		{hr_unknown5, "unknown field key"},
		{hr_repeated, "field repeated"},
		{hr_oversize, "field 2 (Account): string over its cap"},
		{hr_nul, "field 2 (Account): NUL inside a string"},
		{hr_array, "record is not a map"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		why[0] = 0;
		CHECK_INT(decode_handmade(cases[i].fn, 1, why, sizeof why), -EBADMSG);
		if (!strstr(why, cases[i].want))
			CHECK_FAIL("case %zu: reason \"%s\", want \"%s\"", i, why, cases[i].want);
	}
}

TEST(oversize_values_refused_by_encoder_and_decoder)
{
	struct store_queue_rec r = full_queue_rec(), d;
	struct buf enc;
	buf_init(&enc);
	/* Too many results: the encoder refuses; a record written by a looser encoder is rejected. */
	struct store_msg_result *many = xcalloc(STORE_CAP_RESULTS + 1, sizeof *many);
	struct store_recs saved = r.results;
	r.results = (struct store_recs){many, STORE_CAP_RESULTS + 1};
	CHECK_INT(store_codec_encode(&store_rec_queue, &r, &enc), -E2BIG);
	CHECK_INT(enc.len, 0);
	struct store_field loose[64];
	memcpy(loose, store_rec_queue.fields, (size_t)store_rec_queue.nfields * sizeof loose[0]);
	for (int i = 0; i < store_rec_queue.nfields; i++)
		loose[i].cap *= 2;
	struct store_schema ls = store_rec_queue;
	ls.fields = loose;
	CHECK_INT(store_codec_encode(&ls, &r, &enc), 0);
	char why[200];
	CHECK_INT(store_codec_decode(&store_rec_queue, buf_slice(&enc), &d, why, sizeof why), -EBADMSG);
	CHECK(strstr(why, "Results") && strstr(why, "too many items"));
	free(many);
	r.results = saved;
	/* A subject over its cap. */
	buf_reset(&enc);
	free(r.subject);
	r.subject = xcalloc(STORE_CAP_TEXT + 2, 1);
	memset(r.subject, 's', STORE_CAP_TEXT + 1);
	CHECK_INT(store_codec_encode(&store_rec_queue, &r, &enc), -E2BIG);
	CHECK_INT(store_codec_encode(&ls, &r, &enc), 0);
	CHECK_INT(store_codec_decode(&store_rec_queue, buf_slice(&enc), &d, why, sizeof why), -EBADMSG);
	CHECK(strstr(why, "Subject") != NULL);
	/* A whole record over STORE_REC_MAX is refused before unpacking. */
	struct buf huge;
	buf_init(&huge);
	buf_reserve(&huge, STORE_REC_MAX + 1);
	memset(huge.p, 0x90, STORE_REC_MAX + 1);
	huge.p[0] = 1;
	huge.len = STORE_REC_MAX + 1;
	CHECK_INT(store_codec_decode(&store_rec_queue, buf_slice(&huge), &d, why, sizeof why), -EBADMSG);
	CHECK(strstr(why, "size limit") != NULL);
	buf_free(&huge);
	buf_free(&enc);
	store_codec_free(&store_rec_queue, &r);
}

TEST(nested_result_with_wrong_type_is_rejected)
{
	struct store_queue_rec r = full_queue_rec(), d;
	struct buf enc;
	buf_init(&enc);
	/* Re-encode Results' Code (I32) field as a string through a schema with a mutated sub-table. */
	struct store_field sub[8];
	memcpy(sub, store_rec_result.fields, (size_t)store_rec_result.nfields * sizeof sub[0]);
	sub[3].type = STORE_FT_STR; /* Code */
	sub[3].off = offsetof(struct store_msg_result, secode);
	sub[3].cap = 64;
	struct store_schema subs = store_rec_result;
	subs.fields = sub;
	struct store_field top[64];
	memcpy(top, store_rec_queue.fields, (size_t)store_rec_queue.nfields * sizeof top[0]);
	for (int i = 0; i < store_rec_queue.nfields; i++)
		if (top[i].type == STORE_FT_RECS)
			top[i].sub = &subs;
	struct store_schema ts = store_rec_queue;
	ts.fields = top;
	CHECK_INT(store_codec_encode(&ts, &r, &enc), 0);
	char why[200];
	CHECK_INT(store_codec_decode(&store_rec_queue, buf_slice(&enc), &d, why, sizeof why), -EBADMSG);
	CHECK(strstr(why, "field 4 (Code): not an integer") != NULL);
	buf_free(&enc);
	store_codec_free(&store_rec_queue, &r);
}

TEST(dump_is_readable)
{
	struct store_holdrule h = {7, xstrdup("mjl"), xstrdup("example.org"), NULL};
	struct buf out;
	buf_init(&out);
	store_codec_dump(&store_rec_holdrule, &h, &out, 100);
	CHECK_STR(buf_cstr(&out), "ID=7 Account=mjl SenderDomainStr=example.org RecipientDomainStr=\"\"");
	store_codec_free(&store_rec_holdrule, &h);
	buf_reset(&out);
	struct store_queue_rec r = full_queue_rec();
	store_codec_dump(&store_rec_queue, &r, &out, 8);
	const char *s = buf_cstr(&out);
	CHECK(strstr(s, "ID=123456789 ") != NULL);
	CHECK(strstr(s, "Queued=2024-03-27T10:00:02.123Z ") != NULL);
	CHECK(strstr(s, "Subject=\"hello \\\"world\\\" = yes\"") != NULL);
	CHECK(strstr(s, "DialedIPs={mx1.example.com:[192.0.2.10,2001:db8::10],mx2.example.com:[]}") != NULL);
	CHECK(strstr(s, "MsgPrefix=Received...(26 bytes)") != NULL);
	CHECK(strstr(s, "RequireTLS=false") != NULL);
	CHECK(strstr(s, "Results=[{Start=2024-03-27T10:00:02.200Z DurationMs=1500 Success=false Code=451") != NULL);
	buf_free(&out);
	store_codec_free(&store_rec_queue, &r);
}

TEST(schema_for_keys)
{
	struct store_key k;
	store_key_qrec(&k, 1);
	CHECK(store_rec_schema_for(STORE_CF_QUEUE, store_key_slice(&k)) == &store_rec_queue);
	store_key_qdue(&k, 1, 1);
	CHECK(store_rec_schema_for(STORE_CF_QUEUE, store_key_slice(&k)) == NULL);
	store_key_rrec(&k, 1);
	CHECK(store_rec_schema_for(STORE_CF_RETIRED, store_key_slice(&k)) == &store_rec_retired);
	store_key_mailmsg(&k, SLICE_LIT("acc"), 1, 2);
	CHECK(store_rec_schema_for(STORE_CF_ACCOUNTS, store_key_slice(&k)) == &store_rec_mailmsg);
	store_key_datameta(&k, 1);
	CHECK(store_rec_schema_for(STORE_CF_MSGDATA, store_key_slice(&k)) == &store_rec_datameta);
	store_key_chunk(&k, 1, 0);
	CHECK(store_rec_schema_for(STORE_CF_MSGDATA, store_key_slice(&k)) == NULL);
}

TEST_MAIN()
