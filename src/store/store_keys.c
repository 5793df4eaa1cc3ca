/* Key builders and the key pretty-printer for every column family.
 *
 * DESIGN: a key is built into a fixed stack buffer (struct store_key) with a
 * few put helpers; only variable-length parts (FromID, account and mailbox
 * names) can overflow and those builders return -E2BIG instead of truncating,
 * so two different names can never map to one key. Times are clamped at 0
 * before going big-endian, because a negative int64 would sort after every
 * positive one. store_key_format() is the inverse, for `tern store dump`. */
#include "store/store_keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/store_codec.h"

static const char *const cf_names[STORE_CF_N] = {
	[STORE_CF_DEFAULT] = "default",
	[STORE_CF_MSGDATA] = "msgdata",
	[STORE_CF_QUEUE] = "queue",
	[STORE_CF_RETIRED] = "retired",
	[STORE_CF_HOLDRULES] = "holdrules",
	[STORE_CF_SUPPRESSION] = "suppression",
	[STORE_CF_HOOKS] = "hooks",
	[STORE_CF_HOOKSRETIRED] = "hooksretired",
	[STORE_CF_ACCOUNTS] = "accounts",
	[STORE_CF_REPORTS] = "reports",
	[STORE_CF_MTASTS] = "mtasts",
	[STORE_CF_QUARANTINE] = "quarantine",
};

const char *store_cf_name(enum store_cf cf)
{
	return (unsigned)cf < STORE_CF_N ? cf_names[cf] : "?";
}

int store_cf_parse(const char *name)
{
	for (int i = 0; i < STORE_CF_N; i++)
		if (strcmp(cf_names[i], name) == 0)
			return i;
	return -1;
}

/* ---- put helpers (callers guarantee room for fixed parts) ---- */

static void k_reset(struct store_key *k, uint8_t kind)
{
	k->b[0] = kind;
	k->len = 1;
}

static void k_u64(struct store_key *k, uint64_t v)
{
	be64_put(k->b + k->len, v);
	k->len += 8;
}

static void k_u32(struct store_key *k, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		k->b[k->len + i] = (uint8_t)(v >> (24 - 8 * i));
	k->len += 4;
}

static void k_time(struct store_key *k, int64_t ms)
{
	k_u64(k, ms < 0 ? 0 : (uint64_t)ms);
}

/* Appends s (and a 0 terminator when term) if it fits under max; -E2BIG otherwise. */
static int k_bytes(struct store_key *k, struct slice s, size_t max, bool term)
{
	if (s.len > max || k->len + s.len + 1 + 16 > STORE_KEY_MAX)
		return -E2BIG;
	if (term && memchr(s.p, 0, s.len))
		return -EINVAL; /* a NUL inside a name would end it early and alias another name */
	memcpy(k->b + k->len, s.p, s.len);
	k->len += s.len;
	if (term)
		k->b[k->len++] = 0;
	return 0;
}

/* ---- default ---- */

void store_key_schema(struct store_key *k) { k_reset(k, STORE_K_SCHEMA); }
void store_key_idhwm(struct store_key *k) { k_reset(k, STORE_K_IDHWM); }
void store_key_pending(struct store_key *k, uint64_t dataid)
{
	k_reset(k, STORE_K_PENDING);
	k_u64(k, dataid);
}

/* ---- msgdata: no kind byte ---- */

void store_key_datameta(struct store_key *k, uint64_t dataid)
{
	k->len = 0;
	k_u64(k, dataid);
}

void store_key_chunk(struct store_key *k, uint64_t dataid, uint32_t chunk)
{
	k->len = 0;
	k_u64(k, dataid);
	k_u32(k, chunk);
}

/* ---- queue, retired, holdrules ---- */

void store_key_qrec(struct store_key *k, uint64_t id)
{
	k_reset(k, STORE_K_QREC);
	k_u64(k, id);
}

void store_key_qdue(struct store_key *k, int64_t next_ms, uint64_t id)
{
	k_reset(k, STORE_K_QDUE);
	k_time(k, next_ms);
	k_u64(k, id);
}

void store_key_qheld(struct store_key *k, uint64_t id)
{
	k_reset(k, STORE_K_QHELD);
	k_u64(k, id);
}

void store_key_qbase(struct store_key *k, uint64_t base_id, uint64_t id)
{
	k_reset(k, STORE_K_QBASE);
	k_u64(k, base_id);
	k_u64(k, id);
}

int store_key_fromid(struct store_key *k, struct slice fromid)
{
	k_reset(k, STORE_K_FROMID);
	return k_bytes(k, fromid, STORE_KEY_FROMID_MAX, false);
}

void store_key_rrec(struct store_key *k, uint64_t id)
{
	k_reset(k, STORE_K_RREC);
	k_u64(k, id);
}

void store_key_rkeep(struct store_key *k, int64_t keep_until_ms, uint64_t id)
{
	k_reset(k, STORE_K_RKEEP);
	k_time(k, keep_until_ms);
	k_u64(k, id);
}

void store_key_rlast(struct store_key *k, int64_t last_activity_ms, uint64_t id)
{
	k_reset(k, STORE_K_RLAST);
	k_time(k, last_activity_ms);
	k_u64(k, id);
}

void store_key_holdrule(struct store_key *k, uint64_t id)
{
	k_reset(k, STORE_K_HOLDRULE);
	k_u64(k, id);
}

/* ---- accounts ---- */

int store_key_account(struct store_key *k, struct slice account)
{
	k_reset(k, STORE_K_ACCOUNT);
	return k_bytes(k, account, STORE_KEY_NAME_MAX, true);
}

int store_key_mailbox(struct store_key *k, struct slice account, struct slice mailbox)
{
	int r = store_key_account(k, account);
	if (r)
		return r;
	k->b[k->len++] = STORE_KA_MAILBOX;
	return k_bytes(k, mailbox, STORE_KEY_NAME_MAX, false);
}

int store_key_mailmsg_prefix(struct store_key *k, struct slice account, uint64_t mailbox_id)
{
	int r = store_key_account(k, account);
	if (r)
		return r;
	k->b[k->len++] = STORE_KA_MESSAGE;
	k_u64(k, mailbox_id);
	return 0;
}

int store_key_mailmsg(struct store_key *k, struct slice account, uint64_t mailbox_id, uint32_t uid)
{
	int r = store_key_mailmsg_prefix(k, account, mailbox_id);
	if (r)
		return r;
	k_u32(k, uid);
	return 0;
}

int store_key_account_counter(struct store_key *k, struct slice account, struct slice name)
{
	int r = store_key_account(k, account);
	if (r)
		return r;
	k->b[k->len++] = STORE_KA_COUNTER;
	return k_bytes(k, name, STORE_KEY_NAME_MAX, false);
}

int store_key_account_secrets(struct store_key *k, struct slice account)
{
	int r = store_key_account(k, account);
	if (r)
		return r;
	k->b[k->len++] = STORE_KA_SECRETS;
	return 0;
}

/* ---- quarantine and generic ---- */

void store_key_quarantine(struct store_key *k, int64_t when_ms, uint64_t seq)
{
	k_reset(k, STORE_K_QUAR);
	k_time(k, when_ms);
	k_u64(k, seq);
}

void store_key_kind(struct store_key *k, uint8_t kind)
{
	k_reset(k, kind);
}

int store_key_prefix_end(struct slice prefix, struct store_key *out)
{
	size_t n = prefix.len < STORE_KEY_MAX ? prefix.len : STORE_KEY_MAX;
	memcpy(out->b, prefix.p, n);
	while (n > 0 && out->b[n - 1] == 0xff)
		n--;
	if (n == 0)
		return -1;
	out->b[n - 1]++;
	out->len = n;
	return 0;
}

uint64_t store_key_u64_at(struct slice key, size_t off)
{
	return key.len >= off + 8 ? be64_get(key.p + off) : 0;
}

/* ---- formatting ---- */

/* Shape of a key kind for printing: after the kind byte, 'I' be64 id, 'T' be64 time,
 * 'U' be32, 'S' the rest as a string. */
struct key_shape {
	uint8_t cf, kind;
	const char *shape;
};

static const struct key_shape shapes[] = {
	{STORE_CF_DEFAULT, STORE_K_SCHEMA, ""},
	{STORE_CF_DEFAULT, STORE_K_IDHWM, ""},
	{STORE_CF_DEFAULT, STORE_K_PENDING, "I"},
	{STORE_CF_DEFAULT, STORE_K_COUNTER, "S"},
	{STORE_CF_QUEUE, STORE_K_QREC, "I"},
	{STORE_CF_QUEUE, STORE_K_QDUE, "TI"},
	{STORE_CF_QUEUE, STORE_K_QHELD, "I"},
	{STORE_CF_QUEUE, STORE_K_FROMID, "S"},
	{STORE_CF_QUEUE, STORE_K_QBASE, "II"},
	{STORE_CF_RETIRED, STORE_K_RREC, "I"},
	{STORE_CF_RETIRED, STORE_K_RKEEP, "TI"},
	{STORE_CF_RETIRED, STORE_K_FROMID, "S"},
	{STORE_CF_RETIRED, STORE_K_RLAST, "TI"},
	{STORE_CF_HOLDRULES, STORE_K_HOLDRULE, "I"},
	{STORE_CF_HOOKS, STORE_K_HOOK, "I"},
	{STORE_CF_HOOKS, STORE_K_HOOKDUE, "TI"},
	{STORE_CF_HOOKSRETIRED, STORE_K_HOOK, "I"},
	{STORE_CF_HOOKSRETIRED, STORE_K_HOOKKEEP, "TI"},
	{STORE_CF_MTASTS, STORE_K_MTASTS, "S"},
	{STORE_CF_QUARANTINE, STORE_K_QUAR, "TI"},
};

static void fmt_str(struct buf *out, struct slice s)
{
	char q[600];
	buf_puts(out, log_quote(q, sizeof q, s));
}

static void fmt_hex(struct buf *out, struct slice s)
{
	buf_puts(out, "0x");
	for (size_t i = 0; i < s.len; i++)
		buf_printf(out, "%02x", s.p[i]);
}

/* Prints the fields of shape from key[off...]; returns -1 when the key does not fit it. */
static int fmt_shape(struct buf *out, const char *shape, struct slice key, size_t off)
{
	size_t start = out->len;
	for (const char *c = shape; *c; c++) {
		buf_putc(out, '/');
		size_t need = *c == 'U' ? 4 : *c == 'S' ? 0 : 8;
		if (key.len < off + need)
			goto bad;
		if (*c == 'I')
			buf_printf(out, "%llu", (unsigned long long)be64_get(key.p + off));
		else if (*c == 'T')
			store_codec_dump_time(out, (int64_t)(be64_get(key.p + off) & INT64_MAX));
		else if (*c == 'U')
			buf_printf(out, "%u", (unsigned)(key.p[off] << 24 | key.p[off + 1] << 16 |
			                                  key.p[off + 2] << 8 | key.p[off + 3]));
		else if (*c == 'S')
			need = key.len - off, fmt_str(out, slice_of(key.p + off, need));
		off += need;
	}
	if (off == key.len)
		return 0;
bad:
	out->len = start;
	return -1;
}

static void fmt_account(struct buf *out, struct slice key)
{
	const uint8_t *z = memchr(key.p + 1, 0, key.len - 1);
	if (!z || z + 1 >= key.p + key.len) {
		fmt_hex(out, key);
		return;
	}
	size_t off = (size_t)(z - key.p) + 2;
	uint8_t sub = z[1];
	buf_puts(out, "a/");
	fmt_str(out, slice_of(key.p + 1, (size_t)(z - key.p) - 1));
	buf_printf(out, "/%c", sub);
	const char *shape = sub == STORE_KA_MESSAGE ? "IU" : sub == STORE_KA_MAILBOX || sub == STORE_KA_COUNTER ||
	                                                      sub == STORE_KA_TLSDOM ? "S" : NULL;
	if (!shape || fmt_shape(out, shape, key, off) != 0) {
		buf_putc(out, '/');
		fmt_hex(out, slice_of(key.p + off, key.len - off));
	}
}

void store_key_format(enum store_cf cf, struct slice key, struct buf *out)
{
	if (key.len == 0) {
		buf_puts(out, "(empty)");
		return;
	}
	if (cf == STORE_CF_MSGDATA) {
		if (key.len == 8 || key.len == 12) {
			size_t at = out->len;
			buf_puts(out, key.len == 8 ? "meta" : "chunk");
			if (fmt_shape(out, key.len == 8 ? "I" : "IU", key, 0) == 0)
				return;
			out->len = at;
		}
		fmt_hex(out, key);
		return;
	}
	if (cf == STORE_CF_ACCOUNTS && key.p[0] == STORE_K_ACCOUNT) {
		fmt_account(out, key);
		return;
	}
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		if (shapes[i].cf != cf || shapes[i].kind != key.p[0])
			continue;
		size_t at = out->len;
		buf_putc(out, (char)key.p[0]);
		if (fmt_shape(out, shapes[i].shape, key, 1) == 0)
			return;
		out->len = at;
	}
	fmt_hex(out, key);
}
