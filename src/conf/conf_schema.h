/* Field tables that describe the config structs, and the generic operations
 * driven by them: defaults, YAML decoding, deep copy, equality, free, writing.
 *
 * Internal to src/conf. Each struct of conf.h that appears in a file has one
 * `struct conf_schema` (conf_static.c, conf_domains.c); a field row says its
 * YAML name, kind, where it lives, its default and its range, so defaults,
 * decoding and writing cannot disagree. */
#ifndef TERN_CONF_SCHEMA_H
#define TERN_CONF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "conf/conf_yaml.h"
#include "core/buf.h"

enum conf_kind {
	CONF_K_STR,   /* char * */
	CONF_K_PATH,  /* char * as written at off; resolved char * at off2 */
	CONF_K_BOOL,  /* bool */
	CONF_K_INT,   /* int */
	CONF_K_I64,   /* int64_t */
	CONF_K_ENUM,  /* int, value = index in names */
	CONF_K_DUR,   /* int64_t milliseconds */
	CONF_K_STRS,  /* struct conf_strs */
	CONF_K_PATHS, /* struct conf_strs as written at off; resolved at off2 */
	CONF_K_I64X3, /* int64_t[3] */
	CONF_K_DURS,  /* struct conf_durs */
	CONF_K_OBJ,   /* embedded struct described by sub */
	CONF_K_OPT,   /* pointer to a struct described by sub; NULL = absent */
	CONF_K_MAP,   /* element pointer at off, size_t count at off2; element starts with char *name */
	CONF_K_LIST,  /* element pointer at off, size_t count at off2 */
};

enum {
	CONF_F_REQUIRED = 1, /* absent or null is an error */
	CONF_F_RANGE = 2,    /* numbers: min..max; durations too (ms) */
};

struct conf_schema;

struct conf_field {
	const char *name;
	enum conf_kind kind;
	size_t off, off2;
	unsigned flags;
	int64_t min, max;
	int64_t def;             /* BOOL, INT, I64, ENUM, DUR */
	const char *sdef;        /* STR, PATH */
	const int64_t *adef;     /* I64X3 (3 values), DURS (nadef values) */
	size_t nadef;
	const char *const *names; /* ENUM, NULL-terminated */
	const struct conf_schema *sub;
};

struct conf_schema {
	const char *name;
	size_t size;
	const struct conf_field *fields;
	size_t nfields;
	void (*free_derived)(void *obj); /* frees derived members, may be NULL */
};

#define CONF_FIELDS(arr) .fields = arr, .nfields = sizeof arr / sizeof arr[0]
#define CONF_RANGE(a, b) .flags = CONF_F_RANGE, .min = (a), .max = (b)

/** The tables (conf_static_schema.c, conf_domains_schema.c). */
extern const struct conf_schema conf_static_schema, conf_listener_schema, conf_transport_schema;
extern const struct conf_schema conf_domains_schema, conf_domain_schema, conf_account_schema;
extern const struct conf_schema conf_route_schema, conf_destination_schema, conf_dkim_selector_schema;

/** Largest number of error lines one load reports. */
#define CONF_MAX_ERRORS 20

/** State of one decode + validation pass. */
struct conf_dec {
	const char *file;      /* name used in messages */
	const char *base_dir;  /* for relative paths; NULL leaves them as written */
	struct buf *err;       /* messages, one per line */
	int nerr;
	struct buf path;       /* dotted path of the current field, e.g. "Listeners.public.SMTP" */
};

/** Appends `file:line: msg\n` to d->err (up to CONF_MAX_ERRORS lines). */
void conf_dec_err(struct conf_dec *d, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Like conf_dec_err for an error found in another file (tern.conf while
 * checking domains.conf). */
void conf_dec_err_in(struct conf_dec *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Sets all fields of obj to their defaults (obj is zeroed first). */
void conf_schema_init(const struct conf_schema *s, void *obj);
/** Decodes mapping node n into obj (already initialised). A null n keeps the
 * defaults; `line` (the line of n's key) is used for missing-field errors. */
void conf_schema_decode(struct conf_dec *d, const struct conf_schema *s, void *obj,
                        const struct conf_node *n, int line);
/** Frees everything obj owns (not obj itself). */
void conf_schema_free(const struct conf_schema *s, void *obj);
/** Deep-copies the schema fields of src into dst (zeroed first); derived
 * fields are left zero. */
void conf_schema_copy(const struct conf_schema *s, void *dst, const void *src);
/** Whether the schema fields of a and b are equal. */
bool conf_schema_eq(const struct conf_schema *s, const void *a, const void *b);
/** Appends obj as block-style YAML mapping lines indented by `indent` spaces;
 * fields equal to their defaults are left out. */
void conf_schema_write(const struct conf_schema *s, const void *obj, struct buf *out, int indent);

/** Appends a new default-initialised element to the MAP or LIST field f of obj;
 * for a MAP the name is copied. Returns the element (valid until the next append). */
void *conf_schema_append(const struct conf_field *f, void *obj, const char *name);
/** Removes element i of the MAP or LIST field f of obj, freeing it. */
void conf_schema_remove(const struct conf_field *f, void *obj, size_t i);
/** The field called name in s; panics when there is none. */
const struct conf_field *conf_schema_field(const struct conf_schema *s, const char *name);

/** Appends s to out as a YAML scalar, quoted when a YAML 1.1 reader would take
 * the plain form for something other than this string. */
void conf_write_scalar(struct buf *out, const char *s);

#endif
