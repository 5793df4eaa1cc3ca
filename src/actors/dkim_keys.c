/* DKIM signing of outgoing mail with the domain's selectors (config.md §4.1,
 * smtp.md §13 step 9).
 *
 * DESIGN: keys are read from their PrivateKeyFile on first use and kept in a
 * small mutex-protected cache keyed by path; a file whose modification time
 * changed is read again, so a key rotation needs no restart. Parsed keys are
 * immutable and safe to use from every worker (dkim_privkey_load). */
#include "actors/dkim_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/dkim_crypto.h"
#include "proto/dkim_sign.h"

#define KEYS_MAX 256

struct cached {
	char *path;
	struct timespec mtime;
	struct dkim_privkey *key;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct cached cache[KEYS_MAX];
static int ncache;
static struct metric *m_signed[2]; /* by enum dkim_key_type */
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
	m_signed[DKIM_KEY_RSA] = metric_counter("tern_dkim_sign_total", "key=\"rsa\"", "DKIM signatures made, by key type.");
	m_signed[DKIM_KEY_ED25519] = metric_counter("tern_dkim_sign_total", "key=\"ed25519\"",
	                                            "DKIM signatures made, by key type.");
}

struct dkim_privkey *dkim_keys_load_file(const char *path, const char **err)
{
	*err = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct buf pem;
	buf_init(&pem);
	buf_read_stream(&pem, f, DKIM_KEYS_FILE_MAX);
	fclose(f);
	struct dkim_privkey *k = dkim_privkey_load(buf_slice(&pem), err);
	if (pem.p) /* NULL for an empty file */
		explicit_bzero(pem.p, pem.len);
	buf_free(&pem);
	return k;
}

static struct dkim_privkey *load(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return NULL;
	for (int i = 0; i < ncache; i++)
		if (strcmp(cache[i].path, path) == 0) {
			if (cache[i].mtime.tv_sec == st.st_mtim.tv_sec && cache[i].mtime.tv_nsec == st.st_mtim.tv_nsec)
				return cache[i].key;
			break; /* changed on disk: read again (the old key stays allocated: others may hold it) */
		}
	const char *err = NULL;
	struct dkim_privkey *k = dkim_keys_load_file(path, &err);
	if (!k) {
		if (err) /* not when the file cannot be opened: the caller says so */
			log_error("dkim", "cannot load private key", "path=%s err=\"%s\"", path, err);
		return NULL;
	}
	int slot = ncache < KEYS_MAX ? ncache++ : 0;
	for (int i = 0; i < ncache; i++)
		if (cache[i].path && strcmp(cache[i].path, path) == 0)
			slot = i;
	free(cache[slot].path);
	cache[slot] = (struct cached){.path = xstrdup(path), .mtime = st.st_mtim, .key = k};
	return k;
}

int dkim_keys_sign(const struct conf_domain *dom, struct slice msg, struct buf *out)
{
	if (!dom->dkim || dom->dkim->sign.n == 0 || dom->disabled)
		return 0;
	struct dkim_signer signers[16];
	size_t n = 0;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < dom->dkim->sign.n && n < 16; i++) {
		const struct conf_dkim_selector *sel = NULL;
		for (size_t k = 0; k < dom->dkim->nselectors; k++)
			if (strcmp(dom->dkim->selectors[k].name, dom->dkim->sign.v[i]) == 0)
				sel = &dom->dkim->selectors[k];
		if (!sel)
			continue;
		struct dkim_privkey *key = load(sel->private_key_path);
		if (!key) {
			pthread_mutex_unlock(&mu);
			log_error("dkim", "signing key unavailable", "domain=%s selector=%s", dom->ascii, sel->name);
			return -1;
		}
		signers[n++] = (struct dkim_signer){
			.domain = dom->ascii,
			.selector = sel->name,
			.alg = DKIM_HASH_SHA256,
			.header_relaxed = sel->canonicalization.header_relaxed,
			.body_relaxed = sel->canonicalization.body_relaxed,
			.headers = (const char *const *)sel->headers.v,
			.nheaders = sel->headers.n,
			.dont_seal = sel->dont_seal_headers,
			.expiration_s = sel->expiration_ms / 1000,
			.key = key,
		};
	}
	pthread_mutex_unlock(&mu);
	const char *err = NULL;
	if (n && dkim_sign(signers, n, msg, clock_wall_ms() / 1000, out, &err) != 0) {
		log_error("dkim", "signing failed", "domain=%s err=\"%s\"", dom->ascii, err ? err : "");
		return -1;
	}
	pthread_once(&metrics_once, metrics_init);
	for (size_t i = 0; i < n; i++)
		metric_add(m_signed[dkim_privkey_type(signers[i].key) == DKIM_KEY_ED25519 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA], 1);
	return (int)n;
}
