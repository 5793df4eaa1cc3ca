/* Command-line front end: global flags, the local commands, and the control
 * socket client for everything else.
 *
 * DESIGN: `version` and `help` need nothing; `serve` (and `localserve`) run the
 * server in this process; every other command is sent as words to the running
 * server over DataDir/ctl, found through the config named by -config, and the
 * server's output and exit status are passed through. */
#include "actors/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/control.h"
#include "actors/localserve.h"
#include "actors/quickstart.h"
#include "actors/sendmail.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_static.h"
#include "core/log.h"
#include "core/xmalloc.h"

#define DEFAULT_CONFIG "config/tern.conf"

struct cli_opts {
	const char *config;
	int loglevel;
};

static const char usage_text[] =
	"usage: tern [-config path] [-loglevel level] <command> [arguments]\n"
	"\n"
	"commands:\n"
	"  serve                          run the server (listeners, queue, delivery)\n"
	"  localserve [-dir DIR] [-ip IP] [-initonly]\n"
	"                                 local development server on localhost\n"
	"  quickstart [-hostname host] user@domain\n"
	"                                 write a new config (in ./config) for a mail domain\n"
	"  sendmail [-t] [-F name] [rcpt]  submit a message from stdin (/etc/ternsubmit.conf)\n"
	"  version                        print the version\n"
	"  help [command]                 this text\n"
	"  status                         state of the running server\n"
	"  metrics                        Prometheus metrics of the running server\n"
	"  loglevel <level>               change the running server's log level\n"
	"  queue ...                      list and operate on the queue (tern queue help)\n"
	"  config ...                     change domains.conf through the server\n"
	"  debug clock advance <dur>      move the server's wall clock forward (tests)\n"
	"\n"
	"Commands other than serve, localserve, quickstart, sendmail, version and help talk\n"
	"to the running server over DataDir/ctl of the config given with -config\n"
	"(default " DEFAULT_CONFIG ").\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int run_remote(const struct cli_opts *o, int argc, char **argv)
{
	struct conf_static *st = NULL;
	struct buf err;
	buf_init(&err);
	if (conf_static_load(o->config, &st, &err) != 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		buf_free(&err);
		return 1;
	}
	buf_free(&err);
	char *path = xasprintf("%s/ctl", st->data_dir_path);
	conf_static_free(st);
	int r = control_client_run(path, argc, argv);
	free(path);
	return r;
}

/* `config account password <account>`: the password comes from stdin (one line, or all of it
 * when it does not end in a newline) and travels as the last word over the 0600 socket. */
static int password_from_stdin(const struct cli_opts *o, char **words)
{
	struct buf pw;
	buf_init(&pw);
	buf_read_stream(&pw, stdin, 65536);
	while (pw.len && (pw.p[pw.len - 1] == '\n' || pw.p[pw.len - 1] == '\r'))
		pw.len--;
	char *argv[5] = {words[0], words[1], words[2], words[3], buf_cstr(&pw)};
	int r = run_remote(o, 5, argv);
	memset(pw.p, 0, pw.len);
	buf_free(&pw);
	return r;
}

int cli_main(int argc, char **argv)
{
	struct cli_opts o = {.config = DEFAULT_CONFIG, .loglevel = -1};
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	if (argc > 0 && strcmp(base ? base + 1 : argv[0], "sendmail") == 0)
		return sendmail_main(argc - 1, argv + 1); /* installed as /usr/sbin/sendmail */
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *f = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (strcmp(f, "config") == 0 && i + 1 < argc) {
			o.config = argv[++i];
		} else if (strcmp(f, "loglevel") == 0 && i + 1 < argc) {
			o.loglevel = log_level_parse(argv[++i]);
			if (o.loglevel < 0) {
				fprintf(stderr, "tern: unknown log level %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(f, "h") == 0 || strcmp(f, "help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else {
			fprintf(stderr, "tern: unknown flag %s\n", argv[i]);
			return usage();
		}
	}
	if (i >= argc)
		return usage();
	const char *cmd = argv[i];
	if (strcmp(cmd, "version") == 0) {
		printf("tern %s\n", TERN_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (o.loglevel >= 0)
		log_set_level((enum log_level)o.loglevel);
	if (strcmp(cmd, "serve") == 0) {
		if (i + 1 != argc)
			return usage();
		struct server_opts so = {.config_path = o.config, .loglevel = o.loglevel};
		return server_serve(&so);
	}
	if (strcmp(cmd, "localserve") == 0)
		return localserve_main(o.loglevel, argc - i - 1, argv + i + 1);
	if (strcmp(cmd, "quickstart") == 0)
		return quickstart_main(o.loglevel, argc - i - 1, argv + i + 1);
	if (strcmp(cmd, "sendmail") == 0)
		return sendmail_main(argc - i - 1, argv + i + 1);
	if (argc - i == 4 && strcmp(argv[i], "config") == 0 && strcmp(argv[i + 1], "account") == 0 &&
	    strcmp(argv[i + 2], "password") == 0)
		return password_from_stdin(&o, argv + i);
	return run_remote(&o, argc - i, argv + i);
}
