/* domains.conf: loading, freeing, copying, writing and building snapshots.
 *
 * DESIGN: a snapshot is created fully checked with its lookup tables, then
 * never modified; it dies with its last reference. A rewrite works on a deep
 * copy of the written fields only (conf_domains_copy), regenerates the YAML
 * and loads that text, so the tables of the next snapshot are always built by
 * the same code as at startup. */
#include "conf/conf_domains.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf_domains_check.h"
#include "conf/conf_file.h"
#include "conf/conf_schema.h"
#include "core/xmalloc.h"

static struct conf_domains *alloc_domains(void)
{
	struct conf_domains *dc = xmalloc(sizeof *dc);
	conf_schema_init(&conf_domains_schema, dc);
	atomic_init(&dc->refs, 1);
	return dc;
}

int conf_domains_parse(const char *name, const void *data, size_t len, const struct conf_static *st,
                       const char *base_dir, struct conf_domains **out, struct buf *err)
{
	*out = NULL;
	struct conf_yaml doc;
	if (conf_yaml_parse(name, data, len, &doc, err) < 0)
		return -1;
	struct conf_dec d = {.file = name, .base_dir = base_dir, .err = err};
	buf_init(&d.path);
	struct conf_domains *dc = alloc_domains();
	dc->st = st;
	conf_schema_decode(&d, &conf_domains_schema, dc, doc.root, 1);
	if (d.nerr == 0)
		conf_domains_check(&d, dc, st, doc.root);
	buf_free(&d.path);
	conf_yaml_free(&doc);
	if (d.nerr) {
		conf_domains_release(dc);
		return -1;
	}
	*out = dc;
	return 0;
}

int conf_domains_load(const char *path, const struct conf_static *st, struct conf_domains **out, struct buf *err)
{
	*out = NULL;
	struct buf data;
	struct stat sb;
	buf_init(&data);
	if (conf_file_read(path, &data, &sb, err) < 0)
		return -1;
	char *dir = st ? NULL : conf_file_dir(path);
	int r = conf_domains_parse(path, data.p, data.len, st, st ? st->config_dir : dir, out, err);
	free(dir);
	buf_free(&data);
	if (r == 0) {
		(*out)->file_dev = sb.st_dev;
		(*out)->file_ino = sb.st_ino;
		(*out)->file_size = sb.st_size;
		(*out)->file_mtime = sb.st_mtim;
	}
	return r;
}

void conf_domains_release(struct conf_domains *dc)
{
	if (!dc || atomic_fetch_sub_explicit(&dc->refs, 1, memory_order_acq_rel) != 1)
		return;
	conf_schema_free(&conf_domains_schema, dc);
	conf_map_free(&dc->domain_map);
	conf_map_free(&dc->account_map);
	conf_map_free(&dc->dest_map);
	free(dc->dests);
	free(dc);
}

struct conf_domains *conf_domains_new(void)
{
	return alloc_domains();
}

struct conf_domains *conf_domains_copy(const struct conf_domains *src)
{
	struct conf_domains *dc = xmalloc(sizeof *dc);
	conf_schema_copy(&conf_domains_schema, dc, src);
	atomic_init(&dc->refs, 1);
	dc->st = src->st;
	return dc;
}

struct conf_domain *conf_domains_add_domain(struct conf_domains *dc, const char *name)
{
	return conf_schema_append(conf_schema_field(&conf_domains_schema, "Domains"), dc, name);
}

struct conf_account *conf_domains_add_account(struct conf_domains *dc, const char *name, const char *domain)
{
	struct conf_account *acc = conf_schema_append(conf_schema_field(&conf_domains_schema, "Accounts"), dc, name);
	acc->domain = xstrdup(domain);
	return acc;
}

struct conf_destination *conf_account_add_destination(struct conf_account *acc, const char *address,
                                                      const char *mailbox)
{
	struct conf_destination *d =
	    conf_schema_append(conf_schema_field(&conf_account_schema, "Destinations"), acc, address);
	if (mailbox) {
		free(d->mailbox);
		d->mailbox = xstrdup(mailbox);
	}
	return d;
}

struct conf_dkim_selector *conf_domain_add_selector(struct conf_domain *dom, const char *name,
                                                    const char *private_key_file)
{
	const struct conf_field *df = conf_schema_field(&conf_domain_schema, "DKIM");
	if (!dom->dkim) {
		dom->dkim = xmalloc(df->sub->size);
		conf_schema_init(df->sub, dom->dkim);
	}
	struct conf_dkim_selector *s = conf_schema_append(conf_schema_field(df->sub, "Selectors"), dom->dkim, name);
	s->private_key_file = xstrdup(private_key_file);
	return s;
}

void conf_domains_remove_domain(struct conf_domains *dc, size_t i)
{
	conf_schema_remove(conf_schema_field(&conf_domains_schema, "Domains"), dc, i);
}

void conf_domains_remove_account(struct conf_domains *dc, size_t i)
{
	conf_schema_remove(conf_schema_field(&conf_domains_schema, "Accounts"), dc, i);
}

void conf_account_remove_destination(struct conf_account *acc, size_t i)
{
	conf_schema_remove(conf_schema_field(&conf_account_schema, "Destinations"), acc, i);
}

void conf_domains_write(const struct conf_domains *dc, struct buf *out)
{
	size_t start = out->len;
	conf_schema_write(&conf_domains_schema, dc, out, 0);
	if (out->len == start)
		buf_puts(out, "{}\n");
}

bool conf_domains_eq(const struct conf_domains *a, const struct conf_domains *b)
{
	return conf_schema_eq(&conf_domains_schema, a, b);
}
