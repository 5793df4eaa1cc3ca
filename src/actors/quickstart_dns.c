/* The DNS records `tern quickstart` asks the operator to create.
 *
 * DESIGN: printed in zone-file syntax with absolute names, so they can be
 * pasted into a zone or read off one by one; addresses Tern cannot know
 * (the public IPs) are placeholders in angle brackets. SPF is `mx ~all` for
 * the domain and `a -all` for the host name (which sends DSNs with
 * MAIL FROM <> and HELO <hostname>); DMARC starts at p=reject as mail from
 * this host is always DKIM-signed and aligned; MTA-STS starts in testing
 * mode while the certificate is the self-signed one. */
#include "actors/quickstart.h"

#include <string.h>

#define TXT_STRING_MAX 255

void quickstart_dns_txt(struct buf *out, const char *value)
{
	size_t n = strlen(value);
	size_t off = 0;
	do {
		size_t k = n - off > TXT_STRING_MAX ? TXT_STRING_MAX : n - off;
		if (off)
			buf_putc(out, ' ');
		buf_putc(out, '"');
		for (size_t i = 0; i < k; i++) {
			char c = value[off + i];
			if (c == '"' || c == '\\')
				buf_putc(out, '\\');
			buf_putc(out, c);
		}
		buf_putc(out, '"');
		off += k;
	} while (off < n);
}

static void rr(FILE *f, const char *name, const char *type, const char *value, bool txt)
{
	struct buf b;
	buf_init(&b);
	if (txt)
		quickstart_dns_txt(&b, value);
	else
		buf_puts(&b, value);
	fprintf(f, "%-40s IN %-5s %s\n", name, type, buf_cstr(&b));
	buf_free(&b);
}

static void rrf(FILE *f, const char *type, bool txt, const char *value, const char *namefmt, const char *a,
                const char *b)
{
	char name[600];
	snprintf(name, sizeof name, namefmt, a, b);
	rr(f, name, type, value, txt);
}

void quickstart_dns_print(FILE *f, const struct quickstart_dns *d)
{
	char v[700];
	const char *dom = d->domain, *host = d->hostname;
	fprintf(f, "; The mail host. Replace the addresses with the public IPs of this machine, and set their\n"
	           "; reverse DNS (PTR) to %s.\n", host);
	rrf(f, "A", false, "<public IPv4 address>", "%s.", host, NULL);
	rrf(f, "AAAA", false, "<public IPv6 address>", "%s.", host, NULL);
	fprintf(f, "\n; Mail for %s goes to %s.\n", dom, host);
	snprintf(v, sizeof v, "10 %s.", host);
	rrf(f, "MX", false, v, "%s.", dom, NULL);
	fprintf(f, "\n; SPF: the MX hosts send for %s; the host name sends DSNs as itself.\n", dom);
	rrf(f, "TXT", true, "v=spf1 mx ~all", "%s.", dom, NULL);
	if (strcmp(host, dom) != 0)
		rrf(f, "TXT", true, "v=spf1 a -all", "%s.", host, NULL);
	fprintf(f, "\n; DMARC: reject mail that fails; aggregate reports to %s@%s.\n", QUICKSTART_DMARC_LOCALPART, dom);
	snprintf(v, sizeof v, "v=DMARC1; p=reject; rua=mailto:%s@%s", QUICKSTART_DMARC_LOCALPART, dom);
	rrf(f, "TXT", true, v, "_dmarc.%s.", dom, NULL);
	fprintf(f, "\n; DKIM: both selectors sign outgoing mail.\n");
	for (int i = 0; i < 2; i++)
		if (d->dkim_selector[i])
			rrf(f, "TXT", true, d->dkim_record[i], "%s._domainkey.%s.", d->dkim_selector[i], dom);
	if (d->mtasts_id) {
		fprintf(f, "\n; MTA-STS (mode testing until %s has a certificate from a public CA; then set\n"
		           "; Mode: enforce in domains.conf and a new PolicyID here and there).\n", host);
		snprintf(v, sizeof v, "v=STSv1; id=%s", d->mtasts_id);
		rrf(f, "TXT", true, v, "_mta-sts.%s.", dom, NULL);
		snprintf(v, sizeof v, "%s.", host);
		rrf(f, "CNAME", false, v, "mta-sts.%s.", dom, NULL);
	}
	fprintf(f, "\n; TLS reports (TLSRPT) about mail sent to %s%s.\n", dom, d->host_tlsrpt ? " and to the host" : "");
	snprintf(v, sizeof v, "v=TLSRPTv1; rua=mailto:%s@%s", QUICKSTART_TLSRPT_LOCALPART, dom);
	rrf(f, "TXT", true, v, "_smtp._tls.%s.", dom, NULL);
	if (d->host_tlsrpt) {
		snprintf(v, sizeof v, "v=TLSRPTv1; rua=mailto:%s@%s", QUICKSTART_TLSRPT_LOCALPART, host);
		rrf(f, "TXT", true, v, "_smtp._tls.%s.", host, NULL);
	}
}
