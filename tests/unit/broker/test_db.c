// SPDX-License-Identifier: GPL-3.0-or-later
/* The broker's database (broker/db.c) on a temporary file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"

struct fixture {
	char dir[64];
	char path[96];
	struct db *db;
};

static void rm_db(struct fixture *f)
{
	char p[128];

	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/skytest-broker-db-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/broker.db", f->dir);
	if (db_open(f->path, NULL, &f->db) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	db_close(f->db);
	rm_db(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void add_user(struct db *db, const char *name, enum user_role role)
{
	struct db_user u = { .role = role, .created = 1000 };

	snprintf(u.name, sizeof(u.name), "%s", name);
	snprintf(u.password, sizeof(u.password), "scrypt$x");
	assert_int_equal(db_user_add(db, &u), 0);
}

static void add_pool(struct db *db, const char *name, int64_t max)
{
	struct db_pool p = {
		.kind = POOL_PERSONAL, .memory_mb = 256, .cpus = 2, .max_desktops = max,
		.cost_per_gb_day = 0.5, .cost_per_cpu_day = 0.25, .created = 1000,
	};

	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.template, sizeof(p.template), "desktop");
	assert_int_equal(db_pool_add(db, &p), 0);
}

static int add_desktop(struct db *db, const char *name, const char *pool, const char *owner)
{
	struct db_desktop d = { .state = DESKTOP_REQUESTED, .memory_mb = 256, .cpus = 2,
				.created = 1000 };

	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.pool, sizeof(d.pool), "%s", pool);
	snprintf(d.owner, sizeof(d.owner), "%s", owner);
	return db_desktop_add(db, &d, NULL, 0);
}

static void test_fresh_and_reopen(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	struct stat st;

	assert_int_equal(db_schema_version(f->db), DB_SCHEMA_VERSION);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	add_user(f->db, "alice", ROLE_ADMIN);
	db_close(f->db);
	f->db = NULL;
	/* Re-opening migrates nothing and keeps the rows. */
	assert_int_equal(db_open(f->path, NULL, &f->db), 0);
	assert_int_equal(db_schema_version(f->db), DB_SCHEMA_VERSION);
	assert_int_equal(db_user_get(f->db, "alice", &u), 0);
	assert_int_equal(u.role, ROLE_ADMIN);
}

/* Version 1 had no users.source: opening one adds it, every user local. */
static void test_migrate_source(void **state)
{
	struct fixture *f = *state;
	struct db_user u = { .role = ROLE_USER, .created = 2000, .source = USER_SOURCE_PAM };
	struct db_user *list = NULL;
	size_t n = 0;
	sqlite3 *raw;

	db_close(f->db);
	f->db = NULL;
	rm_db(f);
	assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
		"CREATE TABLE schema_version (version INTEGER NOT NULL);"
		"INSERT INTO schema_version VALUES (1);"
		"CREATE TABLE users (name TEXT PRIMARY KEY NOT NULL, role TEXT NOT NULL,"
		" email TEXT NOT NULL, password TEXT NOT NULL, created BIGINT NOT NULL);"
		"INSERT INTO users VALUES ('old', 'admin', '', 'scrypt$x', 1000);"
		/* Version 1's pools (4 adds max_per_user). */
		"CREATE TABLE pools (name TEXT PRIMARY KEY NOT NULL, description TEXT NOT NULL,"
		" kind TEXT NOT NULL, template TEXT NOT NULL, memory_mb BIGINT NOT NULL,"
		" cpus INTEGER NOT NULL, max_desktops INTEGER NOT NULL,"
		" expiry_days INTEGER NOT NULL, cost_per_gb_day DOUBLE PRECISION NOT NULL,"
		" cost_per_cpu_day DOUBLE PRECISION NOT NULL, created BIGINT NOT NULL);"
		"INSERT INTO pools VALUES ('p', '', 'personal', 't', 256, 1, 5, 0, 0, 0, 1000);"
		/* Version 1's desktops (owner NOT NULL; 3 rebuilds the table). */
		"CREATE TABLE desktops (name TEXT PRIMARY KEY NOT NULL,"
		" description TEXT NOT NULL, pool TEXT NOT NULL REFERENCES pools(name),"
		" owner TEXT NOT NULL REFERENCES users(name), state TEXT NOT NULL, host TEXT,"
		" vm TEXT, memory_mb BIGINT NOT NULL, cpus INTEGER NOT NULL,"
		" created BIGINT NOT NULL, expires BIGINT, job BIGINT);"
		"CREATE TABLE desktop_admins (desktop TEXT NOT NULL REFERENCES desktops(name)"
		" ON DELETE CASCADE, user_name TEXT NOT NULL REFERENCES users(name)"
		" ON DELETE CASCADE, PRIMARY KEY (desktop, user_name));"
		"INSERT INTO desktops VALUES ('old-d', '', 'p', 'old', 'Off', 'h', 'old-d', 256,"
		" 1, 1000, NULL, NULL);"
		"INSERT INTO desktop_admins VALUES ('old-d', 'old');",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(db_open(f->path, NULL, &f->db), 0);
	assert_int_equal(db_schema_version(f->db), DB_SCHEMA_VERSION);
	{
		struct db_desktop d;

		/* The desktop and its admins survive the rebuild; owners may go. */
		assert_int_equal(db_desktop_get(f->db, "old-d", &d), 0);
		assert_string_equal(d.owner, "old");
		assert_true(db_desktop_is_admin(f->db, "old-d", "old"));
		assert_int_equal(db_desktop_set_owner(f->db, "old-d", "old"), -ESTALE);
		assert_int_equal(db_desktop_set_owner(f->db, "old-d", NULL), 0);
		assert_int_equal(db_desktop_get(f->db, "old-d", &d), 0);
		assert_string_equal(d.owner, "");
		assert_int_equal(db_desktop_set_owner(f->db, "old-d", "old"), 0);
		assert_int_equal(db_desktop_set_owner(f->db, "nope", NULL), -ENOENT);
	}
	{
		struct db_pool p;

		/* An old pool has no quota. */
		assert_int_equal(db_pool_get(f->db, "p", &p), 0);
		assert_int_equal(p.max_desktops, 5);
		assert_int_equal(p.max_per_user, 0);
		assert_int_equal(p.desktops, 1);
	}
	/* (u.source is pam until read back.) */
	assert_int_equal(db_user_get(f->db, "old", &u), 0);
	assert_int_equal(u.source, USER_SOURCE_LOCAL);
	assert_string_equal(u.password, "scrypt$x");

	/* The source goes in and out, and changes. */
	u = (struct db_user){ .role = ROLE_USER, .created = 2000, .source = USER_SOURCE_PAM };
	snprintf(u.name, sizeof(u.name), "penny");
	snprintf(u.password, sizeof(u.password), "!pam");
	assert_int_equal(db_user_add(f->db, &u), 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(db_user_get(f->db, "penny", &u), 0);
	assert_int_equal(u.source, USER_SOURCE_PAM);
	assert_int_equal(db_user_list(f->db, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].name, "penny");
	assert_int_equal(list[1].source, USER_SOURCE_PAM);
	assert_int_equal(list[0].source, USER_SOURCE_LOCAL);
	free(list);
	u.source = USER_SOURCE_LOCAL;
	snprintf(u.password, sizeof(u.password), "scrypt$y");
	assert_int_equal(db_user_update(f->db, &u), 0);
	assert_int_equal(db_user_get(f->db, "penny", &u), 0);
	assert_int_equal(u.source, USER_SOURCE_LOCAL);
	assert_string_equal(u.password, "scrypt$y");
	/* Names of sources, both ways. */
	assert_string_equal(user_source_name(USER_SOURCE_PAM), "pam");
	assert_null(user_source_name((enum user_source)7));
	assert_int_equal(user_source_parse("local", &u.source), 0);
	assert_int_equal(u.source, USER_SOURCE_LOCAL);
	assert_int_equal(user_source_parse("ldap", &u.source), -EINVAL);
}

static void test_newer_refused(void **state)
{
	struct fixture *f = *state;
	struct db *db2 = NULL;
	sqlite3 *raw;
	int found = -1;

	db_close(f->db);
	f->db = NULL;
	assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "UPDATE schema_version SET version = 99", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(db_open(f->path, &found, &db2), -EPROTONOSUPPORT);
	assert_null(db2);
	assert_int_equal(found, 99);
	/* Not a database at all. */
	rm_db(f);
	{
		FILE *fp = fopen(f->path, "w");

		assert_non_null(fp);
		fputs("this is not an SQLite file, just text long enough to be read as a header "
		      "and found wanting by the library", fp);
		fclose(fp);
	}
	assert_int_not_equal(db_open(f->path, NULL, &db2), 0);
	rm_db(f);
	assert_int_equal(db_open(f->path, NULL, &f->db), 0);
}

static void test_users(void **state)
{
	struct fixture *f = *state;
	struct db_user u, *list;
	size_t n;

	add_user(f->db, "bob", ROLE_USER);
	add_user(f->db, "alice", ROLE_ADMIN);
	{
		struct db_user dup = { .role = ROLE_USER };

		snprintf(dup.name, sizeof(dup.name), "bob");
		assert_int_equal(db_user_add(f->db, &dup), -EEXIST);
	}
	assert_int_equal(db_user_get(f->db, "carol", &u), -ENOENT);
	assert_int_equal(db_user_get(f->db, "bob", &u), 0);
	u.role = ROLE_DELEGATED_ADMIN;
	snprintf(u.email, sizeof(u.email), "bob@example.org");
	assert_int_equal(db_user_update(f->db, &u), 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(db_user_get(f->db, "bob", &u), 0);
	assert_int_equal(u.role, ROLE_DELEGATED_ADMIN);
	assert_string_equal(u.email, "bob@example.org");
	assert_int_equal(db_user_list(f->db, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "alice");
	assert_string_equal(list[1].name, "bob");
	free(list);
	assert_int_equal(db_user_count_role(f->db, ROLE_ADMIN, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_user_delete(f->db, "alice"), 0);
	assert_int_equal(db_user_delete(f->db, "alice"), -ENOENT);
}

static void test_verbatim(void **state)
{
	/* SQL metacharacters and markup are data. */
	static const char nasty[] = "'; DROP TABLE users; -- <script>alert(1)</script> \" %s \\";
	struct fixture *f = *state;
	struct db_desktop d;
	struct db_user *list;
	size_t n;

	add_user(f->db, "bob", ROLE_USER);
	add_pool(f->db, "p", 5);
	assert_int_equal(add_desktop(f->db, "d1", "p", "bob"), 0);
	assert_int_equal(db_desktop_set_description(f->db, "d1", nasty), 0);
	assert_int_equal(db_desktop_get(f->db, "d1", &d), 0);
	assert_string_equal(d.description, nasty);
	/* As a key too: no row, no damage. */
	assert_int_equal(db_desktop_get(f->db, "x' OR '1'='1", &d), -ENOENT);
	assert_int_equal(db_user_delete(f->db, "x' OR '1'='1"), -ENOENT);
	assert_int_equal(db_user_list(f->db, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);
}

/* max_per_user: each owner's desktops in the pool, Expired ones aside;
 * spares and other owners unaffected; 0 lifts it; it goes in and out. */
static void test_quota(void **state)
{
	struct fixture *f = *state;
	struct db_desktop spare = { .state = DESKTOP_REQUESTED, .memory_mb = 256, .cpus = 1 };
	struct db_pool p;

	add_user(f->db, "bob", ROLE_USER);
	add_user(f->db, "eve", ROLE_USER);
	add_pool(f->db, "q", 10);
	assert_int_equal(db_pool_get(f->db, "q", &p), 0);
	assert_int_equal(p.max_per_user, 0);
	p.max_per_user = 2;
	assert_int_equal(db_pool_update(f->db, &p), 0);
	memset(&p, 0, sizeof(p));
	assert_int_equal(db_pool_get(f->db, "q", &p), 0);
	assert_int_equal(p.max_per_user, 2);

	assert_int_equal(add_desktop(f->db, "b1", "q", "bob"), 0);
	assert_int_equal(add_desktop(f->db, "b2", "q", "bob"), 0);
	assert_int_equal(add_desktop(f->db, "b3", "q", "bob"), -EUSERS);
	/* Not a user's: a spare, and eve's own two. */
	snprintf(spare.name, sizeof(spare.name), "s1");
	snprintf(spare.pool, sizeof(spare.pool), "q");
	assert_int_equal(db_desktop_add(f->db, &spare, NULL, 0), 0);
	assert_int_equal(add_desktop(f->db, "e1", "q", "eve"), 0);
	/* Another pool has its own count. */
	add_pool(f->db, "r", 10);
	assert_int_equal(add_desktop(f->db, "b4", "r", "bob"), 0);
	/* An Expired desktop no longer counts. */
	assert_int_equal(db_desktop_set_state(f->db, "b1", NULL, DESKTOP_EXPIRED), 0);
	assert_int_equal(add_desktop(f->db, "b3", "q", "bob"), 0);
	assert_int_equal(db_desktop_set_state(f->db, "b3", NULL, DESKTOP_RUNNING), 0);
	assert_int_equal(add_desktop(f->db, "b5", "q", "bob"), -EUSERS);
	/* No quota again. */
	p.max_per_user = 0;
	assert_int_equal(db_pool_update(f->db, &p), 0);
	assert_int_equal(add_desktop(f->db, "b5", "q", "bob"), 0);
	assert_int_equal(db_pool_get(f->db, "q", &p), 0);
	assert_int_equal(p.desktops, 6);
}

static void test_desktops(void **state)
{
	struct fixture *f = *state;
	struct db_desktop d, *list;
	struct db_pool p;
	char admins[DB_ADMINS_MAX][DB_NAME_MAX + 1];
	const char *adm[] = { "dan" };
	enum desktop_state from = DESKTOP_REQUESTED;
	size_t n;

	add_user(f->db, "bob", ROLE_USER);
	add_user(f->db, "eve", ROLE_USER);
	add_user(f->db, "dan", ROLE_DELEGATED_ADMIN);
	add_pool(f->db, "p", 2);
	assert_int_equal(add_desktop(f->db, "d1", "nopool", "bob"), -ENOENT);
	assert_int_equal(add_desktop(f->db, "d1", "p", "nobody"), -EBUSY);
	assert_int_equal(add_desktop(f->db, "d1", "p", "bob"), 0);
	assert_int_equal(add_desktop(f->db, "d1", "p", "eve"), -EEXIST);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "d2");
	snprintf(d.pool, sizeof(d.pool), "p");
	snprintf(d.owner, sizeof(d.owner), "eve");
	d.state = DESKTOP_REQUESTED;
	d.expires = 5000;
	d.created = 2000;
	assert_int_equal(db_desktop_add(f->db, &d, adm, 1), 0);
	/* The pool is full at max_desktops. */
	assert_int_equal(add_desktop(f->db, "d3", "p", "bob"), -EDQUOT);
	assert_int_equal(db_pool_get(f->db, "p", &p), 0);
	assert_int_equal(p.desktops, 2);

	assert_int_equal(db_desktop_admins(f->db, "d2", admins, DB_ADMINS_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(admins[0], "dan");
	assert_true(db_desktop_is_admin(f->db, "d2", "dan"));
	assert_false(db_desktop_is_admin(f->db, "d1", "dan"));

	/* Visibility: owners and named admins. */
	assert_int_equal(db_desktop_list(f->db, &(struct db_desktop_filter){ .visible_to = "dan" },
					 &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "d2");
	assert_int_equal(list[0].expires, 5000);
	free(list);
	assert_int_equal(db_desktop_list(f->db, NULL, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].expires, 0);
	free(list);

	/* Compare-and-set of the state. */
	assert_int_equal(db_desktop_set_state(f->db, "d1", &from, DESKTOP_PROVISIONING), 0);
	assert_int_equal(db_desktop_set_state(f->db, "d1", &from, DESKTOP_RUNNING), -ESTALE);
	assert_int_equal(db_desktop_set_state(f->db, "zz", &from, DESKTOP_RUNNING), -ENOENT);
	assert_int_equal(db_desktop_set_placement(f->db, "d1", "h1", "d1"), 0);
	assert_int_equal(db_desktop_get(f->db, "d1", &d), 0);
	assert_int_equal(d.state, DESKTOP_PROVISIONING);
	assert_string_equal(d.host, "h1");
	assert_int_equal(db_desktop_list(f->db, &(struct db_desktop_filter){ .host = "h1" },
					 &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);

	/* A user or pool with desktops stays. */
	assert_int_equal(db_user_delete(f->db, "bob"), -EBUSY);
	assert_int_equal(db_pool_delete(f->db, "p"), -EBUSY);
	/* Deleting a user drops their admin rows. */
	assert_int_equal(db_user_delete(f->db, "dan"), 0);
	assert_false(db_desktop_is_admin(f->db, "d2", "dan"));
	assert_int_equal(db_desktop_delete(f->db, "d1"), 0);
	assert_int_equal(db_desktop_delete(f->db, "d2"), 0);
	assert_int_equal(db_pool_delete(f->db, "p"), 0);
	assert_int_equal(db_user_delete(f->db, "bob"), 0);
}

static void test_hosts(void **state)
{
	struct fixture *f = *state;
	struct db_host h = { .cpus = 8, .mem_total_mb = 8192, .mem_free_mb = 4096 }, g, *list;
	size_t n;

	snprintf(h.name, sizeof(h.name), "host1");
	snprintf(h.api_url, sizeof(h.api_url), "https://127.0.0.2:8445");
	snprintf(h.rdp_address, sizeof(h.rdp_address), "127.0.0.2:3389");
	assert_int_equal(db_host_report(f->db, &h, 100), 0);
	assert_int_equal(db_host_set_maintenance(f->db, "host1", true), 0);
	assert_int_equal(db_host_set_healthy(f->db, "host1", false), 0);
	h.mem_free_mb = 2048;
	assert_int_equal(db_host_report(f->db, &h, 200), 0);
	assert_int_equal(db_host_get(f->db, "host1", &g), 0);
	assert_true(g.healthy);
	assert_true(g.maintenance); /* a heartbeat keeps it */
	assert_int_equal(g.mem_free_mb, 2048);
	assert_int_equal(g.last_heartbeat, 200);
	assert_int_equal(g.desktops, 0);

	add_user(f->db, "bob", ROLE_USER);
	add_pool(f->db, "p", 5);
	assert_int_equal(add_desktop(f->db, "d1", "p", "bob"), 0);
	assert_int_equal(db_desktop_set_placement(f->db, "d1", "host1", NULL), 0);
	assert_int_equal(db_host_list(f->db, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].desktops, 1);
	assert_int_equal(list[0].reserved_mb, 256);
	free(list);
	assert_int_equal(db_host_set_maintenance(f->db, "nohost", true), -ENOENT);
}

static void test_jobs(void **state)
{
	struct fixture *f = *state;
	struct db_job j = { .kind = JOB_PROVISION, .state = JOB_QUEUED }, k, *list;
	struct db_desktop d;
	size_t n;

	add_user(f->db, "bob", ROLE_USER);
	add_user(f->db, "eve", ROLE_USER);
	add_pool(f->db, "p", 5);
	assert_int_equal(add_desktop(f->db, "d1", "p", "bob"), 0);
	snprintf(j.desktop, sizeof(j.desktop), "d1");
	snprintf(j.user, sizeof(j.user), "bob");
	assert_int_equal(db_job_add(f->db, &j), 0);
	assert_true(j.id > 0);
	assert_int_equal(db_desktop_get(f->db, "d1", &d), 0);
	assert_int_equal(d.job, j.id);
	/* One job per desktop at a time. */
	k = j;
	assert_int_equal(db_job_add(f->db, &k), -EBUSY);
	snprintf(k.desktop, sizeof(k.desktop), "nope");
	assert_int_equal(db_job_add(f->db, &k), -ENOENT);

	j.state = JOB_RUNNING;
	j.progress = 40;
	snprintf(j.message, sizeof(j.message), "creating the VM");
	assert_int_equal(db_job_update(f->db, &j), 0);
	assert_int_equal(db_job_get(f->db, j.id, &k), 0);
	assert_int_equal(k.state, JOB_RUNNING);
	assert_int_equal(k.progress, 40);
	assert_int_equal(k.finished, 0);
	assert_string_equal(k.message, "creating the VM");
	j.state = JOB_SUCCEEDED;
	j.progress = 100;
	assert_int_equal(db_job_update(f->db, &j), 0);
	assert_int_equal(db_job_get(f->db, j.id, &k), 0);
	assert_true(k.finished > 0);
	assert_int_equal(db_desktop_get(f->db, "d1", &d), 0);
	assert_int_equal(d.job, 0);

	/* A second job; visibility; newest first. */
	k = (struct db_job){ .kind = JOB_START, .state = JOB_QUEUED };
	snprintf(k.desktop, sizeof(k.desktop), "d1");
	snprintf(k.user, sizeof(k.user), "bob");
	assert_int_equal(db_job_add(f->db, &k), 0);
	assert_int_equal(db_job_list(f->db, NULL, 10, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, k.id);
	assert_int_equal(list[0].kind, JOB_START);
	free(list);
	assert_int_equal(db_job_list(f->db, NULL, 1, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(db_job_list(f->db, "eve", 10, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(db_job_list(f->db, "bob", 10, &list, &n), 0);
	assert_int_equal(n, 2);
	free(list);

	/* After a restart, unfinished jobs fail and let go of their desktop. */
	assert_int_equal(db_job_fail_unfinished(f->db, "broker restarted", 77), 0);
	assert_int_equal(db_job_get(f->db, k.id, &k), 0);
	assert_int_equal(k.state, JOB_FAILED);
	assert_string_equal(k.message, "broker restarted");
	assert_int_equal(db_desktop_get(f->db, "d1", &d), 0);
	assert_int_equal(d.job, 0);
}

static void test_sessions(void **state)
{
	struct fixture *f = *state;
	struct db_session s = { .created = 100, .last_seen = 100 }, g;

	add_user(f->db, "bob", ROLE_USER);
	snprintf(s.token_hash, sizeof(s.token_hash), "%064d", 1);
	snprintf(s.user, sizeof(s.user), "bob");
	snprintf(s.csrf, sizeof(s.csrf), "c");
	assert_int_equal(db_session_add(f->db, &s), 0);
	assert_int_equal(db_session_touch(f->db, s.token_hash, 150), 0);
	assert_int_equal(db_session_get(f->db, s.token_hash, &g), 0);
	assert_int_equal(g.last_seen, 150);
	assert_int_equal(db_session_purge(f->db, 50, 140), 0);
	assert_int_equal(db_session_get(f->db, s.token_hash, &g), 0);
	assert_int_equal(db_session_purge(f->db, 50, 151), 0);
	assert_int_equal(db_session_get(f->db, s.token_hash, &g), -ENOENT);
	/* Sessions go with their user. */
	assert_int_equal(db_session_add(f->db, &s), 0);
	assert_int_equal(db_user_delete(f->db, "bob"), 0);
	assert_int_equal(db_session_get(f->db, s.token_hash, &g), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verbatim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_desktops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
