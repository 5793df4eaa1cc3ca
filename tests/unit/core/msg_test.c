/* Registry: every payload round-trips; the decoder rejects truncation, wrong types, oversize. */
#include "check.h"

#include "core/mpcheck.h"
#include "core/msg.h"
#include "core/xmalloc.h"

static int decode(const struct msg *m, void *out, struct msg_arena *a, msgpack_unpacked *up)
{
	return msg_decode(m, out, a, up);
}

TEST(sample_round_trip)
{
	uint64_t ids[3] = {1, 2, UINT64_MAX};
	struct slice names[2] = {SLICE_LIT("alpha"), SLICE_LIT("")};
	struct test_sample in = {.u = 42, .i = -7, .b = true, .s = SLICE_LIT("hello"),
	                         .bin = slice_of("\0\1\2", 3), .ids = {ids, 3}, .names = {names, 2}};
	struct msg *m = msg_new(TEST_MSG_SAMPLE_CMD, &in);
	CHECK(m != NULL);
	struct test_sample out;
	struct msg_arena a = {0};
	msgpack_unpacked up;
	CHECK_INT(decode(m, &out, &a, &up), 0);
	CHECK_INT(out.u, 42);
	CHECK_INT(out.i, -7);
	CHECK(out.b);
	CHECK_MEM(out.s.p, out.s.len, "hello");
	CHECK_INT(out.bin.len, 3);
	CHECK(memcmp(out.bin.p, "\0\1\2", 3) == 0);
	CHECK_INT(out.ids.n, 3);
	CHECK(out.ids.v[2] == UINT64_MAX);
	CHECK_INT(out.names.n, 2);
	CHECK_MEM(out.names.v[0].p, out.names.v[0].len, "alpha");
	msgpack_unpacked_destroy(&up);
	msg_arena_free(&a);
	free(m);
}

/* Every registered type: encode a zero payload, decode it, re-encode: the bytes must match. */
static int rt_fail;
static void round_trip_zero(const struct msg_type *t, void *arg)
{
	uint8_t zero[MSG_PAYLOAD_MAX] = {0};
	struct msg *m = msg_new(t->id, zero);
	if (!m) {
		fprintf(stderr, "encode failed: %s\n", t->name);
		rt_fail++;
		return;
	}
	uint8_t out[MSG_PAYLOAD_MAX];
	struct msg_arena a = {0};
	msgpack_unpacked up;
	struct msg *again = NULL;
	if (msg_decode(m, out, &a, &up) != 0 || !(again = msg_new(t->id, out)) ||
	    again->len != m->len || memcmp(again->data, m->data, m->len) != 0) {
		fprintf(stderr, "round trip failed: %s\n", t->name);
		rt_fail++;
	}
	free(again);
	msgpack_unpacked_destroy(&up);
	msg_arena_free(&a);
	free(m);
}

TEST(every_payload_round_trips)
{
	rt_fail = 0;
	msg_foreach(round_trip_zero, NULL);
	CHECK_INT(rt_fail, 0);
}

TEST(truncation_rejected_at_every_length)
{
	struct test_sample in = {.u = 1, .s = SLICE_LIT("abcdef"), .bin = SLICE_LIT("xyz")};
	struct msg *m = msg_new(TEST_MSG_SAMPLE_CMD, &in);
	uint32_t full = m->len;
	int accepted = 0;
	for (uint32_t n = 0; n < full; n++) {
		m->len = n;
		struct test_sample out;
		struct msg_arena a = {0};
		msgpack_unpacked up;
		if (msg_decode(m, &out, &a, &up) == 0)
			accepted++;
		msgpack_unpacked_destroy(&up);
		msg_arena_free(&a);
	}
	CHECK_INT(accepted, 0);
	free(m);
}

TEST(wrong_type_missing_unknown_and_oversize_rejected)
{
	struct test_ping ping = {.seq = 1, .note = SLICE_LIT("n")};
	struct msg *m = msg_new(TEST_MSG_PING_CMD, &ping);
	/* Decoding ping bytes as a sample: missing fields. */
	m->type = TEST_MSG_SAMPLE_CMD;
	uint8_t out[MSG_PAYLOAD_MAX];
	struct msg_arena a = {0};
	msgpack_unpacked up;
	CHECK(msg_decode(m, out, &a, &up) != 0);
	msgpack_unpacked_destroy(&up);
	msg_arena_free(&a);
	free(m);

	/* Hand-made maps. */
	const struct {
		const char *what;
		const char *bytes;
		size_t n;
	} cases[] = {
		{"not a map", "\x93\x01\x02\x03", 4},
		/* {1: "x", 2: 0, 3: "n"} : seq as string */
		{"wrong type", "\x83\x01\xa1x\x02\x00\x03\xa1n", 9},
		/* {1:1, 2:0, 3:"n", 9:0} : unknown key */
		{"unknown key", "\x84\x01\x01\x02\x00\x03\xa1n\x09\x00", 10},
		/* {1:1, 1:1, 3:"n"} : duplicate key */
		{"duplicate", "\x83\x01\x01\x01\x01\x03\xa1n", 8},
		/* {1:1, 2:0} : missing note */
		{"missing", "\x82\x01\x01\x02\x00", 5},
		/* {1:-1, 2:0, 3:"n"} : negative u64 */
		{"negative", "\x83\x01\xff\x02\x00\x03\xa1n", 8},
		/* trailing garbage after the map */
		{"trailing", "\x83\x01\x01\x02\x00\x03\xa1n\x00", 9},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct msg *mm = xcalloc(1, sizeof(struct msg) + cases[i].n);
		mm->type = TEST_MSG_PING_CMD;
		mm->len = (uint32_t)cases[i].n;
		memcpy(mm->data, cases[i].bytes, cases[i].n);
		struct msg_arena aa = {0};
		msgpack_unpacked u2;
		if (msg_decode(mm, out, &aa, &u2) == 0)
			CHECK_FAIL("accepted: %s", cases[i].what);
		msgpack_unpacked_destroy(&u2);
		msg_arena_free(&aa);
		free(mm);
	}
	/* Control: the well-formed version decodes. */
	struct msg *ok = xcalloc(1, sizeof(struct msg) + 8);
	ok->type = TEST_MSG_PING_CMD;
	ok->len = 8;
	memcpy(ok->data, "\x83\x01\x01\x02\x00\x03\xa1n", 8);
	struct msg_arena aa = {0};
	msgpack_unpacked u3;
	CHECK_INT(msg_decode(ok, out, &aa, &u3), 0);
	msgpack_unpacked_destroy(&u3);
	msg_arena_free(&aa);
	free(ok);

	/* Oversize string (cap 256 for note) is refused by the encoder and the decoder. */
	char big[300];
	memset(big, 'a', sizeof big);
	struct test_ping huge = {.seq = 1, .note = slice_of(big, sizeof big)};
	CHECK(msg_new(TEST_MSG_PING_CMD, &huge) == NULL);
}

TEST(declared_counts_must_be_backed_by_bytes)
{
	/* array32 of 0xdddddddd elements in 6 bytes: msgpack-c would allocate ~90 GB. */
	CHECK_INT(mpcheck_one((const uint8_t *)"\xdd\xdd\xdd\xdd\xdd\x01", 6), -1);
	CHECK_INT(mpcheck_one((const uint8_t *)"\x92\x01\x02", 3), 0);
	CHECK_INT(mpcheck_one((const uint8_t *)"\x92\x01", 2), -1);
	CHECK_INT(mpcheck_one((const uint8_t *)"\x81\x01\xa2hi", 5), 0);
	CHECK_INT(mpcheck_one((const uint8_t *)"\x81\x01\xa2hi\x00", 6), -1); /* trailing */
	CHECK_INT(mpcheck_one((const uint8_t *)"\xc1", 1), -1);
	CHECK_INT(mpcheck_one((const uint8_t *)"\xc6\xff\xff\xff\xff", 5), -1);
	struct msg *m = xcalloc(1, sizeof(struct msg) + 8);
	m->type = TEST_MSG_PING_CMD;
	m->len = 6;
	memcpy(m->data, "\xdd\xdd\xdd\xdd\xdd\x01", 6);
	uint8_t out[MSG_PAYLOAD_MAX];
	struct msg_arena a = {0};
	msgpack_unpacked up;
	CHECK(msg_decode(m, out, &a, &up) != 0);
	msgpack_unpacked_destroy(&up);
	free(m);
}

TEST(unknown_id)
{
	CHECK(msg_type_of(1023) == NULL);
	CHECK(msg_type_of(5000) == NULL);
	CHECK_STR(msg_name(TEST_MSG_PING_CMD), "TEST_MSG_PING_CMD");
	CHECK(msg_new(1023, NULL) == NULL);
}

TEST_MAIN()
