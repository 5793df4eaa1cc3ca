/* Quarantine: a record that fails to decode is moved aside, never lost, never
 * a crash (badinput.md #76).
 *
 * DESIGN: the move is one synced WriteBatch (delete from its column family,
 * put into `quarantine`), so after a crash the record is in exactly one place.
 * The quarantine entry keeps the column family, the key, the value (whole up
 * to STORE_CAP_QVALUE, with its original length) and the decoder's reason;
 * `tern store dump quarantine` shows them. Index entries that pointed at the
 * record stay behind: readers treat an index entry whose record is missing
 * as stale. The counter tern_store_corrupt_total is what alerts. */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store/store_rec.h"

int store_quarantine(struct store *s, enum store_cf cf, struct slice key, struct slice value, const char *reason)
{
	struct store_quarantine_rec q = {.time = clock_wall_ms(), .value_len = (int64_t)value.len};
	q.cf = (char *)store_cf_name(cf);
	q.reason = (char *)(reason ? reason : "");
	size_t klen = key.len < STORE_KEY_MAX ? key.len : STORE_KEY_MAX;
	size_t vlen = value.len < STORE_CAP_QVALUE ? value.len : STORE_CAP_QVALUE;
	/* Borrowed views: the record is only encoded, never freed through the codec. */
	q.key = (struct buf){(uint8_t *)key.p, klen, klen};
	q.value = (struct buf){(uint8_t *)value.p, vlen, vlen};
	char rsn[STORE_CAP_TEXT];
	if (strlen(q.reason) >= sizeof rsn) { /* keep the record encodable: cut to the cap */
		memcpy(rsn, q.reason, sizeof rsn - 1);
		rsn[sizeof rsn - 1] = 0;
		q.reason = rsn;
	}

	struct buf keytext, enc;
	buf_init(&keytext);
	buf_init(&enc);
	store_key_format(cf, key, &keytext);
	int r = store_codec_encode(&store_rec_quarantine, &q, &enc);
	if (r == 0) {
		struct store_key qk;
		store_key_quarantine(&qk, q.time, store_next_id(s));
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
		rocksdb_writebatch_delete_cf(wb, s->cf[cf], (const char *)key.p, key.len);
		rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_QUARANTINE], (const char *)qk.b, qk.len,
		                          (const char *)enc.p, enc.len);
		r = store_write_wb(s, wb, true, NULL);
		rocksdb_writebatch_destroy(wb);
	}
	metric_add(s->m_corrupt, 1);
	char rq[512];
	log_error("store", "corrupt record moved to quarantine", "cf=%s key=%s len=%zu reason=%s moved=%s",
	          store_cf_name(cf), buf_cstr(&keytext), value.len, log_quote(rq, sizeof rq, slice_str(q.reason)),
	          r == 0 ? "yes" : "no");
	buf_free(&keytext);
	buf_free(&enc);
	return r;
}
