/* SMTP AUTH for submission sessions (smtp.md §7, §12; badinput #38-#44).
 *
 * DESIGN: the engine frames the exchange (334 lines, base64, `*`, line
 * limits); this file runs the mechanism (proto/sasl.h) and the policy around
 * it: the shared failed-auth limiter (checked before any credential), the
 * growing per-connection delay after 3 failures, account lookup by login
 * address, stored secrets from the accounts column family, and LoginDisabled
 * (only revealed after the password checked out). SCRAM and CRAM-MD5 are
 * cheap HMACs and run inline; PLAIN and LOGIN run bcrypt, which costs tens of
 * milliseconds, so they go to one dedicated "authcheck" thread and the
 * session waits for its answer. */
#include "actors/smtp_session_int.h"

#include <stdlib.h>
#include <string.h>

#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "proto/authlimit.h"
#include "proto/password.h"
#include "proto/sasl.h"
#include "proto/tls.h"
#include "store/store.h"

/** A password check handed to the authcheck thread; owns the SASL exchange meanwhile. */
struct smtp_authcheck_job {
	struct sasl_server *sasl;
	struct password_secrets secrets;
	bool unknown;
	struct sasl_step st;
};

static struct authlimit *limiter;
static uint64_t checker;

/* ---- the authcheck actor (dedicated thread) ---- */

static void on_check(struct actor *self, const struct msg *m, const struct smtp_authcheck *p)
{
	struct smtp_authcheck_job *job = p->job;
	sasl_server_secrets(job->sasl, job->unknown ? NULL : &job->secrets, &job->st);
	password_wipe(&job->secrets);
	struct smtp_authcheck r = {.job = job};
	if (SMTP_MSG_AUTHCHECK_RES_reply(self, m, &r) != 0) { /* the session is gone */
		sasl_server_free(job->sasl);
		free(job);
	}
}

static const struct actor_kind checker_kind = {
	.name = "authcheck",
	.on = {ACTOR_ON(SMTP_MSG_AUTHCHECK_REQ, on_check)},
};

void smtp_session_auth_init(void)
{
	const struct conf_static *st = server_get()->st;
	struct authlimit_cfg cfg;
	authlimit_cfg_default(&cfg);
	for (int i = 0; i < AUTHLIMIT_LEVELS; i++) {
		cfg.per_minute[i] = (uint32_t)st->limits.auth_failures_per_minute[i];
		cfg.per_day[i] = (uint32_t)st->limits.auth_failures_per_day[i];
	}
	limiter = authlimit_new(&cfg);
	struct actor *a = xcalloc(1, sizeof *a);
	checker = actor_spawn(a, &checker_kind, worker_spawn_dedicated("tern-authcheck"));
}

/* ---- helpers ---- */

static void limiter_keys(const struct smtp_session *s, struct netaddr_key k[3], struct slice keys[3])
{
	for (int i = 0; i < 3; i++) {
		k[i] = netaddr_level_key(&s->peer, i + 1);
		keys[i] = slice_of(k[i].b, sizeof k[i].b);
	}
}

/* The exchange under way ended with r (tern_authentication_total). */
static void counted(struct smtp_session *s, enum smtp_auth_result r)
{
	smtp_session_metrics_auth(s->auth_mech, r);
	s->auth_mech = -1;
}

void smtp_session_auth_free(struct smtp_session *s)
{
	sasl_server_free(s->sasl);
	s->sasl = NULL;
	free(s->auth_user);
	s->auth_user = NULL;
}

void smtp_session_auth_abort(struct smtp_session *s)
{
	s->auth_response_due = false;
	/* The engine ended the exchange (client `*`, bad base64, line too long) and replied. */
	counted(s, SMTP_AUTH_ABORTED);
	smtp_session_auth_free(s);
}

static void failed(struct smtp_session *s, int code, const char *text)
{
	struct netaddr_key k[3];
	struct slice keys[3];
	limiter_keys(s, k, keys);
	if (code == 535)
		authlimit_failed(limiter, keys, clock_mono_ms());
	counted(s, code == 535 ? SMTP_AUTH_BADCREDS : code == 454 ? SMTP_AUTH_ERROR : SMTP_AUTH_MALFORMED);
	log_info("smtp", "authentication failed", "cid=%s ip=%s code=%d", s->rid, s->peer_str, code);
	smtp_session_auth_free(s);
	smtp_server_reply(s->eng, code, text);
}

static void succeeded(struct smtp_session *s)
{
	struct conf_domains *dc = conf_domains_acquire();
	const struct conf_account *acc = s->auth_user ? conf_login_lookup_addr(dc, s->auth_user, false) : NULL;
	if (!acc) {
		conf_domains_release(dc);
		failed(s, 535, "5.7.8 authentication failed");
		return;
	}
	if (acc->login_disabled && *acc->login_disabled) {
		char text[400];
		snprintf(text, sizeof text, "5.7.13 login disabled for account: %s", acc->login_disabled);
		log_info("smtp", "login disabled", "cid=%s account=%s", s->rid, acc->name);
		counted(s, SMTP_AUTH_DISABLED);
		smtp_session_auth_free(s);
		smtp_server_reply(s->eng, 525, text);
		conf_domains_release(dc);
		return;
	}
	free(s->account);
	s->account = xstrdup(acc->name);
	conf_domains_release(dc);
	counted(s, SMTP_AUTH_OK);
	log_info("smtp", "authenticated", "cid=%s ip=%s account=%s", s->rid, s->peer_str, s->account);
	smtp_session_auth_free(s);
	smtp_server_auth_success(s->eng);
}

/* Loads the stored secrets of the account whose login address is user. */
static bool load_secrets(struct slice user, struct password_secrets *out)
{
	char *addr = slice_strdup(user);
	struct conf_domains *dc = conf_domains_acquire();
	const struct conf_account *acc = conf_login_lookup_addr(dc, addr, false);
	bool ok = false;
	if (acc) {
		struct store_key k;
		struct buf v;
		buf_init(&v);
		if (store_key_account_secrets(&k, slice_str(acc->name)) == 0 &&
		    store_get(server_get()->store, STORE_CF_ACCOUNTS, store_key_slice(&k), &v) == 0 &&
		    password_decode(buf_slice(&v), out) == 0)
			ok = true;
		buf_free(&v);
	}
	conf_domains_release(dc);
	free(addr);
	return ok;
}

static void handle(struct smtp_session *s, struct sasl_step *st);

static void need_secrets(struct smtp_session *s, struct sasl_step *st)
{
	free(s->auth_user);
	s->auth_user = slice_strdup(st->user);
	struct smtp_authcheck_job *job = xcalloc(1, sizeof *job);
	job->unknown = !load_secrets(st->user, &job->secrets);
	const struct smtp_server_auth_req *r = smtp_server_auth_req(s->eng);
	enum sasl_mech mech;
	sasl_mech_parse(slice_str(r->mech), &mech);
	if (mech != SASL_PLAIN && mech != SASL_LOGIN) {
		sasl_server_secrets(s->sasl, job->unknown ? NULL : &job->secrets, &job->st);
		password_wipe(&job->secrets);
		struct sasl_step copy = job->st;
		free(job);
		handle(s, &copy);
		return;
	}
	job->sasl = s->sasl;
	s->sasl = NULL; /* the checker owns it until it answers */
	uint64_t req = smtp_session_wait(s, SW_AUTH_CHECK);
	struct smtp_authcheck p = {.job = job};
	if (SMTP_MSG_AUTHCHECK_REQ_send(checker, &s->a, &p, &(struct actor_send_opts){.req_id = req}) != 0) {
		s->wait = SW_NONE;
		s->sasl = job->sasl;
		password_wipe(&job->secrets);
		free(job);
		counted(s, SMTP_AUTH_ERROR);
		smtp_session_auth_free(s);
		smtp_server_reply(s->eng, 454, "4.7.0 temporary authentication failure");
	}
}

void smtp_session_on_authcheck(struct actor *self, const struct msg *m, const void *payload)
{
	struct smtp_session *s = (struct smtp_session *)self;
	struct smtp_authcheck_job *job = ((const struct smtp_authcheck *)payload)->job;
	bool mine = smtp_session_wait_done(s, SW_AUTH_CHECK, m->req_id);
	if (!mine) {
		sasl_server_free(job->sasl);
		free(job);
		return;
	}
	s->sasl = job->sasl;
	struct sasl_step st = job->st;
	free(job);
	handle(s, &st);
	smtp_session_drive(s);
}

static void handle(struct smtp_session *s, struct sasl_step *st)
{
	switch (st->status) {
	case SASL_CONTINUE:
		smtp_server_auth_challenge(s->eng, st->out.p, st->out.len);
		s->auth_response_due = true;
		break;
	case SASL_NEED_SECRETS:
		need_secrets(s, st);
		break;
	case SASL_OK:
		succeeded(s);
		break;
	case SASL_FAIL:
		failed(s, 535, "5.7.8 authentication failed");
		break;
	case SASL_MALFORMED:
		failed(s, 501, st->err == SASL_ERR_BASE64 ? "5.5.2 invalid base64" : "5.5.2 malformed authentication data");
		break;
	case SASL_ABORTED:
		counted(s, SMTP_AUTH_ABORTED);
		smtp_session_auth_free(s);
		smtp_server_reply(s->eng, 501, "5.7.0 authentication aborted");
		break;
	}
}

static bool start_exchange(struct smtp_session *s, const struct smtp_server_auth_req *r)
{
	enum sasl_mech mech;
	if (sasl_mech_parse(slice_str(r->mech), &mech) != 0) {
		smtp_server_reply(s->eng, 504, "5.5.4 unrecognized authentication mechanism");
		return false;
	}
	struct netaddr_key k[3];
	struct slice keys[3];
	limiter_keys(s, k, keys);
	if (!authlimit_allowed(limiter, keys, clock_mono_ms())) {
		metric_add(smtp_session_metrics.auth_ratelimited, 1);
		smtp_server_close_with(s->eng, 421, "4.7.0 too many authentication failures");
		return false;
	}
	struct buf cb;
	buf_init(&cb);
	struct sasl_server_cfg cfg = {.mech = mech, .hostname = slice_str(s->ep->l->hostname)};
	struct tls_conn *t = s->nc.tls;
	if (t && tls_conn_established(t)) {
		cfg.chan.tls = true;
		cfg.chan.tls_version = strcmp(tls_conn_version(t), "TLS1.3") == 0 ? 13 : 12;
		if (tls_conn_channel_binding(t, tls_conn_cb_type(t), &cb) == TLS_OK)
			cfg.chan.cb_data = buf_slice(&cb);
	}
	cfg.fake_secret = slice_of(server_get()->fake_secret, sizeof server_get()->fake_secret);
	smtp_session_auth_free(s);
	s->sasl = sasl_server_new(&cfg);
	s->auth_mech = (int)mech;
	buf_free(&cb);
	if (!s->sasl) { /* the AUTH ask must be answered, or the next engine step panics */
		counted(s, SMTP_AUTH_ERROR);
		smtp_server_reply(s->eng, 454, "4.7.0 temporary authentication failure");
	}
	return s->sasl != NULL;
}

void smtp_session_auth(struct smtp_session *s)
{
	const struct smtp_server_auth_req *r = smtp_server_auth_req(s->eng);
	struct sasl_step st;
	s->auth_response_due = false;
	if (r->step == 0) {
		unsigned fails = smtp_server_auth_failures(s->eng);
		if (fails > 3 && !s->auth_delayed) {
			smtp_session_wait(s, SW_AUTH_DELAY);
			timer_start(&s->t_wait, (int64_t)(fails - 3) * 1000);
			return;
		}
		s->auth_delayed = false;
		if (!start_exchange(s, r))
			return;
		sasl_server_start(s->sasl, r->has_data ? &r->data : NULL, &st);
	} else {
		if (!s->sasl) {
			counted(s, SMTP_AUTH_ERROR);
			smtp_server_reply(s->eng, 454, "4.7.0 temporary authentication failure");
			return;
		}
		sasl_server_step(s->sasl, r->data, &st);
	}
	handle(s, &st);
}
