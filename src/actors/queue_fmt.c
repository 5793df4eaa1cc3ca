/* Text and JSON renderings of queue and retired records (queue.md §13).
 *
 * DESIGN: list lines are what scripts parse, so each is built in one place
 * with the exact spec form: RFC 3339 UTC times with seconds, durations
 * rounded to the second (conf_duration_format), `<>` for a null sender, and
 * the last error quoted with `"` and `\` escaped. JSON is driven by the record
 * schema (store_rec.h), so every stored field appears under its §1 name; the
 * internal DataID is left out and a result's duration is written as
 * `Duration` in nanoseconds (Go's time.Duration, as mox does). */
#include "actors/queue_fmt.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_duration.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "proto/base64.h"
#include "store/store_rec.h"

static void put_addr(struct buf *out, const char *lp, const char *dom)
{
	size_t before = out->len;
	queue_filter_addr(out, lp, dom);
	if (out->len == before)
		buf_puts(out, "<>");
}

static void put_time(struct buf *out, int64_t ms)
{
	char t[32];
	buf_puts(out, clock_rfc3339(t, ms));
}

static void put_ago(struct buf *out, int64_t last, int64_t now)
{
	char d[CONF_DURATION_STRLEN];
	if (last <= 0)
		buf_puts(out, "last -");
	else
		buf_printf(out, "last %s ago", conf_duration_format(now > last ? now - last : 0, d));
}

static void put_error(struct buf *out, const struct store_queue_rec *r)
{
	const struct store_msg_result *v = r->results.v;
	const char *e = r->results.n ? v[r->results.n - 1].error : NULL;
	buf_puts(out, "error \"");
	for (; e && *e; e++) {
		if (*e == '"' || *e == '\\')
			buf_putc(out, '\\');
		buf_putc(out, (uint8_t)*e);
	}
	buf_puts(out, "\"\n");
}

void queue_fmt_line(struct buf *out, const struct store_queue_rec *r, int64_t now)
{
	char d[CONF_DURATION_STRLEN];
	buf_printf(out, "%lld ", (long long)r->id);
	put_time(out, r->queued);
	buf_puts(out, " from:");
	put_addr(out, r->sender_localpart, r->sender_domain);
	buf_puts(out, " to:");
	put_addr(out, r->recipient_localpart, r->recipient_domain);
	if (r->next_attempt > now)
		buf_printf(out, " next in %s ", conf_duration_format(r->next_attempt - now, d));
	else
		buf_puts(out, " next now ");
	put_ago(out, r->last_attempt, now);
	buf_puts(out, r->hold ? " hold " : " ");
	put_error(out, r);
}

void queue_fmt_retired_line(struct buf *out, const struct store_retired_rec *r, int64_t now)
{
	buf_printf(out, "%lld ", (long long)r->q.id);
	put_time(out, r->q.queued);
	buf_puts(out, r->success ? " success from:" : " failure from:");
	put_addr(out, r->q.sender_localpart, r->q.sender_domain);
	buf_puts(out, " to:");
	put_addr(out, r->q.recipient_localpart, r->q.recipient_domain);
	buf_putc(out, ' ');
	put_ago(out, r->last_activity, now);
	buf_putc(out, ' ');
	put_error(out, &r->q);
}

void queue_fmt_holdrule(struct buf *out, const struct store_holdrule *h)
{
	buf_printf(out, "id %lld: ", (long long)h->id);
	const char *sep = "";
	if (h->account && *h->account)
		buf_printf(out, "%saccount \"%s\"", sep, h->account), sep = ", ";
	if (h->sender_domain && *h->sender_domain)
		buf_printf(out, "%ssender domain \"%s\"", sep, h->sender_domain), sep = ", ";
	if (h->recipient_domain && *h->recipient_domain)
		buf_printf(out, "%srecipient domain \"%s\"", sep, h->recipient_domain), sep = ", ";
	if (!*sep)
		buf_puts(out, "all messages");
	buf_putc(out, '\n');
}

static json_t *json_time(int64_t ms)
{
	char t[32];
	return json_string(clock_rfc3339(t, ms));
}

/* A JSON string; invalid UTF-8 (jansson refuses it) has its non-ASCII bytes shown as '?'. */
static json_t *json_text(const char *v)
{
	json_t *j = json_string(v ? v : "");
	if (j)
		return j;
	char *c = xstrdup(v);
	for (char *p = c; *p; p++)
		if ((uint8_t)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j;
}

static json_t *json_strs(const struct store_strs *s)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_text(s->v[i]));
	return a;
}

static json_t *to_json(const struct store_schema *s, const void *rec);

static json_t *field_json(const struct store_field *f, const void *rec)
{
	const char *p = (const char *)rec + f->off;
	switch (f->type) {
	case STORE_FT_I64:
		return json_integer(*(const int64_t *)p);
	case STORE_FT_U64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case STORE_FT_I32:
		return json_integer(*(const int32_t *)p);
	case STORE_FT_BOOL:
		return json_boolean(*(const bool *)p);
	case STORE_FT_TIME:
		return json_time(*(const int64_t *)p);
	case STORE_FT_OPTTIME:
		return *(const int64_t *)p ? json_time(*(const int64_t *)p) : json_null();
	case STORE_FT_OPTBOOL:
		return *(const int8_t *)p < 0 ? json_null() : json_boolean(*(const int8_t *)p);
	case STORE_FT_STR:
		return json_text(*(char *const *)p);
	case STORE_FT_BYTES: {
		const struct buf *b = (const struct buf *)p;
		if (!b->len)
			return json_null();
		struct buf e;
		buf_init(&e);
		base64_encode(&e, buf_slice(b));
		json_t *j = json_stringn((const char *)e.p, e.len);
		buf_free(&e);
		return j;
	}
	case STORE_FT_STRS:
		return json_strs((const struct store_strs *)p);
	case STORE_FT_STRMAP: {
		const struct store_strmap *m = (const struct store_strmap *)p;
		json_t *o = json_object();
		for (uint32_t i = 0; i < m->n; i++)
			json_object_set_new(o, m->v[i].k, json_text(m->v[i].v));
		return o;
	}
	case STORE_FT_IPMAP: {
		const struct store_ipmap *m = (const struct store_ipmap *)p;
		json_t *o = json_object();
		for (uint32_t i = 0; i < m->n; i++)
			json_object_set_new(o, m->v[i].host, json_strs(&m->v[i].ips));
		return o;
	}
	case STORE_FT_RECS: {
		const struct store_recs *r = (const struct store_recs *)p;
		json_t *a = json_array();
		for (uint32_t i = 0; i < r->n; i++)
			json_array_append_new(a, to_json(f->sub, (const char *)r->v + i * f->sub->size));
		return a;
	}
	}
	return json_null();
}

static json_t *to_json(const struct store_schema *s, const void *rec)
{
	json_t *o = json_object();
	for (int i = 0; i < s->nfields; i++) {
		const struct store_field *f = &s->fields[i];
		if (strcmp(f->name, "DataID") == 0)
			continue;
		if (strcmp(f->name, "DurationMs") == 0) {
			json_object_set_new(o, "Duration", json_integer(*(const int64_t *)((const char *)rec + f->off) * 1000000));
			continue;
		}
		json_t *v = field_json(f, rec);
		json_object_set_new(o, f->name, v ? v : json_null());
	}
	return o;
}

void queue_fmt_json(struct buf *out, const struct store_schema *schema, const void *rec)
{
	json_t *o = to_json(schema, rec);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		buf_puts(out, s);
	buf_putc(out, '\n');
	free(s);
	json_decref(o);
}
