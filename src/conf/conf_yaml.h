/* A YAML document as a tree of nodes that know their line numbers.
 *
 * Internal to src/conf: the loaders decode this tree into typed structs and
 * use the line numbers for `file:line: message` errors. */
#ifndef TERN_CONF_YAML_H
#define TERN_CONF_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/** Largest config file accepted, in bytes. */
#define CONF_YAML_MAX_BYTES (64u << 20)
/** Deepest nesting of sequences and mappings. */
#define CONF_YAML_MAX_DEPTH 64
/** Most nodes a document may expand to, aliases counted each time they are used
 * (stops "billion laughs" documents). */
#define CONF_YAML_MAX_WEIGHT 2000000

enum conf_node_kind {
	CONF_NODE_SCALAR,
	CONF_NODE_SEQ,
	CONF_NODE_MAP,
};

/** One node. Aliases share the node they refer to, so a node may have several
 * parents; all nodes are owned by their struct conf_yaml. */
struct conf_node {
	enum conf_node_kind kind;
	int line;          /* 1-based line where the node starts */
	bool plain;        /* scalar: plain style and no !!str tag (may be null/bool/int) */
	char *str;         /* scalar: NUL-terminated value (valid UTF-8) */
	size_t len;        /* scalar: length of str */
	struct conf_node **items; /* seq: the items; map: key, value, key, value, ... */
	size_t n;          /* entries in items (a map has n / 2 pairs) */
	size_t cap;
	size_t weight;     /* 1 + weight of all children */
};

/** A parsed document: root is NULL for an empty document. */
struct conf_yaml {
	struct conf_node *root;
	struct conf_node **all;
	size_t nall, capall;
};

/** Parses data (len bytes) as one YAML document. On error appends
 * `name:line: yaml: <problem>` to err and returns -1 (doc is then empty).
 * On success the caller frees doc with conf_yaml_free. */
int conf_yaml_parse(const char *name, const void *data, size_t len, struct conf_yaml *doc,
                    struct buf *err);

/** Works around libyaml reading a flow-context plain scalar that starts with
 * ':' (IPv6 `::1` in `[127.0.0.1, ::1]`) as a value indicator: writes data to
 * out with such scalars double-quoted (lines unchanged). Returns the number
 * of scalars quoted (0: out is not used). UTF-8 input only. */
int conf_yaml_quote_flow_colons(const void *data, size_t len, struct buf *out);

/** Frees all nodes of doc. */
void conf_yaml_free(struct conf_yaml *doc);

/** Whether n is a null: absent (NULL), or a plain `null`, `Null`, `NULL`, `~` or empty scalar. */
bool conf_node_is_null(const struct conf_node *n);

/** In mapping m, the value for key (exact match), or NULL. *key_line (if not
 * NULL) gets the key's line. */
struct conf_node *conf_node_get(const struct conf_node *m, const char *key, int *key_line);

#endif
