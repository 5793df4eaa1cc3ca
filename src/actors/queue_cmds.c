/* The `tern queue ...` control commands (queue.md §13).
 *
 * DESIGN: one table. Read commands (list, dump, print, holdrule list, retired
 * list/print) read the store on the control thread and stream lines into the
 * connection's output. Change commands parse their flags into a struct
 * queue_op, send it to the queue actor (the only writer) and print
 * `<N> messages changed` from its reply. Flags are Go-style: `-name value`
 * or `-name=value` (also `--name`); without filter flags a command applies to
 * all records. Usage errors exit 2, failures 1. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "actors/control.h"
#include "actors/queue.h"
#include "actors/queue_fmt.h"
#include "actors/server.h"

/* Weak: the server may not be linked (tests); then the peers come from queue_set_peers. */
#pragma weak server_get
#include "conf/conf_duration.h"
#include "core/actor.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/store_iter.h"
#include "store/store_msgdata.h"

/* Largest message `dump` prints. */
#define QUEUE_DUMP_MAX ((size_t)1 << 30)

/* The store the read commands use; readers hold the lock while they read, so
 * queue_cmds_set_store(NULL) waits for them before a store is closed. */
static struct store *cmd_store;
static pthread_rwlock_t cmd_store_lock = PTHREAD_RWLOCK_INITIALIZER;

void queue_cmds_set_store(struct store *s)
{
	pthread_rwlock_wrlock(&cmd_store_lock);
	cmd_store = s;
	pthread_rwlock_unlock(&cmd_store_lock);
}

/* The store for a read command (release with store_done), or NULL. */
static struct store *store_of(void)
{
	pthread_rwlock_rdlock(&cmd_store_lock);
	struct server *sv = server_get ? server_get() : NULL;
	struct store *s = cmd_store ? cmd_store : sv ? sv->store : NULL;
	if (!s)
		pthread_rwlock_unlock(&cmd_store_lock);
	return s;
}

static void store_done(struct store *s)
{
	if (s)
		pthread_rwlock_unlock(&cmd_store_lock);
}

/* Parsed flags of one command. */
struct args {
	struct queue_filter f;
	enum queue_sort sort;
	bool asc, now;
	const char *pos[4];
	int npos;
	const char *account, *senderdom, *recipientdom; /* holdrule add */
};

enum { A_FILTER = 1, A_SORT = 2, A_NOW = 4, A_RULE = 8, A_RETIRED = 16 };

static int usage(struct ctl_conn *c, const char *msg)
{
	ctl_err(c, "%s\n", msg);
	ctl_done(c, 2);
	return -1;
}

/* Parses argv by the allowed flag set; returns 0, or -1 after answering a usage error. */
static int parse(struct ctl_conn *c, int argc, char **argv, int allow, struct args *a)
{
	memset(a, 0, sizeof *a);
	queue_filter_init(&a->f);
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-' || !arg[1] || (arg[1] >= '0' && arg[1] <= '9')) {
			if (a->npos == 4)
				return usage(c, "too many arguments");
			a->pos[a->npos++] = arg;
			continue;
		}
		const char *name = arg + (arg[1] == '-' ? 2 : 1);
		char nbuf[32];
		const char *val = NULL, *eq = strchr(name, '=');
		if (eq) {
			snprintf(nbuf, sizeof nbuf, "%.*s", (int)(eq - name), name);
			name = nbuf;
			val = eq + 1;
		}
		bool boolean = strcmp(name, "asc") == 0 || strcmp(name, "now") == 0;
		if (!boolean && !val) {
			if (i + 1 >= argc)
				return usage(c, "flag needs a value");
			val = argv[++i];
		}
		int bad = 0;
		if ((allow & A_FILTER) && strcmp(name, "ids") == 0)
			bad = queue_filter_parse_ids(val, &a->f);
		else if ((allow & A_FILTER) && strcmp(name, "n") == 0)
			bad = (a->f.max = strtoll(val, NULL, 10)) <= 0;
		else if ((allow & A_FILTER) && strcmp(name, "account") == 0)
			free(a->f.account), a->f.account = xstrdup(val);
		else if ((allow & A_FILTER) && strcmp(name, "from") == 0)
			free(a->f.from), a->f.from = xstrdup(val);
		else if ((allow & A_FILTER) && strcmp(name, "to") == 0)
			free(a->f.to), a->f.to = xstrdup(val);
		else if ((allow & A_FILTER) && strcmp(name, "submitted") == 0)
			bad = queue_filter_parse_time(val, &a->f.submitted);
		else if ((allow & A_FILTER) && strcmp(name, (allow & A_RETIRED) ? "lastactivity" : "nextattempt") == 0)
			bad = queue_filter_parse_time(val, &a->f.next);
		else if ((allow & A_FILTER) && strcmp(name, "transport") == 0)
			free(a->f.transport), a->f.transport = xstrdup(val);
		else if ((allow & A_FILTER) && !(allow & A_RETIRED) && strcmp(name, "hold") == 0)
			bad = strcmp(val, "true") == 0 ? (a->f.hold = 1, 0) : strcmp(val, "false") == 0 ? (a->f.hold = 0, 0) : 1;
		else if ((allow & A_RETIRED) && strcmp(name, "result") == 0)
			bad = strcmp(val, "success") == 0 ? (a->f.success = 1, 0) : strcmp(val, "failure") == 0 ? (a->f.success = 0, 0) : 1;
		else if ((allow & A_SORT) && strcmp(name, "sort") == 0)
			bad = strcmp(val, "queued") == 0 ? (a->sort = QUEUE_SORT_QUEUED, 0)
			      : strcmp(val, (allow & A_RETIRED) ? "lastactivity" : "nextattempt") == 0 ? (a->sort = QUEUE_SORT_NEXT, 0)
			                                                                              : 1;
		else if ((allow & A_SORT) && strcmp(name, "asc") == 0)
			a->asc = true;
		else if ((allow & A_NOW) && strcmp(name, "now") == 0)
			a->now = true;
		else if ((allow & A_RULE) && strcmp(name, "account") == 0)
			a->account = val;
		else if ((allow & A_RULE) && strcmp(name, "senderdom") == 0)
			a->senderdom = val;
		else if ((allow & A_RULE) && strcmp(name, "recipientdom") == 0)
			a->recipientdom = val;
		else {
			ctl_err(c, "unknown flag -%s\n", name);
			ctl_done(c, 2);
			queue_filter_free(&a->f);
			return -1;
		}
		if (bad) {
			ctl_err(c, "bad value for -%s: %s\n", name, val);
			ctl_done(c, 2);
			queue_filter_free(&a->f);
			return -1;
		}
	}
	return 0;
}

/* ---- reads ---- */

struct list_ctx {
	struct ctl_conn *c;
	int64_t now;
	bool retired;
	struct buf line;
};

static bool list_cb(const void *rec, void *arg)
{
	struct list_ctx *l = arg;
	l->line.len = 0;
	if (l->retired)
		queue_fmt_retired_line(&l->line, rec, l->now);
	else
		queue_fmt_line(&l->line, rec, l->now);
	ctl_out_bytes(l->c, l->line.p, l->line.len);
	return true;
}

static void run_list(struct ctl_conn *c, int argc, char **argv, bool retired)
{
	struct args a;
	if (parse(c, argc, argv, A_FILTER | A_SORT | (retired ? A_RETIRED : 0), &a) != 0)
		return;
	if (a.npos) {
		queue_filter_free(&a.f);
		usage(c, "unexpected argument");
		return;
	}
	struct store *s = store_of();
	if (!s) {
		queue_filter_free(&a.f);
		ctl_err(c, "queue not running\n");
		ctl_done(c, 1);
		return;
	}
	struct list_ctx l = {.c = c, .now = clock_wall_ms(), .retired = retired};
	buf_init(&l.line);
	queue_filter_resolve(&a.f, l.now, retired);
	int r = retired ? queue_walk_retired(s, &a.f, a.sort, a.asc, list_cb, &l)
	                : queue_walk(s, &a.f, a.sort, a.asc, list_cb, &l);
	store_done(s);
	buf_free(&l.line);
	queue_filter_free(&a.f);
	if (r)
		ctl_err(c, "reading the queue failed\n");
	ctl_done(c, r ? 1 : 0);
}

static void cmd_list(struct ctl_conn *c, int argc, char **argv)
{
	run_list(c, argc, argv, false);
}

static void cmd_retired_list(struct ctl_conn *c, int argc, char **argv)
{
	run_list(c, argc, argv, true);
}

/* Parses the one id argument; answers usage errors. */
static int one_id(struct ctl_conn *c, int argc, char **argv, uint64_t *id)
{
	char *end;
	if (argc != 1 || !*argv[0] || (*id = strtoull(argv[0], &end, 10)) == 0 || *end) {
		usage(c, "need one id");
		return -1;
	}
	return 0;
}

static void run_print(struct ctl_conn *c, int argc, char **argv, bool retired)
{
	uint64_t id;
	if (one_id(c, argc, argv, &id) != 0)
		return;
	struct store_key k;
	retired ? store_key_rrec(&k, id) : store_key_qrec(&k, id);
	const struct store_schema *sch = retired ? &store_rec_retired : &store_rec_queue;
	union {
		struct store_queue_rec q;
		struct store_retired_rec r;
	} rec;
	memset(&rec, 0, sizeof rec);
	struct store *s = store_of();
	int rc = s ? store_load(s, retired ? STORE_CF_RETIRED : STORE_CF_QUEUE, store_key_slice(&k), sch, &rec) : -ENOENT;
	store_done(s);
	if (rc != 0) {
		ctl_err(c, "no such %s message %llu\n", retired ? "retired" : "queued", (unsigned long long)id);
		ctl_done(c, 1);
		return;
	}
	struct buf out;
	buf_init(&out);
	queue_fmt_json(&out, sch, &rec);
	ctl_out_bytes(c, out.p, out.len);
	buf_free(&out);
	store_codec_free(sch, &rec);
	ctl_done(c, 0);
}

static void cmd_print(struct ctl_conn *c, int argc, char **argv)
{
	run_print(c, argc, argv, false);
}

static void cmd_retired_print(struct ctl_conn *c, int argc, char **argv)
{
	run_print(c, argc, argv, true);
}

static void cmd_dump(struct ctl_conn *c, int argc, char **argv)
{
	uint64_t id;
	if (one_id(c, argc, argv, &id) != 0)
		return;
	struct store_key k;
	store_key_qrec(&k, id);
	struct store_queue_rec r = {0};
	struct store *s = store_of();
	if (!s || store_load(s, STORE_CF_QUEUE, store_key_slice(&k), &store_rec_queue, &r) != 0) {
		store_done(s);
		ctl_err(c, "no such queued message %llu\n", (unsigned long long)id);
		ctl_done(c, 1);
		return;
	}
	struct buf data;
	buf_init(&data);
	int rc = store_msgdata_read_all(s, r.data_id, &data, QUEUE_DUMP_MAX);
	store_done(s);
	if (rc < 0) {
		ctl_err(c, "cannot read the message data of %llu\n", (unsigned long long)id);
	} else {
		ctl_out_bytes(c, r.msg_prefix.p, r.msg_prefix.len);
		ctl_out_bytes(c, data.p, data.len);
	}
	buf_free(&data);
	store_codec_free(&store_rec_queue, &r);
	ctl_done(c, rc < 0 ? 1 : 0);
}

static void cmd_holdrule_list(struct ctl_conn *c, int argc, char **argv)
{
	if (argc) {
		usage(c, "no arguments");
		return;
	}
	struct store *s = store_of();
	if (!s) {
		ctl_err(c, "queue not running\n");
		ctl_done(c, 1);
		return;
	}
	uint8_t kind = STORE_K_HOLDRULE;
	struct store_iter *it = store_iter_prefix(s, STORE_CF_HOLDRULES, slice_of(&kind, 1));
	struct buf line;
	buf_init(&line);
	for (; store_iter_valid(it); store_iter_next(it)) {
		struct store_holdrule h;
		char why[64];
		if (store_codec_decode(&store_rec_holdrule, store_iter_value(it), &h, why, sizeof why) != 0)
			continue;
		line.len = 0;
		queue_fmt_holdrule(&line, &h);
		ctl_out_bytes(c, line.p, line.len);
		store_codec_free(&store_rec_holdrule, &h);
	}
	store_iter_free(it);
	store_done(s);
	buf_free(&line);
	ctl_done(c, 0);
}

/* ---- changes: through the queue actor ---- */

static void op_res_cb(struct ctl_conn *c, const struct msg *m, const void *payload)
{
	const struct queue_op_res *p = payload;
	struct queue_op *op = ctl_state(c); /* a copy of what was sent, for holdrule add */
	if (p->code < 0) {
		ctl_err(c, "%.*s\n", (int)p->error.len, (const char *)p->error.p);
		ctl_done(c, 1);
	} else if (op && op->kind == QUEUE_OP_HOLDRULE_ADD) {
		struct buf line;
		buf_init(&line);
		op->rule.id = (int64_t)p->id;
		queue_fmt_holdrule(&line, &op->rule);
		ctl_out_bytes(c, line.p, line.len);
		buf_free(&line);
		ctl_done(c, 0);
	} else if (op && op->kind == QUEUE_OP_HOLDRULE_REMOVE) {
		ctl_done(c, 0);
	} else {
		ctl_out(c, "%lld messages changed\n", (long long)p->count);
		ctl_done(c, 0);
	}
	queue_op_free(op);
}

/* Sends op to the queue; the reply completes the command. */
static void send_op(struct ctl_conn *c, struct queue_op *op)
{
	struct queue_op *copy = queue_op_new(op->kind);
	copy->rule.account = op->rule.account ? xstrdup(op->rule.account) : NULL;
	copy->rule.sender_domain = op->rule.sender_domain ? xstrdup(op->rule.sender_domain) : NULL;
	copy->rule.recipient_domain = op->rule.recipient_domain ? xstrdup(op->rule.recipient_domain) : NULL;
	ctl_expect(c, op_res_cb, copy);
	struct queue_op_req req = {.op = op};
	uint64_t q = queue_actor_id();
	if (!q || QUEUE_MSG_OP_REQ_send(q, ctl_actor(c), &req, NULL) != 0) {
		ctl_expect(c, NULL, NULL);
		queue_op_free(op);
		queue_op_free(copy);
		ctl_err(c, "queue not running\n");
		ctl_done(c, 1);
	}
}

static void run_change(struct ctl_conn *c, int argc, char **argv, enum queue_op_kind kind, int npos, int allow)
{
	struct args a;
	if (parse(c, argc, argv, A_FILTER | allow, &a) != 0)
		return;
	if (a.npos != npos) {
		queue_filter_free(&a.f);
		usage(c, npos ? "missing or extra argument" : "unexpected argument");
		return;
	}
	struct queue_op *op = queue_op_new(kind);
	queue_filter_free(&op->filter);
	op->filter = a.f;
	int bad = 0;
	if (kind == QUEUE_OP_SCHEDULE) {
		op->from_now = a.now;
		const char *d = a.pos[0];
		bool neg = d[0] == '-';
		bad = conf_duration_parse(neg ? d + 1 : d, &op->dur_ms) != 0;
		op->dur_ms = neg ? -op->dur_ms : op->dur_ms;
	} else if (kind == QUEUE_OP_TRANSPORT) {
		op->transport = xstrdup(a.pos[0]);
	} else if (kind == QUEUE_OP_REQUIRETLS) {
		const char *v = a.pos[0];
		op->requiretls = strcmp(v, "yes") == 0 ? 1 : strcmp(v, "no") == 0 ? 0 : strcmp(v, "default") == 0 ? -1 : -2;
		bad = op->requiretls == -2;
	}
	if (bad) {
		queue_op_free(op);
		usage(c, "bad argument");
		return;
	}
	send_op(c, op);
}

#define CHANGE(fn, kind, npos, allow) \
	static void fn(struct ctl_conn *c, int argc, char **argv) { run_change(c, argc, argv, kind, npos, allow); }
CHANGE(cmd_hold, QUEUE_OP_HOLD, 0, 0)
CHANGE(cmd_unhold, QUEUE_OP_UNHOLD, 0, 0)
CHANGE(cmd_schedule, QUEUE_OP_SCHEDULE, 1, A_NOW)
CHANGE(cmd_transport, QUEUE_OP_TRANSPORT, 1, 0)
CHANGE(cmd_requiretls, QUEUE_OP_REQUIRETLS, 1, 0)
CHANGE(cmd_fail, QUEUE_OP_FAIL, 0, 0)
CHANGE(cmd_drop, QUEUE_OP_DROP, 0, 0)

static void cmd_holdrule_add(struct ctl_conn *c, int argc, char **argv)
{
	struct args a;
	if (parse(c, argc, argv, A_RULE, &a) != 0)
		return;
	queue_filter_free(&a.f);
	if (a.npos) {
		usage(c, "unexpected argument");
		return;
	}
	struct queue_op *op = queue_op_new(QUEUE_OP_HOLDRULE_ADD);
	op->rule.account = xstrdup(a.account ? a.account : "");
	op->rule.sender_domain = xstrdup(a.senderdom ? a.senderdom : "");
	op->rule.recipient_domain = xstrdup(a.recipientdom ? a.recipientdom : "");
	send_op(c, op);
}

static void cmd_holdrule_remove(struct ctl_conn *c, int argc, char **argv)
{
	uint64_t id;
	if (one_id(c, argc, argv, &id) != 0)
		return;
	struct queue_op *op = queue_op_new(QUEUE_OP_HOLDRULE_REMOVE);
	op->rule_id = id;
	send_op(c, op);
}

#define FILTER_USAGE "[-ids 1,2] [-n max] [-account a] [-from s] [-to s] [-submitted <dur|>dur] [-nextattempt <dur|>dur] [-transport t] [-hold true|false]"

static const struct control_cmd queue_cmds[] = {
	{"queue list", FILTER_USAGE " [-sort nextattempt|queued] [-asc]", cmd_list},
	{"queue hold", FILTER_USAGE, cmd_hold},
	{"queue unhold", FILTER_USAGE, cmd_unhold},
	{"queue schedule", FILTER_USAGE " [-now] duration", cmd_schedule},
	{"queue transport", FILTER_USAGE " name", cmd_transport},
	{"queue requiretls", FILTER_USAGE " yes|no|default", cmd_requiretls},
	{"queue fail", FILTER_USAGE, cmd_fail},
	{"queue drop", FILTER_USAGE, cmd_drop},
	{"queue dump", "id", cmd_dump},
	{"queue print", "id", cmd_print},
	{"queue holdrule list", "", cmd_holdrule_list},
	{"queue holdrule add", "[-account a] [-senderdom d] [-recipientdom d]", cmd_holdrule_add},
	{"queue holdrule remove", "ruleid", cmd_holdrule_remove},
	{"queue retired list",
	 "[-ids] [-n] [-account] [-from] [-to] [-submitted] [-lastactivity] [-transport] [-result success|failure] "
	 "[-sort lastactivity|queued] [-asc]",
	 cmd_retired_list},
	{"queue retired print", "id", cmd_retired_print},
	{NULL, NULL, NULL},
};

void queue_cmds_register(void)
{
	control_accept_reply(QUEUE_MSG_OP_RES);
	control_register(queue_cmds);
}
