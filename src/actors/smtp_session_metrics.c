/* Metrics of the SMTP server: the tern_smtpserver_* and tern_authentication_*
 * families of reporting.md §8, and Tern's own tern_smtp_* details.
 *
 * DESIGN: every series with a fixed label set is registered once, under
 * pthread_once from the first session spawn (sessions start on every worker),
 * into smtp_session_metrics, whose pointers the session files bump with one
 * relaxed atomic add. The two families whose labels multiply — command
 * durations by listener kind, verb, code and enhanced code, and authentications
 * by mechanism and result — go through metric_table: a command packs its labels
 * into an integer key and finds its histogram without locks or string work.
 * Label values come only from Tern's own tables and replies, never from client
 * text; the command table is capped, and commands beyond the cap are counted
 * with code="other",ecode="other" for their kind and verb. */
#include "actors/smtp_session_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "actors/metric_table.h"
#include "core/metrics.h"
#include "proto/sasl.h"

/** Series of tern_smtpserver_command_duration_seconds with their own code and ecode. */
#define SMTP_METRICS_CMD_SERIES_MAX 512

struct smtp_session_metrics smtp_session_metrics;

static struct metric_table *cmd_table, *cmd_other, *auth_table;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const double cmd_bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120};

static const char *const kind_names[3] = {"mx", "submission", "submissions"};

static const char *kind_name(unsigned svc)
{
	return svc < 3 ? kind_names[svc] : "mx";
}

/* Key: kind (2 bits) | verb (5) | code (10) | ecode class (4), subject (10), detail (10). */
static uint64_t cmd_key(unsigned svc, const struct smtp_server_cmd_end *e)
{
	uint64_t k = (uint64_t)(svc & 3) << 39 | (uint64_t)(e->verb & 31) << 34 | (uint64_t)(e->code % 1000) << 24;
	return k | (uint64_t)(e->ecode[0] % 10) << 20 | (uint64_t)(e->ecode[1] % 1000) << 10 | (uint64_t)(e->ecode[2] % 1000);
}

static void cmd_labels_cb(uint64_t k, char *out)
{
	int code = (int)(k >> 24 & 1023), cls = (int)(k >> 20 & 15), sub = (int)(k >> 10 & 1023), det = (int)(k & 1023);
	char ecode[16] = "";
	if (cls)
		snprintf(ecode, sizeof ecode, "%d.%d.%d", cls, sub, det);
	snprintf(out, METRIC_TABLE_LABELS_MAX, "kind=\"%s\",cmd=\"%s\",code=\"%d\",ecode=\"%s\"",
	         kind_name((unsigned)(k >> 39)), smtp_server_verb_name((enum smtp_server_verb)(k >> 34 & 31)), code,
	         ecode);
}

static void cmd_other_labels_cb(uint64_t k, char *out)
{
	snprintf(out, METRIC_TABLE_LABELS_MAX, "kind=\"%s\",cmd=\"%s\",code=\"other\",ecode=\"other\"",
	         kind_name((unsigned)(k >> 5)), smtp_server_verb_name((enum smtp_server_verb)(k & 31)));
}

static const char *const auth_results[SMTP_AUTH_NRESULTS] = {
	"ok", "badcreds", "disabled", "malformed", "aborted", "error",
};

/* Key: mechanism * SMTP_AUTH_NRESULTS + result. */
static void auth_labels_cb(uint64_t k, char *out)
{
	char variant[32];
	snprintf(variant, sizeof variant, "%s", sasl_mech_name((enum sasl_mech)(k / SMTP_AUTH_NRESULTS)));
	for (char *p = variant; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	snprintf(out, METRIC_TABLE_LABELS_MAX, "kind=\"submission\",variant=\"%s\",result=\"%s\"", variant,
	         auth_results[k % SMTP_AUTH_NRESULTS]);
}

static void register_server(struct smtp_session_metrics *m)
{
	static const char *const refused[2] = {"reason=\"too_many\"", "reason=\"too_fast\""};
	static const char *const mx[SMTP_MX_NRESULTS] = {
		"result=\"accept\",reason=\"ok\"", "result=\"accept\",reason=\"partial\"",
		"result=\"reject\",reason=\"dmarc\"", "result=\"reject\",reason=\"ratelimit\"",
		"result=\"reject\",reason=\"quota\"", "result=\"reject\",reason=\"recipient\"",
		"result=\"reject\",reason=\"mixed\"", "result=\"reject\",reason=\"storage\"",
		"result=\"error\",reason=\"commit\"",
	};
	static const char *const sub[SMTP_SUB_NRESULTS] = {
		"ok", "badmessage", "badfrom", "disabled", "sendlimit", "fromid", "dkimsign", "storage", "queue", "commit",
	};
	static const char *const err[SMTP_ERR_N] = {"dkimsign", "queuedsn", "commit"};
	static const char *const tls[SMTP_TLSERR_N] = {"eof", "timeout", "protocol", "other"};
	char l[96];
	for (int i = 0; i < 3; i++) {
		snprintf(l, sizeof l, "kind=\"%s\"", kind_names[i]);
		m->connections[i] = metric_counter("tern_smtpserver_connection_total", l,
		                                   "Incoming SMTP connections, by listener kind.");
	}
	for (int i = 0; i < 2; i++)
		m->refused[i] = metric_counter("tern_smtp_connections_refused_total", refused[i],
		                        "Incoming SMTP connections refused with 421 by the per-IP limits.");
	for (int i = 0; i < SMTP_MX_NRESULTS; i++)
		m->mx[i] = metric_counter("tern_smtpserver_delivery_total", mx[i], "Messages received on MX listeners, by outcome.");
	for (int i = 0; i < SMTP_SUB_NRESULTS; i++) {
		snprintf(l, sizeof l, "result=\"%s\"", sub[i]);
		m->sub[i] = metric_counter("tern_smtpserver_submission_total", l, "Messages submitted, by outcome.");
	}
	for (int i = 0; i < SMTP_ERR_N; i++) {
		snprintf(l, sizeof l, "error=\"%s\"", err[i]);
		m->errors[i] = metric_counter("tern_smtpserver_errors_total", l, "Server-side failures while receiving mail.");
	}
	m->starttls = metric_counter("tern_smtpserver_delivery_starttls_total", "",
	                             "Completed STARTTLS handshakes on MX listeners.");
	for (int i = 0; i < SMTP_TLSERR_N; i++) {
		snprintf(l, sizeof l, "reason=\"%s\"", tls[i]);
		m->starttls_errors[i] = metric_counter("tern_smtpserver_delivery_starttls_errors_total", l,
		                                "Failed STARTTLS handshakes on MX listeners.");
	}
}

static void register_all(void)
{
	struct smtp_session_metrics *m = &smtp_session_metrics;
	register_server(m);
	m->auth_ratelimited = metric_counter("tern_authentication_ratelimited_total", "kind=\"submission\"",
	                              "AUTH attempts refused by the failed-authentication limiter.");
	m->relay[0] = metric_counter("tern_smtp_relay_total", "result=\"accepted\"",
	                      "MAIL from RelayNetworks clients without AUTH, by decision.");
	m->relay[1] = metric_counter("tern_smtp_relay_total", "result=\"denied\"",
	                      "MAIL from RelayNetworks clients without AUTH, by decision.");
	m->bytes_in = metric_counter("tern_smtp_bytes_total", "dir=\"in\"", "SMTP bytes on the wire.");
	m->bytes_out = metric_counter("tern_smtp_bytes_total", "dir=\"out\"", "SMTP bytes on the wire.");
	m->sessions = metric_gauge("tern_smtp_sessions", "", "Open SMTP sessions.");
	static const char *const cls[4] = {"class=\"2xx\"", "class=\"3xx\"", "class=\"4xx\"", "class=\"5xx\""};
	for (int i = 0; i < 4; i++)
		m->replies[i] = metric_counter("tern_smtp_replies_total", cls[i], "SMTP replies sent, by class.");
	static const char cmd_help[] = "Incoming SMTP commands: read to final reply.";
	cmd_table = metric_table_new(&(struct metric_table_def){
	    .name = "tern_smtpserver_command_duration_seconds", .help = cmd_help, .bounds = cmd_bounds,
	    .nbounds = (int)(sizeof cmd_bounds / sizeof cmd_bounds[0]), .labels_cb = cmd_labels_cb,
	    .cap = SMTP_METRICS_CMD_SERIES_MAX});
	cmd_other = metric_table_new(&(struct metric_table_def){
	    .name = "tern_smtpserver_command_duration_seconds", .help = cmd_help, .bounds = cmd_bounds,
	    .nbounds = (int)(sizeof cmd_bounds / sizeof cmd_bounds[0]), .labels_cb = cmd_other_labels_cb,
	    .cap = 4 * 32});
	auth_table = metric_table_new(&(struct metric_table_def){
	    .name = "tern_authentication_total", .help = "Authentication attempts, by kind, mechanism and result.",
	    .labels_cb = auth_labels_cb, .cap = SASL_MECH_COUNT * SMTP_AUTH_NRESULTS});
}

void smtp_session_metrics_init(void)
{
	pthread_once(&once, register_all);
}

void smtp_session_metrics_cmd_cb(void *ctx, const struct smtp_server_cmd_end *e)
{
	const struct smtp_session *s = ctx;
	unsigned svc = (unsigned)s->ep->svc;
	struct metric *m = metric_table_get(cmd_table, cmd_key(svc, e));
	if (!m)
		m = metric_table_get(cmd_other, (uint64_t)(svc & 3) << 5 | (uint64_t)(e->verb & 31));
	if (m)
		metric_observe(m, (double)e->ns / 1e9);
}

void smtp_session_metrics_auth(int mech, enum smtp_auth_result r)
{
	if (mech < 0 || mech >= SASL_MECH_COUNT || r < 0 || r >= SMTP_AUTH_NRESULTS)
		return;
	struct metric *m = metric_table_get(auth_table, (uint64_t)mech * SMTP_AUTH_NRESULTS + (uint64_t)r);
	if (m)
		metric_add(m, 1);
}

void smtp_session_metrics_count_replies(struct slice out)
{
	size_t i = 0;
	while (i + 4 <= out.len) {
		const uint8_t *p = out.p + i;
		if (p[3] == ' ' && p[0] >= '2' && p[0] <= '5')
			metric_add(smtp_session_metrics.replies[p[0] - '2'], 1);
		const uint8_t *lf = memchr(p, '\n', out.len - i);
		if (!lf)
			break;
		i = (size_t)(lf - out.p) + 1;
	}
}
