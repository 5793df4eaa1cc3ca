/* IP addresses: parse and format IPv4/IPv6, host:port forms, CIDR prefixes,
 * and the rate-limiter "mask level" keys (README §Conventions).
 *
 * No mail knowledge: these are plain values, copied freely, never allocated. */
#ifndef TERN_CORE_NETADDR_H
#define TERN_CORE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"

/** Longest text form of an address ("ffff:...:255.255.255.255") plus NUL. */
#define NETADDR_STRLEN 46
/** Longest "[v6]:port" form plus NUL. */
#define NETADDR_PORTSTRLEN (NETADDR_STRLEN + 8)

/** An IP address. family is 4 or 6; IPv4 uses a[0..3], the rest is zero. */
struct netaddr {
	uint8_t family;
	uint8_t a[16];
};

/** A CIDR prefix: the address with its host bits cleared, and the prefix length. */
struct netaddr_cidr {
	struct netaddr ip;
	uint8_t bits;
};

/** Key of an address at a mask level (1..3), for rate-limiter hash tables.
 * Compare with memcmp; equal keys mean "same limiter bucket". */
struct netaddr_key {
	uint8_t b[10]; /* family, level, then up to 8 prefix bytes, zero padded */
};

/** Parses a bare IPv4 (dotted quad, no leading zeros) or IPv6 address (no zone,
 * no brackets). An IPv4-mapped IPv6 address stays family 6 (see netaddr_unmap).
 * Returns 0, or -1 when s is not an address. */
int netaddr_parse(struct slice s, struct netaddr *out);

/** Parses `ip`, `ip:port` (IPv4 only), `[ipv6]` or `[ipv6]:port`. A bare IPv6
 * address without brackets is accepted too (then it has no port). When no port
 * is given, *port = defport. Port 0 and ports above 65535 are rejected.
 * Returns 0 or -1. */
int netaddr_parse_hostport(struct slice s, uint16_t defport, struct netaddr *out, uint16_t *port);

/** Writes the canonical text form (RFC 5952 for IPv6) into out (NETADDR_STRLEN
 * bytes); returns out. */
char *netaddr_format(const struct netaddr *a, char *out);

/** Writes `ip:port` or `[ipv6]:port` into out (NETADDR_PORTSTRLEN bytes); returns out. */
char *netaddr_format_port(const struct netaddr *a, uint16_t port, char *out);

/** Parses `ip/bits`, or a bare ip (a host prefix, /32 or /128). Host bits that
 * are set are cleared, so `10.1.2.3/8` is `10.0.0.0/8`. Returns 0 or -1. */
int netaddr_cidr_parse(struct slice s, struct netaddr_cidr *out);

/** Writes `ip/bits` into out (NETADDR_STRLEN + 4 bytes); returns out. */
char *netaddr_cidr_format(const struct netaddr_cidr *c, char *out);

/** Whether a is inside c. An IPv4-mapped IPv6 address matches IPv4 prefixes. */
bool netaddr_cidr_match(const struct netaddr_cidr *c, const struct netaddr *a);

/** Clears all bits after the first `bits` bits (bits beyond the family's width are ignored). */
void netaddr_mask(struct netaddr *a, unsigned bits);

/** Turns an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into IPv4; others unchanged. */
struct netaddr netaddr_unmap(struct netaddr a);

/** Byte-equal comparison of two addresses (family included). */
bool netaddr_eq(const struct netaddr *a, const struct netaddr *b);

/** Whether a is 0.0.0.0 or ::. */
bool netaddr_is_unspecified(const struct netaddr *a);
/** Whether a is loopback (127/8, ::1, or mapped 127/8). */
bool netaddr_is_loopback(const struct netaddr *a);
/** Whether a is loopback, link-local, private (RFC 1918, ULA fc00::/7),
 * unspecified, or IPv4 "this network" 0/8 — targets that stay inside a site. */
bool netaddr_is_internal(const struct netaddr *a);

/** Prefix length of mask level 1..3: IPv4 32/26/21, IPv6 64/48/32. Panics on
 * another level. */
unsigned netaddr_level_bits(int family, int level);

/** The limiter key of a at mask level 1..3 (mapped IPv6 counts as IPv4). */
struct netaddr_key netaddr_level_key(const struct netaddr *a, int level);

/** A 64-bit hash of a key, for hash tables. */
uint64_t netaddr_key_hash(const struct netaddr_key *k);

/** Converts from a socket address (AF_INET/AF_INET6); fills *port when port is
 * not NULL. Returns 0, or -1 for another family. */
int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out, uint16_t *port);

/** Fills ss with a (port in host order); returns the length to pass to bind/connect. */
socklen_t netaddr_to_sockaddr(const struct netaddr *a, uint16_t port, struct sockaddr_storage *ss);

#endif
