/* YAML node tree: line numbers, styles, aliases and their limits, the flow ':' repair. */
#include "check.h"

#include "conf/conf_yaml.h"
#include "core/xmalloc.h"

static int parse(const char *s, struct conf_yaml *doc, struct buf *err)
{
	return conf_yaml_parse("f", s, strlen(s), doc, err);
}

TEST(lines_and_styles)
{
	struct conf_yaml doc;
	struct buf err;
	buf_init(&err);
	CHECK_INT(parse("# c\na: 1\nb:\n  - 'x'\n  - \"y\"\n  - z\nc: {d: ~}\n", &doc, &err), 0);
	const struct conf_node *r = doc.root;
	CHECK(r && r->kind == CONF_NODE_MAP && r->n == 6 && r->line == 2);
	int line = 0;
	const struct conf_node *b = conf_node_get(r, "b", &line);
	CHECK_INT(line, 3);
	CHECK(b && b->kind == CONF_NODE_SEQ && b->n == 3 && b->line == 4);
	CHECK(!b->items[0]->plain && !b->items[1]->plain && b->items[2]->plain);
	CHECK_INT(b->items[2]->line, 6);
	const struct conf_node *c = conf_node_get(r, "c", NULL);
	CHECK(conf_node_is_null(conf_node_get(c, "d", NULL)));
	CHECK(conf_node_is_null(conf_node_get(c, "absent", NULL)));
	CHECK(!conf_node_is_null(b->items[0]));
	conf_yaml_free(&doc);
	CHECK_INT(parse("a: !!str 5\nb: ''\n", &doc, &err), 0);
	CHECK(!conf_node_get(doc.root, "a", NULL)->plain);
	CHECK(!conf_node_is_null(conf_node_get(doc.root, "b", NULL)));
	conf_yaml_free(&doc);
	CHECK_INT(parse("", &doc, &err), 0);
	CHECK(doc.root == NULL);
	conf_yaml_free(&doc);
	buf_free(&err);
}

TEST(alias_limits)
{
	struct conf_yaml doc;
	struct buf err;
	buf_init(&err);
	/* billion laughs: each level multiplies by 10 */
	struct buf y;
	buf_init(&y);
	buf_puts(&y, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 9; i++)
		buf_printf(&y, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1,
			   i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	CHECK_INT(conf_yaml_parse("f", y.p, y.len, &doc, &err), -1);
	CHECK(strstr(buf_cstr(&err), "yaml: document expands to too many nodes (aliases)") != NULL);
	buf_reset(&err);
	CHECK_INT(parse("a: *nope\n", &doc, &err), -1);
	CHECK_STR(buf_cstr(&err), "f:1: yaml: unknown alias *nope\n");
	buf_reset(&err);
	/* an alias to an unfinished container would be a cycle: refused */
	CHECK_INT(parse("a: &x [1, *x]\n", &doc, &err), -1);
	CHECK_STR(buf_cstr(&err), "f:1: yaml: unknown alias *x\n");
	buf_reset(&err);
	buf_reset(&y);
	for (int i = 0; i < CONF_YAML_MAX_DEPTH + 1; i++)
		buf_putc(&y, '[');
	CHECK_INT(conf_yaml_parse("f", y.p, y.len, &doc, &err), -1);
	CHECK_STR(buf_cstr(&err), "f:1: yaml: nesting too deep\n");
	buf_reset(&err);
	CHECK_INT(conf_yaml_parse("f", "a: \"x\\0y\"\n", 10, &doc, &err), -1);
	CHECK_STR(buf_cstr(&err), "f:1: yaml: NUL character in scalar\n");
	buf_free(&y);
	buf_free(&err);
}

TEST(flow_colon_repair)
{
	struct conf_yaml doc;
	struct buf err, out;
	buf_init(&err);
	buf_init(&out);
	CHECK_INT(parse("x: 1\nIPs: [127.0.0.1, ::1, \"::2\", 2001:db8::1]\nm: {a: ::, b: [::ffff:1.2.3.4]}\n", &doc, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	const struct conf_node *ips = conf_node_get(doc.root, "IPs", NULL);
	CHECK(ips && ips->n == 4);
	if (ips && ips->n == 4) {
		CHECK_STR(ips->items[1]->str, "::1");
		CHECK_STR(ips->items[3]->str, "2001:db8::1");
		CHECK_INT(ips->items[1]->line, 2);
	}
	const struct conf_node *m = conf_node_get(doc.root, "m", NULL);
	CHECK_STR(conf_node_get(m, "a", NULL)->str, "::");
	CHECK_STR(conf_node_get(m, "b", NULL)->items[0]->str, "::ffff:1.2.3.4");
	CHECK_INT(conf_node_get(m, "b", NULL)->line, 3);
	conf_yaml_free(&doc);
	CHECK_INT(parse("IPs: [0.0.0.0, ::]\n", &doc, &err), 0);
	CHECK(doc.root && conf_node_get(doc.root, "IPs", NULL)->n == 2);
	if (doc.root)
		CHECK_STR(conf_node_get(doc.root, "IPs", NULL)->items[1]->str, "::");
	conf_yaml_free(&doc);
	CHECK_INT(conf_yaml_quote_flow_colons("a: [::1]", 8, &out), 1);
	CHECK_MEM(out.p, out.len, "a: [\"::1\"]");
	buf_reset(&out);
	CHECK_INT(conf_yaml_quote_flow_colons("a: |\n  [::1]\n", 13, &out), 0);
	/* a real error stays the original one */
	CHECK_INT(parse("a: [::1\nb: c: d\n", &doc, &err), -1);
	CHECK(strncmp(buf_cstr(&err), "f:", 2) == 0);
	buf_free(&out);
	buf_free(&err);
}

TEST_MAIN()
