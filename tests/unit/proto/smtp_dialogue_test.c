/* Runs the SMTP dialogue scripts (tests/smtp/<name>.smtp) against the engine.
 *
 * Script lines (see tests/smtp/README):
 *   # comment                      blank lines are ignored too
 *   !cfg key=value ...             configuration (before the first other line)
 *   !greet                         feed what the client sent so far, then greet
 *   C: text                        client sends text CR LF
 *   C< text                        client sends text with escapes, no CR LF added
 *   C* n text                      client sends text CR LF n times
 *   C# n c                         client sends n copies of the character c
 *   S: text                        next server reply line is text ($ID = receivedid)
 *   S* n text                      the next n reply lines are text
 *   S- n                           skip the next n reply lines
 *   E: EVENT                       the last event from smtp_server_step()
 *   A: answer                      accept | reply CODE TEXT | lines CODE T1|T2 | challenge TEXT |
 *                                  authok | tls | timeout | shutdown | close CODE TEXT | take
 *   ?: fact value                  checks a session fact (from, rcpts, message, ...)
 * Escapes in C< and in ?: message: \r \n \t \0 \\ \xHH.
 * The engine is stepped after each batch of client input and after each
 * answer; at the end every reply line must have been matched. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "proto/smtp_server.h"

#define RECEIVEDID "Tst0123456789_-x"

struct dlg {
	const char *file;
	int line;
	struct smtp_server_cfg cfg;
	const char *mechs[16];
	char mechbuf[256];
	char hostname[128];
	int64_t now;
	bool greeted, nogreet;
	struct smtp_server *s;
	struct buf pending;   /* client bytes not yet fed */
	struct buf transcript; /* server output not yet matched */
	struct buf msg;       /* last message taken */
	struct buf infos;     /* info events seen and not yet checked by E: */
	int last_ev;
	int failures;
};

static const char *const ev_names[] = {
	"NEED_INPUT", "HELO", "MAIL", "RCPT", "AUTH", "AUTH_ABORTED", "MESSAGE", "DATA_FAILED",
	"STARTTLS", "CLOSE",
};

#define DFAIL(d, ...) \
	do { \
		fprintf(stderr, "%s:%d: ", (d)->file, (d)->line); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		(d)->failures++; \
	} while (0)

static int64_t dlg_now_cb(void *ctx)
{
	return ((struct dlg *)ctx)->now;
}

static void dlg_unescape(const char *s, struct buf *out)
{
	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			buf_putc(out, (uint8_t)*s);
			continue;
		}
		s++;
		switch (*s) {
		case 'r': buf_putc(out, '\r'); break;
		case 'n': buf_putc(out, '\n'); break;
		case 't': buf_putc(out, '\t'); break;
		case '0': buf_putc(out, 0); break;
		case 'x': {
			char h[3] = {s[1], s[1] ? s[2] : 0, 0};
			buf_putc(out, (uint8_t)strtoul(h, NULL, 16));
			s += 2;
			break;
		}
		default: buf_putc(out, (uint8_t)*s);
		}
	}
}

static void dlg_collect(struct dlg *d)
{
	struct slice o = smtp_server_output(d->s);
	buf_append(&d->transcript, o.p, o.len);
	smtp_server_output_consume(d->s, o.len);
}

/* Steps like an actor: info events (AUTH_ABORTED, DATA_FAILED) are noted in
 * d->infos for E: and stepped past at once. */
static void dlg_step(struct dlg *d)
{
	for (;;) {
		d->last_ev = smtp_server_step(d->s);
		if (d->last_ev != SMTP_SERVER_AUTH_ABORTED && d->last_ev != SMTP_SERVER_DATA_FAILED)
			break;
		buf_printf(&d->infos, "%s ", ev_names[d->last_ev]);
		dlg_collect(d);
	}
	if (d->last_ev == SMTP_SERVER_MESSAGE) {
		buf_reset(&d->msg);
		smtp_server_take_message(d->s, &d->msg);
	}
	dlg_collect(d);
}

static void dlg_start(struct dlg *d)
{
	if (d->s)
		return;
	d->cfg.auth_mechs = d->mechs;
	d->cfg.receivedid = RECEIVEDID;
	d->cfg.now_cb = dlg_now_cb;
	d->cfg.now_ctx = d;
	d->s = smtp_server_new(&d->cfg);
	if (!d->nogreet) {
		smtp_server_greet(d->s);
		d->greeted = true;
		dlg_collect(d);
	}
}

/* Feeds pending client input and steps if the engine is waiting for input. */
static void dlg_sync(struct dlg *d)
{
	dlg_start(d);
	if (!d->pending.len)
		return;
	smtp_server_feed(d->s, d->pending.p, d->pending.len);
	buf_reset(&d->pending);
	if (d->greeted && d->last_ev == SMTP_SERVER_NEED_INPUT)
		dlg_step(d);
}

static void dlg_cfg(struct dlg *d, char *args)
{
	for (char *kv = strtok(args, " "); kv; kv = strtok(NULL, " ")) {
		char *v = strchr(kv, '=');
		if (!v) {
			DFAIL(d, "bad !cfg item %s", kv);
			continue;
		}
		*v++ = 0;
		unsigned long long n = strtoull(v, NULL, 10);
		if (!strcmp(kv, "kind"))
			d->cfg.kind = !strcmp(v, "mx") ? SMTP_SERVER_MX : SMTP_SERVER_SUBMISSION;
		else if (!strcmp(kv, "hostname"))
			snprintf(d->hostname, sizeof(d->hostname), "%s", v);
		else if (!strcmp(kv, "tls")) d->cfg.tls_active = n;
		else if (!strcmp(kv, "starttls")) d->cfg.starttls_offered = n;
		else if (!strcmp(kv, "norequiretls")) d->cfg.no_requiretls = n;
		else if (!strcmp(kv, "norequirestarttls")) d->cfg.no_require_starttls = n;
		else if (!strcmp(kv, "relay")) d->cfg.relay_client = n;
		else if (!strcmp(kv, "maxsize")) d->cfg.max_message_size = n;
		else if (!strcmp(kv, "rcptmax")) d->cfg.rcpt_max = n;
		else if (!strcmp(kv, "excessfree")) d->cfg.rcpt_excess_free = n;
		else if (!strcmp(kv, "linemax")) d->cfg.line_max = n;
		else if (!strcmp(kv, "authlinemax")) d->cfg.auth_line_max = n;
		else if (!strcmp(kv, "errmax")) d->cfg.error_max = n;
		else if (!strcmp(kv, "badtxnmax")) d->cfg.bad_txn_max = n;
		else if (!strcmp(kv, "nomailmax")) d->cfg.nomail_max = n;
		else if (!strcmp(kv, "headermax")) d->cfg.header_max = n;
		else if (!strcmp(kv, "hopsmax")) d->cfg.hops_max = n;
		else if (!strcmp(kv, "nogreet")) d->nogreet = n;
		else if (!strcmp(kv, "now")) {
			if (clock_parse_rfc3339(v, &d->now) != 0)
				DFAIL(d, "bad now %s", v);
		} else if (!strcmp(kv, "mechs")) {
			snprintf(d->mechbuf, sizeof(d->mechbuf), "%s", v);
			size_t k = 0;
			for (char *m = d->mechbuf; m && k < 15; k++) {
				d->mechs[k] = m;
				m = strchr(m, ',');
				if (m)
					*m++ = 0;
			}
			d->cfg.n_auth_mechs = k;
		} else {
			DFAIL(d, "unknown !cfg key %s", kv);
		}
	}
}

/* Pops the next reply line (without CR LF) into out; false if none. */
static bool dlg_pop_line(struct dlg *d, char *out, size_t cap)
{
	const uint8_t *p = d->transcript.p;
	size_t n = d->transcript.len;
	const uint8_t *lf = n ? memchr(p, '\n', n) : NULL;
	if (!lf)
		return false;
	size_t l = (size_t)(lf - p);
	if (l == 0 || p[l - 1] != '\r')
		DFAIL(d, "server line without CR LF");
	size_t c = l ? l - 1 : 0;
	snprintf(out, cap, "%.*s", (int)(c < cap - 1 ? c : cap - 1), (const char *)p);
	buf_consume(&d->transcript, l + 1);
	return true;
}

static void dlg_expect(struct dlg *d, const char *want)
{
	struct buf w;
	buf_init(&w);
	for (const char *p = want; *p; p++) {
		if (!strncmp(p, "$ID", 3)) {
			buf_puts(&w, RECEIVEDID);
			p += 2;
		} else {
			buf_putc(&w, (uint8_t)*p);
		}
	}
	char got[4096];
	if (!dlg_pop_line(d, got, sizeof(got)))
		DFAIL(d, "expected \"%s\", got no reply", buf_cstr(&w));
	else if (strcmp(got, buf_cstr(&w)) != 0)
		DFAIL(d, "expected \"%s\", got \"%s\"", buf_cstr(&w), got);
	buf_free(&w);
}

static void dlg_answer(struct dlg *d, char *a)
{
	dlg_sync(d);
	char *arg = strchr(a, ' ');
	if (arg)
		*arg++ = 0;
	int code = arg ? atoi(arg) : 0;
	char *text = arg && strchr(arg, ' ') ? strchr(arg, ' ') + 1 : "";
	if (!strcmp(a, "accept")) {
		smtp_server_accept(d->s);
	} else if (!strcmp(a, "reply")) {
		smtp_server_reply(d->s, code, text);
	} else if (!strcmp(a, "lines")) {
		const char *lines[8];
		size_t n = 0;
		for (char *t = strtok(text, "|"); t && n < 8; t = strtok(NULL, "|"))
			lines[n++] = t;
		smtp_server_reply_lines(d->s, code, lines, n);
	} else if (!strcmp(a, "challenge")) {
		smtp_server_auth_challenge(d->s, arg ? arg : "", arg ? strlen(arg) : 0);
	} else if (!strcmp(a, "authok")) {
		smtp_server_auth_success(d->s);
	} else if (!strcmp(a, "tls")) {
		smtp_server_tls_started(d->s);
	} else if (!strcmp(a, "timeout")) {
		smtp_server_timeout(d->s);
	} else if (!strcmp(a, "shutdown")) {
		smtp_server_shutdown(d->s);
	} else if (!strcmp(a, "close")) {
		smtp_server_close_with(d->s, code, text);
	} else if (!strcmp(a, "take")) {
		smtp_server_data_take(d->s, &d->msg);
		dlg_collect(d);
		return;
	} else {
		DFAIL(d, "unknown answer %s", a);
		return;
	}
	dlg_collect(d);
	if (!smtp_server_closed(d->s) || d->last_ev != SMTP_SERVER_CLOSE)
		dlg_step(d);
}

#include "smtp_dialogue_facts.h"

static void dlg_line(struct dlg *d, char *l)
{
	size_t n = strlen(l);
	while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
		l[--n] = 0;
	if (!n || l[0] == '#')
		return;
	if (!strncmp(l, "!cfg ", 5)) {
		dlg_cfg(d, l + 5);
		if (!d->cfg.hostname)
			d->cfg.hostname = d->hostname;
		return;
	}
	if (!strcmp(l, "!greet")) {
		dlg_start(d);
		smtp_server_feed(d->s, d->pending.p, d->pending.len);
		buf_reset(&d->pending);
		smtp_server_greet(d->s);
		d->greeted = true;
		dlg_collect(d);
		dlg_step(d);
		return;
	}
	if (n < 3 || l[2] != ' ') {
		DFAIL(d, "bad line");
		return;
	}
	char *arg = l + 3;
	if (!strncmp(l, "C:", 2)) {
		dlg_start(d);
		buf_puts(&d->pending, arg);
		buf_puts(&d->pending, "\r\n");
	} else if (!strncmp(l, "C<", 2)) {
		dlg_start(d);
		dlg_unescape(arg, &d->pending);
	} else if (!strncmp(l, "C*", 2) || !strncmp(l, "C#", 2)) {
		dlg_start(d);
		long k = strtol(arg, &arg, 10);
		arg += *arg == ' ';
		for (long i = 0; i < k; i++) {
			if (l[1] == '#') {
				buf_putc(&d->pending, (uint8_t)arg[0]);
			} else {
				buf_puts(&d->pending, arg);
				buf_puts(&d->pending, "\r\n");
			}
		}
	} else if (!strncmp(l, "S:", 2)) {
		dlg_sync(d);
		dlg_expect(d, arg);
	} else if (!strncmp(l, "S*", 2)) {
		dlg_sync(d);
		long k = strtol(arg, &arg, 10);
		arg += *arg == ' ';
		for (long i = 0; i < k && !d->failures; i++)
			dlg_expect(d, arg);
	} else if (!strncmp(l, "S-", 2)) {
		dlg_sync(d);
		char skip[4096];
		for (long i = strtol(arg, NULL, 10); i > 0; i--)
			if (!dlg_pop_line(d, skip, sizeof(skip)))
				DFAIL(d, "fewer reply lines than skipped");
	} else if (!strncmp(l, "E:", 2)) {
		dlg_sync(d);
		const char *got = d->last_ev >= 0 && d->last_ev < 10 ? ev_names[d->last_ev] : "?";
		char want[64];
		snprintf(want, sizeof(want), "%s ", arg);
		char *hit = d->infos.len ? strstr(buf_cstr(&d->infos), want) : NULL;
		if (hit) {
			size_t off = (size_t)(hit - (char *)d->infos.p), wl = strlen(want);
			memmove(hit, hit + wl, d->infos.len - off - wl);
			d->infos.len -= wl;
		} else if (strcmp(got, arg) != 0)
			DFAIL(d, "expected event %s, got %s", arg, got);
	} else if (!strncmp(l, "A:", 2)) {
		dlg_answer(d, arg);
	} else if (!strncmp(l, "?:", 2)) {
		dlg_sync(d);
		dlg_fact(d, arg);
	} else {
		DFAIL(d, "unknown line kind");
	}
}

static int dlg_run(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return 1;
	}
	struct dlg d;
	memset(&d, 0, sizeof(d));
	d.file = name;
	d.now = 1767225600000LL; /* 2026-01-01T00:00:00Z */
	snprintf(d.hostname, sizeof(d.hostname), "mx.example.test");
	d.cfg.hostname = d.hostname;
	char line[8192];
	while (fgets(line, sizeof(line), f) && d.failures < 5) {
		d.line++;
		dlg_line(&d, line);
	}
	fclose(f);
	dlg_sync(&d);
	char rest[4096];
	while (d.failures < 5 && dlg_pop_line(&d, rest, sizeof(rest)))
		DFAIL(&d, "unexpected reply at end: \"%s\"", rest);
	smtp_server_free(d.s);
	buf_free(&d.pending);
	buf_free(&d.transcript);
	if (d.infos.len && d.failures < 5)
		DFAIL(&d, "unchecked info events: %s", buf_cstr(&d.infos));
	buf_free(&d.msg);
	buf_free(&d.infos);
	return d.failures;
}

static int dlg_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char dir[4096];
	const char *src = getenv("TERN_SRC");
	if (src) {
		snprintf(dir, sizeof(dir), "%s/tests/smtp", src);
	} else {
		snprintf(dir, sizeof(dir), "%s", __FILE__);
		char *cut = strstr(dir, "tests/unit/proto/");
		if (cut)
			strcpy(cut, "tests/smtp");
	}
	DIR *dd = opendir(dir);
	if (!dd) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	char *names[512];
	size_t n = 0;
	for (struct dirent *e; (e = readdir(dd)) && n < 512;) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".smtp"))
			names[n++] = strdup(e->d_name);
	}
	closedir(dd);
	qsort(names, n, sizeof(names[0]), dlg_cmp);
	int failed = 0, ran = 0;
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], names[i]) != 0)
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int f = dlg_run(path, names[i]);
		fprintf(stderr, "%s %s\n", f ? "FAIL" : "ok  ", names[i]);
		failed += f != 0;
		ran++;
		free(names[i]);
	}
	fprintf(stderr, "%d passed, %d failed\n", ran - failed, failed);
	return failed || ran == 0 ? 1 : 0;
}
