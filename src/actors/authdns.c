/* DNS for SPF, DKIM and DMARC through the resolver actor (see authdns.h).
 *
 * DESIGN: pure conversion, no state: the caller keeps the engine and its
 * pending question, sends with authdns_send, and converts the reply it gets
 * back. A/AAAA both go through DNS_MSG_ADDR_REQ with the family asked; PTR
 * names (`4.3.2.1.in-addr.arpa`, nibble form for ip6.arpa) are turned back
 * into address bytes because the resolver's PTR request takes an address. */
#include "actors/authdns.h"

#include <errno.h>
#include <string.h>

#include "proto/dns_result.h"

static enum mailauth_dns_status status_of(uint64_t st)
{
	switch (st) {
	case DNS_OK:
	case DNS_NODATA:
	case DNS_NULLMX:
		return MAILAUTH_DNS_OK;
	case DNS_NXDOMAIN:
		return MAILAUTH_DNS_NXDOMAIN;
	case DNS_BADNAME:
		return MAILAUTH_DNS_PERMFAIL;
	default:
		return MAILAUTH_DNS_TEMPFAIL;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses a reverse name into address bytes; returns 4, 16, or -1. */
static int ptr_ip(const char *name, uint8_t ip[16])
{
	size_t n = strlen(name);
	const char *v4 = ".in-addr.arpa", *v6 = ".ip6.arpa";
	if (n > strlen(v4) && strcasecmp(name + n - strlen(v4), v4) == 0) {
		int parts[4], k = 0;
		const char *p = name;
		while (k < 4 && *p && p < name + n - strlen(v4)) {
			int v = 0, d = 0;
			while (*p >= '0' && *p <= '9' && d < 4)
				v = v * 10 + (*p++ - '0'), d++;
			if (!d || v > 255)
				return -1;
			parts[k++] = v;
			if (*p == '.')
				p++;
		}
		if (k != 4 || p != name + n - strlen(v4) + 1)
			return -1;
		for (int i = 0; i < 4; i++)
			ip[i] = (uint8_t)parts[3 - i];
		return 4;
	}
	if (n == 63 + strlen(v6) && strcasecmp(name + 63, v6) == 0) {
		for (int i = 0; i < 32; i++) {
			int h = hexval(name[2 * i]);
			if (h < 0 || (i < 31 && name[2 * i + 1] != '.'))
				return -1;
			int byte = 15 - i / 2;
			if (i % 2 == 0)
				ip[byte] = (uint8_t)h;
			else
				ip[byte] |= (uint8_t)(h << 4);
		}
		return 16;
	}
	return -1;
}

int authdns_send(uint64_t resolver, struct actor *self, const struct mailauth_dns_query *q, uint64_t req_id)
{
	struct actor_send_opts o = {.req_id = req_id};
	switch (q->type) {
	case MAILAUTH_DNS_TXT:
		return DNS_MSG_TXT_REQ_send(resolver, self, &(struct dns_name_req){.name = slice_str(q->name)}, &o);
	case MAILAUTH_DNS_MX:
		return DNS_MSG_MX_REQ_send(resolver, self, &(struct dns_name_req){.name = slice_str(q->name)}, &o);
	case MAILAUTH_DNS_A:
	case MAILAUTH_DNS_AAAA:
		return DNS_MSG_ADDR_REQ_send(resolver, self,
		                             &(struct dns_addr_req){.name = slice_str(q->name),
		                                                    .families = q->type == MAILAUTH_DNS_A ? DNS_FAMILY_V4
		                                                                                            : DNS_FAMILY_V6},
		                             &o);
	case MAILAUTH_DNS_PTR: {
		uint8_t ip[16];
		int n = ptr_ip(q->name, ip);
		if (n < 0)
			return -EINVAL;
		return DNS_MSG_PTR_REQ_send(resolver, self, &(struct dns_ptr_req){.ip = slice_of(ip, (size_t)n)}, &o);
	}
	}
	return -EINVAL;
}

void authdns_tempfail(struct authdns_answer *out)
{
	memset(&out->a, 0, sizeof out->a);
	out->a.status = MAILAUTH_DNS_TEMPFAIL;
	out->a.rr = out->rr;
}

static void add(struct authdns_answer *out, struct slice s)
{
	if (out->a.nrr < AUTHDNS_RR_MAX)
		out->rr[out->a.nrr++] = s;
}

void authdns_convert(const struct mailauth_dns_query *q, const struct msg *m, const void *p,
                     struct authdns_answer *out)
{
	authdns_tempfail(out);
	switch (m->type) {
	case DNS_MSG_TXT_RES: {
		const struct dns_txt_res *r = p;
		out->a.status = status_of(r->status);
		for (uint32_t i = 0; i < r->texts.n; i++)
			add(out, r->texts.v[i]);
		break;
	}
	case DNS_MSG_MX_RES: {
		const struct dns_mx_res *r = p;
		out->a.status = status_of(r->status);
		for (uint32_t i = 0; i < r->hosts.n && !r->implicit; i++)
			add(out, r->hosts.v[i]);
		break;
	}
	case DNS_MSG_PTR_RES: {
		const struct dns_ptr_res *r = p;
		out->a.status = status_of(r->status);
		for (uint32_t i = 0; i < r->names.n; i++)
			add(out, r->names.v[i]);
		break;
	}
	case DNS_MSG_ADDR_RES: {
		const struct dns_addr_res *r = p;
		out->a.status = status_of(r->status);
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		for (size_t off = 0; off + 16 <= r->addrs.len && out->a.nrr < AUTHDNS_RR_MAX; off += 16) {
			const uint8_t *a = r->addrs.p + off;
			bool v4 = memcmp(a, mapped, 12) == 0;
			if (q->type == MAILAUTH_DNS_A && v4) {
				memcpy(out->ip[out->a.nrr], a + 12, 4);
				add(out, slice_of(out->ip[out->a.nrr], 4));
			} else if (q->type == MAILAUTH_DNS_AAAA && !v4) {
				memcpy(out->ip[out->a.nrr], a, 16);
				add(out, slice_of(out->ip[out->a.nrr], 16));
			}
		}
		if (out->a.status == MAILAUTH_DNS_OK && r->status == DNS_NODATA)
			out->a.nrr = 0;
		break;
	}
	}
}
