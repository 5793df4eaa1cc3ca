/* IP ordering for delivery attempts (see delivery_ips.h).
 *
 * DESIGN: the addresses are split by family, keeping DNS order, and the two lists
 * are concatenated in the preferred family order; the "previously dialed" IP of
 * each family is then rotated to the front of its list. DialedIPs strings that do
 * not parse are ignored, so a damaged record only loses the preference. */
#include "actors/delivery_ips.h"

#include <string.h>
#include <strings.h>

const struct store_strs *delivery_ips_dialed(const struct store_queue_rec *q, const char *host)
{
	for (uint32_t i = 0; i < q->dialed_ips.n; i++) {
		const struct store_ipmap_ent *e = &q->dialed_ips.v[i];
		if (e->host && strcasecmp(e->host, host) == 0)
			return &e->ips;
	}
	return NULL;
}

static struct netaddr from16(const uint8_t *p)
{
	struct netaddr a = {.family = 6};
	memcpy(a.a, p, 16);
	return netaddr_unmap(a);
}

/* The most recently dialed IP of family fam, from dialed (oldest first). */
static bool last_of(const struct store_strs *dialed, int fam, struct netaddr *out)
{
	for (uint32_t i = dialed ? dialed->n : 0; i-- > 0;) {
		struct netaddr a;
		if (dialed->v[i] && netaddr_parse(slice_str(dialed->v[i]), &a) == 0) {
			a = netaddr_unmap(a);
			if (a.family == fam) {
				*out = a;
				return true;
			}
		}
	}
	return false;
}

/* Appends the addresses of family fam, the preferred one first. */
static size_t add_family(const uint8_t *addrs, size_t n, int fam, const struct store_strs *dialed,
                         struct netaddr *out, size_t k, size_t max)
{
	size_t first = k;
	for (size_t i = 0; i < n && k < max; i++) {
		struct netaddr a = from16(addrs + 16 * i);
		if (a.family != fam)
			continue;
		bool dup = false;
		for (size_t j = first; j < k && !dup; j++)
			dup = netaddr_eq(&out[j], &a);
		if (!dup)
			out[k++] = a;
	}
	struct netaddr pref;
	if (!last_of(dialed, fam, &pref))
		return k;
	for (size_t j = first + 1; j < k; j++) {
		if (netaddr_eq(&out[j], &pref)) {
			memmove(&out[first + 1], &out[first], (j - first) * sizeof *out);
			out[first] = pref;
			break;
		}
	}
	return k;
}

size_t delivery_ips_order(const uint8_t *addrs, size_t n, bool no4, bool no6, const struct store_strs *dialed,
                          struct netaddr *out, size_t max)
{
	int firstfam = 6;
	struct netaddr last;
	for (uint32_t i = dialed ? dialed->n : 0; i-- > 0;) {
		if (dialed->v[i] && netaddr_parse(slice_str(dialed->v[i]), &last) == 0) {
			last = netaddr_unmap(last);
			firstfam = last.family == 6 ? 4 : 6;
			break;
		}
	}
	int order[2] = {firstfam, firstfam == 6 ? 4 : 6};
	size_t k = 0;
	for (int f = 0; f < 2; f++) {
		if ((order[f] == 4 && no4) || (order[f] == 6 && no6))
			continue;
		k = add_family(addrs, n, order[f], dialed, out, k, max);
	}
	return k;
}

bool delivery_ips_both(const struct netaddr *ips, size_t n)
{
	bool v4 = false, v6 = false;
	for (size_t i = 0; i < n; i++) {
		v4 |= ips[i].family == 4;
		v6 |= ips[i].family == 6;
	}
	return v4 && v6;
}
