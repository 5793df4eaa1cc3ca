/* Field tables of domains.conf: names, defaults and ranges of spec/config.md §3, §4, §6.
 *
 * DESIGN: as for tern.conf, every default of domains.conf lives here. Rules
 * spanning fields or files are in conf_domains_check.c; derived members
 * (normal forms, resolved paths, parsed event lists) are freed by the
 * free_derived hooks below. */
#include <stddef.h>
#include <stdlib.h>

#include "conf/conf_schema.h"

#define F(S, n, k, m, ...) {.name = n, .kind = k, .off = offsetof(S, m), __VA_ARGS__}
#define FL(S, n, k, m, cnt, ...) {.name = n, .kind = k, .off = offsetof(S, m), .off2 = offsetof(S, cnt), __VA_ARGS__}
#define I64MAX INT64_MAX
#define YEAR_MS (366LL * 24 * 3600 * 1000)

static const char *const hashes[] = {"sha256", "sha1", NULL};
static const char *const modes[] = {"enforce", "testing", "none", NULL};

static void strs_clear(struct conf_strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- Route ---- */

static void route_free_derived(void *obj)
{
	struct conf_route *r = obj;
	strs_clear(&r->from_ascii);
	strs_clear(&r->to_ascii);
	r->transport_conf = NULL;
}

#define S struct conf_route
static const struct conf_field route_fields[] = {
	F(S, "FromDomain", CONF_K_STRS, from_domain),
	F(S, "ToDomain", CONF_K_STRS, to_domain),
	F(S, "MinimumAttempts", CONF_K_I64, minimum_attempts, CONF_RANGE(0, 1000)),
	F(S, "Transport", CONF_K_STR, transport, .flags = CONF_F_REQUIRED),
};
#undef S
const struct conf_schema conf_route_schema = {"Route", sizeof(struct conf_route), CONF_FIELDS(route_fields),
					      route_free_derived};

/* ---- Domain ---- */

static const struct conf_field canon_fields[] = {
	F(struct conf_dkim_canon, "HeaderRelaxed", CONF_K_BOOL, header_relaxed, .def = 1),
	F(struct conf_dkim_canon, "BodyRelaxed", CONF_K_BOOL, body_relaxed, .def = 1),
};
static const struct conf_schema canon_schema = {"Canonicalization", sizeof(struct conf_dkim_canon), CONF_FIELDS(canon_fields)};

#define S struct conf_dkim_selector
static const struct conf_field selector_fields[] = {
	F(S, "Hash", CONF_K_ENUM, hash, .names = hashes, .def = CONF_DKIM_SHA256),
	F(S, "Canonicalization", CONF_K_OBJ, canonicalization, .sub = &canon_schema),
	F(S, "Headers", CONF_K_STRS, headers),
	F(S, "DontSealHeaders", CONF_K_BOOL, dont_seal_headers),
	F(S, "Expiration", CONF_K_DUR, expiration_ms, CONF_RANGE(0, 10 * YEAR_MS)),
	{.name = "PrivateKeyFile", .kind = CONF_K_PATH, .off = offsetof(S, private_key_file),
	 .off2 = offsetof(S, private_key_path), .flags = CONF_F_REQUIRED},
};
#undef S
const struct conf_schema conf_dkim_selector_schema = {"Selector", sizeof(struct conf_dkim_selector),
						      CONF_FIELDS(selector_fields)};

#define S struct conf_dkim
static const struct conf_field dkim_fields[] = {
	FL(S, "Selectors", CONF_K_MAP, selectors, nselectors, .sub = &conf_dkim_selector_schema),
	F(S, "Sign", CONF_K_STRS, sign),
};
#undef S
static const struct conf_schema dkim_schema = {"DKIM", sizeof(struct conf_dkim), CONF_FIELDS(dkim_fields)};

#define S struct conf_report_addr
static const struct conf_field report_fields[] = {
	F(S, "Localpart", CONF_K_STR, localpart, .flags = CONF_F_REQUIRED),
	F(S, "Domain", CONF_K_STR, domain),
	F(S, "Account", CONF_K_STR, account, .flags = CONF_F_REQUIRED),
	F(S, "Mailbox", CONF_K_STR, mailbox, .flags = CONF_F_REQUIRED),
};
#undef S
static const struct conf_schema report_schema = {"ReportAddress", sizeof(struct conf_report_addr), CONF_FIELDS(report_fields)};

#define S struct conf_mtasts
static const struct conf_field mtasts_fields[] = {
	F(S, "PolicyID", CONF_K_STR, policy_id, .flags = CONF_F_REQUIRED),
	F(S, "Mode", CONF_K_ENUM, mode, .names = modes, .flags = CONF_F_REQUIRED),
	F(S, "MaxAge", CONF_K_DUR, max_age_ms, .flags = CONF_F_REQUIRED | CONF_F_RANGE, .min = 1000, .max = YEAR_MS),
	F(S, "MX", CONF_K_STRS, mx),
};
#undef S
static const struct conf_schema mtasts_schema = {"MTASTS", sizeof(struct conf_mtasts), CONF_FIELDS(mtasts_fields)};

static void domain_free_derived(void *obj)
{
	struct conf_domain *d = obj;
	free(d->ascii);
	free(d->unicode);
	d->ascii = d->unicode = NULL;
	d->seps = NULL;
	d->nseps = 0;
}

#define S struct conf_domain
static const struct conf_field domain_fields[] = {
	F(S, "Disabled", CONF_K_BOOL, disabled),
	F(S, "Description", CONF_K_STR, description),
	F(S, "LocalpartCatchallSeparator", CONF_K_STR, localpart_catchall_separator),
	F(S, "LocalpartCatchallSeparators", CONF_K_STRS, localpart_catchall_separators),
	F(S, "LocalpartCaseSensitive", CONF_K_BOOL, localpart_case_sensitive),
	F(S, "DKIM", CONF_K_OPT, dkim, .sub = &dkim_schema),
	F(S, "DMARC", CONF_K_OPT, dmarc, .sub = &report_schema),
	F(S, "MTASTS", CONF_K_OPT, mtasts, .sub = &mtasts_schema),
	F(S, "TLSRPT", CONF_K_OPT, tlsrpt, .sub = &report_schema),
	FL(S, "Routes", CONF_K_LIST, routes, nroutes, .sub = &conf_route_schema),
};
#undef S
const struct conf_schema conf_domain_schema = {"Domain", sizeof(struct conf_domain), CONF_FIELDS(domain_fields),
					       domain_free_derived};

/* ---- Account ---- */

#define S struct conf_destination
static const struct conf_field destination_fields[] = {
	F(S, "Mailbox", CONF_K_STR, mailbox, .sdef = "Inbox"),
};
#undef S
const struct conf_schema conf_destination_schema = {"Destination", sizeof(struct conf_destination),
						    CONF_FIELDS(destination_fields)};

#define S struct conf_webhook_out
static const struct conf_field webhook_out_fields[] = {
	F(S, "URL", CONF_K_STR, url, .flags = CONF_F_REQUIRED),
	F(S, "Authorization", CONF_K_STR, authorization),
	F(S, "Events", CONF_K_STRS, events),
};
#undef S
static const struct conf_schema webhook_out_schema = {"OutgoingWebhook", sizeof(struct conf_webhook_out),
						      CONF_FIELDS(webhook_out_fields)};

#define S struct conf_webhook_in
static const struct conf_field webhook_in_fields[] = {
	F(S, "URL", CONF_K_STR, url, .flags = CONF_F_REQUIRED),
	F(S, "Authorization", CONF_K_STR, authorization),
};
#undef S
static const struct conf_schema webhook_in_schema = {"IncomingWebhook", sizeof(struct conf_webhook_in),
						     CONF_FIELDS(webhook_in_fields)};

static void account_free_derived(void *obj)
{
	((struct conf_account *)obj)->domain_conf = NULL;
}

#define S struct conf_account
static const struct conf_field account_fields[] = {
	F(S, "Domain", CONF_K_STR, domain, .flags = CONF_F_REQUIRED),
	F(S, "Description", CONF_K_STR, description),
	F(S, "FullName", CONF_K_STR, full_name),
	FL(S, "Destinations", CONF_K_MAP, destinations, ndestinations, .sub = &conf_destination_schema,
	   .flags = CONF_F_REQUIRED),
	F(S, "LoginDisabled", CONF_K_STR, login_disabled),
	F(S, "OutgoingWebhook", CONF_K_OPT, outgoing_webhook, .sub = &webhook_out_schema),
	F(S, "IncomingWebhook", CONF_K_OPT, incoming_webhook, .sub = &webhook_in_schema),
	F(S, "FromIDLoginAddresses", CONF_K_STRS, from_id_login_addresses),
	F(S, "KeepRetiredMessagePeriod", CONF_K_DUR, keep_retired_message_period_ms, CONF_RANGE(0, 100 * YEAR_MS)),
	F(S, "KeepRetiredWebhookPeriod", CONF_K_DUR, keep_retired_webhook_period_ms, CONF_RANGE(0, 100 * YEAR_MS)),
	F(S, "MaxOutgoingMessagesPerDay", CONF_K_I64, max_outgoing_messages_per_day, CONF_RANGE(-1, I64MAX), .def = 1000),
	F(S, "MaxFirstTimeRecipientsPerDay", CONF_K_I64, max_first_time_recipients_per_day, CONF_RANGE(-1, I64MAX),
	  .def = 200),
	F(S, "QuotaMessageSize", CONF_K_I64, quota_message_size),
	FL(S, "Routes", CONF_K_LIST, routes, nroutes, .sub = &conf_route_schema),
};
#undef S
const struct conf_schema conf_account_schema = {"Account", sizeof(struct conf_account), CONF_FIELDS(account_fields),
						account_free_derived};

/* ---- top level ---- */

#define S struct conf_domains
static const struct conf_field domains_fields[] = {
	FL(S, "Domains", CONF_K_MAP, domains, ndomains, .sub = &conf_domain_schema),
	FL(S, "Accounts", CONF_K_MAP, accounts, naccounts, .sub = &conf_account_schema),
	FL(S, "Routes", CONF_K_LIST, routes, nroutes, .sub = &conf_route_schema),
	F(S, "MonitorDNSBLs", CONF_K_STRS, monitor_dnsbls),
};
#undef S
const struct conf_schema conf_domains_schema = {"domains.conf", sizeof(struct conf_domains), CONF_FIELDS(domains_fields)};
