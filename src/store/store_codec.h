/* Versioned records: one table per record type drives its encoder, strict
 * decoder, text dump and free.
 *
 * Stored form: one version byte, then a msgpack map {field number: value}.
 * Decoding is strict: the version must be the schema's, every field present
 * exactly once with the right type and within its cap, no unknown keys, no
 * trailing bytes, at most the schema's max (default STORE_REC_MAX) bytes in all. A decoded record owns its
 * strings and arrays; free it with store_codec_free(). */
#ifndef TERN_STORE_STORE_CODEC_H
#define TERN_STORE_STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/** Largest encoded record. */
#define STORE_REC_MAX (1u << 20)
/** Largest string inside a STRS, STRMAP or IPMAP field. */
#define STORE_REC_ITEM_MAX 4096
/** Most IPs per host in an IPMAP field. */
#define STORE_REC_IPS_MAX 64

/** Field types and the C type each one is stored as. */
enum store_ft {
	STORE_FT_I64,     /* int64_t */
	STORE_FT_U64,     /* uint64_t */
	STORE_FT_I32,     /* int32_t */
	STORE_FT_BOOL,    /* bool */
	STORE_FT_TIME,    /* int64_t Unix ms */
	STORE_FT_OPTTIME, /* int64_t Unix ms, 0 = null (stored as nil) */
	STORE_FT_OPTBOOL, /* int8_t: -1 null (nil), 0 false, 1 true */
	STORE_FT_STR,     /* char *, owned, NUL-terminated; NULL encodes as "" */
	STORE_FT_BYTES,   /* struct buf, owned */
	STORE_FT_STRS,    /* struct store_strs */
	STORE_FT_STRMAP,  /* struct store_strmap */
	STORE_FT_IPMAP,   /* struct store_ipmap */
	STORE_FT_RECS,    /* struct store_recs, elements described by field.sub */
};

/** A list of owned strings. */
struct store_strs {
	char **v;
	uint32_t n;
};

/** One string pair. */
struct store_kv {
	char *k, *v;
};

/** An ordered string map (keys unique on encode by the writer's contract; checked on decode). */
struct store_strmap {
	struct store_kv *v;
	uint32_t n;
};

/** Host -> IPs dialed. */
struct store_ipmap_ent {
	char *host;
	struct store_strs ips;
};

/** The DialedIPs map. */
struct store_ipmap {
	struct store_ipmap_ent *v;
	uint32_t n;
};

/** An array of sub-records, each field.sub->size bytes (cast v to the element type). */
struct store_recs {
	void *v;
	uint32_t n;
};

struct store_schema;

/** One field of a record type. */
struct store_field {
	uint8_t num;        /* msgpack key 1..63, never reused within a record type */
	uint8_t type;       /* enum store_ft */
	uint32_t cap;       /* STR/BYTES: max bytes; STRS/STRMAP/IPMAP/RECS: max items */
	size_t off;         /* offsetof in the record struct */
	const char *name;   /* JSON-style name, for dumps */
	const struct store_schema *sub; /* RECS only */
};

/** A record type: its name, current version and fields. */
struct store_schema {
	const char *name;
	uint8_t version;
	size_t size; /* sizeof the record struct */
	const struct store_field *fields;
	int nfields;
	size_t max; /* largest encoded record; 0 means STORE_REC_MAX */
};

/** Encodes rec into out (appending). Returns 0, or -E2BIG when a field exceeds its cap or the
 * record exceeds its schema's max (out is then unchanged). */
int store_codec_encode(const struct store_schema *s, const void *rec, struct buf *out);

/** Decodes in into rec (s->size bytes, overwritten). Returns 0 (caller then owns rec's
 * contents: store_codec_free), or -EBADMSG with a reason in why (rec left empty). */
int store_codec_decode(const struct store_schema *s, struct slice in, void *rec, char *why, size_t whylen);

/** Frees what a record owns and zeroes it. Safe on a zeroed record. */
void store_codec_free(const struct store_schema *s, void *rec);

/** Appends a one-line text rendering (`Name=value ...`) of rec to out. Byte fields longer than
 * max_bytes are shown truncated with their length. */
void store_codec_dump(const struct store_schema *s, const void *rec, struct buf *out, size_t max_bytes);

/** Appends Unix ms as RFC 3339 UTC with milliseconds (`2025-03-27T10:00:02.000Z`). */
void store_codec_dump_time(struct buf *out, int64_t ms);

/** New owned copy of s (for filling STR fields from slices). */
char *store_codec_strdup(struct slice s);

#endif
