/* Message registry types, generated from include/tern/msg.def.
 *
 * For each payload P: `struct P`, `P_encode()` and `P_decode()`. For each message
 * NAME: the enum constant NAME (= its stable id) and `NAME##_fn`, the handler
 * type actors register (see ACTOR_ON in core/actor.h). Payloads are msgpack maps
 * keyed by field number; decoding is strict: every field present exactly once,
 * the right type, within its cap, no unknown keys. */
#ifndef TERN_CORE_MSG_H
#define TERN_CORE_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "core/buf.h"
#include "core/mpsc.h"

/** Decoded U64S field: items live in the decode arena. */
struct msg_u64s {
	uint64_t *v;
	uint32_t n;
};
/** Decoded STRS field: slices point into the message bytes. */
struct msg_strs {
	struct slice *v;
	uint32_t n;
};

/* C types of the field kinds. */
#define MSG_CT_U64 uint64_t
#define MSG_CT_I64 int64_t
#define MSG_CT_BOOL bool
#define MSG_CT_STR struct slice
#define MSG_CT_BIN struct slice
#define MSG_CT_PTR void *
#define MSG_CT_U64S struct msg_u64s
#define MSG_CT_STRS struct msg_strs

/** Small bump allocator for decoded arrays; freed after the handler returns. */
struct msg_arena {
	struct buf chunks[8];
	int n;
};
/** Allocates n zeroed bytes from the arena (NULL when n exceeds what it may hold). */
void *msg_arena_alloc(struct msg_arena *a, size_t n);
/** Frees everything the arena holds. */
void msg_arena_free(struct msg_arena *a);

/* ---- generated payload structs and codec prototypes ---- */
#define PAYLOAD_BEGIN(name) struct name {
#define FIELD(num, type, field, cap) MSG_CT_##type field;
#define PAYLOAD_END(name) char name##__pad; };
#define MSG(NAME, id, payload, sender, receiver)
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

#define PAYLOAD_BEGIN(name) \
	int name##_encode(const struct name *p, struct buf *out); \
	int name##_decode(struct name *p, const msgpack_object *o, struct msg_arena *a);
#define FIELD(num, type, field, cap)
#define PAYLOAD_END(name)
#define MSG(NAME, id, payload, sender, receiver)
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

/** Message ids (the enum value is the stable wire id). */
enum msg_id {
#define PAYLOAD_BEGIN(name)
#define FIELD(num, type, field, cap)
#define PAYLOAD_END(name)
#define MSG(NAME, id, payload, sender, receiver) NAME = id,
#include "tern/msg.def"
#undef MSG
	MSG_ID_MAX = 1024
};

struct actor;
struct msg;

/* Typed handler signatures: void fn(struct actor *self, const struct msg *m, const struct P *p). */
#define MSG(NAME, id, payload, sender, receiver) \
	typedef void NAME##_fn(struct actor *self, const struct msg *m, const struct payload *p);
#include "tern/msg.def"
#undef PAYLOAD_BEGIN
#undef FIELD
#undef PAYLOAD_END
#undef MSG

/** An envelope in flight: header plus msgpack payload bytes. Owned by the mailbox, then the runtime. */
struct msg {
	struct mpsc_node node;
	uint16_t type;
	uint32_t flags;
	uint64_t req_id;      /* echoed in replies */
	int64_t deadline_ms;  /* monotonic; 0 = none. Expired requests are counted and dropped */
	uint64_t from;        /* sending actor id, 0 for non-actors */
	int64_t sent_ns;      /* monotonic, for queueing-latency tracing */
	uint32_t len;
	uint8_t data[];
};

/** Registry entry of one message type. */
struct msg_type {
	uint16_t id;
	const char *name;
	const char *payload;
	const char *sender, *receiver;
	size_t size; /* sizeof(struct payload) */
	int (*encode)(const void *p, struct buf *out);
	int (*decode)(void *p, const msgpack_object *o, struct msg_arena *a);
};

/** Largest payload struct; decode buffers are this big. */
#define MSG_PAYLOAD_MAX 512

/** Registry entry for an id, or NULL when the id is unknown. */
const struct msg_type *msg_type_of(uint32_t id);
/** Name of a message id ("?" when unknown). */
const char *msg_name(uint32_t id);
/** Calls fn for every registered type, in id order. */
void msg_foreach(void (*fn)(const struct msg_type *t, void *arg), void *arg);

/** Encodes payload p of message type `type` into a new envelope. Returns NULL for an unknown type. */
struct msg *msg_new(uint16_t type, const void *p);
/** Decodes m's payload into out (MSG_PAYLOAD_MAX bytes). Returns 0, or -1 for malformed data.
 * keep is always initialised and must be destroyed by the caller; decoded slices point into m. */
int msg_decode(const struct msg *m, void *out, struct msg_arena *a, msgpack_unpacked *keep);

#endif
