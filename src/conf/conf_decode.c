/* Decoding a YAML node tree into config structs by their field tables.
 *
 * DESIGN: decoding never stops at the first problem: each error is recorded as
 * `file:line: Path.To.Field: message` and the field keeps its default, so one
 * run reports several mistakes (up to CONF_MAX_ERRORS). Types are strict
 * where YAML has types: a quoted "true" is not a boolean and a quoted "25" is
 * not a number, but any non-null scalar is accepted where a string is wanted
 * (PolicyID: 20250101). Absent and null both mean "use the default". */
#include "conf/conf_schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_duration.h"
#include "conf/conf_map.h"
#include "core/xmalloc.h"

#define AT(obj, off, type) ((type *)((char *)(obj) + (off)))

static void verr(struct conf_dec *d, const char *file, int line, const char *fmt, va_list ap)
{
	if (d->nerr++ >= CONF_MAX_ERRORS) {
		if (d->nerr == CONF_MAX_ERRORS + 1)
			buf_printf(d->err, "%s: too many errors\n", d->file);
		return;
	}
	buf_printf(d->err, "%s:%d: ", file, line);
	buf_vprintf(d->err, fmt, ap);
	buf_putc(d->err, '\n');
}

void conf_dec_err(struct conf_dec *d, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(d, d->file, line, fmt, ap);
	va_end(ap);
}

void conf_dec_err_in(struct conf_dec *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(d, file, line, fmt, ap);
	va_end(ap);
}

/* An error about the field at the current path. */
static void ferr(struct conf_dec *d, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ferr(struct conf_dec *d, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (d->path.len)
		conf_dec_err(d, line, "%s: %s", buf_cstr(&d->path), msg);
	else
		conf_dec_err(d, line, "%s", msg);
}

static size_t path_push(struct conf_dec *d, const char *name)
{
	size_t old = d->path.len;
	if (old)
		buf_putc(&d->path, '.');
	buf_puts(&d->path, name);
	return old;
}

static size_t path_push_index(struct conf_dec *d, size_t i)
{
	size_t old = d->path.len;
	buf_printf(&d->path, "[%zu]", i);
	return old;
}

static const char *kind_what(const struct conf_node *n)
{
	if (n->kind == CONF_NODE_SEQ)
		return "a list";
	if (n->kind == CONF_NODE_MAP)
		return "a mapping";
	return n->plain ? "a plain scalar" : "a quoted string";
}

static bool want_scalar(struct conf_dec *d, const struct conf_node *n, const char *what)
{
	if (n->kind == CONF_NODE_SCALAR)
		return true;
	ferr(d, n->line, "expected %s, got %s", what, kind_what(n));
	return false;
}

static const char *const true_words[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N", NULL};

static bool in_words(const char *s, const char *const *w)
{
	for (; *w; w++)
		if (strcmp(s, *w) == 0)
			return true;
	return false;
}

static void dec_bool(struct conf_dec *d, const struct conf_node *n, bool *out)
{
	if (!want_scalar(d, n, "a boolean"))
		return;
	if (n->plain && in_words(n->str, true_words))
		*out = true;
	else if (n->plain && in_words(n->str, false_words))
		*out = false;
	else
		ferr(d, n->line, "expected a boolean (true or false), got \"%s\"", n->str);
}

static bool dec_i64(struct conf_dec *d, const struct conf_field *f, const struct conf_node *n, int64_t *out)
{
	if (!want_scalar(d, n, "an integer"))
		return false;
	const char *s = n->str;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	const char *ds = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
	/* "010" would be octal to a YAML 1.1 reader: refuse rather than guess */
	bool digits = ds[0] >= '0' && ds[0] <= '9' && !(ds[0] == '0' && ds[1]);
	if (!n->plain || !digits || *end || errno) {
		ferr(d, n->line, "expected an integer, got \"%s\"", s);
		return false;
	}
	if ((f->flags & CONF_F_RANGE) && (v < f->min || v > f->max)) {
		ferr(d, n->line, "%lld is out of range %lld..%lld", v, (long long)f->min, (long long)f->max);
		return false;
	}
	*out = v;
	return true;
}

static bool dec_dur(struct conf_dec *d, const struct conf_field *f, const struct conf_node *n, int64_t *out)
{
	if (!want_scalar(d, n, "a duration"))
		return false;
	int64_t v;
	if (conf_duration_parse(n->str, &v) < 0) {
		ferr(d, n->line, "invalid duration \"%s\" (use e.g. 30s, 7m30s, 72h)", n->str);
		return false;
	}
	if ((f->flags & CONF_F_RANGE) && (v < f->min || v > f->max)) {
		char a[CONF_DURATION_STRLEN], b[CONF_DURATION_STRLEN];
		ferr(d, n->line, "duration \"%s\" is out of range %s..%s", n->str,
		     conf_duration_format_exact(f->min, a), conf_duration_format_exact(f->max, b));
		return false;
	}
	*out = v;
	return true;
}

static void dec_enum(struct conf_dec *d, const struct conf_field *f, const struct conf_node *n, int *out)
{
	if (!want_scalar(d, n, "a string"))
		return;
	for (int i = 0; f->names[i]; i++) {
		if (strcasecmp(n->str, f->names[i]) == 0) {
			*out = i;
			return;
		}
	}
	char list[256] = "";
	for (int i = 0; f->names[i]; i++) {
		if (i)
			strncat(list, ", ", sizeof list - strlen(list) - 1);
		strncat(list, f->names[i], sizeof list - strlen(list) - 1);
	}
	ferr(d, n->line, "unknown value \"%s\" (one of: %s)", n->str, list);
}

static char *resolve(const struct conf_dec *d, const char *p)
{
	if (p[0] == '/' || !d->base_dir)
		return xstrdup(p);
	return xasprintf("%s/%s", d->base_dir, p);
}

static void dec_str(struct conf_dec *d, const struct conf_node *n, char **out)
{
	if (!want_scalar(d, n, "a string"))
		return;
	free(*out);
	*out = xstrdup(n->str);
}

/* Lists of scalars: strings (STRS, PATHS) or durations (DURS). */
static void dec_scalar_list(struct conf_dec *d, const struct conf_field *f, void *obj, const struct conf_node *n)
{
	if (n->kind != CONF_NODE_SEQ) {
		ferr(d, n->line, "expected a list, got %s", kind_what(n));
		return;
	}
	struct conf_strs strs = {0};
	struct conf_durs durs = {0};
	if (f->kind == CONF_K_DURS)
		durs.v = xcalloc(n->n, sizeof *durs.v);
	else
		strs.v = xcalloc(n->n, sizeof *strs.v);
	for (size_t i = 0; i < n->n; i++) {
		const struct conf_node *it = n->items[i];
		size_t old = path_push_index(d, i);
		if (conf_node_is_null(it) || it->kind != CONF_NODE_SCALAR)
			ferr(d, it->line, "expected %s, got %s", f->kind == CONF_K_DURS ? "a duration" : "a string",
			     conf_node_is_null(it) ? "null" : kind_what(it));
		else if (f->kind == CONF_K_DURS)
			dec_dur(d, f, it, &durs.v[durs.n++]);
		else
			strs.v[strs.n++] = xstrdup(it->str);
		d->path.len = old;
	}
	if (f->kind == CONF_K_DURS) {
		struct conf_durs *dst = AT(obj, f->off, struct conf_durs);
		free(dst->v);
		*dst = durs;
		return;
	}
	*AT(obj, f->off, struct conf_strs) = strs;
	if (f->kind == CONF_K_PATHS) {
		struct conf_strs *r = AT(obj, f->off2, struct conf_strs);
		r->n = strs.n;
		r->v = xcalloc(strs.n ? strs.n : 1, sizeof *r->v);
		for (size_t i = 0; i < strs.n; i++)
			r->v[i] = resolve(d, strs.v[i]);
	}
}

static void dec_i64x3(struct conf_dec *d, const struct conf_field *f, void *obj, const struct conf_node *n)
{
	if (n->kind != CONF_NODE_SEQ || n->n != 3) {
		ferr(d, n->line, "expected a list of 3 integers (mask levels 1, 2, 3)");
		return;
	}
	int64_t v[3];
	bool ok = true;
	for (size_t i = 0; i < 3; i++) {
		size_t old = path_push_index(d, i);
		ok = dec_i64(d, f, n->items[i], &v[i]) && ok;
		d->path.len = old;
	}
	if (ok)
		memcpy(AT(obj, f->off, int64_t), v, sizeof v);
}

/* MAP and LIST of structs. */
static void dec_elems(struct conf_dec *d, const struct conf_field *f, void *obj, const struct conf_node *n)
{
	bool map = f->kind == CONF_K_MAP;
	if (n->kind != (map ? CONF_NODE_MAP : CONF_NODE_SEQ)) {
		ferr(d, n->line, "expected %s, got %s", map ? "a mapping" : "a list", kind_what(n));
		return;
	}
	size_t count = map ? n->n / 2 : n->n;
	struct conf_map seen; /* keys so far: duplicates are errors (YAML says keys are unique) */
	conf_map_init(&seen, map ? count : 0);
	for (size_t i = 0; i < count; i++) {
		const struct conf_node *key = map ? n->items[2 * i] : NULL;
		const struct conf_node *val = map ? n->items[2 * i + 1] : n->items[i];
		if (map && (key->kind != CONF_NODE_SCALAR || conf_node_is_null(key) || key->len == 0)) {
			ferr(d, key->line, "keys must be non-empty strings");
			continue;
		}
		size_t old = map ? path_push(d, key->str) : path_push_index(d, i);
		if (map && conf_map_put(&seen, key->str, key->len, (void *)key, NULL) < 0) {
			ferr(d, key->line, "duplicate key");
		} else {
			void *e = conf_schema_append(f, obj, map ? key->str : NULL);
			conf_schema_decode(d, f->sub, e, val, map ? key->line : val->line);
		}
		d->path.len = old;
	}
	conf_map_free(&seen);
}

static void dec_field(struct conf_dec *d, const struct conf_field *f, void *obj, const struct conf_node *n, int kline)
{
	switch (f->kind) {
	case CONF_K_STR:
		dec_str(d, n, AT(obj, f->off, char *));
		break;
	case CONF_K_PATH: {
		char **raw = AT(obj, f->off, char *);
		dec_str(d, n, raw);
		break;
	}
	case CONF_K_BOOL:
		dec_bool(d, n, AT(obj, f->off, bool));
		break;
	case CONF_K_INT: {
		int64_t v;
		if (dec_i64(d, f, n, &v))
			*AT(obj, f->off, int) = (int)v;
		break;
	}
	case CONF_K_I64:
		dec_i64(d, f, n, AT(obj, f->off, int64_t));
		break;
	case CONF_K_ENUM:
		dec_enum(d, f, n, AT(obj, f->off, int));
		break;
	case CONF_K_DUR:
		dec_dur(d, f, n, AT(obj, f->off, int64_t));
		break;
	case CONF_K_STRS:
	case CONF_K_PATHS:
	case CONF_K_DURS:
		dec_scalar_list(d, f, obj, n);
		break;
	case CONF_K_I64X3:
		dec_i64x3(d, f, obj, n);
		break;
	case CONF_K_OBJ:
		conf_schema_decode(d, f->sub, AT(obj, f->off, char), n, kline);
		break;
	case CONF_K_OPT: {
		void *e = xmalloc(f->sub->size);
		conf_schema_init(f->sub, e);
		conf_schema_decode(d, f->sub, e, n, kline);
		*AT(obj, f->off, void *) = e;
		break;
	}
	case CONF_K_MAP:
	case CONF_K_LIST:
		dec_elems(d, f, obj, n);
		break;
	}
}

/* Fields that are absent or null: required ones are errors, paths get resolved defaults. */
static void finish_absent(struct conf_dec *d, const struct conf_field *f, void *obj, int line)
{
	if (f->flags & CONF_F_REQUIRED) {
		size_t old = path_push(d, f->name);
		ferr(d, line, "missing required field");
		d->path.len = old;
	}
}

static const struct conf_node *find_value(const struct conf_node *n, const char *name, int *line)
{
	return n && n->kind == CONF_NODE_MAP ? conf_node_get(n, name, line) : NULL;
}

static void check_unknown(struct conf_dec *d, const struct conf_schema *s, const struct conf_node *n)
{
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct conf_node *k = n->items[i];
		if (k->kind != CONF_NODE_SCALAR) {
			ferr(d, k->line, "keys must be strings");
			continue;
		}
		bool known = false;
		for (size_t j = 0; j < s->nfields && !known; j++)
			known = strcmp(s->fields[j].name, k->str) == 0;
		size_t old = path_push(d, k->str);
		if (!known)
			ferr(d, k->line, "unknown field");
		for (size_t j = 0; known && j < i; j += 2)
			if (n->items[j]->kind == CONF_NODE_SCALAR && strcmp(n->items[j]->str, k->str) == 0)
				ferr(d, k->line, "duplicate field");
		d->path.len = old;
	}
}

void conf_schema_decode(struct conf_dec *d, const struct conf_schema *s, void *obj,
                        const struct conf_node *n, int line)
{
	if (conf_node_is_null(n)) {
		n = NULL;
	} else if (n->kind != CONF_NODE_MAP) {
		ferr(d, n->line, "expected a mapping, got %s", kind_what(n));
		return;
	} else {
		check_unknown(d, s, n);
	}
	for (size_t i = 0; i < s->nfields; i++) {
		const struct conf_field *f = &s->fields[i];
		int kline = line;
		const struct conf_node *v = find_value(n, f->name, &kline);
		if (conf_node_is_null(v)) {
			finish_absent(d, f, obj, kline);
		} else {
			size_t old = path_push(d, f->name);
			dec_field(d, f, obj, v, kline);
			d->path.len = old;
		}
		if (f->kind == CONF_K_PATH) {
			const char *raw = *AT(obj, f->off, char *);
			char **res = AT(obj, f->off2, char *);
			free(*res);
			*res = raw ? resolve(d, raw) : NULL;
		}
	}
}
