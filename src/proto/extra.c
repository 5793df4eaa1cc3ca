/* X-Tern-Extra-* extra data and the TLS-Required header (smtp.md §13).
 *
 * DESIGN: one pass over the fields collects the extra items; duplicates are
 * then found by sorting an index array by key (stable on header position), so
 * a header of 60000 extra fields costs n log n rather than n^2, and the error
 * names the earliest field that repeats a key, as a reader of the message
 * would expect. Values are unfolded and trimmed; the headers themselves stay
 * in the message untouched. */
#include "proto/extra.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/rfc5322.h"

void extra_canon(struct slice name, struct buf *out)
{
	bool up = true;
	for (size_t i = 0; i < name.len; i++) {
		uint8_t c = name.p[i];
		if (up && c >= 'a' && c <= 'z')
			c -= 32;
		else if (!up && c >= 'A' && c <= 'Z')
			c += 32;
		buf_putc(out, c);
		up = c == '-';
	}
}

static void push(struct extra *e, char *key, char *value)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
	}
	e->v[e->n++] = (struct extra_item){key, value};
}

static int cmp_idx(const void *a, const void *b, void *ctx)
{
	const struct extra *e = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(e->v[i].key, e->v[j].key);
	return c ? c : (i < j ? -1 : i > j);
}

/* Index of the earliest item whose key appeared before it, or SIZE_MAX. */
static size_t first_dup(const struct extra *e)
{
	if (e->n < 2)
		return SIZE_MAX;
	size_t *idx = xcalloc(e->n, sizeof(*idx));
	for (size_t i = 0; i < e->n; i++)
		idx[i] = i;
	qsort_r(idx, e->n, sizeof(*idx), cmp_idx, (void *)e);
	size_t best = SIZE_MAX;
	for (size_t i = 1; i < e->n; i++) {
		/* In a run of equal keys only the second position is a first repeat. */
		bool run_second = strcmp(e->v[idx[i]].key, e->v[idx[i - 1]].key) == 0 &&
		                  (i < 2 || strcmp(e->v[idx[i - 1]].key, e->v[idx[i - 2]].key) != 0);
		if (run_second && idx[i] < best)
			best = idx[i];
	}
	free(idx);
	return best;
}

int extra_parse(struct slice header, struct extra *out, struct buf *err_desc)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t plen = strlen(EXTRA_PREFIX);
	rfc5322_iter_init(&it, header);
	while (rfc5322_iter_next(&it, &f)) {
		if (f.malformed || f.name.len <= plen || !slice_prefix_nocase(f.name, EXTRA_PREFIX))
			continue;
		struct buf k, v;
		buf_init(&k);
		buf_init(&v);
		extra_canon(slice_of(f.name.p + plen, f.name.len - plen), &k);
		rfc5322_unfold(f.value, true, &v);
		char *key = xstrdup(buf_cstr(&k));
		char *value = xstrdup(buf_cstr(&v));
		buf_free(&k);
		buf_free(&v);
		push(out, key, value);
	}
	size_t dup = first_dup(out);
	if (dup == SIZE_MAX)
		return 0;
	buf_printf(err_desc, "duplicate x-tern-extra- key \"%s\"", out->v[dup].key);
	extra_free(out);
	return EXTRA_EDUP;
}

void extra_free(struct extra *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].key);
		free(e->v[i].value);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

const char *extra_get(const struct extra *e, const char *key)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].key, key) == 0)
			return e->v[i].value;
	return NULL;
}

int extra_require_tls(struct slice header, bool mail_requiretls, int *require_tls)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	bool no = false, invalid = false;
	rfc5322_iter_init(&it, header);
	while (rfc5322_iter_next(&it, &f)) {
		if (f.malformed || !slice_eq_str_nocase(f.name, "TLS-Required"))
			continue;
		struct buf v;
		buf_init(&v);
		rfc5322_unfold(f.value, true, &v);
		if (slice_eq_str_nocase(buf_slice(&v), "no"))
			no = true;
		else
			invalid = true;
		buf_free(&v);
	}
	*require_tls = mail_requiretls ? 1 : (no && !invalid) ? 0 : -1;
	return invalid ? EXTRA_TLSREQ_EINVAL : 0;
}
