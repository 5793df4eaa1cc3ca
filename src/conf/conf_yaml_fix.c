/* Repair for one libyaml gap: flow-context plain scalars starting with ':'.
 *
 * DESIGN: YAML 1.2 allows a plain scalar to start with ':' when a non-space
 * follows, so `IPs: [127.0.0.1, ::1]` (spec/config.md §7) is valid, but
 * libyaml 0.2.5 always reads ':' in flow context as a value indicator. We use
 * libyaml's own scanner to find those spots (a value indicator that directly
 * follows `[`, `{`, `,` or another indicator and is glued to the next
 * character), then quote the scalar there. Quoting inserts no line breaks,
 * so line numbers in messages stay right. It runs only after a failed parse. */
#include <stdbool.h>
#include <string.h>
#include <yaml.h>

#include "conf/conf_yaml.h"

struct range {
	size_t start, end; /* byte offsets */
};

static bool blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t utf8_width(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

/* End of a flow plain scalar that starts at b (exclusive, trailing blanks
 * trimmed). A run of colons only (`::`, all IPv6 addresses) is taken whole even
 * before `,` or `]`, where YAML would end it: that is what operators mean. */
static size_t scalar_end(const uint8_t *s, size_t len, size_t b)
{
	size_t i = b;
	bool colons_only = true;
	for (; i < len; i++) {
		uint8_t c = s[i];
		if (c == '\n' || c == '\r' || strchr(",[]{}", c))
			break;
		if (c == ':' && i > b && !colons_only && (i + 1 >= len || blank(s[i + 1]) || strchr(",[]{}", s[i + 1])))
			break;
		if (c != ':')
			colons_only = false;
		if (c == '#' && i > b && blank(s[i - 1]))
			break;
	}
	while (i > b && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	return i;
}

/* Finds the scalars to quote; returns how many were stored in r (at most max). */
static size_t find(const uint8_t *s, size_t len, size_t bom, struct range *r, size_t max)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, s, len);
	size_t n = 0, ci = 0, bi = bom, covered = 0;
	int depth = 0;
	yaml_token_type_t prev = YAML_NO_TOKEN;
	for (;;) {
		yaml_token_t t;
		if (!yaml_parser_scan(&p, &t))
			break;
		yaml_token_type_t type = t.type;
		size_t idx = t.start_mark.index;
		yaml_token_delete(&t);
		if (type == YAML_STREAM_END_TOKEN)
			break;
		if (type == YAML_FLOW_SEQUENCE_START_TOKEN || type == YAML_FLOW_MAPPING_START_TOKEN)
			depth++;
		if (type == YAML_FLOW_SEQUENCE_END_TOKEN || type == YAML_FLOW_MAPPING_END_TOKEN)
			depth--;
		bool after = prev == YAML_FLOW_SEQUENCE_START_TOKEN || prev == YAML_FLOW_MAPPING_START_TOKEN ||
			     prev == YAML_FLOW_ENTRY_TOKEN || prev == YAML_VALUE_TOKEN;
		if (type == YAML_VALUE_TOKEN && depth > 0 && after) {
			while (ci < idx && bi < len) { /* marks count characters, we need bytes */
				bi += utf8_width(s[bi]);
				ci++;
			}
			if (bi >= covered && bi + 1 < len && !blank(s[bi + 1]) && !strchr(",[]{}", s[bi + 1]) && n < max) {
				r[n].start = bi;
				r[n].end = scalar_end(s, len, bi);
				covered = r[n].end;
				n++;
			}
		}
		if (type != YAML_KEY_TOKEN) /* KEY tokens are inserted before simple keys */
			prev = type;
	}
	yaml_parser_delete(&p);
	return n;
}

int conf_yaml_quote_flow_colons(const void *data, size_t len, struct buf *out)
{
	const uint8_t *s = data;
	if (len >= 2 && ((s[0] == 0xfe && s[1] == 0xff) || (s[0] == 0xff && s[1] == 0xfe)))
		return 0; /* UTF-16 */
	size_t bom = len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf ? 3 : 0;
	struct range r[256];
	size_t n = find(s, len, bom, r, sizeof r / sizeof r[0]);
	if (n == 0)
		return 0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		buf_append(out, s + at, r[i].start - at);
		buf_putc(out, '"');
		for (size_t j = r[i].start; j < r[i].end; j++) {
			if (s[j] == '"' || s[j] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, s[j]);
		}
		buf_putc(out, '"');
		at = r[i].end;
	}
	buf_append(out, s + at, len - at);
	return (int)n;
}
