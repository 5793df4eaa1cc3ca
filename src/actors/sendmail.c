/* `tern sendmail [-t] [-F name] [ignored flags] [rcpt ...]` (README "The binary").
 *
 * DESIGN: a drop-in for the /usr/sbin/sendmail that cron, PHP's mail() and
 * scripts call: it reads /etc/ternsubmit.conf (or $TERN_SUBMIT_CONF), reads
 * the message from stdin, makes it fit for submission (sendmail_msg.c) and
 * submits it over SMTP (sendmail_smtp.c). Classic sendmail flags are
 * accepted and ignored, those that take a value with their value (`-f x`,
 * `-Fname`, `-oi`, `-B8BITMIME`), so existing command lines keep working.
 * The envelope sender is always the configured From. Exit status 0 means
 * the server answered 250 to the end of data; otherwise the server's reply
 * (or what went wrong locally) is on stderr and the status is 1. */
#include "actors/sendmail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/sendmail_msg.h"
#include "actors/sendmail_smtp.h"
#include "conf/conf_submit.h"
#include "core/xmalloc.h"

/** Largest message read from stdin (the default SMTPMaxMessageSize). */
#define SENDMAIL_MSG_MAX (100u * 1024 * 1024)
/** Most recipients, arguments and To: together. */
#define SENDMAIL_RCPTS_MAX 1000

static const char usage_text[] = "usage: tern sendmail [-t] [-F name] [ignored sendmail flags] [rcpt ...]\n";

struct sendmail_args {
	bool to_header;
	const char *from_name;
	const char *rcpts[SENDMAIL_RCPTS_MAX];
	size_t nrcpts;
};

/* Sendmail flags that take a value, as the next word or attached (`-f x`, `-fx`). */
static bool takes_value(char f)
{
	return f && strchr("BCFfhLNOpRrVX", f);
}

static int parse_args(int argc, char **argv, struct sendmail_args *a)
{
	bool flags = true;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (flags && strcmp(s, "--") == 0) {
			flags = false;
		} else if (flags && s[0] == '-' && s[1]) {
			const char *val = NULL;
			if (takes_value(s[1])) {
				if (s[2])
					val = s + 2;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					return -1;
			}
			if (s[1] == 't' && !s[2])
				a->to_header = true;
			else if (s[1] == 'F')
				a->from_name = val;
			/* everything else (-i, -oi, -odi, -f from, -B8BITMIME, ...) is ignored */
		} else if (a->nrcpts < SENDMAIL_RCPTS_MAX) {
			a->rcpts[a->nrcpts++] = s;
		} else {
			return -1;
		}
	}
	return a->nrcpts || a->to_header ? 0 : -1;
}

static int read_stdin(struct buf *in)
{
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0) {
		if (in->len + n > SENDMAIL_MSG_MAX)
			return -1;
		buf_append(in, tmp, n);
	}
	return ferror(stdin) ? -1 : 0;
}

/* Adds rcpt, sending local names (no '@') to DefaultDestination. */
static int add_rcpt(const struct conf_submit *cf, const char *rcpt, char **out, size_t *n)
{
	if (*n >= SENDMAIL_RCPTS_MAX) {
		fprintf(stderr, "tern: sendmail: more than %d recipients\n", SENDMAIL_RCPTS_MAX);
		return -1;
	}
	if (strchr(rcpt, '@')) {
		out[(*n)++] = xstrdup(rcpt);
		return 0;
	}
	if (!*cf->default_destination) {
		fprintf(stderr, "tern: sendmail: recipient \"%s\" has no domain and DefaultDestination is not set\n", rcpt);
		return -1;
	}
	out[(*n)++] = xstrdup(cf->default_destination);
	return 0;
}

static int submit(const struct conf_submit *cf, const struct sendmail_args *a, struct slice raw)
{
	struct sendmail_msg_opts mo = {.from = cf->from, .from_name = a->from_name,
	                               .tls_required_no = cf->require_tls == CONF_SUBMIT_REQUIRETLS_NO,
	                               .collect_to = a->to_header};
	struct buf msg, err;
	buf_init(&msg);
	buf_init(&err);
	struct rfc5322_addr_list to = {0};
	bool has8bit = false;
	char **rcpts = xcalloc(SENDMAIL_RCPTS_MAX, sizeof *rcpts);
	size_t n = 0;
	int r = sendmail_msg_prepare(raw, &mo, &msg, &to, &has8bit, &err);
	for (size_t i = 0; r == 0 && i < a->nrcpts; i++)
		r = add_rcpt(cf, a->rcpts[i], rcpts, &n);
	for (size_t i = 0; r == 0 && i < to.n; i++)
		r = add_rcpt(cf, to.v[i].address, rcpts, &n);
	if (r == 0 && n == 0) {
		buf_puts(&err, "no recipients (no argument, and no address in To:)");
		r = -1;
	}
	if (r == 0) {
		struct sendmail_submission s = {.conf = cf, .rcpts = (const char *const *)rcpts, .nrcpts = n,
		                                .data = buf_slice(&msg), .has8bit = has8bit,
		                                .requiretls = cf->require_tls == CONF_SUBMIT_REQUIRETLS_YES,
		                                .ca_file = getenv("SSL_CERT_FILE")};
		r = sendmail_smtp_submit(&s, &err);
	}
	while (err.len && err.p[err.len - 1] == '\n')
		err.len--;
	if (r != 0 && err.len)
		fprintf(stderr, "tern: sendmail: %s\n", buf_cstr(&err));
	for (size_t i = 0; i < n; i++)
		free(rcpts[i]);
	free(rcpts);
	rfc5322_addr_list_free(&to);
	buf_free(&msg);
	buf_free(&err);
	return r;
}

int sendmail_main(int argc, char **argv)
{
	struct sendmail_args a;
	memset(&a, 0, sizeof a);
	if (parse_args(argc, argv, &a) != 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	const char *path = getenv("TERN_SUBMIT_CONF");
	if (!path || !*path)
		path = SENDMAIL_CONF_PATH;
	struct conf_submit *cf = NULL;
	struct buf err;
	buf_init(&err);
	if (conf_submit_load(path, &cf, &err) != 0) {
		fprintf(stderr, "tern: sendmail: %s", buf_cstr(&err));
		buf_free(&err);
		return 1;
	}
	buf_free(&err);
	struct buf in;
	buf_init(&in);
	int r = read_stdin(&in);
	if (r != 0)
		fprintf(stderr, "tern: sendmail: cannot read the message from stdin (or larger than %u bytes)\n",
		        SENDMAIL_MSG_MAX);
	else
		r = submit(cf, &a, buf_slice(&in));
	buf_free(&in);
	conf_submit_free(cf);
	return r == 0 ? 0 : 1;
}
