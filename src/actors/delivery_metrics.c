/* Metrics of outgoing delivery (see delivery_metrics.h).
 *
 * DESIGN: fixed series are registered once under pthread_once into
 * delivery_metrics; connection actors on every worker bump them with relaxed
 * atomic adds. The two histogram families with multiplying labels go through
 * metric_table with integer keys: an attempt packs attempt, transport id,
 * TLS mode and result; a client command packs the command, a normalised reply
 * code and the enhanced code. Remote replies are untrusted, so codes outside
 * RFC 5321/4954's list become their class ("4xx") and enhanced codes outside
 * the registry's shape become "other"; a full table falls back to one series
 * per result or command with the other labels "other". Transport names come
 * from the configuration only and get small ids in an append-only list. */
#include "actors/delivery_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "actors/delivery_job.h"
#include "actors/delivery_target.h"
#include "actors/metric_table.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/xmalloc.h"

/** Series of tern_queue_delivery_duration_seconds, and of the client command histogram. */
#define DELIVERY_METRICS_ATTEMPT_SERIES_MAX 2048
#define DELIVERY_METRICS_CMD_SERIES_MAX 512
/** Attempts from this one on share the label "10+". */
#define DELIVERY_METRICS_ATTEMPT_CAP 10

struct delivery_metrics delivery_metrics;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct metric_table *attempts, *attempts_other, *cmds, *cmds_other;
static pthread_mutex_t transports_mu = PTHREAD_MUTEX_INITIALIZER;
/* Transport labels by id; id 0 is for records naming no configured transport, and the
 * last id stands for every label past the list's end. */
static const char *transports[DELIVERY_METRICS_TRANSPORTS_MAX] = {"unknown"};
static int ntransports = 1;

enum tlsmode { TM_IMMEDIATE, TM_REQUIRED, TM_OPPORTUNISTIC, TM_SKIP };
static const char *const tlsmodes[4] = {"immediate", "requiredstarttls", "opportunistic", "skip"};

enum attempt_result { AR_OK, AR_OKPARTIAL, AR_TIMEOUT, AR_CANCELED, AR_TEMPERROR, AR_PERMERROR, AR_ERROR, AR_NONE };
static const char *const results[7] = {"ok", "okpartial", "timeout", "canceled", "temperror", "permerror", "error"};

static const double attempt_bounds[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 20, 30, 60, 120};
static const double cmd_bounds[] = {0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600};

/* ---- labels ---- */

static const char *transport_name(int id)
{
	pthread_mutex_lock(&transports_mu);
	const char *n = id >= 0 && id < ntransports ? transports[id] : "other";
	pthread_mutex_unlock(&transports_mu);
	return n;
}

/* Key: attempt (4 bits, 1..10) | transport id (6) | tlsmode (2) | result (3). */
static void attempt_labels_cb(uint64_t k, char *out)
{
	int attempt = (int)(k >> 11 & 15);
	char a[8];
	snprintf(a, sizeof a, attempt >= DELIVERY_METRICS_ATTEMPT_CAP ? "%d+" : "%d", attempt);
	snprintf(out, METRIC_TABLE_LABELS_MAX, "attempt=\"%s\",transport=\"%s\",tlsmode=\"%s\",result=\"%s\"", a,
	         transport_name((int)(k >> 5 & 63)), tlsmodes[k >> 3 & 3], results[k & 7]);
}

static void attempt_other_labels_cb(uint64_t k, char *out)
{
	snprintf(out, METRIC_TABLE_LABELS_MAX,
	         "attempt=\"other\",transport=\"other\",tlsmode=\"other\",result=\"%s\"", results[k & 7]);
}

/* Reply codes kept as they are (RFC 5321 §4.2.3, RFC 4954); others become their class. */
static bool known_code(int code)
{
	static const int known[] = {211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 454,
	                            455, 500, 501, 502, 503, 504, 521, 530, 534, 535, 538, 550, 551, 552, 553,
	                            554, 555, 556};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i] == code)
			return true;
	return false;
}

/* The secode label as a number: 0 none, 1 + subject * 100 + detail, 1023 "other". */
static unsigned secode_num(const char *ecode)
{
	unsigned cls, sub, det;
	char end;
	if (!ecode[0])
		return 0;
	if (sscanf(ecode, "%1u.%u.%u%c", &cls, &sub, &det, &end) != 3 || sub > 7 || det > 99)
		return 1023;
	return 1 + sub * 100 + det;
}

/* Key: cmd (4 bits) | code (10: the code, or class * 100 + 99 for "Nxx") | secode (10). */
static void cmd_labels_cb(uint64_t k, char *out)
{
	unsigned code = (unsigned)(k >> 10 & 1023), sec = (unsigned)(k & 1023);
	char c[8], e[16] = "other";
	snprintf(c, sizeof c, code % 100 == 99 ? "%uxx" : "%u", code % 100 == 99 ? code / 100 : code);
	if (sec == 0)
		e[0] = 0;
	else if (sec < 1023)
		snprintf(e, sizeof e, "%u.%u", (sec - 1) / 100, (sec - 1) % 100);
	snprintf(out, METRIC_TABLE_LABELS_MAX, "cmd=\"%s\",code=\"%s\",secode=\"%s\"",
	         smtp_client_cmd_name((enum smtp_client_cmd)(k >> 20 & 15)), c, e);
}

static void cmd_other_labels_cb(uint64_t k, char *out)
{
	snprintf(out, METRIC_TABLE_LABELS_MAX, "cmd=\"%s\",code=\"other\",secode=\"other\"",
	         smtp_client_cmd_name((enum smtp_client_cmd)(k & 15)));
}

/* ---- registration ---- */

static struct metric_table *table(const char *name, const char *help, const double *bounds, int n,
                                  metric_table_labels_fn cb, size_t cap)
{
	return metric_table_new(&(struct metric_table_def){
	    .name = name, .help = help, .bounds = bounds, .nbounds = n, .labels_cb = cb, .cap = cap});
}

static void register_all(void)
{
	struct delivery_metrics *m = &delivery_metrics;
	static const char *const dial[DELIVERY_METRICS_NDIAL] = {"ok", "timeout", "canceled", "error"};
	char l[64];
	for (int i = 0; i < DELIVERY_METRICS_NDIAL; i++) {
		snprintf(l, sizeof l, "result=\"%s\"", dial[i]);
		m->dial[i] = metric_counter("tern_queue_connection_total", l,
		                            "Outgoing SMTP connection attempts (one per address dialed).");
	}
	m->open = metric_gauge("tern_queue_connections_open", "", "Open outgoing SMTP connections, idle ones included.");
	m->reuse = metric_counter("tern_queue_connection_reuse_total", "",
	                          "Delivery transactions run on a connection that had carried one before.");
	m->plaintext_fallback = metric_counter("tern_queue_plaintext_fallback_total", "",
	                                       "Hosts redialed in plaintext after a failed opportunistic TLS handshake.");
	static const char rhelp[] = "REQUIRETLS deliveries a host could not take.";
	m->requiretls[DELIVERY_METRICS_RTLS_NOPOLICY] =
	    metric_counter("tern_queue_requiretls_unsupported_total", "reason=\"nopolicy\"", rhelp);
	m->requiretls[DELIVERY_METRICS_RTLS_NOREQUIRETLS] =
	    metric_counter("tern_queue_requiretls_unsupported_total", "reason=\"norequiretls\"", rhelp);
	int nb = (int)(sizeof attempt_bounds / sizeof attempt_bounds[0]), nc = (int)(sizeof cmd_bounds / sizeof cmd_bounds[0]);
	static const char ahelp[] = "Delivery attempts (one per job of records to one destination), from start to results.";
	attempts = table("tern_queue_delivery_duration_seconds", ahelp, attempt_bounds, nb, attempt_labels_cb,
	                 DELIVERY_METRICS_ATTEMPT_SERIES_MAX);
	attempts_other = table("tern_queue_delivery_duration_seconds", ahelp, attempt_bounds, nb, attempt_other_labels_cb, 8);
	static const char chelp[] = "Outgoing SMTP commands: handed out to reply.";
	cmds = table("tern_smtpclient_command_duration_seconds", chelp, cmd_bounds, nc, cmd_labels_cb,
	             DELIVERY_METRICS_CMD_SERIES_MAX);
	cmds_other = table("tern_smtpclient_command_duration_seconds", chelp, cmd_bounds, nc, cmd_other_labels_cb, 16);
}

void delivery_metrics_init(void)
{
	pthread_once(&once, register_all);
}

int delivery_metrics_transport(const char *name)
{
	/* A label value must not need escaping: other bytes become '_' (names are the admin's). */
	char label[64];
	size_t n = 0;
	for (; name[n] && n + 1 < sizeof label; n++) {
		char ch = name[n];
		bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		            ch == '.' || ch == '-' || ch == '_';
		label[n] = keep ? ch : '_';
	}
	label[n] = 0;
	pthread_mutex_lock(&transports_mu);
	int id = 0;
	while (id < ntransports && strcmp(transports[id], label) != 0)
		id++;
	if (id == ntransports) {
		if (ntransports < DELIVERY_METRICS_TRANSPORTS_MAX - 1)
			transports[ntransports++] = xstrdup(label);
		else
			id = DELIVERY_METRICS_TRANSPORTS_MAX - 1; /* transport_name() says "other" */
	}
	pthread_mutex_unlock(&transports_mu);
	return id;
}

/* ---- observations ---- */

static enum tlsmode job_tlsmode(const struct delivery_job *job)
{
	const struct delivery_target *t = job->target;
	if (!t || t->kind == DELIVERY_T_FAIL)
		return TM_SKIP; /* no connection is made */
	enum smtp_client_tls mode;
	bool verify;
	delivery_target_tls(t, job->need, &mode, &verify);
	switch (mode) {
	case SMTP_CLIENT_TLS_IMPLICIT: return TM_IMMEDIATE;
	case SMTP_CLIENT_TLS_REQUIRED: return TM_REQUIRED;
	case SMTP_CLIENT_TLS_OPPORTUNISTIC: return TM_OPPORTUNISTIC;
	default: return TM_SKIP;
	}
}

static enum attempt_result job_result(const struct delivery_job *job)
{
	size_t ok = 0, temp = 0, perm = 0, timeout = 0, local = 0;
	for (size_t i = 0; i < job->n; i++) {
		int o = delivery_job_outcome(job, i);
		ok += o == DELIVERY_DELIVERED;
		temp += o == DELIVERY_TEMPORARY;
		perm += o == DELIVERY_PERMANENT;
		bool failed = o == DELIVERY_TEMPORARY || o == DELIVERY_PERMANENT;
		timeout += failed && job->recs[i].res.fail == DELIVERY_FAIL_TIMEOUT;
		local += failed && job->recs[i].res.fail == DELIVERY_FAIL_LOCAL;
	}
	if (ok)
		return temp + perm ? AR_OKPARTIAL : AR_OK;
	if (temp + perm == 0)
		return job->accounted ? AR_CANCELED : AR_NONE; /* accounted, then abandoned: shutdown */
	if (local)
		return AR_ERROR;
	if (timeout)
		return AR_TIMEOUT;
	return temp ? AR_TEMPERROR : AR_PERMERROR;
}

void delivery_metrics_attempt(const struct delivery_job *job)
{
	delivery_metrics_init();
	enum attempt_result r = job_result(job);
	if (r == AR_NONE)
		return;
	int64_t attempt = job->attempt < 1 ? 1 : job->attempt > DELIVERY_METRICS_ATTEMPT_CAP ? DELIVERY_METRICS_ATTEMPT_CAP
	                                                                                       : job->attempt;
	int transport = job->target ? job->target->metric_id : 0;
	uint64_t key = (uint64_t)attempt << 11 | (uint64_t)(transport & 63) << 5 | (uint64_t)job_tlsmode(job) << 3 | r;
	struct metric *m = metric_table_get(attempts, key);
	if (!m)
		m = metric_table_get(attempts_other, r);
	if (m)
		metric_observe(m, (double)(clock_mono_ms() - job->start_ms) / 1000.0);
}

void delivery_metrics_reply_cb(void *ctx, enum smtp_client_cmd cmd, const struct smtp_reply *r, int64_t ns)
{
	if (cmd == SMTP_CLIENT_CMD_GREETING || cmd < 0 || cmd >= SMTP_CLIENT_NCMDS)
		return;
	delivery_metrics_init();
	int code = r->code >= 200 && r->code <= 599 ? r->code : 599;
	unsigned c = known_code(code) ? (unsigned)code : (unsigned)(code / 100 * 100 + 99);
	uint64_t key = (uint64_t)cmd << 20 | (uint64_t)c << 10 | secode_num(r->ecode);
	struct metric *m = metric_table_get(cmds, key);
	if (!m)
		m = metric_table_get(cmds_other, (uint64_t)cmd);
	if (m)
		metric_observe(m, (double)ns / 1e9);
}
