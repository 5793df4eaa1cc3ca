/* libFuzzer target: domains.conf from arbitrary bytes, checked against a fixed
 * tern.conf. Accepted configs must survive write -> parse unchanged and answer
 * lookups; rejects must carry a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "conf/conf_static.h"

static const char tern_conf[] =
	"Hostname: mail.example.com\nDataDir: data\nPostmaster: {Account: admin, Mailbox: Postmaster}\n"
	"HostTLSRPT: {Account: admin, Mailbox: TLSRPT, Localpart: tlsreports}\n"
	"Listeners: {l: {IPs: [127.0.0.1], Submission: {RelayNetworks: [10.0.0.0/8], RelayAccount: app}}}\n"
	"Transports: {relay: {SMTP: {Host: relay.example}}, ipv4only: {Direct: {DisableIPv6: true}}}\n";

static struct conf_static *st;

static void lookups(const struct conf_domains *dc)
{
	static const char *const addrs[][2] = {{"admin", "example.com"}, {"you+x", "example.com"}, {"postmaster", ""},
					       {"a", "bücher.example"}, {"tlsreports", "mail.example.com"}};
	struct conf_dest d;
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		conf_dest_lookup(dc, addrs[i][0], strlen(addrs[i][0]), addrs[i][1], strlen(addrs[i][1]), &d);
		conf_login_lookup(dc, addrs[i][0], strlen(addrs[i][0]), addrs[i][1], strlen(addrs[i][1]), true);
	}
	for (size_t i = 0; i < dc->naccounts; i++)
		conf_route_find(dc, &dc->accounts[i], dc->accounts[i].domain, "x.corp.example", 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err, y;
	buf_init(&err);
	buf_init(&y);
	if (!st && conf_static_parse("tern.conf", tern_conf, sizeof tern_conf - 1, "/etc/tern", &st, &err) < 0)
		abort();
	struct conf_domains *dc, *back;
	if (conf_domains_parse("domains.conf", data, size, st, "/etc/tern", &dc, &err) == 0) {
		lookups(dc);
		conf_domains_write(dc, &y);
		if (conf_domains_parse("again", y.p, y.len, st, "/etc/tern", &back, &err) != 0 || !conf_domains_eq(dc, back))
			abort();
		conf_domains_release(back);
		conf_domains_release(dc);
	} else if (err.len == 0) {
		abort();
	}
	buf_free(&err);
	buf_free(&y);
	return 0;
}
