/* delivery_metrics: label values stay in their bounded sets whatever a remote
 * server replies, an attempt's result label follows its records' outcomes, and
 * the rendered series carry the spec's names and labels (reporting.md §8). */
#include "../../../src/actors/delivery_metrics.c"

#include "check.h"

static void set(struct delivery_job *j, size_t i, int outcome, int fail)
{
	j->recs[i].loaded = j->recs[i].settled = j->recs[i].accounted = true;
	j->recs[i].res.outcome = outcome;
	j->recs[i].res.fail = (uint8_t)fail;
}

static struct delivery_job *job3(void)
{
	uint64_t ids[3] = {1, 2, 3};
	struct delivery_job *j = delivery_job_new(ids, 3, slice_str(""), slice_str("d.example"), 1);
	for (size_t i = 0; i < 3; i++)
		j->recs[i].loaded = true;
	return j;
}

TEST(attempt_result)
{
	struct delivery_job *j = job3();
	CHECK_INT(job_result(j), AR_NONE); /* nothing tried, never accounted: no observation */
	j->accounted = true;
	CHECK_INT(job_result(j), AR_CANCELED);
	set(j, 0, DELIVERY_DELIVERED, 0);
	CHECK_INT(job_result(j), AR_OK);
	set(j, 1, DELIVERY_PERMANENT, 0);
	CHECK_INT(job_result(j), AR_OKPARTIAL);
	set(j, 0, DELIVERY_TEMPORARY, DELIVERY_FAIL_TIMEOUT);
	CHECK_INT(job_result(j), AR_TIMEOUT);
	set(j, 2, DELIVERY_TEMPORARY, DELIVERY_FAIL_LOCAL);
	CHECK_INT(job_result(j), AR_ERROR);
	set(j, 0, DELIVERY_PERMANENT, 0);
	set(j, 2, DELIVERY_PERMANENT, 0);
	CHECK_INT(job_result(j), AR_PERMERROR);
	set(j, 2, DELIVERY_TEMPORARY, 0);
	CHECK_INT(job_result(j), AR_TEMPERROR);
	delivery_job_free(j);
}

TEST(client_labels_bounded)
{
	char l[METRIC_TABLE_LABELS_MAX];
	CHECK(known_code(250) && known_code(554) && !known_code(299) && !known_code(559));
	CHECK_INT(secode_num(""), 0);
	CHECK_INT(secode_num("5.1.1"), 102);
	CHECK_INT(secode_num("4.7.30"), 1 + 730);
	CHECK_INT(secode_num("5.8.1"), 1023);   /* no such subject */
	CHECK_INT(secode_num("5.1.100"), 1023);
	CHECK_INT(secode_num("5.1.1x"), 1023);
	cmd_labels_cb((uint64_t)SMTP_CLIENT_CMD_RCPT << 20 | 550u << 10 | secode_num("5.1.1"), l);
	CHECK_STR(l, "cmd=\"rcpt\",code=\"550\",secode=\"1.1\"");
	cmd_labels_cb((uint64_t)SMTP_CLIENT_CMD_DOT << 20 | 599u << 10 | 1023, l);
	CHECK_STR(l, "cmd=\"dot\",code=\"5xx\",secode=\"other\"");
	cmd_labels_cb((uint64_t)SMTP_CLIENT_CMD_EHLO << 20 | 250u << 10, l);
	CHECK_STR(l, "cmd=\"ehlo\",code=\"250\",secode=\"\"");
}

TEST(attempt_labels)
{
	char l[METRIC_TABLE_LABELS_MAX];
	int direct = delivery_metrics_transport("direct");
	CHECK_INT(delivery_metrics_transport("direct"), direct);
	CHECK_INT(delivery_metrics_transport("unknown"), 0);
	attempt_labels_cb(3u << 11 | (uint64_t)direct << 5 | TM_OPPORTUNISTIC << 3 | AR_OK, l);
	CHECK_STR(l, "attempt=\"3\",transport=\"direct\",tlsmode=\"opportunistic\",result=\"ok\"");
	int odd = delivery_metrics_transport("a\"b\\c\nd");
	attempt_labels_cb(10u << 11 | (uint64_t)odd << 5 | TM_IMMEDIATE << 3 | AR_TEMPERROR, l);
	CHECK_STR(l, "attempt=\"10+\",transport=\"a_b_c_d\",tlsmode=\"immediate\",result=\"temperror\"");
	/* past the list, every new label shares the last id, "other" */
	int last = 0;
	for (int i = 0; i < DELIVERY_METRICS_TRANSPORTS_MAX + 5; i++) {
		char n[16];
		snprintf(n, sizeof n, "t%d", i);
		last = delivery_metrics_transport(n);
		CHECK(last >= 0 && last < DELIVERY_METRICS_TRANSPORTS_MAX);
	}
	CHECK_INT(last, DELIVERY_METRICS_TRANSPORTS_MAX - 1);
	CHECK_STR(transport_name(last), "other");
}

/* The rendered value of series, or -1. */
static double rendered(const char *series)
{
	struct buf b;
	buf_init(&b);
	metric_render(&b);
	const char *s = buf_cstr(&b);
	double v = -1;
	size_t n = strlen(series);
	for (const char *p = s; (p = strstr(p, series)) != NULL; p += n)
		if ((p == s || p[-1] == '\n') && p[n] == ' ') {
			v = atof(p + n + 1);
			break;
		}
	free((void *)s);
	return v;
}

TEST(observations_render_with_spec_names)
{
	struct delivery_job *j = job3();
	j->accounted = true;
	j->attempt = 12;
	set(j, 0, DELIVERY_DELIVERED, 0);
	set(j, 1, DELIVERY_DELIVERED, 0);
	set(j, 2, DELIVERY_DELIVERED, 0);
	delivery_metrics_attempt(j); /* target NULL: transport "unknown", tlsmode "skip" */
	CHECK(rendered("tern_queue_delivery_duration_seconds_count{attempt=\"10+\",transport=\"unknown\","
	               "tlsmode=\"skip\",result=\"ok\"}") == 1);
	delivery_job_free(j);
	struct smtp_reply r = {.code = 452, .ecode = "4.5.3"};
	delivery_metrics_reply_cb(NULL, SMTP_CLIENT_CMD_RCPT, &r, 2000000);
	delivery_metrics_reply_cb(NULL, SMTP_CLIENT_CMD_GREETING, &r, 2000000); /* not a command */
	CHECK(rendered("tern_smtpclient_command_duration_seconds_count{cmd=\"rcpt\",code=\"452\",secode=\"5.3\"}") == 1);
	CHECK(rendered("tern_smtpclient_command_duration_seconds_bucket"
	               "{cmd=\"rcpt\",code=\"452\",secode=\"5.3\",le=\"0.005\"}") == 1);
	CHECK(rendered("tern_smtpclient_command_duration_seconds_count{cmd=\"greeting\",code=\"452\",secode=\"5.3\"}") == -1);
	CHECK(rendered("tern_queue_connection_total{result=\"timeout\"}") == 0);
	CHECK(rendered("tern_queue_requiretls_unsupported_total{reason=\"norequiretls\"}") == 0);
}

TEST_MAIN()
