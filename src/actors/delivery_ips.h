/* Which IP of a host to dial first (queue.md §4 "Both IP families", §11.3).
 *
 * Pure functions over the addresses a DNS_MSG_ADDR_RES carries and a record's
 * DialedIPs; no I/O. */
#ifndef TERN_ACTORS_DELIVERY_IPS_H
#define TERN_ACTORS_DELIVERY_IPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "store/store_rec.h"

/** The DialedIPs entry of host (ASCII, any case) in q, or NULL when there is none. */
const struct store_strs *delivery_ips_dialed(const struct store_queue_rec *q, const char *host);

/** Orders the n addresses at addrs (16 bytes each, IPv4 as ::ffff:a.b.c.d, as
 * DNS_MSG_ADDR_RES sends them) for dialing into out (at most max; duplicates
 * dropped). no4/no6 leave out a family. Without dialed IPs, IPv6 goes first, then
 * IPv4, each in DNS order. With dialed IPs (oldest first), the family other than
 * that of the last IP dialed goes first, and within each family the IP dialed most
 * recently in that family, if the host still has it, leads (greylisting). Returns
 * the number written. */
size_t delivery_ips_order(const uint8_t *addrs, size_t n, bool no4, bool no6, const struct store_strs *dialed,
                          struct netaddr *out, size_t max);

/** Whether ips holds addresses of both families. */
bool delivery_ips_both(const struct netaddr *ips, size_t n);

#endif
