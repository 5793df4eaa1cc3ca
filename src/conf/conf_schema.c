/* Generic defaults, free, deep copy and equality over the field tables.
 *
 * DESIGN: every config struct is plain data described by a conf_schema, so
 * one walker per operation replaces a hand-written function per struct and
 * per operation (which would drift apart as fields are added). Derived
 * fields are not in the tables: copies leave them zero and each schema's
 * free_derived hook frees them. */
#include "conf/conf_schema.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

#define AT(obj, off, type) ((type *)((char *)(obj) + (off)))
#define CAT(obj, off, type) ((const type *)((const char *)(obj) + (off)))

static void strs_free(struct conf_strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strs_copy(struct conf_strs *dst, const struct conf_strs *src)
{
	dst->n = src->n;
	dst->v = src->n ? xcalloc(src->n, sizeof *dst->v) : NULL;
	for (size_t i = 0; i < src->n; i++)
		dst->v[i] = xstrdup(src->v[i]);
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void field_init(const struct conf_field *f, void *obj)
{
	switch (f->kind) {
	case CONF_K_STR:
	case CONF_K_PATH:
		*AT(obj, f->off, char *) = f->sdef ? xstrdup(f->sdef) : NULL;
		break;
	case CONF_K_BOOL:
		*AT(obj, f->off, bool) = f->def != 0;
		break;
	case CONF_K_INT:
	case CONF_K_ENUM:
		*AT(obj, f->off, int) = (int)f->def;
		break;
	case CONF_K_I64:
	case CONF_K_DUR:
		*AT(obj, f->off, int64_t) = f->def;
		break;
	case CONF_K_I64X3:
		if (f->adef)
			memcpy(AT(obj, f->off, int64_t), f->adef, 3 * sizeof(int64_t));
		break;
	case CONF_K_DURS: {
		struct conf_durs *l = AT(obj, f->off, struct conf_durs);
		l->n = f->nadef;
		l->v = f->nadef ? xmemdup(f->adef, f->nadef * sizeof *l->v) : NULL;
		break;
	}
	case CONF_K_OBJ:
		conf_schema_init(f->sub, AT(obj, f->off, char));
		break;
	default: /* lists, maps and optional objects start empty */
		break;
	}
}

void conf_schema_init(const struct conf_schema *s, void *obj)
{
	memset(obj, 0, s->size);
	for (size_t i = 0; i < s->nfields; i++)
		field_init(&s->fields[i], obj);
}

static void elems_free(const struct conf_field *f, void *obj)
{
	char **pv = AT(obj, f->off, char *);
	size_t *pn = AT(obj, f->off2, size_t);
	for (size_t i = 0; i < *pn; i++) {
		char *e = *pv + i * f->sub->size;
		conf_schema_free(f->sub, e);
		if (f->kind == CONF_K_MAP)
			free(*(char **)e);
	}
	free(*pv);
	*pv = NULL;
	*pn = 0;
}

void conf_schema_free(const struct conf_schema *s, void *obj)
{
	if (s->free_derived)
		s->free_derived(obj);
	for (size_t i = 0; i < s->nfields; i++) {
		const struct conf_field *f = &s->fields[i];
		switch (f->kind) {
		case CONF_K_PATH:
			free(*AT(obj, f->off2, char *));
			*AT(obj, f->off2, char *) = NULL;
			/* fall through */
		case CONF_K_STR:
			free(*AT(obj, f->off, char *));
			*AT(obj, f->off, char *) = NULL;
			break;
		case CONF_K_PATHS:
			strs_free(AT(obj, f->off2, struct conf_strs));
			/* fall through */
		case CONF_K_STRS:
			strs_free(AT(obj, f->off, struct conf_strs));
			break;
		case CONF_K_DURS:
			free(AT(obj, f->off, struct conf_durs)->v);
			AT(obj, f->off, struct conf_durs)->v = NULL;
			AT(obj, f->off, struct conf_durs)->n = 0;
			break;
		case CONF_K_OBJ:
			conf_schema_free(f->sub, AT(obj, f->off, char));
			break;
		case CONF_K_OPT: {
			void **p = AT(obj, f->off, void *);
			if (*p) {
				conf_schema_free(f->sub, *p);
				free(*p);
				*p = NULL;
			}
			break;
		}
		case CONF_K_MAP:
		case CONF_K_LIST:
			elems_free(f, obj);
			break;
		default:
			break;
		}
	}
}

static void field_copy(const struct conf_field *f, void *dst, const void *src)
{
	switch (f->kind) {
	case CONF_K_STR:
	case CONF_K_PATH: {
		const char *v = *CAT(src, f->off, char *);
		*AT(dst, f->off, char *) = v ? xstrdup(v) : NULL;
		break;
	}
	case CONF_K_BOOL:
		*AT(dst, f->off, bool) = *CAT(src, f->off, bool);
		break;
	case CONF_K_INT:
	case CONF_K_ENUM:
		*AT(dst, f->off, int) = *CAT(src, f->off, int);
		break;
	case CONF_K_I64:
	case CONF_K_DUR:
		*AT(dst, f->off, int64_t) = *CAT(src, f->off, int64_t);
		break;
	case CONF_K_STRS:
	case CONF_K_PATHS:
		strs_copy(AT(dst, f->off, struct conf_strs), CAT(src, f->off, struct conf_strs));
		break;
	case CONF_K_I64X3:
		memcpy(AT(dst, f->off, int64_t), CAT(src, f->off, int64_t), 3 * sizeof(int64_t));
		break;
	case CONF_K_DURS: {
		const struct conf_durs *s = CAT(src, f->off, struct conf_durs);
		struct conf_durs *d = AT(dst, f->off, struct conf_durs);
		d->n = s->n;
		d->v = s->n ? xmemdup(s->v, s->n * sizeof *s->v) : NULL;
		break;
	}
	case CONF_K_OBJ:
		conf_schema_copy(f->sub, AT(dst, f->off, char), CAT(src, f->off, char));
		break;
	case CONF_K_OPT: {
		const void *s = *CAT(src, f->off, void *);
		void *d = NULL;
		if (s) {
			d = xmalloc(f->sub->size);
			conf_schema_copy(f->sub, d, s);
		}
		*AT(dst, f->off, void *) = d;
		break;
	}
	case CONF_K_MAP:
	case CONF_K_LIST: {
		const char *sv = *CAT(src, f->off, char *);
		size_t n = *CAT(src, f->off2, size_t);
		char *dv = n ? xcalloc(n, f->sub->size) : NULL;
		for (size_t i = 0; i < n; i++) {
			char *d = dv + i * f->sub->size;
			const char *s = sv + i * f->sub->size;
			conf_schema_copy(f->sub, d, s);
			if (f->kind == CONF_K_MAP) /* the key is not a field of the element's schema */
				*(char **)d = xstrdup(*(char *const *)s);
		}
		*AT(dst, f->off, char *) = dv;
		*AT(dst, f->off2, size_t) = n;
		break;
	}
	}
}

void conf_schema_copy(const struct conf_schema *s, void *dst, const void *src)
{
	memset(dst, 0, s->size);
	for (size_t i = 0; i < s->nfields; i++)
		field_copy(&s->fields[i], dst, src);
}

static bool strs_eq(const struct conf_strs *a, const struct conf_strs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static bool elems_eq(const struct conf_field *f, const void *a, const void *b)
{
	size_t n = *CAT(a, f->off2, size_t);
	if (n != *CAT(b, f->off2, size_t))
		return false;
	const char *av = *CAT(a, f->off, char *), *bv = *CAT(b, f->off, char *);
	for (size_t i = 0; i < n; i++) {
		const void *x = av + i * f->sub->size, *y = bv + i * f->sub->size;
		if (f->kind == CONF_K_MAP && !str_eq(*(char *const *)x, *(char *const *)y))
			return false;
		if (!conf_schema_eq(f->sub, x, y))
			return false;
	}
	return true;
}

static bool field_eq(const struct conf_field *f, const void *a, const void *b)
{
	switch (f->kind) {
	case CONF_K_STR:
	case CONF_K_PATH:
		return str_eq(*CAT(a, f->off, char *), *CAT(b, f->off, char *));
	case CONF_K_BOOL:
		return *CAT(a, f->off, bool) == *CAT(b, f->off, bool);
	case CONF_K_INT:
	case CONF_K_ENUM:
		return *CAT(a, f->off, int) == *CAT(b, f->off, int);
	case CONF_K_I64:
	case CONF_K_DUR:
		return *CAT(a, f->off, int64_t) == *CAT(b, f->off, int64_t);
	case CONF_K_STRS:
	case CONF_K_PATHS:
		return strs_eq(CAT(a, f->off, struct conf_strs), CAT(b, f->off, struct conf_strs));
	case CONF_K_I64X3:
		return memcmp(CAT(a, f->off, int64_t), CAT(b, f->off, int64_t), 3 * sizeof(int64_t)) == 0;
	case CONF_K_DURS: {
		const struct conf_durs *x = CAT(a, f->off, struct conf_durs), *y = CAT(b, f->off, struct conf_durs);
		return x->n == y->n && (x->n == 0 || memcmp(x->v, y->v, x->n * sizeof *x->v) == 0);
	}
	case CONF_K_OBJ:
		return conf_schema_eq(f->sub, CAT(a, f->off, char), CAT(b, f->off, char));
	case CONF_K_OPT: {
		const void *x = *CAT(a, f->off, void *), *y = *CAT(b, f->off, void *);
		if (!x || !y)
			return x == y;
		return conf_schema_eq(f->sub, x, y);
	}
	case CONF_K_MAP:
	case CONF_K_LIST:
		return elems_eq(f, a, b);
	}
	return false;
}

bool conf_schema_eq(const struct conf_schema *s, const void *a, const void *b)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (!field_eq(&s->fields[i], a, b))
			return false;
	return true;
}

void *conf_schema_append(const struct conf_field *f, void *obj, const char *name)
{
	ASSERT(f->kind == CONF_K_MAP || f->kind == CONF_K_LIST);
	char **pv = AT(obj, f->off, char *);
	size_t *pn = AT(obj, f->off2, size_t);
	*pv = xrealloc(*pv, (*pn + 1) * f->sub->size);
	char *e = *pv + *pn * f->sub->size;
	(*pn)++;
	conf_schema_init(f->sub, e);
	if (f->kind == CONF_K_MAP)
		*(char **)e = xstrdup(name);
	return e;
}

void conf_schema_remove(const struct conf_field *f, void *obj, size_t i)
{
	ASSERT(f->kind == CONF_K_MAP || f->kind == CONF_K_LIST);
	char *v = *AT(obj, f->off, char *);
	size_t *pn = AT(obj, f->off2, size_t);
	ASSERT(i < *pn);
	char *e = v + i * f->sub->size;
	if (f->kind == CONF_K_MAP)
		free(*(char **)e);
	conf_schema_free(f->sub, e);
	memmove(e, e + f->sub->size, (*pn - i - 1) * f->sub->size);
	(*pn)--;
}

const struct conf_field *conf_schema_field(const struct conf_schema *s, const char *name)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return &s->fields[i];
	panic("schema %s has no field %s", s->name, name);
}
