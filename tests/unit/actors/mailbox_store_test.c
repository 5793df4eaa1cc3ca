/* The mailbox store actor: mailboxes created on first use, uids from 1 per
 * mailbox in delivery order, the UIDNEXT counter persisted with the entries
 * (a new actor on the same store continues the numbering), the sender's other
 * writes committed in the same batch, and refused entries (no account) answered
 * with an error while the actor keeps working; the per-account stored-bytes
 * counter, and queue records committed with the entries through the queue. */
#include "check.h"
#include "queue_testlib.h"

static int64_t deliver(struct qt *t, struct mailbox_deliveries *l, struct store_batch *b)
{
	pthread_mutex_lock(&qt_mu);
	int want = qt_c->ndeliver + 1;
	pthread_mutex_unlock(&qt_mu);
	struct mailbox_deliver_req req = {.batch = b, .list = l};
	CHECK_INT(MAILBOX_MSG_DELIVER_REQ_send(t->mailbox, &qt_c->a, &req, &(struct actor_send_opts){.req_id = 7}), 0);
	for (int i = 0; i < QT_WAIT_S * 200; i++) {
		pthread_mutex_lock(&qt_mu);
		bool done = qt_c->ndeliver >= want;
		int64_t code = qt_c->deliver_code;
		pthread_mutex_unlock(&qt_mu);
		if (done)
			return code;
		qt_sleep_ms(5);
	}
	panic("no deliver reply");
}

/* A list of n entries for account/mailbox, each with new message data in b. */
static struct mailbox_deliveries *entries(struct qt *t, struct store_batch *b, const char *account,
                                          const char *const *mailboxes, size_t n)
{
	struct mailbox_deliveries *l = mailbox_deliveries_new(n);
	for (size_t i = 0; i < n; i++) {
		uint64_t did = store_next_id(t->s);
		store_msgdata_put(b, did, 0, slice_str(QT_MSG));
		struct store_datameta meta = {.size = (int64_t)strlen(QT_MSG), .chunks = 1, .refs = 1};
		store_msgdata_commit(b, did, &meta);
		l->v[i].account = xstrdup(account);
		l->v[i].mailbox = xstrdup(mailboxes[i]);
		l->v[i].data_id = did;
		l->v[i].size = (int64_t)strlen(QT_MSG) + 9;
		l->v[i].flags = STORE_MF_SEEN;
		buf_init(&l->v[i].prefix);
		buf_puts(&l->v[i].prefix, "X-Test: 1\r\n");
	}
	return l;
}

TEST(uids_per_mailbox_persisted_across_restart)
{
	struct qt t;
	qt_start(&t, true, NULL);
	static const char *const mbs[] = {"Inbox", "Inbox", "Archive", "Inbox"};
	struct store_batch *b = store_batch_new();
	struct store_key extra;
	store_key_account_counter(&extra, slice_str("app"), slice_str("test"));
	store_batch_put(b, STORE_CF_ACCOUNTS, store_key_slice(&extra), slice_str("x")); /* rides along */
	CHECK_INT(deliver(&t, entries(&t, b, "app", mbs, 4), b), 0);
	CHECK(qt_has(&t, STORE_CF_ACCOUNTS, &extra));
	struct store_mailmsg m[8];
	int n = qt_mailmsgs(&t, m, 8);
	CHECK_INT(n, 4);
	/* Key order: mailbox id (Inbox created first), then uid. */
	uint64_t inbox = m[0].mailbox_id;
	for (int i = 0; i < 3; i++) {
		CHECK_INT(m[i].mailbox_id, inbox);
		CHECK_INT(m[i].uid, i + 1);
	}
	CHECK(m[3].mailbox_id != inbox);
	CHECK_INT(m[3].uid, 1);
	CHECK_INT(m[0].flags, STORE_MF_SEEN);
	CHECK_MEM(m[0].prefix.p, m[0].prefix.len, "X-Test: 1\r\n");
	char *text = qt_mailmsg_text(&t, &m[0]);
	CHECK(strncmp(text, "X-Test: 1\r\nFrom: App", 20) == 0);
	free(text);
	for (int i = 0; i < n; i++)
		store_codec_free(&store_rec_mailmsg, &m[i]);
	/* A new actor (after a restart) continues from the stored UIDNEXT. */
	qt_stop_actors(&t);
	qt_start_actors(&t);
	b = store_batch_new();
	static const char *const one[] = {"Inbox"};
	CHECK_INT(deliver(&t, entries(&t, b, "app", one, 1), b), 0);
	n = qt_mailmsgs(&t, m, 8);
	CHECK_INT(n, 5);
	CHECK_INT(m[3].mailbox_id, inbox);
	CHECK_INT(m[3].uid, 4);
	for (int i = 0; i < n; i++)
		store_codec_free(&store_rec_mailmsg, &m[i]);
	/* No account: refused, nothing of the batch written; the actor goes on. */
	b = store_batch_new();
	struct mailbox_deliveries *bad = entries(&t, b, "", one, 1);
	uint64_t bad_data = bad->v[0].data_id;
	CHECK(deliver(&t, bad, b) < 0);
	store_key_datameta(&extra, bad_data);
	CHECK(!qt_has(&t, STORE_CF_MSGDATA, &extra));
	b = store_batch_new();
	CHECK_INT(deliver(&t, entries(&t, b, "app", one, 1), b), 0);
	n = qt_mailmsgs(&t, m, 8);
	CHECK_INT(n, 6);
	CHECK_INT(m[4].uid, 5);
	for (int i = 0; i < n; i++)
		store_codec_free(&store_rec_mailmsg, &m[i]);
	qt_stop(&t);
}

TEST(stored_bytes_and_queue_records_in_one_commit)
{
	struct qt t;
	qt_start(&t, true, NULL);
	static const char *const two[] = {"Inbox", "Archive"}, *const one[] = {"Inbox"};
	int64_t size = (int64_t)strlen(QT_MSG) + 9;
	struct store_batch *b = store_batch_new();
	CHECK_INT(deliver(&t, entries(&t, b, "app", two, 2), b), 0);
	CHECK_INT(mailbox_store_usage(t.s, "app"), 2 * size);
	CHECK_INT(mailbox_store_usage(t.s, "other"), 0);
	/* Queue records in the list: the batch commits through the queue, entries and records together. */
	b = store_batch_new();
	struct mailbox_deliveries *l = entries(&t, b, "app", one, 1);
	uint64_t did = store_next_id(t.s);
	static const struct qt_rcpt rc[] = {{"someone", "example.org"}};
	l->queue = qt_add_new("app", "", "", rc, 1, did);
	store_msgdata_put(b, did, 0, slice_str(QT_MSG));
	struct store_datameta meta = {.size = (int64_t)strlen(QT_MSG), .chunks = 1, .refs = 1};
	store_msgdata_commit(b, did, &meta);
	CHECK_INT(qt_queue_size(&t), 0);
	CHECK_INT(deliver(&t, l, b), 0);
	CHECK_INT(qt_queue_size(&t), 1);
	struct store_mailmsg m[8];
	int n = qt_mailmsgs(&t, m, 8);
	CHECK_INT(n, 3);
	for (int i = 0; i < n; i++)
		store_codec_free(&store_rec_mailmsg, &m[i]);
	CHECK_INT(mailbox_store_usage(t.s, "app"), 3 * size);
	/* A delivery right behind it (parked until the queue answered) keeps uid order. */
	b = store_batch_new();
	CHECK_INT(deliver(&t, entries(&t, b, "app", one, 1), b), 0);
	/* After a restart the counter goes on from the stored value. */
	qt_stop_actors(&t);
	qt_start_actors(&t);
	b = store_batch_new();
	CHECK_INT(deliver(&t, entries(&t, b, "app", one, 1), b), 0);
	CHECK_INT(mailbox_store_usage(t.s, "app"), 5 * size);
	n = qt_mailmsgs(&t, m, 8);
	CHECK_INT(n, 5);
	uint32_t last = 0;
	uint64_t inbox = m[0].mailbox_id;
	for (int i = 0; i < n; i++) {
		if (m[i].mailbox_id == inbox) {
			CHECK(m[i].uid > last);
			last = m[i].uid;
		}
		store_codec_free(&store_rec_mailmsg, &m[i]);
	}
	CHECK_INT(last, 4);
	qt_stop(&t);
}

TEST_MAIN()
