/* getdns replies to struct dns_answer, on the resolver's getdns thread.
 *
 * DESIGN: only the last reply of a response is used (Tern asks one type at a
 * time), only class IN records of the types Tern asks for are kept, and every
 * name goes through dns_name_from_wire(), so a record with a name that is not
 * a plain host name (odd bytes, escapes) is dropped rather than passed on. The
 * AD bit counts only from a loopback resolver unless trust_ad_any: over any
 * other path it could be forged. The SOA of a negative reply gives its caching
 * time (RFC 2308 §5). */
#include "actors/dns_resolver_convert.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "proto/dns_upstream.h"

static char *wire_name(const getdns_bindata *b)
{
	char tmp[DNS_NAME_MAX + 1];
	if (!b || dns_name_from_wire(b->data, b->size, tmp) < 0)
		return NULL;
	return xstrdup(tmp);
}

/* Fills the type-specific part of r from rdata; -1 to drop the record. */
static int convert_rdata(struct dns_rr *r, getdns_dict *rd)
{
	getdns_bindata *b = NULL;
	uint32_t v;
	switch (r->type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		size_t want = r->type == DNS_T_A ? 4 : 16;
		if (getdns_dict_get_bindata(rd, r->type == DNS_T_A ? "ipv4_address" : "ipv6_address", &b) || b->size != want)
			return -1;
		memcpy(r->addr, b->data, want);
		return 0;
	}
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (getdns_dict_get_bindata(rd, r->type == DNS_T_CNAME ? "cname" : "ptrdname", &b))
			return -1;
		free(r->target);
		return (r->target = wire_name(b)) ? 0 : -1;
	case DNS_T_MX:
		if (getdns_dict_get_int(rd, "preference", &v) || getdns_dict_get_bindata(rd, "exchange", &b))
			return -1;
		r->pref = (uint16_t)v;
		free(r->target);
		return (r->target = wire_name(b)) ? 0 : -1;
	case DNS_T_TXT: {
		getdns_list *parts;
		size_t n = 0;
		if (getdns_dict_get_list(rd, "txt_strings", &parts) || getdns_list_get_length(parts, &n))
			return -1;
		struct buf t;
		buf_init(&t);
		for (size_t i = 0; i < n; i++)
			if (getdns_list_get_bindata(parts, i, &b) == 0)
				buf_append(&t, b->data, b->size);
		r->txtlen = t.len;
		buf_cstr(&t);
		r->txt = (char *)buf_steal(&t, NULL);
		return 0;
	}
	default:
		return -1;
	}
}

static void convert_section(struct dns_answer *a, getdns_list *rrs)
{
	size_t n = 0;
	getdns_list_get_length(rrs, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr, *rd;
		getdns_bindata *owner;
		uint32_t type, cls, ttl;
		if (getdns_list_get_dict(rrs, i, &rr) || getdns_dict_get_int(rr, "type", &type) ||
		    getdns_dict_get_int(rr, "class", &cls) || getdns_dict_get_int(rr, "ttl", &ttl) ||
		    getdns_dict_get_bindata(rr, "name", &owner) || getdns_dict_get_dict(rr, "rdata", &rd) || cls != 1)
			continue;
		char *o = wire_name(owner);
		if (!o)
			continue;
		struct dns_rr *r = dns_answer_add(a);
		r->type = (uint16_t)type;
		r->ttl = ttl;
		r->owner = o;
		r->target = xstrdup("");
		if (convert_rdata(r, rd) != 0) {
			free(r->owner);
			free(r->target);
			free(r->txt);
			a->n--;
		}
	}
}

/* The SOA of a negative reply gives its caching time (RFC 2308 §5). */
static uint32_t negative_ttl(getdns_list *auth)
{
	size_t n = 0;
	getdns_list_get_length(auth, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *rr, *rd;
		uint32_t type, ttl, min;
		if (getdns_list_get_dict(auth, i, &rr) || getdns_dict_get_int(rr, "type", &type) || type != DNS_T_SOA ||
		    getdns_dict_get_int(rr, "ttl", &ttl) || getdns_dict_get_dict(rr, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "minimum", &min))
			continue;
		return ttl < min ? ttl : min;
	}
	return 0;
}

static bool from_loopback(getdns_dict *resp)
{
	getdns_bindata *b;
	if (getdns_dict_get_bindata(resp, "answer_ipv4_address", &b) == 0 ||
	    getdns_dict_get_bindata(resp, "answer_ipv6_address", &b) == 0)
		return dns_upstream_addr_is_loopback(b->data, b->size);
	return false;
}

struct dns_answer *dns_resolver_convert(getdns_callback_type_t t, getdns_dict *resp, bool trust_ad_any)
{
	if (t == GETDNS_CALLBACK_TIMEOUT)
		return dns_answer_new(DNS_FETCH_TIMEOUT);
	getdns_list *replies;
	getdns_dict *reply, *hdr;
	size_t n = 0;
	uint32_t status = 0;
	if (t != GETDNS_CALLBACK_COMPLETE || !resp)
		return dns_answer_new(DNS_FETCH_ERROR);
	getdns_dict_get_int(resp, "status", &status);
	if (getdns_dict_get_list(resp, "replies_tree", &replies) || getdns_list_get_length(replies, &n) || n == 0)
		return dns_answer_new(status == GETDNS_RESPSTATUS_ALL_TIMEOUT ? DNS_FETCH_TIMEOUT : DNS_FETCH_ERROR);
	uint32_t rcode, ad = 0;
	if (getdns_list_get_dict(replies, n - 1, &reply) || getdns_dict_get_dict(reply, "header", &hdr) ||
	    getdns_dict_get_int(hdr, "rcode", &rcode))
		return dns_answer_new(DNS_FETCH_ERROR);
	getdns_dict_get_int(hdr, "ad", &ad);
	struct dns_answer *a = dns_answer_new(DNS_FETCH_REPLY);
	a->rcode = (int)rcode;
	a->ad = ad && (trust_ad_any || from_loopback(resp));
	getdns_list *sec;
	if (getdns_dict_get_list(reply, "answer", &sec) == 0)
		convert_section(a, sec);
	if (getdns_dict_get_list(reply, "authority", &sec) == 0)
		a->neg_ttl = negative_ttl(sec);
	return a;
}
