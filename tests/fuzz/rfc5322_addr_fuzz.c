/* libFuzzer target for the address-list parser and the submission From
 * check. The first byte picks the flags; the rest is a field value.
 *
 * Invariants checked: a failed parse leaves the list as it was; every parsed
 * address, written back as `localpart@domain` (re-quoted), parses again to one
 * address with the same local part and domain; display names are valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "proto/rfc5322.h"
#include "proto/rfc5322_addr.h"

#define REQUIRE(e) do { if (!(e)) abort(); } while (0)

static void roundtrip(const struct rfc5322_addr *a, unsigned flags)
{
	struct rfc5322_addr_list l = {0};
	int rc = rfc5322_addr_list_parse(slice_str(a->address), flags, &l);
	REQUIRE(rc == 1);
	REQUIRE(strcmp(l.v[0].localpart, a->localpart) == 0);
	REQUIRE(strcmp(l.v[0].domain, a->domain) == 0);
	REQUIRE(strcmp(l.v[0].address, a->address) == 0);
	rfc5322_addr_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0] & (RFC5322_ADDR_UTF8 | RFC5322_ADDR_NOGROUP);
	struct slice v = slice_of(data + 1, size - 1);
	struct rfc5322_addr_list l = {0};
	int rc = rfc5322_addr_list_parse(v, flags, &l);
	if (rc < 0) {
		REQUIRE(l.n == 0);
	} else {
		REQUIRE((size_t)rc == l.n);
		for (size_t i = 0; i < l.n; i++) {
			REQUIRE(rfc5322_utf8_valid(slice_str(l.v[i].name)));
			REQUIRE(!l.v[i].utf8 || (flags & RFC5322_ADDR_UTF8));
			roundtrip(&l.v[i], flags);
		}
	}
	rfc5322_addr_list_free(&l);
	struct rfc5322_addr a;
	if (rfc5322_addr_from(v, flags, &a) == 0) {
		roundtrip(&a, flags);
		rfc5322_addr_free(&a);
	}
	return 0;
}
