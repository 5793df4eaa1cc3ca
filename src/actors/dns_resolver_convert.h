/* getdns replies to struct dns_answer (the resolver's getdns thread only). */
#ifndef TERN_ACTORS_DNS_RESOLVER_CONVERT_H
#define TERN_ACTORS_DNS_RESOLVER_CONVERT_H

#include <stdbool.h>

#include <getdns/getdns.h>

#include "proto/dns_result.h"

/** Converts the response of one getdns callback of type t (resp may be NULL; it is
 * not freed here) into a new answer with one reference: DNS_FETCH_TIMEOUT,
 * DNS_FETCH_ERROR, or a DNS_FETCH_REPLY with rcode, answer records, the SOA's
 * negative TTL and the AD bit when trusted (loopback resolver, or trust_ad_any). */
struct dns_answer *dns_resolver_convert(getdns_callback_type_t t, getdns_dict *resp, bool trust_ad_any);

#endif
