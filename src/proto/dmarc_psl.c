/* Public Suffix List for DMARC organisational domains (RFC 7489 §3.2).
 *
 * DESIGN: there is no network access for fetching the list, so Tern reads
 * Debian's publicsuffix package (DMARC_PSL_DEFAULT_PATH) at start-up; tests
 * and tools can parse any text. Rules go into one open-addressing hash set
 * keyed by the rule text, with a kind flag (normal, wildcard "*.x" stored as
 * "x", exception "!x" stored as "x"). A lookup walks the domain's suffixes
 * from the shortest: at most 127 probes per kind for a 253-octet name. The
 * list is read-only after loading, so threads share it without locks.
 * Rules in UTF-8 (IDN TLDs) are loaded but only match A-labels if the file
 * has them: domains reach us as A-labels, and the U-label rules then miss
 * (their organisational domain falls back to the default rule). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/dmarc.h"

enum { DMARC_PSL_NORMAL = 1, DMARC_PSL_WILD = 2, DMARC_PSL_EXCEPT = 4 };

/* Largest list file read (the real one is about 230 kB). */
#define DMARC_PSL_FILE_MAX (16 * 1024 * 1024)

struct dmarc_psl_slot {
	char *rule;
	uint8_t kinds;
};

struct dmarc_psl {
	struct dmarc_psl_slot *slot;
	size_t cap, n;
};

static uint64_t dmarc_psl_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)(s[i] | ((s[i] >= 'A' && s[i] <= 'Z') ? 0x20 : 0))) * 1099511628211ull;
	return h;
}

static struct dmarc_psl_slot *dmarc_psl_find(const struct dmarc_psl *psl, const char *s, size_t n)
{
	size_t i = dmarc_psl_hash(s, n) & (psl->cap - 1);
	while (psl->slot[i].rule) {
		if (strlen(psl->slot[i].rule) == n && strncasecmp(psl->slot[i].rule, s, n) == 0)
			return &psl->slot[i];
		i = (i + 1) & (psl->cap - 1);
	}
	return &psl->slot[i];
}

static void dmarc_psl_grow(struct dmarc_psl *psl)
{
	struct dmarc_psl old = *psl;
	psl->cap = old.cap ? old.cap * 2 : 1024;
	psl->slot = xcalloc(psl->cap, sizeof *psl->slot);
	for (size_t i = 0; i < old.cap; i++)
		if (old.slot[i].rule)
			*dmarc_psl_find(psl, old.slot[i].rule, strlen(old.slot[i].rule)) = old.slot[i];
	free(old.slot);
}

static void dmarc_psl_add(struct dmarc_psl *psl, const char *s, size_t n, uint8_t kind)
{
	if (n == 0 || n > MAILAUTH_NAME_MAX)
		return;
	if ((psl->n + 1) * 2 > psl->cap)
		dmarc_psl_grow(psl);
	struct dmarc_psl_slot *sl = dmarc_psl_find(psl, s, n);
	if (!sl->rule) {
		sl->rule = xstrndup(s, n);
		psl->n++;
	}
	sl->kinds |= kind;
}

struct dmarc_psl *dmarc_psl_parse(struct slice text)
{
	struct dmarc_psl *psl = xcalloc(1, sizeof *psl);
	dmarc_psl_grow(psl);
	for (size_t i = 0; i < text.len;) {
		const uint8_t *nl = memchr(text.p + i, '\n', text.len - i);
		size_t e = nl ? (size_t)(nl - text.p) : text.len;
		/* a rule is the first whitespace-free run of the line */
		size_t s = i, t = i;
		while (t < e && text.p[t] != ' ' && text.p[t] != '\t' && text.p[t] != '\r')
			t++;
		const char *r = (const char *)text.p + s;
		size_t n = t - s;
		if (n > 0 && !(n >= 2 && r[0] == '/' && r[1] == '/')) {
			if (r[0] == '!')
				dmarc_psl_add(psl, r + 1, n - 1, DMARC_PSL_EXCEPT);
			else if (n > 2 && r[0] == '*' && r[1] == '.')
				dmarc_psl_add(psl, r + 2, n - 2, DMARC_PSL_WILD);
			else
				dmarc_psl_add(psl, r, n, DMARC_PSL_NORMAL);
		}
		i = e + 1;
	}
	return psl;
}

struct dmarc_psl *dmarc_psl_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b);
	buf_read_stream(&b, f, DMARC_PSL_FILE_MAX);
	fclose(f);
	struct dmarc_psl *psl = dmarc_psl_parse(buf_slice(&b));
	buf_free(&b);
	return psl;
}

size_t dmarc_psl_count(const struct dmarc_psl *psl)
{
	return psl ? psl->n : 0;
}

void dmarc_psl_free(struct dmarc_psl *psl)
{
	if (!psl)
		return;
	for (size_t i = 0; i < psl->cap; i++)
		free(psl->slot[i].rule);
	free(psl->slot);
	free(psl);
}

static uint8_t dmarc_psl_kinds(const struct dmarc_psl *psl, const char *s, size_t n)
{
	const struct dmarc_psl_slot *sl = dmarc_psl_find(psl, s, n);
	return sl->rule ? sl->kinds : 0;
}

/* Number of labels of the public suffix of d (n labels at offsets off[]). */
static size_t dmarc_psl_suffix_labels(const struct dmarc_psl *psl, const char *d, const size_t *off, size_t n)
{
	size_t best = 1; /* the default rule "*" */
	size_t len = strlen(d);
	for (size_t k = 1; psl && k <= n; k++) {
		const char *s = d + off[n - k]; /* suffix of k labels */
		uint8_t kinds = dmarc_psl_kinds(psl, s, len - off[n - k]);
		if (kinds & DMARC_PSL_EXCEPT)
			return k - 1; /* exceptions win */
		if (kinds & DMARC_PSL_NORMAL)
			best = k;
		if (k >= 2) {
			const char *parent = d + off[n - k + 1];
			if (dmarc_psl_kinds(psl, parent, len - off[n - k + 1]) & DMARC_PSL_WILD)
				best = k;
		}
	}
	return best;
}

void dmarc_psl_orgdomain(const struct dmarc_psl *psl, const char *domain, char *out, size_t cap)
{
	char d[MAILAUTH_NAME_MAX + 2];
	size_t len = 0;
	for (; domain[len] && len < MAILAUTH_NAME_MAX; len++)
		d[len] = (char)(domain[len] >= 'A' && domain[len] <= 'Z' ? domain[len] + 32 : domain[len]);
	if (len > 0 && d[len - 1] == '.')
		len--;
	d[len] = 0;
	size_t off[MAILAUTH_NAME_MAX / 2 + 2], n = 0;
	for (size_t i = 0; i < len && n < sizeof off / sizeof off[0]; i++)
		if (i == 0 || d[i - 1] == '.')
			off[n++] = i;
	size_t ps = dmarc_psl_suffix_labels(psl, d, off, n);
	size_t keep = ps + 1 > n ? n : ps + 1;
	snprintf(out, cap, "%s", n ? d + off[n - keep] : d);
}
