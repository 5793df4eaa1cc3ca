/* Table-driven record codec: version byte + msgpack map, strict decode, free.
 * (The text dump is in store_codec_dump.c.)
 *
 * DESIGN: a record type is a struct plus a table of {field number, type, cap,
 * offset, name}. One walker per direction reads the table, so the encoder, the
 * decoder and the dump cannot disagree about a field. The decoder never trusts
 * the stored bytes: it bounds the total size before unpacking (msgpack-c then
 * allocates at most a small multiple of the input), checks every type and cap,
 * refuses NUL inside strings (they become C strings and a NUL would silently
 * cut them), and on any failure frees what it built and says which field was
 * wrong — the caller quarantines the record with that reason. */
#include "store/store_codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/xmalloc.h"

#define FIELD_AT(rec, f, T) ((T *)((uint8_t *)(rec) + (f)->off))
#define CFIELD_AT(rec, f, T) ((const T *)((const uint8_t *)(rec) + (f)->off))

char *store_codec_strdup(struct slice s)
{
	return xstrndup((const char *)s.p, s.len);
}

static size_t store_codec_max(const struct store_schema *s)
{
	return s->max ? s->max : STORE_REC_MAX;
}

/* ---- encode ---- */

static int buf_write_cb(void *data, const char *p, size_t n)
{
	buf_append(data, p, n);
	return 0;
}

static int enc_str(msgpack_packer *pk, const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;
	if (n > cap)
		return -E2BIG;
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s ? s : "", n);
	return 0;
}

static int enc_strs(msgpack_packer *pk, const struct store_strs *v, size_t cap)
{
	if (v->n > cap)
		return -E2BIG;
	msgpack_pack_array(pk, v->n);
	for (uint32_t i = 0; i < v->n; i++)
		if (enc_str(pk, v->v[i], STORE_REC_ITEM_MAX))
			return -E2BIG;
	return 0;
}

static int enc_map(msgpack_packer *pk, const struct store_schema *s, const void *rec);

static int enc_field(msgpack_packer *pk, const struct store_field *f, const void *rec)
{
	switch (f->type) {
	case STORE_FT_I64:
	case STORE_FT_TIME:
		return msgpack_pack_int64(pk, *CFIELD_AT(rec, f, int64_t)), 0;
	case STORE_FT_U64:
		return msgpack_pack_uint64(pk, *CFIELD_AT(rec, f, uint64_t)), 0;
	case STORE_FT_I32:
		return msgpack_pack_int32(pk, *CFIELD_AT(rec, f, int32_t)), 0;
	case STORE_FT_BOOL:
		return (*CFIELD_AT(rec, f, bool) ? msgpack_pack_true(pk) : msgpack_pack_false(pk)), 0;
	case STORE_FT_OPTTIME: {
		int64_t t = *CFIELD_AT(rec, f, int64_t);
		return (t ? msgpack_pack_int64(pk, t) : msgpack_pack_nil(pk)), 0;
	}
	case STORE_FT_OPTBOOL: {
		int8_t b = *CFIELD_AT(rec, f, int8_t);
		return (b < 0 ? msgpack_pack_nil(pk) : b ? msgpack_pack_true(pk) : msgpack_pack_false(pk)), 0;
	}
	case STORE_FT_STR:
		return enc_str(pk, *CFIELD_AT(rec, f, char *), f->cap);
	case STORE_FT_BYTES: {
		const struct buf *b = CFIELD_AT(rec, f, struct buf);
		if (b->len > f->cap)
			return -E2BIG;
		msgpack_pack_bin(pk, b->len);
		return msgpack_pack_bin_body(pk, b->p, b->len), 0;
	}
	case STORE_FT_STRS:
		return enc_strs(pk, CFIELD_AT(rec, f, struct store_strs), f->cap);
	case STORE_FT_STRMAP: {
		const struct store_strmap *m = CFIELD_AT(rec, f, struct store_strmap);
		if (m->n > f->cap)
			return -E2BIG;
		msgpack_pack_map(pk, m->n);
		for (uint32_t i = 0; i < m->n; i++)
			if (enc_str(pk, m->v[i].k, STORE_REC_ITEM_MAX) || enc_str(pk, m->v[i].v, STORE_REC_ITEM_MAX))
				return -E2BIG;
		return 0;
	}
	case STORE_FT_IPMAP: {
		const struct store_ipmap *m = CFIELD_AT(rec, f, struct store_ipmap);
		if (m->n > f->cap)
			return -E2BIG;
		msgpack_pack_map(pk, m->n);
		for (uint32_t i = 0; i < m->n; i++)
			if (enc_str(pk, m->v[i].host, STORE_REC_ITEM_MAX) ||
			    enc_strs(pk, &m->v[i].ips, STORE_REC_IPS_MAX))
				return -E2BIG;
		return 0;
	}
	case STORE_FT_RECS: {
		const struct store_recs *r = CFIELD_AT(rec, f, struct store_recs);
		if (r->n > f->cap)
			return -E2BIG;
		msgpack_pack_array(pk, r->n);
		for (uint32_t i = 0; i < r->n; i++)
			if (enc_map(pk, f->sub, (const uint8_t *)r->v + i * f->sub->size))
				return -E2BIG;
		return 0;
	}
	}
	panic("store_codec: field %s has unknown type %d", f->name, f->type);
}

static int enc_map(msgpack_packer *pk, const struct store_schema *s, const void *rec)
{
	msgpack_pack_map(pk, (size_t)s->nfields);
	for (int i = 0; i < s->nfields; i++) {
		msgpack_pack_uint32(pk, s->fields[i].num);
		if (enc_field(pk, &s->fields[i], rec))
			return -E2BIG;
	}
	return 0;
}

int store_codec_encode(const struct store_schema *s, const void *rec, struct buf *out)
{
	size_t start = out->len;
	buf_putc(out, s->version);
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, buf_write_cb);
	if (enc_map(&pk, s, rec) != 0 || out->len - start > store_codec_max(s)) {
		out->len = start;
		return -E2BIG;
	}
	return 0;
}

/* ---- decode ---- */

struct dec {
	char *why;
	size_t whylen;
	const struct store_field *f; /* field being decoded, for the reason text */
};

static int dec_fail(struct dec *d, const char *what)
{
	if (d->f)
		snprintf(d->why, d->whylen, "field %u (%s): %s", d->f->num, d->f->name, what);
	else
		snprintf(d->why, d->whylen, "%s", what);
	return -EBADMSG;
}

static int dec_int(struct dec *d, const msgpack_object *o, int64_t lo, int64_t hi, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else
		return dec_fail(d, "not an integer");
	return *v < lo || *v > hi ? dec_fail(d, "integer out of range") : 0;
}

static int dec_str(struct dec *d, const msgpack_object *o, size_t cap, char **out)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return dec_fail(d, "not a string");
	if (o->via.str.size > cap)
		return dec_fail(d, "string over its cap");
	if (o->via.str.size == 0) { /* msgpack-c may give NULL for an empty string */
		*out = xstrdup("");
		return 0;
	}
	if (memchr(o->via.str.ptr, 0, o->via.str.size))
		return dec_fail(d, "NUL inside a string");
	*out = xstrndup(o->via.str.ptr, o->via.str.size);
	return 0;
}

static int dec_strs(struct dec *d, const msgpack_object *o, size_t cap, struct store_strs *v)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return dec_fail(d, "not an array");
	if (o->via.array.size > cap)
		return dec_fail(d, "too many items");
	v->n = o->via.array.size;
	v->v = xcalloc(v->n ? v->n : 1, sizeof *v->v);
	for (uint32_t i = 0; i < v->n; i++)
		if (dec_str(d, &o->via.array.ptr[i], STORE_REC_ITEM_MAX, &v->v[i]))
			return -EBADMSG;
	return 0;
}

static int dec_map(struct dec *d, const struct store_schema *s, const msgpack_object *o, void *rec);

static int dec_strmap(struct dec *d, const msgpack_object *o, size_t cap, struct store_strmap *m)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_fail(d, "not a map");
	if (o->via.map.size > cap)
		return dec_fail(d, "too many items");
	m->n = o->via.map.size;
	m->v = xcalloc(m->n ? m->n : 1, sizeof *m->v);
	for (uint32_t i = 0; i < m->n; i++) {
		if (dec_str(d, &o->via.map.ptr[i].key, STORE_REC_ITEM_MAX, &m->v[i].k) ||
		    dec_str(d, &o->via.map.ptr[i].val, STORE_REC_ITEM_MAX, &m->v[i].v))
			return -EBADMSG;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(m->v[j].k, m->v[i].k) == 0)
				return dec_fail(d, "duplicate map key");
	}
	return 0;
}

static int dec_ipmap(struct dec *d, const msgpack_object *o, size_t cap, struct store_ipmap *m)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_fail(d, "not a map");
	if (o->via.map.size > cap)
		return dec_fail(d, "too many items");
	m->n = o->via.map.size;
	m->v = xcalloc(m->n ? m->n : 1, sizeof *m->v);
	for (uint32_t i = 0; i < m->n; i++) {
		if (dec_str(d, &o->via.map.ptr[i].key, STORE_REC_ITEM_MAX, &m->v[i].host) ||
		    dec_strs(d, &o->via.map.ptr[i].val, STORE_REC_IPS_MAX, &m->v[i].ips))
			return -EBADMSG;
	}
	return 0;
}

static int dec_recs(struct dec *d, const struct store_field *f, const msgpack_object *o, struct store_recs *r)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return dec_fail(d, "not an array");
	if (o->via.array.size > f->cap)
		return dec_fail(d, "too many items");
	r->n = o->via.array.size;
	r->v = xcalloc(r->n ? r->n : 1, f->sub->size);
	for (uint32_t i = 0; i < r->n; i++) {
		struct dec sd = {d->why, d->whylen, NULL};
		if (dec_map(&sd, f->sub, &o->via.array.ptr[i], (uint8_t *)r->v + i * f->sub->size))
			return -EBADMSG;
	}
	return 0;
}

static int dec_field(struct dec *d, const struct store_field *f, const msgpack_object *o, void *rec)
{
	int64_t v = 0;
	bool nil = o->type == MSGPACK_OBJECT_NIL;
	switch (f->type) {
	case STORE_FT_I64:
	case STORE_FT_TIME:
		return dec_int(d, o, INT64_MIN, INT64_MAX, FIELD_AT(rec, f, int64_t));
	case STORE_FT_OPTTIME:
		if (nil)
			return *FIELD_AT(rec, f, int64_t) = 0, 0;
		return dec_int(d, o, INT64_MIN, INT64_MAX, FIELD_AT(rec, f, int64_t));
	case STORE_FT_U64:
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return dec_fail(d, "not an unsigned integer");
		return *FIELD_AT(rec, f, uint64_t) = o->via.u64, 0;
	case STORE_FT_I32:
		if (dec_int(d, o, INT32_MIN, INT32_MAX, &v))
			return -EBADMSG;
		return *FIELD_AT(rec, f, int32_t) = (int32_t)v, 0;
	case STORE_FT_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return dec_fail(d, "not a boolean");
		return *FIELD_AT(rec, f, bool) = o->via.boolean, 0;
	case STORE_FT_OPTBOOL:
		if (!nil && o->type != MSGPACK_OBJECT_BOOLEAN)
			return dec_fail(d, "not a boolean or nil");
		return *FIELD_AT(rec, f, int8_t) = nil ? -1 : o->via.boolean ? 1 : 0, 0;
	case STORE_FT_STR:
		return dec_str(d, o, f->cap, FIELD_AT(rec, f, char *));
	case STORE_FT_BYTES:
		if (o->type != MSGPACK_OBJECT_BIN)
			return dec_fail(d, "not bytes");
		if (o->via.bin.size > f->cap)
			return dec_fail(d, "bytes over their cap");
		if (o->via.bin.size) /* msgpack-c may give NULL for empty data */
			buf_append(FIELD_AT(rec, f, struct buf), o->via.bin.ptr, o->via.bin.size);
		return 0;
	case STORE_FT_STRS:
		return dec_strs(d, o, f->cap, FIELD_AT(rec, f, struct store_strs));
	case STORE_FT_STRMAP:
		return dec_strmap(d, o, f->cap, FIELD_AT(rec, f, struct store_strmap));
	case STORE_FT_IPMAP:
		return dec_ipmap(d, o, f->cap, FIELD_AT(rec, f, struct store_ipmap));
	case STORE_FT_RECS:
		return dec_recs(d, f, o, FIELD_AT(rec, f, struct store_recs));
	}
	panic("store_codec: field %s has unknown type %d", f->name, f->type);
}

static int dec_map(struct dec *d, const struct store_schema *s, const msgpack_object *o, void *rec)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_fail(d, "record is not a map");
	int8_t idx[64];
	memset(idx, -1, sizeof idx);
	for (int i = 0; i < s->nfields; i++)
		idx[s->fields[i].num] = (int8_t)i;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_POSITIVE_INTEGER || k->via.u64 > 63 || idx[k->via.u64] < 0)
			return dec_fail(d, "unknown field key");
		if (seen & (1ull << k->via.u64))
			return dec_fail(d, "field repeated");
		seen |= 1ull << k->via.u64;
		d->f = &s->fields[idx[k->via.u64]];
		if (dec_field(d, d->f, &o->via.map.ptr[i].val, rec))
			return -EBADMSG;
		d->f = NULL;
	}
	for (int i = 0; i < s->nfields; i++) {
		if (!(seen & (1ull << s->fields[i].num))) {
			d->f = &s->fields[i];
			return dec_fail(d, "missing");
		}
	}
	return 0;
}

int store_codec_decode(const struct store_schema *s, struct slice in, void *rec, char *why, size_t whylen)
{
	struct dec d = {why, whylen, NULL};
	char tmp[2];
	if (!why)
		d.why = tmp, d.whylen = sizeof tmp;
	memset(rec, 0, s->size);
	if (in.len == 0)
		return dec_fail(&d, "empty record");
	if (in.len > store_codec_max(s))
		return dec_fail(&d, "record over its size limit");
	if (in.p[0] != s->version) {
		snprintf(d.why, d.whylen, "%s record version %u, want %u", s->name, in.p[0], s->version);
		return -EBADMSG;
	}
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	int r;
	msgpack_unpack_return ur = msgpack_unpack_next(&up, (const char *)in.p + 1, in.len - 1, &off);
	if (ur != MSGPACK_UNPACK_SUCCESS)
		r = dec_fail(&d, ur == MSGPACK_UNPACK_CONTINUE ? "truncated msgpack" : "malformed msgpack");
	else if (off != in.len - 1)
		r = dec_fail(&d, "trailing bytes after the record");
	else
		r = dec_map(&d, s, &up.data, rec);
	msgpack_unpacked_destroy(&up);
	if (r)
		store_codec_free(s, rec);
	return r;
}

/* ---- free ---- */

static void free_strs(struct store_strs *v)
{
	for (uint32_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

void store_codec_free(const struct store_schema *s, void *rec)
{
	for (int i = 0; i < s->nfields; i++) {
		const struct store_field *f = &s->fields[i];
		switch (f->type) {
		case STORE_FT_STR:
			free(*FIELD_AT(rec, f, char *));
			break;
		case STORE_FT_BYTES:
			buf_free(FIELD_AT(rec, f, struct buf));
			break;
		case STORE_FT_STRS:
			free_strs(FIELD_AT(rec, f, struct store_strs));
			break;
		case STORE_FT_STRMAP: {
			struct store_strmap *m = FIELD_AT(rec, f, struct store_strmap);
			for (uint32_t j = 0; j < m->n; j++) {
				free(m->v[j].k);
				free(m->v[j].v);
			}
			free(m->v);
			break;
		}
		case STORE_FT_IPMAP: {
			struct store_ipmap *m = FIELD_AT(rec, f, struct store_ipmap);
			for (uint32_t j = 0; j < m->n; j++) {
				free(m->v[j].host);
				free_strs(&m->v[j].ips);
			}
			free(m->v);
			break;
		}
		case STORE_FT_RECS: {
			struct store_recs *r = FIELD_AT(rec, f, struct store_recs);
			for (uint32_t j = 0; j < r->n; j++)
				store_codec_free(f->sub, (uint8_t *)r->v + j * f->sub->size);
			free(r->v);
			break;
		}
		default:
			break;
		}
	}
	memset(rec, 0, s->size);
}
