/* DNS upstream resolvers: `DNS.Resolvers` entries and /etc/resolv.conf.
 *
 * Pure parsing, no I/O except reading the resolv.conf file named by the caller. */
#ifndef TERN_PROTO_DNS_UPSTREAM_H
#define TERN_PROTO_DNS_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"

/** Most upstream resolvers used (more are ignored, as the C library does past 3). */
#define DNS_UPSTREAM_MAX 8
/** Port used when an entry names none. */
#define DNS_UPSTREAM_PORT 53
/** Where the system's resolvers are listed. */
#define DNS_RESOLV_CONF "/etc/resolv.conf"

/** One resolver address. */
struct dns_upstream {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 or 16 bytes used, network order */
	uint16_t port;
};

/** Parses one `DNS.Resolvers` entry: `ip`, `ip:port`, `[ipv6]:port`, `[ipv6]` or a bare
 * IPv6 address. Returns 0, or -1 when it is none of these (port must be 1..65535). */
int dns_upstream_parse(struct slice s, struct dns_upstream *out);
/** Reads the `nameserver` lines of a resolv.conf-format file into out (at most max;
 * scoped link-local addresses are skipped). Returns the count, or -1 if unreadable. */
int dns_upstream_from_resolv_conf(const char *path, struct dns_upstream *out, size_t max);
/** Whether u is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
bool dns_upstream_is_loopback(const struct dns_upstream *u);
/** Whether the 4- or 16-byte address is loopback. */
bool dns_upstream_addr_is_loopback(const uint8_t *addr, size_t len);
/** Formats u as `ip:port` or `[ipv6]:port` into out (n >= 64). Returns out. */
char *dns_upstream_format(const struct dns_upstream *u, char *out, size_t n);

#endif
