/* YAML text to a node tree with line numbers, on top of libyaml's event parser.
 *
 * DESIGN: libyaml's own document API loses nothing we need, but its alias
 * handling has no expansion limit; building the tree from events lets us count
 * every node as often as it is reachable (weight) and refuse documents that
 * would expand past CONF_YAML_MAX_WEIGHT. A container is appended to its parent
 * only when it ends, so its weight is final when added, and its anchor is only
 * registered then, so an alias can never refer to an unfinished container
 * (no cycles). Only the first document of a stream is used; a second one is an
 * error rather than silently ignored. */
#include "conf/conf_yaml.h"

#include <string.h>
#include <yaml.h>

#include "core/xmalloc.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"

struct anchor {
	char *name;
	struct conf_node *node;
};

struct builder {
	const char *name;
	struct conf_yaml *doc;
	struct buf *err;
	struct conf_node *stack[CONF_YAML_MAX_DEPTH];
	int depth;
	struct anchor *anchors;
	size_t nanchors;
	bool failed;
};

static void fail(struct builder *b, int line, const char *msg, const char *arg)
{
	if (b->failed)
		return;
	b->failed = true;
	buf_printf(b->err, "%s:%d: yaml: %s%s\n", b->name, line, msg, arg ? arg : "");
}

static struct conf_node *node_new(struct builder *b, enum conf_node_kind kind, int line)
{
	struct conf_node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = line;
	n->weight = 1;
	struct conf_yaml *d = b->doc;
	if (d->nall == d->capall) {
		d->capall = d->capall ? d->capall * 2 : 64;
		d->all = xrealloc(d->all, d->capall * sizeof *d->all);
	}
	d->all[d->nall++] = n;
	return n;
}

static void anchor_add(struct builder *b, const yaml_char_t *name, struct conf_node *n)
{
	if (!name)
		return;
	b->anchors = xrealloc(b->anchors, (b->nanchors + 1) * sizeof *b->anchors);
	b->anchors[b->nanchors].name = xstrdup((const char *)name);
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

static struct conf_node *anchor_find(struct builder *b, const yaml_char_t *name)
{
	for (size_t i = b->nanchors; i-- > 0;) /* the latest definition wins */
		if (strcmp(b->anchors[i].name, (const char *)name) == 0)
			return b->anchors[i].node;
	return NULL;
}

/* Adds a finished node to the open container, or makes it the root. */
static void attach(struct builder *b, struct conf_node *n, int line)
{
	if (b->depth == 0) {
		b->doc->root = n;
		return;
	}
	struct conf_node *p = b->stack[b->depth - 1];
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->items = xrealloc(p->items, p->cap * sizeof *p->items);
	}
	p->items[p->n++] = n;
	p->weight += n->weight;
	if (p->weight > CONF_YAML_MAX_WEIGHT)
		fail(b, line, "document expands to too many nodes (aliases)", NULL);
}

static void on_scalar(struct builder *b, const yaml_event_t *ev, int line)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	if (memchr(v, 0, len)) {
		fail(b, line, "NUL character in scalar", NULL);
		return;
	}
	struct conf_node *n = node_new(b, CONF_NODE_SCALAR, line);
	n->str = xstrndup(v, len);
	n->len = len;
	const char *tag = (const char *)ev->data.scalar.tag;
	if (tag)
		n->plain = strcmp(tag, YAML_STR_TAG) != 0 && strcmp(tag, "!") != 0;
	else
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	anchor_add(b, ev->data.scalar.anchor, n);
	attach(b, n, line);
}

static void on_start(struct builder *b, enum conf_node_kind kind, const yaml_char_t *anchor, int line)
{
	if (b->depth == CONF_YAML_MAX_DEPTH) {
		fail(b, line, "nesting too deep", NULL);
		return;
	}
	struct conf_node *n = node_new(b, kind, line);
	n->str = anchor ? xstrdup((const char *)anchor) : NULL; /* anchor until the end event */
	b->stack[b->depth++] = n;
}

static void on_end(struct builder *b, int line)
{
	struct conf_node *n = b->stack[--b->depth];
	if (n->str) {
		anchor_add(b, (const yaml_char_t *)n->str, n);
		free(n->str);
		n->str = NULL;
	}
	attach(b, n, n->line);
}

/* Handles one event; returns 1 at the end of the first document. */
static int on_event(struct builder *b, const yaml_event_t *ev, int *docs)
{
	int line = (int)ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			fail(b, line, "more than one document", NULL);
		break;
	case YAML_DOCUMENT_END_EVENT:
		break;
	case YAML_SCALAR_EVENT:
		on_scalar(b, ev, line);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_start(b, CONF_NODE_SEQ, ev->data.sequence_start.anchor, line);
		break;
	case YAML_MAPPING_START_EVENT:
		on_start(b, CONF_NODE_MAP, ev->data.mapping_start.anchor, line);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(b, line);
		break;
	case YAML_ALIAS_EVENT: {
		struct conf_node *t = anchor_find(b, ev->data.alias.anchor);
		if (!t)
			fail(b, line, "unknown alias *", (const char *)ev->data.alias.anchor);
		else
			attach(b, t, line);
		break;
	}
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		break;
	}
	return 0;
}

static void parser_error(struct builder *b, const yaml_parser_t *p)
{
	char msg[256];
	int line = (int)p->problem_mark.line + 1;
	if (p->context)
		snprintf(msg, sizeof msg, "%s %s", p->problem ? p->problem : "syntax error", p->context);
	else
		snprintf(msg, sizeof msg, "%s", p->problem ? p->problem : "syntax error");
	fail(b, line, msg, NULL);
}

static int parse_once(const char *name, const void *data, size_t len, struct conf_yaml *doc, struct buf *err)
{
	memset(doc, 0, sizeof *doc);
	struct builder b = {.name = name, .doc = doc, .err = err};
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		panic("yaml_parser_initialize");
	yaml_parser_set_input_string(&p, data, len);
	int docs = 0;
	while (!b.failed) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(&b, &p);
			break;
		}
		int done = on_event(&b, &ev, &docs);
		yaml_event_delete(&ev);
		if (done)
			break;
	}
	yaml_parser_delete(&p);
	while (b.depth > 0) { /* unfinished containers after an error: free their anchors */
		struct conf_node *n = b.stack[--b.depth];
		free(n->str);
		n->str = NULL;
	}
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	if (b.failed) {
		conf_yaml_free(doc);
		return -1;
	}
	return 0;
}

int conf_yaml_parse(const char *name, const void *data, size_t len, struct conf_yaml *doc,
                    struct buf *err)
{
	if (len > CONF_YAML_MAX_BYTES) {
		memset(doc, 0, sizeof *doc);
		buf_printf(err, "%s:1: yaml: file too large\n", name);
		return -1;
	}
	struct buf first;
	buf_init(&first);
	if (parse_once(name, data, len, doc, &first) == 0) {
		buf_free(&first);
		return 0;
	}
	/* libyaml cannot read flow plain scalars that start with ':' ([127.0.0.1, ::1]);
	 * quote them and try once more, keeping the first error if that fails too */
	struct buf fixed, second;
	buf_init(&fixed);
	buf_init(&second);
	int r = -1;
	if (conf_yaml_quote_flow_colons(data, len, &fixed) > 0)
		r = parse_once(name, fixed.p, fixed.len, doc, &second);
	if (r < 0)
		buf_append(err, first.p, first.len);
	buf_free(&first);
	buf_free(&second);
	buf_free(&fixed);
	return r;
}

void conf_yaml_free(struct conf_yaml *doc)
{
	for (size_t i = 0; i < doc->nall; i++) {
		free(doc->all[i]->str);
		free(doc->all[i]->items);
		free(doc->all[i]);
	}
	free(doc->all);
	memset(doc, 0, sizeof *doc);
}

bool conf_node_is_null(const struct conf_node *n)
{
	if (!n)
		return true;
	if (n->kind != CONF_NODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

struct conf_node *conf_node_get(const struct conf_node *m, const char *key, int *key_line)
{
	if (!m || m->kind != CONF_NODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct conf_node *k = m->items[i];
		if (k->kind == CONF_NODE_SCALAR && strcmp(k->str, key) == 0) {
			if (key_line)
				*key_line = k->line;
			return m->items[i + 1];
		}
	}
	return NULL;
}
