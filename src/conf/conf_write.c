/* Writing config structs as block-style YAML by their field tables.
 *
 * DESIGN: Tern writes config files that other YAML tools must read back with
 * the same meaning, including YAML 1.1 tools that turn `no`, `on`, `0755`,
 * `2025-01-01` or `1:20` into booleans, octal, dates and sexagesimal numbers.
 * So a string is written plain only when it is clearly a string to every
 * reader: it starts with a letter, `_`, `/` or a non-ASCII byte, uses only a
 * conservative character set, is not one of the YAML 1.1 boolean/null words,
 * and, when it starts with a digit, contains a letter outside the characters
 * of numbers and timestamps. Everything else is double-quoted. Fields equal to
 * their defaults are left out, so rewritten files stay as short as the
 * operator's. */
#include "conf/conf_schema.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_duration.h"
#include "core/xmalloc.h"

#define CAT(obj, off, type) ((const type *)((const char *)(obj) + (off)))

static bool is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool number_like(const char *s)
{
	for (; *s; s++)
		if (!strchr("0123456789abcdefABCDEFxXoO_:.+-tTzZ ", *s))
			return false;
	return true;
}

/* Decodes one UTF-8 sequence at p; returns its length (0 when invalid). */
static size_t utf8_next(const uint8_t *p, uint32_t *cp)
{
	size_t n;
	uint32_t c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	*cp = c;
	return n;
}

/* Non-ASCII code points that libyaml reads as themselves in any scalar style:
 * not C1 controls, not NEL/LS/PS (line breaks), not BOM, not non-characters. */
static bool cp_safe(uint32_t c)
{
	return (c >= 0xa0 && c <= 0xd7ff && c != 0x2028 && c != 0x2029) ||
	       (c >= 0xe000 && c <= 0xfffd && c != 0xfeff) || (c >= 0x10000 && c <= 0x10ffff);
}

static bool plain_ok(const char *s)
{
	static const char *const words[] = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", NULL};
	size_t len = strlen(s);
	uint8_t c0 = (uint8_t)s[0];
	if (len == 0 || !(is_alnum(c0) || c0 == '_' || c0 == '/' || c0 >= 0x80))
		return false;
	if (s[len - 1] == ' ' || s[len - 1] == ':')
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = utf8_next((const uint8_t *)s + i, &cp);
			if (!n || !cp_safe(cp))
				return false;
			i += n - 1;
			continue;
		}
		if (is_alnum(c) || strchr("_-./@+=%~()", c))
			continue;
		if (c == ' ' && s[i + 1] != ' ')
			continue;
		if (c == ':' && s[i + 1] != ' ')
			continue;
		return false;
	}
	for (int i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	if (c0 >= '0' && c0 <= '9' && number_like(s))
		return false;
	return true;
}

void conf_write_scalar(struct buf *out, const char *s)
{
	if (plain_ok(s)) {
		buf_puts(out, s);
		return;
	}
	buf_putc(out, '"');
	for (const uint8_t *p = (const uint8_t *)s; *p;) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0) { /* not UTF-8: cannot be represented; the reader will refuse it */
			buf_putc(out, *p++);
			continue;
		}
		if (cp == '"' || cp == '\\')
			buf_printf(out, "\\%c", (char)cp);
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0x100 && !cp_safe(cp)))
			buf_printf(out, "\\x%02x", (unsigned)cp);
		else if (cp >= 0x80 && !cp_safe(cp))
			buf_printf(out, cp < 0x10000 ? "\\u%04x" : "\\U%08x", (unsigned)cp);
		else
			buf_append(out, p, n);
		p += n;
	}
	buf_putc(out, '"');
}

static void indent_to(struct buf *out, int indent)
{
	for (int i = 0; i < indent; i++)
		buf_putc(out, ' ');
}

static void key(struct buf *out, int indent, const char *name)
{
	indent_to(out, indent);
	conf_write_scalar(out, name);
	buf_putc(out, ':');
}

static void strs(struct buf *out, int indent, const char *name, const struct conf_strs *l)
{
	if (!l->n)
		return;
	key(out, indent, name);
	buf_putc(out, '\n');
	for (size_t i = 0; i < l->n; i++) {
		indent_to(out, indent + 2);
		buf_puts(out, "- ");
		conf_write_scalar(out, l->v[i]);
		buf_putc(out, '\n');
	}
}

static void durs(struct buf *out, int indent, const struct conf_field *f, const struct conf_durs *l)
{
	if (l->n == f->nadef && (l->n == 0 || memcmp(l->v, f->adef, l->n * sizeof *l->v) == 0))
		return;
	key(out, indent, f->name);
	if (!l->n) {
		buf_puts(out, " []\n");
		return;
	}
	buf_putc(out, '\n');
	for (size_t i = 0; i < l->n; i++) {
		char t[CONF_DURATION_STRLEN];
		indent_to(out, indent + 2);
		buf_puts(out, "- ");
		conf_write_scalar(out, conf_duration_format_exact(l->v[i], t));
		buf_putc(out, '\n');
	}
}

/* Writes a nested object: `Key:` then its lines, or `Key: {}` (when always) or nothing. */
static void nested(struct buf *out, int indent, const char *name, const struct conf_schema *s,
                   const void *obj, bool always)
{
	struct buf tmp;
	buf_init(&tmp);
	conf_schema_write(s, obj, &tmp, indent + 2);
	if (tmp.len || always) {
		key(out, indent, name);
		if (tmp.len) {
			buf_putc(out, '\n');
			buf_append(out, tmp.p, tmp.len);
		} else {
			buf_puts(out, " {}\n");
		}
	}
	buf_free(&tmp);
}

static void elems(struct buf *out, int indent, const struct conf_field *f, const void *obj)
{
	size_t n = *CAT(obj, f->off2, size_t);
	const char *v = *CAT(obj, f->off, char *);
	if (!n)
		return;
	key(out, indent, f->name);
	buf_putc(out, '\n');
	for (size_t i = 0; i < n; i++) {
		const void *e = v + i * f->sub->size;
		if (f->kind == CONF_K_MAP) {
			nested(out, indent + 2, *(char *const *)e, f->sub, e, true);
			continue;
		}
		struct buf tmp;
		buf_init(&tmp);
		conf_schema_write(f->sub, e, &tmp, indent + 4);
		if (tmp.len) { /* turn the first line's indentation into "- " */
			tmp.p[indent + 2] = '-';
			buf_append(out, tmp.p, tmp.len);
		} else {
			indent_to(out, indent + 2);
			buf_puts(out, "- {}\n");
		}
		buf_free(&tmp);
	}
}

static void scalar_line(struct buf *out, int indent, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void scalar_line(struct buf *out, int indent, const char *name, const char *fmt, ...)
{
	va_list ap;
	key(out, indent, name);
	buf_putc(out, ' ');
	va_start(ap, fmt);
	buf_vprintf(out, fmt, ap);
	va_end(ap);
	buf_putc(out, '\n');
}

static void field(const struct conf_field *f, const void *obj, struct buf *out, int indent)
{
	char t[CONF_DURATION_STRLEN];
	bool req = f->flags & CONF_F_REQUIRED; /* written even when equal to the default */
	switch (f->kind) {
	case CONF_K_STR:
	case CONF_K_PATH: {
		const char *v = *CAT(obj, f->off, char *);
		if (!v || (!req && f->sdef && strcmp(v, f->sdef) == 0))
			return;
		key(out, indent, f->name);
		buf_putc(out, ' ');
		conf_write_scalar(out, v);
		buf_putc(out, '\n');
		return;
	}
	case CONF_K_BOOL:
		if (req || *CAT(obj, f->off, bool) != (f->def != 0))
			scalar_line(out, indent, f->name, "%s", *CAT(obj, f->off, bool) ? "true" : "false");
		return;
	case CONF_K_INT:
		if (req || *CAT(obj, f->off, int) != f->def)
			scalar_line(out, indent, f->name, "%d", *CAT(obj, f->off, int));
		return;
	case CONF_K_I64:
		if (req || *CAT(obj, f->off, int64_t) != f->def)
			scalar_line(out, indent, f->name, "%lld", (long long)*CAT(obj, f->off, int64_t));
		return;
	case CONF_K_ENUM: {
		int v = *CAT(obj, f->off, int);
		if (req || v != f->def) {
			key(out, indent, f->name);
			buf_putc(out, ' ');
			conf_write_scalar(out, f->names[v]);
			buf_putc(out, '\n');
		}
		return;
	}
	case CONF_K_DUR:
		if (req || *CAT(obj, f->off, int64_t) != f->def)
			scalar_line(out, indent, f->name, "%s", conf_duration_format_exact(*CAT(obj, f->off, int64_t), t));
		return;
	case CONF_K_STRS:
	case CONF_K_PATHS:
		strs(out, indent, f->name, CAT(obj, f->off, struct conf_strs));
		return;
	case CONF_K_I64X3: {
		const int64_t *v = CAT(obj, f->off, int64_t);
		static const int64_t zero[3];
		if (memcmp(v, f->adef ? f->adef : zero, sizeof zero) == 0)
			return;
		key(out, indent, f->name);
		buf_putc(out, '\n');
		for (int i = 0; i < 3; i++) {
			indent_to(out, indent + 2);
			buf_printf(out, "- %lld\n", (long long)v[i]);
		}
		return;
	}
	case CONF_K_DURS:
		durs(out, indent, f, CAT(obj, f->off, struct conf_durs));
		return;
	case CONF_K_OBJ:
		nested(out, indent, f->name, f->sub, CAT(obj, f->off, char), false);
		return;
	case CONF_K_OPT: {
		const void *p = *CAT(obj, f->off, void *);
		if (p)
			nested(out, indent, f->name, f->sub, p, true);
		return;
	}
	case CONF_K_MAP:
	case CONF_K_LIST:
		elems(out, indent, f, obj);
		return;
	}
}

void conf_schema_write(const struct conf_schema *s, const void *obj, struct buf *out, int indent)
{
	for (size_t i = 0; i < s->nfields; i++)
		field(&s->fields[i], obj, out, indent);
}
