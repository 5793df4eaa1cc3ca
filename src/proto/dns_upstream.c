/* DNS upstream resolvers: `DNS.Resolvers` entries and /etc/resolv.conf.
 *
 * DESIGN: config.md §1 names three forms (`ip`, `ip:port`, `[ipv6]:port`); a bare
 * IPv6 address and `[ipv6]` are accepted too, as resolv.conf writes them. These
 * are exactly the forms of netaddr_parse_hostport, which does the parsing: only
 * IPv4 takes a port without brackets, so `::1:53` is the IPv6 address ::1:53,
 * never ::1 port 53. */
#include "proto/dns_upstream.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/netaddr.h"

int dns_upstream_parse(struct slice s, struct dns_upstream *out)
{
	struct netaddr a;
	memset(out, 0, sizeof *out);
	if (netaddr_parse_hostport(s, DNS_UPSTREAM_PORT, &a, &out->port) != 0)
		return -1;
	out->family = a.family == 4 ? AF_INET : AF_INET6;
	memcpy(out->addr, a.a, sizeof out->addr); /* IPv4: a.a[4..15] are zero */
	return 0;
}

int dns_upstream_from_resolv_conf(const char *path, struct dns_upstream *out, size_t max)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[512];
	size_t n = 0;
	while (n < max && fgets(line, sizeof line, f)) {
		char *save = NULL, *key = strtok_r(line, " \t\r\n", &save);
		if (!key || strcmp(key, "nameserver") != 0)
			continue;
		char *val = strtok_r(NULL, " \t\r\n", &save);
		if (!val || strchr(val, '%')) /* scoped link-local: not usable without the interface */
			continue;
		struct dns_upstream u;
		if (dns_upstream_parse(slice_str(val), &u) == 0)
			out[n++] = u;
	}
	fclose(f);
	return (int)n;
}

bool dns_upstream_addr_is_loopback(const uint8_t *a, size_t len)
{
	static const uint8_t v6lo[16] = {[15] = 1};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (len == 4)
		return a[0] == 127;
	if (len != 16)
		return false;
	return memcmp(a, v6lo, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

bool dns_upstream_is_loopback(const struct dns_upstream *u)
{
	return dns_upstream_addr_is_loopback(u->addr, u->family == AF_INET ? 4 : 16);
}

char *dns_upstream_format(const struct dns_upstream *u, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];
	inet_ntop(u->family, u->addr, ip, sizeof ip);
	if (u->family == AF_INET6)
		snprintf(out, n, "[%s]:%u", ip, u->port);
	else
		snprintf(out, n, "%s:%u", ip, u->port);
	return out;
}
