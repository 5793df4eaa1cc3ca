/* Text dump of column families.
 *
 * DESIGN: which schema a value has follows from its column family and key
 * (store_rec_schema_for), so the dump needs no knowledge of the callers. Values
 * that are not records are shown by shape: 8 bytes as a number (ids, counters,
 * high-water mark), 4 bytes as a number (schema version), empty as `-`, other
 * bytes (message chunks) as a length and a short quoted preview. */
#include "store/store_dump.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_iter.h"
#include "store/store_rec.h"

#define PREVIEW 32

void store_dump_value(enum store_cf cf, struct slice key, struct slice value, size_t max_bytes, struct buf *out)
{
	const struct store_schema *sch = store_rec_schema_for(cf, key);
	if (sch) {
		void *rec = xcalloc(1, sch->size);
		char why[256];
		if (store_codec_decode(sch, value, rec, why, sizeof why) == 0) {
			buf_printf(out, "%s/v%u ", sch->name, value.p[0]);
			store_codec_dump(sch, rec, out, max_bytes);
			store_codec_free(sch, rec);
		} else {
			char q[600];
			buf_printf(out, "CORRUPT reason=%s len=%zu bytes=0x", log_quote(q, sizeof q, slice_str(why)), value.len);
			for (size_t i = 0; i < value.len && i < max_bytes; i++)
				buf_printf(out, "%02x", value.p[i]);
		}
		free(rec);
		return;
	}
	if (value.len == 0) {
		buf_putc(out, '-');
	} else if (value.len == 8) {
		buf_printf(out, "%llu", (unsigned long long)be64_get(value.p));
	} else if (value.len == 4) {
		buf_printf(out, "%u", (unsigned)(value.p[0] << 24 | value.p[1] << 16 | value.p[2] << 8 | value.p[3]));
	} else {
		char q[4 * PREVIEW + 8];
		size_t n = value.len < PREVIEW ? value.len : PREVIEW;
		buf_printf(out, "(%zu bytes) %s%s", value.len, log_quote(q, sizeof q, slice_of(value.p, n)),
		           n < value.len ? "..." : "");
	}
}

static long dump_cf(struct store *s, enum store_cf cf, size_t max_bytes, store_dump_line_cb cb, void *arg, bool *stop)
{
	struct store_iter *it = store_iter_new(s, cf, slice_of("", 0), slice_of("", 0));
	struct buf line;
	buf_init(&line);
	long n = 0;
	for (; store_iter_valid(it) && !*stop; store_iter_next(it)) {
		buf_reset(&line);
		buf_printf(&line, "%s ", store_cf_name(cf));
		store_key_format(cf, store_iter_key(it), &line);
		buf_putc(&line, ' ');
		store_dump_value(cf, store_iter_key(it), store_iter_value(it), max_bytes, &line);
		n++;
		if (cb(arg, buf_cstr(&line), line.len) != 0)
			*stop = true;
	}
	int r = store_iter_status(it);
	store_iter_free(it);
	buf_free(&line);
	return r ? r : n;
}

long store_dump(struct store *s, int cf, size_t max_bytes, store_dump_line_cb cb, void *arg)
{
	bool stop = false;
	long total = 0;
	for (int i = 0; i < STORE_CF_N && !stop; i++) {
		if (cf >= 0 && i != cf)
			continue;
		long n = dump_cf(s, (enum store_cf)i, max_bytes, cb, arg, &stop);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}
