/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The broker's database (SQLite, WAL): every SQL statement of skybroker is
 * in db.c, parameterised, in SQL that PostgreSQL takes too where SQLite
 * allows it.  One connection under one mutex; every function is
 * thread-safe and returns 0 or -errno:
 *   -ENOENT   no such row
 *   -EEXIST   the name is taken
 *   -EBUSY    other rows still refer to it (a user's desktops, a pool's)
 *   -EDQUOT   the pool is full
 *   -EPROTONOSUPPORT  the file comes from a newer skybroker
 * Times are Unix seconds (0 = none).  Strings are NUL-terminated and fit
 * their arrays; callers validate them (names, lengths) before they come
 * here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desktop.h"

#define DB_SCHEMA_VERSION 4

#define DB_NAME_MAX 64
#define DB_DESC_MAX 1024
#define DB_EMAIL_MAX 254
#define DB_HASH_MAX 160
#define DB_URL_MAX 255
#define DB_ADDR_MAX 63
#define DB_MESSAGE_MAX 255
#define DB_TOKEN_HASH_LEN 64 /* SHA-256, hex */
#define DB_CSRF_MAX 64
#define DB_ADMINS_MAX 16

enum user_role {
	ROLE_USER,
	ROLE_DELEGATED_ADMIN,
	ROLE_ADMIN,
};

/* Where a user's password is checked: the database's scrypt hash, or PAM
 * (auth.h; docs/broker.md "PAM"). */
enum user_source {
	USER_SOURCE_LOCAL,
	USER_SOURCE_PAM,
};

enum pool_kind {
	POOL_PERSONAL,
	POOL_POOLED,
};

enum job_kind {
	JOB_PROVISION,
	JOB_START,
	JOB_STOP,
	JOB_RESTART,
	JOB_DELETE,
	JOB_EXPIRE,
	JOB_KIND_MAX,
};

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_SUCCEEDED,
	JOB_FAILED,
};

const char *user_role_name(enum user_role r);
int user_role_parse(const char *s, enum user_role *ret);
const char *user_source_name(enum user_source s);
int user_source_parse(const char *s, enum user_source *ret);
const char *pool_kind_name(enum pool_kind k);
int pool_kind_parse(const char *s, enum pool_kind *ret);
const char *job_kind_name(enum job_kind k);
int job_kind_parse(const char *s, enum job_kind *ret);
const char *job_state_name(enum job_state s);
int job_state_parse(const char *s, enum job_state *ret);

struct db_user {
	char name[DB_NAME_MAX + 1];
	enum user_role role;
	char email[DB_EMAIL_MAX + 1];
	/* auth.c's "scrypt$..." string; AUTH_PASSWORD_PAM for PAM users */
	char password[DB_HASH_MAX + 1];
	int64_t created;
	enum user_source source;
};

struct db_session {
	char token_hash[DB_TOKEN_HASH_LEN + 1];
	char user[DB_NAME_MAX + 1];
	char csrf[DB_CSRF_MAX + 1];
	int64_t created, last_seen;
};

struct db_pool {
	char name[DB_NAME_MAX + 1];
	char description[DB_DESC_MAX + 1];
	enum pool_kind kind;
	char template[DB_NAME_MAX + 1];
	int64_t memory_mb;
	int64_t cpus;
	int64_t max_desktops;
	int64_t max_per_user; /* each owner's desktops in it, Expired aside; 0 = no quota */
	int64_t expiry_days;  /* 0 = never */
	double cost_per_gb_day, cost_per_cpu_day;
	int64_t created;
	int64_t desktops; /* read only: how many desktops it has */
};

struct db_desktop {
	char name[DB_NAME_MAX + 1];
	char description[DB_DESC_MAX + 1];
	char pool[DB_NAME_MAX + 1];
	char owner[DB_NAME_MAX + 1]; /* "" = an unassigned spare of a pooled pool */
	enum desktop_state state;
	char host[DB_NAME_MAX + 1]; /* "" = not placed */
	char vm[DB_NAME_MAX + 1];   /* "" = none yet */
	int64_t memory_mb;
	int64_t cpus;
	int64_t created;
	int64_t expires; /* 0 = never */
	int64_t job;     /* the job running on it, 0 = none */
};

struct db_host {
	char name[DB_NAME_MAX + 1];
	char api_url[DB_URL_MAX + 1];
	char rdp_address[DB_ADDR_MAX + 1];
	bool healthy;
	bool maintenance;
	int64_t cpus;
	int64_t mem_total_mb, mem_free_mb;
	int64_t last_heartbeat;
	int64_t desktops; /* read only: desktops placed on it */
	/* read only: memory of its desktops that are placed but not yet
	 * created and running there (Requested, Provisioning), which the
	 * host's mem_free_mb does not count yet. */
	int64_t reserved_mb;
};

struct db_job {
	int64_t id;
	enum job_kind kind;
	char desktop[DB_NAME_MAX + 1];
	char host[DB_NAME_MAX + 1];
	char user[DB_NAME_MAX + 1];
	enum job_state state;
	int progress;
	char message[DB_MESSAGE_MAX + 1];
	int64_t created, finished;
};

struct db;

/* Open (creating it, mode 0600) and migrate to DB_SCHEMA_VERSION.  A file
 * of a newer schema is refused with -EPROTONOSUPPORT and its version in
 * *found (may be NULL). */
int db_open(const char *path, int *found, struct db **ret);
void db_close(struct db *db);
/* Which schema version the open database is at. */
int db_schema_version(struct db *db);

/* Users */
int db_user_add(struct db *db, const struct db_user *u);
int db_user_get(struct db *db, const char *name, struct db_user *u);
/* Writes role, email, password and source of u->name. */
int db_user_update(struct db *db, const struct db_user *u);
/* -EBUSY while the user owns desktops. */
int db_user_delete(struct db *db, const char *name);
int db_user_list(struct db *db, struct db_user **ret, size_t *n);
int db_user_count_role(struct db *db, enum user_role role, size_t *n);

/* Sessions (auth.c) */
int db_session_add(struct db *db, const struct db_session *s);
int db_session_get(struct db *db, const char *token_hash, struct db_session *s);
int db_session_touch(struct db *db, const char *token_hash, int64_t now);
int db_session_delete(struct db *db, const char *token_hash);
int db_session_delete_user(struct db *db, const char *user);
/* Remove sessions created before created_before or idle since seen_before. */
int db_session_purge(struct db *db, int64_t created_before, int64_t seen_before);

/* Pools */
int db_pool_add(struct db *db, const struct db_pool *p);
int db_pool_get(struct db *db, const char *name, struct db_pool *p);
/* Writes every field but name and created. */
int db_pool_update(struct db *db, const struct db_pool *p);
/* -EBUSY while it has desktops. */
int db_pool_delete(struct db *db, const char *name);
int db_pool_list(struct db *db, struct db_pool **ret, size_t *n);

/* Desktops */
struct db_desktop_filter {
	const char *visible_to; /* owned by this user or naming them admin; NULL = all */
	const char *owner;      /* owned by this user; NULL = any */
	const char *host;       /* placed on this host; NULL = any */
};
/* Adds d with its admins in one transaction: -EDQUOT when its pool has
 * max_desktops already, -EUSERS when its owner has the pool's max_per_user
 * already, -EEXIST when the name is taken. */
int db_desktop_add(struct db *db, const struct db_desktop *d, const char *const *admins,
		   size_t nadmins);
int db_desktop_get(struct db *db, const char *name, struct db_desktop *d);
int db_desktop_list(struct db *db, const struct db_desktop_filter *f, struct db_desktop **ret,
		    size_t *n);
int db_desktop_delete(struct db *db, const char *name);
/* Set the state; with from != NULL only if the state is *from (else
 * -ESTALE). */
int db_desktop_set_state(struct db *db, const char *name, const enum desktop_state *from,
			 enum desktop_state to);
/* host/vm NULL or "" clear them. */
/* Assign an unassigned desktop to owner (-ESTALE if it has one by now), or
 * with owner NULL or "" unassign it. */
int db_desktop_set_owner(struct db *db, const char *name, const char *owner);
int db_desktop_set_placement(struct db *db, const char *name, const char *host, const char *vm);
int db_desktop_set_description(struct db *db, const char *name, const char *description);
/* Its admins' names (at most DB_ADMINS_MAX). */
int db_desktop_admins(struct db *db, const char *name, char (*out)[DB_NAME_MAX + 1],
		      size_t max, size_t *n);
bool db_desktop_is_admin(struct db *db, const char *desktop, const char *user);

/* Hosts */
/* Insert or update from a heartbeat (keeps maintenance); healthy, last_heartbeat = now. */
int db_host_report(struct db *db, const struct db_host *h, int64_t now);
int db_host_get(struct db *db, const char *name, struct db_host *h);
int db_host_list(struct db *db, struct db_host **ret, size_t *n);
int db_host_set_healthy(struct db *db, const char *name, bool healthy);
int db_host_set_maintenance(struct db *db, const char *name, bool on);

/* Jobs */
/* Add j (id and created filled in) and, when j->desktop names one, make it
 * that desktop's running job: -EBUSY if it has one already, -ENOENT if it
 * is gone (except for kinds that need no desktop row). */
int db_job_add(struct db *db, struct db_job *j);
int db_job_get(struct db *db, int64_t id, struct db_job *j);
/* Writes state, progress, message, finished, host; a finished job
 * (succeeded/failed) also clears its desktop's job. */
int db_job_update(struct db *db, const struct db_job *j);
/* Newest first, at most limit; visible_to NULL = all, else jobs the user
 * started or on desktops they own or administer. */
int db_job_list(struct db *db, const char *visible_to, size_t limit, struct db_job **ret,
		size_t *n);
/* After a restart: queued and running jobs fail with message, and their
 * desktops lose the job. */
int db_job_fail_unfinished(struct db *db, const char *message, int64_t now);
