/* DNS upstream resolvers: `DNS.Resolvers` entries and /etc/resolv.conf.
 *
 * DESIGN: config.md §1 names three forms (`ip`, `ip:port`, `[ipv6]:port`); a bare
 * IPv6 address and `[ipv6]` are accepted too, as resolv.conf writes them. An
 * IPv4 address is told from IPv6 by the number of colons, so `::1:53` is the
 * IPv6 address ::1:53, never ::1 port 53: ports on IPv6 need brackets. */
#include "proto/dns_upstream.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int parse_port(struct slice s, uint16_t *port)
{
	if (s.len == 0 || s.len > 5)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_ip(struct slice s, int family, struct dns_upstream *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	if (s.len == 0 || s.len >= sizeof tmp)
		return -1;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = 0;
	if (inet_pton(family, tmp, out->addr) != 1)
		return -1;
	out->family = family;
	return 0;
}

int dns_upstream_parse(struct slice s, struct dns_upstream *out)
{
	memset(out, 0, sizeof *out);
	out->port = DNS_UPSTREAM_PORT;
	if (s.len > 0 && s.p[0] == '[') {
		const uint8_t *close = memchr(s.p, ']', s.len);
		if (!close)
			return -1;
		size_t in = (size_t)(close - s.p) - 1, rest = s.len - in - 2;
		if (parse_ip(slice_of(s.p + 1, in), AF_INET6, out) != 0)
			return -1;
		if (rest == 0)
			return 0;
		if (close[1] != ':')
			return -1;
		return parse_port(slice_of(close + 2, rest - 1), &out->port);
	}
	size_t colons = 0, last = 0;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == ':')
			colons++, last = i;
	if (colons == 0)
		return parse_ip(s, AF_INET, out);
	if (colons == 1) {
		if (parse_ip(slice_of(s.p, last), AF_INET, out) != 0)
			return -1;
		return parse_port(slice_of(s.p + last + 1, s.len - last - 1), &out->port);
	}
	return parse_ip(s, AF_INET6, out);
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
