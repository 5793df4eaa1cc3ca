/* Snapshots, reload on change, and atomic rewrites with the CLI changes, on
 * real files in a temp directory. */
#include "check.h"
#include "conf_testutil.h"

#include <pthread.h>

#include "conf/conf_domains.h"
#include "conf/conf_lookup.h"
#include "conf/conf_rewrite.h"
#include "conf/conf_static.h"

struct env {
	char *dir;
	struct conf_static *st;
};

static struct env setup(void)
{
	struct env e = {tu_tmpdir(), NULL};
	tu_write(e.dir, "tern.conf", TU_TERN_CONF);
	char *d = xasprintf("# operator comment\n%s", TU_DOMAINS_CONF);
	tu_write(e.dir, "domains.conf", d);
	free(d);
	char *path = xasprintf("%s/tern.conf", e.dir);
	struct buf err;
	buf_init(&err);
	struct conf_domains *dc;
	if (conf_static_load(path, &e.st, &err) < 0 || conf_domains_load(e.st->domains_path, e.st, &dc, &err) < 0)
		panic("setup: %s", buf_cstr(&err));
	conf_domains_install(dc);
	buf_free(&err);
	free(path);
	return e;
}

static void teardown(struct env *e)
{
	conf_domains_install(NULL);
	conf_static_free(e->st);
	tu_rmdir(e->dir);
}

static bool exists(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* Replaces domains.conf with s through a rename, so the file identity surely changes. */
static void replace_file(const char *dir, const char *s)
{
	tu_write(dir, "next.conf", s);
	char *a = xasprintf("%s/next.conf", dir), *b = xasprintf("%s/domains.conf", dir);
	if (rename(a, b) < 0)
		panic("rename");
	free(a);
	free(b);
}

static int fail_cb(struct conf_domains *dc, void *arg, struct buf *err)
{
	buf_puts(err, "refused by callback\n");
	return -1;
}

TEST(failed_validation_leaves_file_untouched)
{
	struct env e = setup();
	char *before = tu_read(e.dir, "domains.conf");
	struct conf_domains *cur = conf_domains_acquire();
	struct buf err;
	buf_init(&err);
	/* the postmaster account cannot go */
	CHECK_INT(conf_rewrite_account_rm(e.st, "admin", &err), -1);
	CHECK(strstr(buf_cstr(&err), "Postmaster.Account: no such account \"admin\"") != NULL);
	buf_reset(&err);
	CHECK_INT(conf_rewrite(e.st, fail_cb, NULL, &err), -1);
	CHECK_STR(buf_cstr(&err), "refused by callback\n");
	buf_reset(&err);
	CHECK_INT(conf_rewrite_account_disable(e.st, "app", "bad\tmessage", &err), -1);
	CHECK_STR(buf_cstr(&err), "message must be 1 to 256 printable ASCII characters\n");
	buf_reset(&err);
	CHECK_INT(conf_rewrite_domain_rm(e.st, "example.com", &err), -1);
	CHECK(strstr(buf_cstr(&err), "domain example.com still has address admin@example.com of account admin\n") != NULL);
	buf_reset(&err);
	CHECK_INT(conf_rewrite_account_add(e.st, "new", "new@nowhere.example", &err), -1);
	CHECK_STR(buf_cstr(&err), "domain nowhere.example does not exist\n");
	char *after = tu_read(e.dir, "domains.conf");
	CHECK_STR(after, before);
	CHECK(!exists(e.dir, "domains.conf.tmp"));
	struct conf_domains *now = conf_domains_acquire();
	CHECK(now == cur);
	conf_domains_release(now);
	conf_domains_release(cur);
	free(before);
	free(after);
	buf_free(&err);
	teardown(&e);
}

TEST(successful_rewrite_renames_and_installs)
{
	struct env e = setup();
	struct stat before, after;
	char *path = xasprintf("%s/domains.conf", e.dir);
	stat(path, &before);
	struct conf_domains *old = conf_domains_acquire();
	struct buf err;
	buf_init(&err);
	struct conf_new_selector sel[] = {{"2026a", "dkim/2026a.new.example.ed25519.pem", CONF_DKIM_SHA256, 72LL * 3600000},
					  {"2026b", "dkim/2026b.new.example.rsa.pem", CONF_DKIM_SHA256, 0}};
	struct conf_domain_add a = {.domain = "New.Example", .account = "app", .localpart = "hello", .selectors = sel, .nselectors = 2};
	CHECK_INT(conf_rewrite_domain_add(e.st, &a, &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	stat(path, &after);
	CHECK(before.st_ino != after.st_ino);
	CHECK(!exists(e.dir, "domains.conf.tmp"));
	struct conf_domains *dc = conf_domains_acquire();
	CHECK(dc != old);
	const struct conf_domain *nd = conf_domain_get(dc, "new.example", 11);
	CHECK(nd && !nd->disabled && nd->dkim && nd->dkim->nselectors == 2 && nd->dkim->sign.n == 2);
	if (nd)
		CHECK_STR(nd->name, "new.example");
	struct conf_dest d;
	CHECK_INT(conf_dest_lookup(dc, "hello", 5, "new.example", 11, &d), 0);
	CHECK(d.account && strcmp(d.account->name, "app") == 0);
	/* the old snapshot is still usable by whoever holds it */
	CHECK(conf_domain_get(old, "new.example", 11) == NULL);
	CHECK(conf_account_get(old, "app") != NULL);
	conf_domains_release(old);
	/* the file on disk is exactly what is installed, and comments are gone */
	struct conf_domains *disk;
	CHECK_INT(conf_domains_load(path, e.st, &disk, &err), 0);
	CHECK(disk && conf_domains_eq(disk, dc));
	conf_domains_release(disk);
	char *text = tu_read(e.dir, "domains.conf");
	CHECK(text && !strstr(text, "# operator comment") && strstr(text, "  new.example:\n"));
	free(text);
	CHECK_INT(dc->file_ino, after.st_ino);
	conf_domains_release(dc);
	/* nothing changed on disk since: no reload */
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), 0);
	free(path);
	buf_free(&err);
	teardown(&e);
}

TEST(cli_changes)
{
	struct env e = setup();
	struct buf err;
	buf_init(&err);
	struct conf_domain_add a = {.domain = "bücher.example", .account = "reader", .disabled = true};
	CHECK_INT(conf_rewrite_domain_add(e.st, &a, &err), 0);
	CHECK_INT(conf_rewrite_domain_add(e.st, &a, &err), -1);
	CHECK(strstr(buf_cstr(&err), "domain bücher.example already exists") != NULL);
	buf_reset(&err);
	struct conf_domains *dc = conf_domains_acquire();
	const struct conf_account *r = conf_account_get(dc, "reader");
	CHECK(r && r->ndestinations == 1 && strcmp(r->destinations[0].name, "reader@bücher.example") == 0);
	CHECK(conf_domain_get(dc, "xn--bcher-kva.example", 21)->disabled);
	conf_domains_release(dc);
	CHECK_INT(conf_rewrite_domain_disable(e.st, "XN--BCHER-KVA.example", false, &err), 0);
	CHECK_INT(conf_rewrite_account_add(e.st, "second", "two@bücher.example", &err), 0);
	CHECK_INT(conf_rewrite_account_disable(e.st, "second", "moved away", &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	dc = conf_domains_acquire();
	CHECK(!conf_domain_get(dc, "bücher.example", strlen("bücher.example"))->disabled);
	CHECK_STR(conf_account_get(dc, "second")->login_disabled, "moved away");
	conf_domains_release(dc);
	CHECK_INT(conf_rewrite_account_enable(e.st, "second", &err), 0);
	CHECK_INT(conf_rewrite_account_rm(e.st, "second", &err), 0);
	CHECK_INT(conf_rewrite_domain_rm(e.st, "bücher.example", &err), -1);
	CHECK(strstr(buf_cstr(&err), "default domain of account reader") != NULL);
	buf_reset(&err);
	CHECK_INT(conf_rewrite_account_rm(e.st, "reader", &err), 0);
	CHECK_INT(conf_rewrite_domain_rm(e.st, "bücher.example", &err), 0);
	CHECK_INT(conf_rewrite_account_rm(e.st, "nobody", &err), -1);
	CHECK_STR(buf_cstr(&err), "account nobody does not exist\n");
	dc = conf_domains_acquire();
	CHECK(conf_account_get(dc, "second") == NULL && conf_account_get(dc, "reader") == NULL);
	CHECK(conf_domain_get(dc, "bücher.example", strlen("bücher.example")) == NULL);
	CHECK_INT(dc->ndomains, 2);
	conf_domains_release(dc);
	buf_free(&err);
	teardown(&e);
}

#define THREADS 4
#define PER_THREAD 8

struct worker_arg {
	const struct conf_static *st;
	int id;
	int failures;
};

static void *add_accounts(void *p)
{
	struct worker_arg *w = p;
	struct buf err;
	buf_init(&err);
	for (int i = 0; i < PER_THREAD; i++) {
		char name[32], addr[64];
		snprintf(name, sizeof name, "t%d-%d", w->id, i);
		snprintf(addr, sizeof addr, "%s@example.com", name);
		if (conf_rewrite_account_add(w->st, name, addr, &err) < 0)
			w->failures++;
		struct conf_domains *dc = conf_domains_acquire(); /* readers run alongside */
		if (!conf_account_get(dc, name))
			w->failures++;
		conf_domains_release(dc);
	}
	buf_free(&err);
	return NULL;
}

TEST(concurrent_rewrites_are_serialised)
{
	struct env e = setup();
	pthread_t th[THREADS];
	struct worker_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){e.st, i, 0};
		pthread_create(&th[i], NULL, add_accounts, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(args[i].failures, 0);
	}
	struct conf_domains *dc = conf_domains_acquire(), *disk;
	CHECK_INT(dc->naccounts, 3 + THREADS * PER_THREAD);
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_domains_load(e.st->domains_path, e.st, &disk, &err), 0);
	CHECK(disk && disk->naccounts == 3 + THREADS * PER_THREAD);
	conf_domains_release(disk);
	conf_domains_release(dc);
	buf_free(&err);
	teardown(&e);
}

TEST(reload_on_change_keeps_previous_on_error)
{
	struct env e = setup();
	struct buf err;
	buf_init(&err);
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), 0);
	struct conf_domains *first = conf_domains_acquire();
	replace_file(e.dir, "Domains:\n  example.com: {}\nAccounts:\n  admin: {Domain: example.com, Destinations: {admin@example.com: {}}}\n");
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), 1);
	CHECK_STR(buf_cstr(&err), "");
	struct conf_domains *second = conf_domains_acquire();
	CHECK(second != first && second->naccounts == 1);
	replace_file(e.dir, "Domains:\n  example.com: {}\nAccounts:\n  admin: {Domain: example.com, Destinations: {admin@example.com: {}}}\n  bad: {Domain: example.com}\n");
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), -1);
	char *want = xasprintf("%s:5: Accounts.bad.Destinations: missing required field\n", e.st->domains_path);
	CHECK_STR(buf_cstr(&err), want);
	free(want);
	struct conf_domains *still = conf_domains_acquire();
	CHECK(still == second);
	conf_domains_release(still);
	buf_reset(&err);
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), 0); /* the same bad version is reported once */
	CHECK_STR(buf_cstr(&err), "");
	replace_file(e.dir, TU_DOMAINS_CONF);
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), 1);
	struct conf_domains *third = conf_domains_acquire();
	CHECK_INT(third->naccounts, 3);
	CHECK_INT(first->naccounts, 3); /* old snapshots stay valid while held */
	CHECK_INT(second->naccounts, 1);
	conf_domains_release(first);
	conf_domains_release(second);
	conf_domains_release(third);
	/* an in-place edit that changes the size is noticed too */
	char *p = xasprintf("%s/domains.conf", e.dir);
	FILE *f = fopen(p, "a");
	fputs("# trailing comment\n", f);
	fclose(f);
	free(p);
	CHECK_INT(conf_domains_reload_if_changed(e.st, &err), 1);
	buf_free(&err);
	teardown(&e);
}

TEST(rewrite_keeps_pending_disk_edit_and_refuses_broken_one)
{
	struct env e = setup();
	struct buf err;
	buf_init(&err);
	/* an operator edit not reloaded yet is picked up, not overwritten */
	char *edited = xasprintf("Domains: {example.com: {}}\nAccounts:\n  admin: {Domain: example.com, Destinations: {admin@example.com: {}}}\n"
			   "  app: {Domain: example.com, Destinations: {app@example.com: {}}}\n  ops: {Domain: example.com, Destinations: {ops@example.com: {}}}\n");
	replace_file(e.dir, edited);
	CHECK_INT(conf_rewrite_account_add(e.st, "more", "more@example.com", &err), 0);
	CHECK_STR(buf_cstr(&err), "");
	struct conf_domains *dc = conf_domains_acquire();
	CHECK(conf_account_get(dc, "ops") != NULL && conf_account_get(dc, "more") != NULL);
	conf_domains_release(dc);
	/* a broken edit is not overwritten */
	replace_file(e.dir, "Domains: {example.com: {}\n");
	char *before = tu_read(e.dir, "domains.conf");
	for (int i = 0; i < 2; i++) {
		buf_reset(&err);
		CHECK_INT(conf_rewrite_account_rm(e.st, "more", &err), -1);
		CHECK(strstr(buf_cstr(&err), "the file on disk is invalid; fix or restore it") != NULL);
	}
	char *after = tu_read(e.dir, "domains.conf");
	CHECK_STR(after, before);
	free(before);
	free(after);
	free(edited);
	buf_free(&err);
	teardown(&e);
}

TEST_MAIN()
