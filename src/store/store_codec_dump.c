/* Text rendering of records for `tern store dump` and logs.
 *
 * DESIGN: the same field table as encode/decode walks the record, so a new field
 * shows up in dumps without code here. Strings and bytes go through log_quote()
 * (quoted and escaped when needed, non-ASCII as \xNN) so a dump line is one line
 * whatever a peer put in a Subject; byte fields are cut at max_bytes. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_codec.h"

#define CFIELD_AT(rec, f, T) ((const T *)((const uint8_t *)(rec) + (f)->off))

void store_codec_dump_time(struct buf *out, int64_t ms)
{
	char t[48];
	clock_rfc3339(t, ms);
	size_t n = strlen(t);
	if (n && t[n - 1] == 'Z')
		t[n - 1] = 0;
	buf_printf(out, "%s.%03dZ", t, (int)(((ms % 1000) + 1000) % 1000));
}

static void dump_bytes(struct buf *out, struct slice s, size_t max)
{
	size_t n = s.len < max ? s.len : max;
	size_t cap = 4 * n + 8;
	char *q = xmalloc(cap);
	buf_puts(out, n ? log_quote(q, cap, slice_of(s.p, n)) : "\"\"");
	free(q);
	if (n < s.len)
		buf_printf(out, "...(%zu bytes)", s.len);
}

static void dump_str(struct buf *out, const char *s)
{
	dump_bytes(out, slice_str(s), STORE_REC_ITEM_MAX);
}

static void dump_strs(struct buf *out, const struct store_strs *v)
{
	buf_putc(out, '[');
	for (uint32_t i = 0; i < v->n; i++) {
		if (i)
			buf_putc(out, ',');
		dump_str(out, v->v[i]);
	}
	buf_putc(out, ']');
}

static void dump_field(struct buf *out, const struct store_field *f, const void *rec, size_t max)
{
	switch (f->type) {
	case STORE_FT_I64:
		buf_printf(out, "%lld", (long long)*CFIELD_AT(rec, f, int64_t));
		break;
	case STORE_FT_U64:
		buf_printf(out, "%llu", (unsigned long long)*CFIELD_AT(rec, f, uint64_t));
		break;
	case STORE_FT_I32:
		buf_printf(out, "%d", *CFIELD_AT(rec, f, int32_t));
		break;
	case STORE_FT_BOOL:
		buf_puts(out, *CFIELD_AT(rec, f, bool) ? "true" : "false");
		break;
	case STORE_FT_OPTTIME:
		if (!*CFIELD_AT(rec, f, int64_t)) {
			buf_puts(out, "null");
			break;
		}
		/* fall through */
	case STORE_FT_TIME:
		store_codec_dump_time(out, *CFIELD_AT(rec, f, int64_t));
		break;
	case STORE_FT_OPTBOOL: {
		int8_t b = *CFIELD_AT(rec, f, int8_t);
		buf_puts(out, b < 0 ? "null" : b ? "true" : "false");
		break;
	}
	case STORE_FT_STR:
		dump_str(out, *CFIELD_AT(rec, f, char *));
		break;
	case STORE_FT_BYTES:
		dump_bytes(out, buf_slice(CFIELD_AT(rec, f, struct buf)), max);
		break;
	case STORE_FT_STRS:
		dump_strs(out, CFIELD_AT(rec, f, struct store_strs));
		break;
	case STORE_FT_STRMAP: {
		const struct store_strmap *m = CFIELD_AT(rec, f, struct store_strmap);
		buf_putc(out, '{');
		for (uint32_t i = 0; i < m->n; i++) {
			buf_puts(out, i ? "," : "");
			dump_str(out, m->v[i].k);
			buf_putc(out, ':');
			dump_str(out, m->v[i].v);
		}
		buf_putc(out, '}');
		break;
	}
	case STORE_FT_IPMAP: {
		const struct store_ipmap *m = CFIELD_AT(rec, f, struct store_ipmap);
		buf_putc(out, '{');
		for (uint32_t i = 0; i < m->n; i++) {
			buf_puts(out, i ? "," : "");
			dump_str(out, m->v[i].host);
			buf_putc(out, ':');
			dump_strs(out, &m->v[i].ips);
		}
		buf_putc(out, '}');
		break;
	}
	case STORE_FT_RECS: {
		const struct store_recs *r = CFIELD_AT(rec, f, struct store_recs);
		buf_putc(out, '[');
		for (uint32_t i = 0; i < r->n; i++) {
			buf_puts(out, i ? " {" : "{");
			store_codec_dump(f->sub, (const uint8_t *)r->v + i * f->sub->size, out, max);
			buf_putc(out, '}');
		}
		buf_putc(out, ']');
		break;
	}
	}
}

void store_codec_dump(const struct store_schema *s, const void *rec, struct buf *out, size_t max_bytes)
{
	for (int i = 0; i < s->nfields; i++) {
		if (i)
			buf_putc(out, ' ');
		buf_printf(out, "%s=", s->fields[i].name);
		dump_field(out, &s->fields[i], rec, max_bytes);
	}
}
