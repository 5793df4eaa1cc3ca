/* Id -> pointer hash map (open addressing, linear probing, backward-shift delete).
 *
 * DESIGN: ids are handed out by one counter, so a multiplicative hash spreads
 * them well. The table doubles at 70% load and halves below 10% (not below
 * QUEUE_IDMAP_MIN), so a burst of in-flight records does not pin memory. */
#include "actors/queue_idmap.h"

#include <stdbool.h>
#include <stdlib.h>

#include "core/xmalloc.h"

#define QUEUE_IDMAP_MIN 16

static size_t slot(const struct queue_idmap *m, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (m->cap - 1);
}

static void rehash(struct queue_idmap *m, size_t cap)
{
	uint64_t *ok = m->keys;
	void **ov = m->vals;
	size_t ocap = m->cap;
	m->keys = xcalloc(cap, sizeof *m->keys);
	m->vals = xcalloc(cap, sizeof *m->vals);
	m->cap = cap;
	m->n = 0;
	for (size_t i = 0; i < ocap; i++)
		if (ok[i])
			queue_idmap_put(m, ok[i], ov[i]);
	free(ok);
	free(ov);
}

void *queue_idmap_get(const struct queue_idmap *m, uint64_t id)
{
	if (!m->cap || !id)
		return NULL;
	for (size_t i = slot(m, id);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == id)
			return m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

void queue_idmap_put(struct queue_idmap *m, uint64_t id, void *v)
{
	if (!id || !v)
		panic("queue_idmap_put: zero id or NULL value");
	if ((m->n + 1) * 10 > m->cap * 7)
		rehash(m, m->cap ? m->cap * 2 : QUEUE_IDMAP_MIN);
	for (size_t i = slot(m, id);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == id) {
			m->vals[i] = v;
			return;
		}
		if (!m->keys[i]) {
			m->keys[i] = id;
			m->vals[i] = v;
			m->n++;
			return;
		}
	}
}

void *queue_idmap_del(struct queue_idmap *m, uint64_t id)
{
	if (!m->cap || !id)
		return NULL;
	size_t mask = m->cap - 1, i = slot(m, id);
	while (m->keys[i] != id) {
		if (!m->keys[i])
			return NULL;
		i = (i + 1) & mask;
	}
	void *old = m->vals[i];
	/* Backward shift: move later entries of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = slot(m, m->keys[j]);
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->n--;
	if (m->cap > QUEUE_IDMAP_MIN && m->n * 10 < m->cap)
		rehash(m, m->cap / 2);
	return old;
}

void queue_idmap_free(struct queue_idmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

size_t queue_idmap_bytes(const struct queue_idmap *m)
{
	return m->cap * (sizeof *m->keys + sizeof *m->vals);
}
