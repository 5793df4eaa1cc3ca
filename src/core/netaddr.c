/* IP address values: parsing, formatting, CIDR matching and limiter keys.
 *
 * DESIGN: an address is a 17-byte value (family + 16 bytes) so it can be
 * copied, hashed and compared with memcmp. IPv4 text is parsed strictly here
 * (dotted quad, no leading zeros, which inet_pton-like parsers in other tools
 * read as octal); IPv6 text goes through inet_pton on a bounded stack copy.
 * IPv4-mapped IPv6 addresses are kept as parsed but treated as IPv4 wherever
 * a policy decision is made (CIDR match, limiter keys). */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/xmalloc.h"

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int parse_v4(struct slice s, uint8_t out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= s.len || s.p[i] != '.')
				return -1;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s.p[i++] - '0');
		size_t n = i - start;
		if (n == 0 || v > 255 || (n > 1 && s.p[start] == '0'))
			return -1;
		out[part] = (uint8_t)v;
	}
	return i == s.len ? 0 : -1;
}

int netaddr_parse(struct slice s, struct netaddr *out)
{
	memset(out, 0, sizeof *out);
	if (parse_v4(s, out->a) == 0) {
		out->family = 4;
		return 0;
	}
	char tmp[NETADDR_STRLEN];
	if (s.len == 0 || s.len >= sizeof tmp || !memchr(s.p, ':', s.len))
		return -1;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = 0;
	if (inet_pton(AF_INET6, tmp, out->a) != 1)
		return -1;
	out->family = 6;
	return 0;
}

static int parse_port(struct slice s, uint16_t *port)
{
	unsigned v = 0;
	if (s.len == 0 || s.len > 5)
		return -1;
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

int netaddr_parse_hostport(struct slice s, uint16_t defport, struct netaddr *out, uint16_t *port)
{
	*port = defport;
	if (s.len > 0 && s.p[0] == '[') {
		const uint8_t *close = memchr(s.p, ']', s.len);
		if (!close)
			return -1;
		size_t n = (size_t)(close - s.p);
		if (netaddr_parse(slice_of(s.p + 1, n - 1), out) < 0 || out->family != 6)
			return -1;
		struct slice rest = slice_of(close + 1, s.len - n - 1);
		if (rest.len == 0)
			return 0;
		if (rest.p[0] != ':')
			return -1;
		return parse_port(slice_of(rest.p + 1, rest.len - 1), port);
	}
	if (netaddr_parse(s, out) == 0)
		return 0;
	const uint8_t *colon = memchr(s.p, ':', s.len);
	if (!colon)
		return -1;
	size_t n = (size_t)(colon - s.p);
	if (netaddr_parse(slice_of(s.p, n), out) < 0 || out->family != 4)
		return -1;
	return parse_port(slice_of(colon + 1, s.len - n - 1), port);
}

char *netaddr_format(const struct netaddr *a, char *out)
{
	if (a->family == 4)
		snprintf(out, NETADDR_STRLEN, "%u.%u.%u.%u", a->a[0], a->a[1], a->a[2], a->a[3]);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->a, out, NETADDR_STRLEN);
	else
		snprintf(out, NETADDR_STRLEN, "invalid");
	return out;
}

char *netaddr_format_port(const struct netaddr *a, uint16_t port, char *out)
{
	char ip[NETADDR_STRLEN];
	netaddr_format(a, ip);
	if (a->family == 6)
		snprintf(out, NETADDR_PORTSTRLEN, "[%s]:%u", ip, port);
	else
		snprintf(out, NETADDR_PORTSTRLEN, "%s:%u", ip, port);
	return out;
}

void netaddr_mask(struct netaddr *a, unsigned bits)
{
	unsigned width = a->family == 4 ? 32 : 128;
	if (bits >= width)
		return;
	unsigned full = bits / 8, rem = bits % 8;
	if (rem)
		a->a[full++] &= (uint8_t)(0xff << (8 - rem));
	memset(a->a + full, 0, 16 - full);
}

int netaddr_cidr_parse(struct slice s, struct netaddr_cidr *out)
{
	const uint8_t *slash = memchr(s.p, '/', s.len);
	size_t n = slash ? (size_t)(slash - s.p) : s.len;
	if (netaddr_parse(slice_of(s.p, n), &out->ip) < 0)
		return -1;
	unsigned width = out->ip.family == 4 ? 32 : 128;
	unsigned bits = width;
	if (slash) {
		struct slice b = slice_of(slash + 1, s.len - n - 1);
		if (b.len == 0 || b.len > 3 || (b.len > 1 && b.p[0] == '0'))
			return -1;
		bits = 0;
		for (size_t i = 0; i < b.len; i++) {
			if (b.p[i] < '0' || b.p[i] > '9')
				return -1;
			bits = bits * 10 + (unsigned)(b.p[i] - '0');
		}
		if (bits > width)
			return -1;
	}
	out->bits = (uint8_t)bits;
	netaddr_mask(&out->ip, bits);
	return 0;
}

char *netaddr_cidr_format(const struct netaddr_cidr *c, char *out)
{
	char ip[NETADDR_STRLEN];
	snprintf(out, NETADDR_STRLEN + 4, "%s/%u", netaddr_format(&c->ip, ip), c->bits);
	return out;
}

struct netaddr netaddr_unmap(struct netaddr a)
{
	if (a.family == 6 && memcmp(a.a, mapped_prefix, 12) == 0) {
		struct netaddr v4 = {.family = 4};
		memcpy(v4.a, a.a + 12, 4);
		return v4;
	}
	return a;
}

bool netaddr_eq(const struct netaddr *a, const struct netaddr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

bool netaddr_cidr_match(const struct netaddr_cidr *c, const struct netaddr *a)
{
	struct netaddr x = c->ip.family == 4 ? netaddr_unmap(*a) : *a;
	if (x.family != c->ip.family)
		return false;
	netaddr_mask(&x, c->bits);
	return memcmp(x.a, c->ip.a, 16) == 0;
}

bool netaddr_is_unspecified(const struct netaddr *a)
{
	static const uint8_t zero[16];
	return (a->family == 4 || a->family == 6) && memcmp(a->a, zero, 16) == 0;
}

bool netaddr_is_loopback(const struct netaddr *a)
{
	static const uint8_t one[16] = {[15] = 1};
	struct netaddr x = netaddr_unmap(*a);
	if (x.family == 4)
		return x.a[0] == 127;
	return x.family == 6 && memcmp(x.a, one, 16) == 0;
}

bool netaddr_is_internal(const struct netaddr *a)
{
	struct netaddr x = netaddr_unmap(*a);
	if (netaddr_is_unspecified(&x) || netaddr_is_loopback(&x))
		return true;
	if (x.family == 4) {
		uint8_t b0 = x.a[0], b1 = x.a[1];
		return b0 == 0 || b0 == 10 || (b0 == 172 && (b1 & 0xf0) == 16) ||
		       (b0 == 192 && b1 == 168) || (b0 == 169 && b1 == 254);
	}
	if (x.family == 6)
		return (x.a[0] & 0xfe) == 0xfc || (x.a[0] == 0xfe && (x.a[1] & 0xc0) == 0x80);
	return false;
}

unsigned netaddr_level_bits(int family, int level)
{
	static const unsigned v4[3] = {32, 26, 21}, v6[3] = {64, 48, 32};
	if (level < 1 || level > 3)
		panic("mask level %d", level);
	return family == 4 ? v4[level - 1] : v6[level - 1];
}

struct netaddr_key netaddr_level_key(const struct netaddr *a, int level)
{
	struct netaddr x = netaddr_unmap(*a);
	netaddr_mask(&x, netaddr_level_bits(x.family, level));
	struct netaddr_key k = {{0}};
	k.b[0] = x.family;
	k.b[1] = (uint8_t)level;
	memcpy(k.b + 2, x.a, 8); /* every level keeps at most 64 bits */
	return k;
}

uint64_t netaddr_key_hash(const struct netaddr_key *k)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < sizeof k->b; i++)
		h = (h ^ k->b[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out, uint16_t *port)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->a, &s4->sin_addr, 4);
		if (port)
			*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		out->family = 6;
		memcpy(out->a, &s6->sin6_addr, 16);
		if (port)
			*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

socklen_t netaddr_to_sockaddr(const struct netaddr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->a, 4);
		return sizeof *s4;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->a, 16);
	return sizeof *s6;
}
