/* "?:" checks of the dialogue runner (included by smtp_dialogue_test.c only).
 *
 *   ?: from <path>            reverse path, formatted, e.g. <a@b> or <>
 *   ?: rcpts <p1> <p2> ...    unique accepted recipients, in order
 *   ?: accepted N             accepted RCPT commands, duplicates included
 *   ?: pending <path>         recipient of the pending RCPT ask
 *   ?: notify I N             NOTIFY bits of recipient I
 *   ?: orcpt I type;decoded   ORCPT of recipient I (escapes allowed)
 *   ?: message ESCAPED        the last message taken
 *   ?: ehlo NAME | -          accepted EHLO name
 *   ?: helo NAME              pending HELO/EHLO name
 *   ?: proto P                Received protocol
 *   ?: envid ESCAPED | -      decoded ENVID
 *   ?: ret NONE|FULL|HDRS     ?: body NONE|7BIT|8BITMIME
 *   ?: size N | -             ?: holdfor N | -        ?: holduntil RFC3339 | -
 *   ?: smtputf8 0|1           ?: requiretls 0|1       ?: tls 0|1     ?: auth 0|1
 *   ?: authreq MECH STEP ESCAPED|-   pending AUTH step (- : no data given)
 *   ?: authfailures N         ?: closed 0|1          ?: indata 0|1  ?: partial 0|1 */

static void dlg_check_str(struct dlg *d, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		DFAIL(d, "%s: got \"%s\", want \"%s\"", what, got, want);
}

static void dlg_check_int(struct dlg *d, const char *what, long long got, long long want)
{
	if (got != want)
		DFAIL(d, "%s: got %lld, want %lld", what, got, want);
}

static const char *dlg_path(const struct smtp_addr *a, struct buf *b)
{
	buf_reset(b);
	buf_putc(b, '<');
	smtp_addr_format(a, b);
	buf_putc(b, '>');
	return buf_cstr(b);
}

static void dlg_check_mem(struct dlg *d, const char *what, struct slice got, const char *esc)
{
	struct buf w;
	buf_init(&w);
	dlg_unescape(esc, &w);
	if (!slice_eq(got, buf_slice(&w)))
		DFAIL(d, "%s: got \"%.*s\" (%zu octets), want \"%s\"", what, (int)got.len,
		      (const char *)got.p, got.len, esc);
	buf_free(&w);
}

static void dlg_fact(struct dlg *d, char *l)
{
	char *v = strchr(l, ' ');
	v = v ? (*v = 0, v + 1) : "";
	const struct smtp_server_txn *t = smtp_server_txn(d->s);
	struct buf b;
	buf_init(&b);
	long long n = strtoll(v, NULL, 10);
	bool dash = !strcmp(v, "-");
	if (!strcmp(l, "from")) {
		dlg_check_str(d, l, dlg_path(&t->from, &b), v);
	} else if (!strcmp(l, "rcpts")) {
		struct buf all;
		buf_init(&all);
		for (size_t i = 0; i < t->nrcpt; i++)
			buf_printf(&all, "%s%s", i ? " " : "", dlg_path(&t->rcpts[i].addr, &b));
		dlg_check_str(d, l, buf_cstr(&all), v);
		buf_free(&all);
	} else if (!strcmp(l, "accepted")) {
		dlg_check_int(d, l, (long long)t->accepted, n);
	} else if (!strcmp(l, "pending")) {
		dlg_check_str(d, l, dlg_path(&smtp_server_pending_rcpt(d->s)->addr, &b), v);
	} else if (!strcmp(l, "notify") || !strcmp(l, "orcpt")) {
		char *rest;
		size_t i = strtoul(v, &rest, 10);
		rest += *rest == ' ';
		if (i >= t->nrcpt) {
			DFAIL(d, "no recipient %zu", i);
		} else if (l[0] == 'n') {
			dlg_check_int(d, l, t->rcpts[i].params.notify, strtoll(rest, NULL, 10));
		} else {
			const struct smtp_rcpt_params *p = &t->rcpts[i].params;
			buf_printf(&b, "%s;", p->has_orcpt ? p->orcpt_type : "-");
			buf_append(&b, p->orcpt.p, p->orcpt.len);
			dlg_check_mem(d, l, buf_slice(&b), rest);
		}
	} else if (!strcmp(l, "message")) {
		dlg_check_mem(d, l, buf_slice(&d->msg), v);
	} else if (!strcmp(l, "ehlo")) {
		const char *e = smtp_server_ehlo_name(d->s);
		dlg_check_str(d, l, e ? e : "-", v);
	} else if (!strcmp(l, "helo")) {
		const char *e = smtp_server_helo_pending(d->s);
		dlg_check_str(d, l, e ? e : "-", v);
	} else if (!strcmp(l, "proto")) {
		dlg_check_str(d, l, smtp_server_protocol(d->s), v);
	} else if (!strcmp(l, "envid")) {
		if (dash)
			dlg_check_int(d, l, t->params.has_envid, 0);
		else
			dlg_check_mem(d, l, buf_slice(&t->params.envid), v);
	} else if (!strcmp(l, "ret")) {
		static const char *r[] = {"NONE", "FULL", "HDRS"};
		dlg_check_str(d, l, r[t->params.ret], v);
	} else if (!strcmp(l, "body")) {
		static const char *r[] = {"NONE", "7BIT", "8BITMIME"};
		dlg_check_str(d, l, r[t->params.body], v);
	} else if (!strcmp(l, "size")) {
		dlg_check_int(d, l, t->params.has_size ? (long long)t->params.size : -1, dash ? -1 : n);
	} else if (!strcmp(l, "holdfor")) {
		dlg_check_int(d, l, t->params.has_holdfor ? (long long)t->params.holdfor_s : -1,
		              dash ? -1 : n);
	} else if (!strcmp(l, "holduntil")) {
		int64_t ms = -1;
		if (!dash && clock_parse_rfc3339(v, &ms) != 0)
			DFAIL(d, "bad time %s", v);
		dlg_check_int(d, l, t->params.has_holduntil ? t->params.holduntil_ms : -1, ms);
	} else if (!strcmp(l, "smtputf8")) {
		dlg_check_int(d, l, t->params.smtputf8, n);
	} else if (!strcmp(l, "requiretls")) {
		dlg_check_int(d, l, t->params.requiretls, n);
	} else if (!strcmp(l, "tls")) {
		dlg_check_int(d, l, smtp_server_tls(d->s), n);
	} else if (!strcmp(l, "auth")) {
		dlg_check_int(d, l, smtp_server_authenticated(d->s), n);
	} else if (!strcmp(l, "authreq")) {
		const struct smtp_server_auth_req *a = smtp_server_auth_req(d->s);
		char *mech = strtok(v, " "), *step = strtok(NULL, " "), *data = strtok(NULL, "");
		dlg_check_str(d, "auth mech", a->mech ? a->mech : "-", mech ? mech : "");
		dlg_check_int(d, "auth step", a->step, step ? atoi(step) : -1);
		if (data && !strcmp(data, "-"))
			dlg_check_int(d, "auth has_data", a->has_data, 0);
		else
			dlg_check_mem(d, "auth data", a->data, data ? data : "");
	} else if (!strcmp(l, "authfailures")) {
		dlg_check_int(d, l, smtp_server_auth_failures(d->s), n);
	} else if (!strcmp(l, "closed")) {
		dlg_check_int(d, l, smtp_server_closed(d->s), n);
	} else if (!strcmp(l, "indata")) {
		dlg_check_int(d, l, smtp_server_in_data(d->s), n);
	} else if (!strcmp(l, "partial")) {
		dlg_check_int(d, l, smtp_server_partial_line(d->s), n);
	} else {
		DFAIL(d, "unknown fact %s", l);
	}
	buf_free(&b);
}
