/* Control commands answered by the server process itself.
 *
 * DESIGN: each command runs on the control thread and reads only shared,
 * thread-safe state (metrics, counters, the immutable config), so it can
 * answer at once without messages. */
#include "actors/server_cmds.h"

#include <stdlib.h>
#include <string.h>

#include "actors/control.h"
#include "actors/server.h"
#include "conf/conf.h"
#include "conf/conf_duration.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/worker.h"
#include "store/store_dump.h"

static void cmd_status(struct ctl_conn *c, int argc, char **argv)
{
	struct server *s = server_get();
	char t[32];
	ctl_out(c, "tern %s\n", TERN_VERSION);
	ctl_out(c, "hostname %s\n", s->st->hostname);
	ctl_out(c, "datadir %s\n", s->st->data_dir_path);
	ctl_out(c, "started %s\n", clock_rfc3339(t, s->started_ms));
	ctl_out(c, "uptime %llds\n", (long long)((clock_wall_ms() - s->started_ms) / 1000));
	ctl_out(c, "workers %d\n", worker_pool_size());
	ctl_out(c, "actors %lld\n", (long long)actor_count());
	ctl_done(c, 0);
}

static void cmd_metrics(struct ctl_conn *c, int argc, char **argv)
{
	struct buf b;
	buf_init(&b);
	metric_render(&b);
	ctl_out_bytes(c, b.p, b.len);
	buf_free(&b);
	ctl_done(c, 0);
}

/* Moves Tern's wall clock (schedules, not timeouts) forward, for tests of retry schedules. */
static void cmd_clock_advance(struct ctl_conn *c, int argc, char **argv)
{
	int64_t ms;
	if (argc != 1 || conf_duration_parse(argv[0], &ms) != 0 || ms < 0) {
		ctl_err(c, "usage: tern debug clock advance <duration>\n");
		ctl_done(c, 2);
		return;
	}
	clock_wall_advance(ms);
	log_info("server", "wall clock advanced (debug)", "ms=%lld", (long long)ms);
	char t[32];
	ctl_out(c, "now %s\n", clock_rfc3339(t, clock_wall_ms()));
	ctl_done(c, 0);
}

static void cmd_loglevel(struct ctl_conn *c, int argc, char **argv)
{
	int l = argc == 1 ? log_level_parse(argv[0]) : -1;
	if (l < 0) {
		ctl_err(c, "usage: tern loglevel error|info|debug|trace|traceauth|tracedata\n");
		ctl_done(c, 2);
		return;
	}
	log_set_level((enum log_level)l);
	ctl_done(c, 0);
}

static int dump_line_cb(void *arg, const char *line, size_t len)
{
	struct ctl_conn *c = arg;
	ctl_out_bytes(c, line, len);
	ctl_out_bytes(c, "\n", 1);
	return 0;
}

/* tern store dump [cf]: every record as text (records decoded, chunks as lengths). */
static void cmd_store_dump(struct ctl_conn *c, int argc, char **argv)
{
	int cf = -1;
	if (argc > 1 || (argc == 1 && (cf = store_cf_parse(argv[0])) < 0)) {
		ctl_err(c, "usage: tern store dump [column family]\n");
		ctl_done(c, 2);
		return;
	}
	long n = store_dump(server_get()->store, cf, 256, dump_line_cb, c);
	ctl_done(c, n < 0 ? 1 : 0);
}

static const struct control_cmd cmds[] = {
	{"status", "status: version, uptime, workers and actors of the running server", cmd_status},
	{"metrics", "metrics: Prometheus metrics of the running server", cmd_metrics},
	{"store dump", "store dump [cf]: the stored records as text, one per line", cmd_store_dump},
	{"loglevel", "loglevel <level>: change the log level of the running server", cmd_loglevel},
	{"debug clock advance", "debug clock advance <duration>: move Tern's wall clock forward (tests)",
	 cmd_clock_advance},
	{NULL, NULL, NULL},
};

void server_cmds_register(void)
{
	control_register(cmds);
}
