/* Field line lookups and value rules for config validation.
 *
 * DESIGN: validation runs on the decoded structs and finds line numbers by
 * walking the YAML tree in parallel (maps and lists keep file order), so the
 * structs carry no source positions. Every helper accepts NULL nodes, which
 * is what structs built in memory (rewrites) have. */
#include "conf/conf_check.h"

#include <string.h>

int conf_line(const struct conf_node *obj, const char *name, int fallback)
{
	int line = 0;
	if (obj && conf_node_get(obj, name, &line))
		return line;
	return obj ? obj->line : fallback;
}

const struct conf_node *conf_sub(const struct conf_node *obj, const char *name)
{
	return obj ? conf_node_get(obj, name, NULL) : NULL;
}

const struct conf_node *conf_item(const struct conf_node *s, size_t i)
{
	return s && s->kind == CONF_NODE_SEQ && i < s->n ? s->items[i] : NULL;
}

const struct conf_node *conf_pair_value(const struct conf_node *m, size_t i)
{
	return m && m->kind == CONF_NODE_MAP && 2 * i + 1 < m->n ? m->items[2 * i + 1] : NULL;
}

int conf_pair_line(const struct conf_node *m, size_t i, int fallback)
{
	return m && m->kind == CONF_NODE_MAP && 2 * i + 1 < m->n ? m->items[2 * i]->line : fallback;
}

int conf_line_item(const struct conf_node *obj, const char *name, size_t i, int fallback)
{
	const struct conf_node *it = conf_item(conf_sub(obj, name), i);
	return it ? it->line : conf_line(obj, name, fallback);
}

bool conf_check_printable(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

bool conf_check_name(const char *s, const char **why)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONF_NAME_MAX) {
		*why = n ? "name too long" : "empty name";
		return false;
	}
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			*why = "control character in name";
			return false;
		}
	}
	return true;
}

bool conf_check_localpart(const char *s, const char **why)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONF_LOCALPART_MAX) {
		*why = n ? "localpart longer than 64 bytes" : "empty localpart";
		return false;
	}
	if (s[0] == '.' || s[n - 1] == '.' || strstr(s, "..")) {
		*why = "localpart has a leading, trailing or double dot";
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c && strchr("!#$%&'*+-/=?^_`{|}~.", c)))
			continue;
		*why = "invalid character in localpart";
		return false;
	}
	return true;
}

bool conf_check_url(const char *s, const char **why)
{
	const char *host;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else {
		*why = "URL must start with http:// or https://";
		return false;
	}
	if (*host == 0 || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
		*why = "URL has no host";
		return false;
	}
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			*why = "space or control character in URL";
			return false;
		}
	}
	return true;
}
