/* Message registry: generated msgpack codecs and the id -> type table.
 *
 * DESIGN: msg.def is expanded here three times: encoders, decoders, and the
 * registry table. Encoding packs a map {field number: value}. Decoding walks the
 * map once, rejects unknown or repeated keys, wrong types and oversize values,
 * and finally checks that every field was seen. STR/BIN values are borrowed
 * slices into the message bytes (msgpack-c references the input buffer), valid
 * while the envelope lives. */
#include "core/msg.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mpcheck.h"
#include "core/xmalloc.h"

void *msg_arena_alloc(struct msg_arena *a, size_t n)
{
	if (a->n >= (int)(sizeof a->chunks / sizeof a->chunks[0]) || n > (1u << 20))
		return NULL;
	struct buf *b = &a->chunks[a->n++];
	buf_init(b);
	buf_reserve(b, n);
	memset(b->p, 0, n);
	b->len = n;
	return b->p;
}

void msg_arena_free(struct msg_arena *a)
{
	for (int i = 0; i < a->n; i++)
		buf_free(&a->chunks[i]);
	a->n = 0;
}

/* ---- packing helpers ---- */

static int buf_write_cb(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

static void pk_U64(msgpack_packer *pk, uint64_t v) { msgpack_pack_uint64(pk, v); }
static void pk_I64(msgpack_packer *pk, int64_t v) { msgpack_pack_int64(pk, v); }
static void pk_BOOL(msgpack_packer *pk, bool v) { v ? msgpack_pack_true(pk) : msgpack_pack_false(pk); }
static void pk_STR(msgpack_packer *pk, struct slice v)
{
	msgpack_pack_str(pk, v.len);
	msgpack_pack_str_body(pk, v.p, v.len);
}
static void pk_BIN(msgpack_packer *pk, struct slice v)
{
	msgpack_pack_bin(pk, v.len);
	msgpack_pack_bin_body(pk, v.p, v.len);
}
static void pk_PTR(msgpack_packer *pk, void *v) { msgpack_pack_uint64(pk, (uint64_t)(uintptr_t)v); }
static void pk_U64S(msgpack_packer *pk, struct msg_u64s v)
{
	msgpack_pack_array(pk, v.n);
	for (uint32_t i = 0; i < v.n; i++)
		msgpack_pack_uint64(pk, v.v[i]);
}
static void pk_STRS(msgpack_packer *pk, struct msg_strs v)
{
	msgpack_pack_array(pk, v.n);
	for (uint32_t i = 0; i < v.n; i++)
		pk_STR(pk, v.v[i]);
}

/* Over-cap values are refused at encode time too, so a sender learns of its bug. */
static bool cap_ok_U64(uint64_t v, size_t cap) { (void)v; (void)cap; return true; }
static bool cap_ok_I64(int64_t v, size_t cap) { (void)v; (void)cap; return true; }
static bool cap_ok_BOOL(bool v, size_t cap) { (void)v; (void)cap; return true; }
static bool cap_ok_PTR(void *v, size_t cap) { (void)v; (void)cap; return true; }
static bool cap_ok_STR(struct slice v, size_t cap) { return v.len <= cap; }
static bool cap_ok_BIN(struct slice v, size_t cap) { return v.len <= cap; }
static bool cap_ok_U64S(struct msg_u64s v, size_t cap) { return v.n <= cap; }
static bool cap_ok_STRS(struct msg_strs v, size_t cap)
{
	if (v.n > cap)
		return false;
	for (uint32_t i = 0; i < v.n; i++)
		if (v.v[i].len > 65536)
			return false;
	return true;
}

/* ---- unpacking helpers: 0 ok, -1 wrong type or over cap ---- */

static int un_U64(const msgpack_object *o, uint64_t *v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}
static int un_I64(const msgpack_object *o, int64_t *v, size_t cap, struct msg_arena *a)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else
		return -1;
	return 0;
}
static int un_BOOL(const msgpack_object *o, bool *v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*v = o->via.boolean;
	return 0;
}
static int un_STR(const msgpack_object *o, struct slice *v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > cap)
		return -1;
	*v = slice_of(o->via.str.ptr, o->via.str.size);
	return 0;
}
static int un_BIN(const msgpack_object *o, struct slice *v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > cap)
		return -1;
	*v = slice_of(o->via.bin.ptr, o->via.bin.size);
	return 0;
}
static int un_PTR(const msgpack_object *o, void **v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = (void *)(uintptr_t)o->via.u64;
	return 0;
}
static int un_U64S(const msgpack_object *o, struct msg_u64s *v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > cap)
		return -1;
	v->n = o->via.array.size;
	v->v = v->n ? msg_arena_alloc(a, sizeof(uint64_t) * v->n) : NULL;
	if (v->n && !v->v)
		return -1;
	for (uint32_t i = 0; i < v->n; i++) {
		if (o->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return -1;
		v->v[i] = o->via.array.ptr[i].via.u64;
	}
	return 0;
}
static int un_STRS(const msgpack_object *o, struct msg_strs *v, size_t cap, struct msg_arena *a)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > cap)
		return -1;
	v->n = o->via.array.size;
	v->v = v->n ? msg_arena_alloc(a, sizeof(struct slice) * v->n) : NULL;
	if (v->n && !v->v)
		return -1;
	for (uint32_t i = 0; i < v->n; i++)
		if (un_STR(&o->via.array.ptr[i], &v->v[i], 65536, a))
			return -1;
	return 0;
}

/* ---- generated encoders ---- */
/* Field counts, for the map header. */
#define PAYLOAD_BEGIN(name) enum { name##_NFIELDS = 0
#define FIELD(num, type, field, cap) + 1
#define PAYLOAD_END(name) };
#define MSG(NAME, id, payload, sender, receiver)
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END

#define PAYLOAD_BEGIN(name) \
	int name##_encode(const struct name *p, struct buf *out) \
	{ \
		msgpack_packer pk; \
		msgpack_packer_init(&pk, out, buf_write_cb); \
		(void)p; \
		msgpack_pack_map(&pk, name##_NFIELDS);
#define FIELD(num, type, field, cap) \
		if (!cap_ok_##type(p->field, cap)) \
			return -1; \
		msgpack_pack_uint32(&pk, num); \
		pk_##type(&pk, p->field);
#define PAYLOAD_END(name) \
		return 0; \
	}
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END

/* ---- generated decoders ---- */
/* Bit set of the field numbers every payload must carry. */
#define PAYLOAD_BEGIN(name) static const uint64_t name##_WANT = 0
#define FIELD(num, type, field, cap) | (1ull << num)
#define PAYLOAD_END(name) ;
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END

#define PAYLOAD_BEGIN(name) \
	int name##_decode(struct name *p, const msgpack_object *o, struct msg_arena *a) \
	{ \
		uint64_t seen = 0; \
		memset(p, 0, sizeof *p); \
		if (o->type != MSGPACK_OBJECT_MAP) \
			return -1; \
		for (uint32_t i = 0; i < o->via.map.size; i++) { \
			const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val; \
			(void)v; \
			if (k->type != MSGPACK_OBJECT_POSITIVE_INTEGER || k->via.u64 == 0 || k->via.u64 > 63) \
				return -1; \
			uint64_t bit = 1ull << k->via.u64; \
			if (seen & bit) \
				return -1; \
			seen |= bit; \
			switch (k->via.u64) {
#define FIELD(num, type, field, cap) \
			case num: \
				if (un_##type(v, &p->field, cap, a)) \
					return -1; \
				break;
#define PAYLOAD_END(name) \
			default: \
				return -1; \
			} \
		} \
		return seen == name##_WANT ? 0 : -1; \
	}

#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

/* ---- registry table ---- */
#define PAYLOAD_BEGIN(name) \
	_Static_assert(sizeof(struct name) <= MSG_PAYLOAD_MAX, #name " too big for MSG_PAYLOAD_MAX");
#define FIELD(num, type, field, cap) \
	_Static_assert(num >= 1 && num <= 63, "field number out of range");
#define PAYLOAD_END(name)
#define MSG(NAME, id, payload, sender, receiver) \
	_Static_assert(id >= 1 && id < MSG_ID_MAX, #NAME " id out of range");
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

#define PAYLOAD_BEGIN(name)
#define FIELD(num, type, field, cap)
#define PAYLOAD_END(name)
#define MSG(NAME, id, payload, sender, receiver) \
	[id] = {id, #NAME, #payload, #sender, #receiver, sizeof(struct payload), \
	        (int (*)(const void *, struct buf *))payload##_encode, \
	        (int (*)(void *, const msgpack_object *, struct msg_arena *))payload##_decode},
static const struct msg_type registry[MSG_ID_MAX] = {
#include "tern/msg.def"
};
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

/* Duplicate ids would silently overwrite a designated initializer; count them instead. */
#define PAYLOAD_BEGIN(name)
#define FIELD(num, type, field, cap)
#define PAYLOAD_END(name)
#define MSG(NAME, id, payload, sender, receiver) +1
static const int registry_declared = 0
#include "tern/msg.def"
    ;
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

__attribute__((constructor)) static void registry_check(void)
{
	int n = 0;
	for (int i = 0; i < MSG_ID_MAX; i++)
		if (registry[i].name)
			n++;
	if (n != registry_declared)
		panic("msg.def: %d messages declared but %d distinct ids", registry_declared, n);
}

const struct msg_type *msg_type_of(uint32_t id)
{
	if (id >= MSG_ID_MAX || !registry[id].name)
		return NULL;
	return &registry[id];
}

const char *msg_name(uint32_t id)
{
	const struct msg_type *t = msg_type_of(id);
	return t ? t->name : "?";
}

void msg_foreach(void (*fn)(const struct msg_type *t, void *arg), void *arg)
{
	for (int i = 0; i < MSG_ID_MAX; i++)
		if (registry[i].name)
			fn(&registry[i], arg);
}

struct msg *msg_new(uint16_t type, const void *p)
{
	const struct msg_type *t = msg_type_of(type);
	if (!t)
		return NULL;
	struct buf b;
	buf_init(&b);
	const size_t hdr = offsetof(struct msg, data);
	buf_reserve(&b, hdr + 64);
	b.len = hdr;
	if (t->encode(p, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	struct msg *m = (struct msg *)b.p;
	memset(m, 0, hdr);
	m->type = type;
	m->len = (uint32_t)(b.len - hdr);
	m->sent_ns = clock_mono_ns();
	return m;
}

int msg_decode(const struct msg *m, void *out, struct msg_arena *a, msgpack_unpacked *keep)
{
	msgpack_unpacked_init(keep); /* first: callers always destroy it */
	const struct msg_type *t = msg_type_of(m->type);
	if (!t)
		return -1;
	size_t off = 0;
	if (mpcheck_one(m->data, m->len) != 0)
		return -1;
	if (msgpack_unpack_next(keep, (const char *)m->data, m->len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != m->len)
		return -1;
	return t->decode(out, &keep->data, a);
}
