/* Hold rules (queue.md §6): kept in memory by the queue actor, matched with AND.
 *
 * DESIGN: rules are few and read on every add, so all of them live in an
 * array loaded at start and changed only by the queue actor (after the rule's
 * commit). A field that is empty matches anything; a rule with every field
 * empty holds everything. The same matching applies when a record is added and
 * when a rule is added (unlike mox, which ORs the fields at rule-add time). */
#include "actors/queue_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "store/store_iter.h"

/* Most hold rules kept. */
#define QUEUE_HOLDRULES_MAX 10000

int queue_holdrule_load(struct queue *q)
{
	uint8_t kind = STORE_K_HOLDRULE;
	struct store_iter *it = store_iter_prefix(q->s, STORE_CF_HOLDRULES, slice_of(&kind, 1));
	int r = 0;
	for (; store_iter_valid(it) && q->nrules < QUEUE_HOLDRULES_MAX; store_iter_next(it)) {
		struct store_holdrule h;
		char why[128];
		if (store_codec_decode(&store_rec_holdrule, store_iter_value(it), &h, why, sizeof why) != 0) {
			store_quarantine(q->s, STORE_CF_HOLDRULES, store_iter_key(it), store_iter_value(it), why);
			continue;
		}
		q->rules = xrealloc(q->rules, (q->nrules + 1) * sizeof *q->rules);
		q->rules[q->nrules++] = h;
	}
	r = store_iter_status(it);
	store_iter_free(it);
	return r;
}

static bool field_ok(const char *rule, const char *v)
{
	return !rule || !*rule || (v && strcasecmp(rule, v) == 0);
}

bool queue_holdrule_matches(const struct store_holdrule *h, const struct store_queue_rec *r)
{
	return (!h->account || !*h->account || (r->sender_account && strcmp(h->account, r->sender_account) == 0)) &&
	       field_ok(h->sender_domain, r->sender_domain) && field_ok(h->recipient_domain, r->recipient_domain);
}

bool queue_holdrule_any(const struct queue *q, const struct store_queue_rec *r)
{
	for (size_t i = 0; i < q->nrules; i++)
		if (queue_holdrule_matches(&q->rules[i], r))
			return true;
	return false;
}

void queue_holdrule_free_all(struct queue *q)
{
	for (size_t i = 0; i < q->nrules; i++)
		store_codec_free(&store_rec_holdrule, &q->rules[i]);
	free(q->rules);
	q->rules = NULL;
	q->nrules = 0;
}
