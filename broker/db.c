// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's database (db.h).  All of skybroker's SQL is here, bound
 * with parameters only.  The schema is plain SQL that PostgreSQL also
 * takes (TEXT, BIGINT, INTEGER, DOUBLE PRECISION, REFERENCES), with these
 * SQLite-only spots, each marked "SQLite:" below: the PRAGMAs, BEGIN
 * IMMEDIATE, and jobs.id as INTEGER PRIMARY KEY (the rowid; PostgreSQL
 * would say BIGINT GENERATED ALWAYS AS IDENTITY).  Booleans are INTEGER
 * 0/1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "util.h"

#define BUSY_MS 5000

struct db {
	sqlite3 *conn;
	pthread_mutex_t lock;
	int version;
};

/* --- enums as text ------------------------------------------------------- */

static const char *const role_names[] = { "user", "delegated_admin", "admin" };
static const char *const source_names[] = { "local", "pam" };
static const char *const kind_names[] = { "personal", "pooled" };
static const char *const job_kind_names[JOB_KIND_MAX] = {
	"provision", "start", "stop", "restart", "delete", "expire",
};
static const char *const job_state_names[] = { "queued", "running", "succeeded", "failed" };

static int parse_name(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *user_role_name(enum user_role r)
{
	return (unsigned)r < ARRAY_SIZE(role_names) ? role_names[r] : NULL;
}

int user_role_parse(const char *s, enum user_role *ret)
{
	int r = parse_name(role_names, ARRAY_SIZE(role_names), s);

	if (r >= 0)
		*ret = r;
	return r < 0 ? r : 0;
}

const char *user_source_name(enum user_source s)
{
	return (unsigned)s < ARRAY_SIZE(source_names) ? source_names[s] : NULL;
}

int user_source_parse(const char *s, enum user_source *ret)
{
	int r = parse_name(source_names, ARRAY_SIZE(source_names), s);

	if (r >= 0)
		*ret = r;
	return r < 0 ? r : 0;
}

const char *pool_kind_name(enum pool_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

int pool_kind_parse(const char *s, enum pool_kind *ret)
{
	int r = parse_name(kind_names, ARRAY_SIZE(kind_names), s);

	if (r >= 0)
		*ret = r;
	return r < 0 ? r : 0;
}

const char *job_kind_name(enum job_kind k)
{
	return (unsigned)k < ARRAY_SIZE(job_kind_names) ? job_kind_names[k] : NULL;
}

int job_kind_parse(const char *s, enum job_kind *ret)
{
	int r = parse_name(job_kind_names, ARRAY_SIZE(job_kind_names), s);

	if (r >= 0)
		*ret = r;
	return r < 0 ? r : 0;
}

const char *job_state_name(enum job_state s)
{
	return (unsigned)s < ARRAY_SIZE(job_state_names) ? job_state_names[s] : NULL;
}

int job_state_parse(const char *s, enum job_state *ret)
{
	int r = parse_name(job_state_names, ARRAY_SIZE(job_state_names), s);

	if (r >= 0)
		*ret = r;
	return r < 0 ? r : 0;
}

/* --- migrations ------------------------------------------------------------ */

/* migrations[i] takes the schema from version i to i + 1; append only. */
static const char *const migrations[DB_SCHEMA_VERSION] = {
	"CREATE TABLE users ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" role TEXT NOT NULL,"
	" email TEXT NOT NULL,"
	" password TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE sessions ("
	" token_hash TEXT PRIMARY KEY NOT NULL,"
	" user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
	" csrf TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" last_seen BIGINT NOT NULL);"
	"CREATE INDEX sessions_user ON sessions(user_name);"
	"CREATE TABLE pools ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" description TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" template TEXT NOT NULL,"
	" memory_mb BIGINT NOT NULL,"
	" cpus INTEGER NOT NULL,"
	" max_desktops INTEGER NOT NULL,"
	" expiry_days INTEGER NOT NULL,"
	" cost_per_gb_day DOUBLE PRECISION NOT NULL,"
	" cost_per_cpu_day DOUBLE PRECISION NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE hosts ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" api_url TEXT NOT NULL,"
	" rdp_address TEXT NOT NULL,"
	" healthy INTEGER NOT NULL,"
	" maintenance INTEGER NOT NULL,"
	" cpus INTEGER NOT NULL,"
	" mem_total_mb BIGINT NOT NULL,"
	" mem_free_mb BIGINT NOT NULL,"
	" last_heartbeat BIGINT NOT NULL);"
	/* host has no REFERENCES: a desktop keeps naming a host that is gone. */
	"CREATE TABLE desktops ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" description TEXT NOT NULL,"
	" pool TEXT NOT NULL REFERENCES pools(name),"
	" owner TEXT NOT NULL REFERENCES users(name),"
	" state TEXT NOT NULL,"
	" host TEXT,"
	" vm TEXT,"
	" memory_mb BIGINT NOT NULL,"
	" cpus INTEGER NOT NULL,"
	" created BIGINT NOT NULL,"
	" expires BIGINT,"
	" job BIGINT);"
	"CREATE INDEX desktops_owner ON desktops(owner);"
	"CREATE INDEX desktops_pool ON desktops(pool);"
	"CREATE INDEX desktops_host ON desktops(host);"
	"CREATE TABLE desktop_admins ("
	" desktop TEXT NOT NULL REFERENCES desktops(name) ON DELETE CASCADE,"
	" user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
	" PRIMARY KEY (desktop, user_name));"
	"CREATE INDEX desktop_admins_user ON desktop_admins(user_name);"
	/* The history outlives its desktops: no REFERENCES.
	 * SQLite: INTEGER PRIMARY KEY is the rowid, numbered by insertion. */
	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY NOT NULL,"
	" kind TEXT NOT NULL,"
	" desktop TEXT NOT NULL,"
	" host TEXT NOT NULL,"
	" user_name TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" progress INTEGER NOT NULL,"
	" message TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" finished BIGINT);"
	"CREATE INDEX jobs_desktop ON jobs(desktop);"
	"CREATE INDEX jobs_user ON jobs(user_name);",
	/* 2: where each user's password is checked (skybroker --pam). */
	"ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';",
	/* 3: desktops.owner may be NULL (the spares of pooled pools).  SQLite
	 * cannot drop a NOT NULL: the table is rebuilt (sqlite.org/lang_altertable.html,
	 * "other kinds of table schema changes"), with foreign keys off (migrate()). */
	"CREATE TABLE desktops_new ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" description TEXT NOT NULL,"
	" pool TEXT NOT NULL REFERENCES pools(name),"
	" owner TEXT REFERENCES users(name),"
	" state TEXT NOT NULL,"
	" host TEXT,"
	" vm TEXT,"
	" memory_mb BIGINT NOT NULL,"
	" cpus INTEGER NOT NULL,"
	" created BIGINT NOT NULL,"
	" expires BIGINT,"
	" job BIGINT);"
	"INSERT INTO desktops_new (name, description, pool, owner, state, host, vm, memory_mb,"
	" cpus, created, expires, job) SELECT name, description, pool, owner, state, host, vm,"
	" memory_mb, cpus, created, expires, job FROM desktops;"
	"DROP TABLE desktops;"
	"ALTER TABLE desktops_new RENAME TO desktops;"
	"CREATE INDEX desktops_owner ON desktops(owner);"
	"CREATE INDEX desktops_pool ON desktops(pool);"
	"CREATE INDEX desktops_host ON desktops(host);",
	/* 4: a quota of desktops per user in each pool (0: none). */
	"ALTER TABLE pools ADD COLUMN max_per_user INTEGER NOT NULL DEFAULT 0;",
};

/* --- helpers --------------------------------------------------------------- */

static int sql_errno(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -EBUSY;
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return -EEXIST;
	}
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH: return -EACCES;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_MISMATCH: return -EBADMSG;
	case SQLITE_CONSTRAINT: return -EINVAL;
	case SQLITE_TOOBIG: return -E2BIG;
	default: return -EIO;
	}
}

static void lock(struct db *db)
{
	pthread_mutex_lock(&db->lock);
}

static void unlock(struct db *db)
{
	pthread_mutex_unlock(&db->lock);
}

static void stmt_freep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}

#define _cleanup_stmt_ __attribute__((cleanup(stmt_freep)))

/*
 * Prepare sql and bind its parameters from fmt: 's' a string (NULL binds
 * SQL NULL, "" too for 'S'), 'i' an int64_t ('I': 0 binds NULL), 'd' a
 * double.
 */
static int vprep(struct db *db, sqlite3_stmt **ret, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	int rc, i;

	rc = sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	for (i = 1; fmt && *fmt; fmt++, i++) {
		const char *s;

		switch (*fmt) {
		case 's':
		case 'S':
			s = va_arg(ap, const char *);
			if (!s || (*fmt == 'S' && !*s))
				rc = sqlite3_bind_null(st, i);
			else
				rc = sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'I': {
			int64_t v = va_arg(ap, int64_t);

			rc = v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
			break;
		}
		case 'd':
			rc = sqlite3_bind_double(st, i, va_arg(ap, double));
			break;
		default:
			rc = SQLITE_MISUSE;
		}
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			return sql_errno(rc);
		}
	}
	*ret = st;
	return 0;
}

static int prep(struct db *db, sqlite3_stmt **ret, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprep(db, ret, sql, fmt, ap);
	va_end(ap);
	return r;
}

/* Run a statement that returns no rows: the number of rows it changed. */
static int exec(struct db *db, const char *sql, const char *fmt, ...)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	va_list ap;
	int r, rc;

	va_start(ap, fmt);
	r = vprep(db, &st, sql, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sql_errno(sqlite3_extended_errcode(db->conn));
	return sqlite3_changes(db->conn);
}

static int step(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sql_errno(sqlite3_extended_errcode(db->conn));
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(out, size, "%s", s ? (const char *)s : "");
}

static int64_t col_i(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

/* SQLite: BEGIN IMMEDIATE takes the write lock at once (PostgreSQL: BEGIN). */
static int begin(struct db *db)
{
	return sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ?
		       0 : sql_errno(sqlite3_extended_errcode(db->conn));
}

static int commit(struct db *db)
{
	return sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ?
		       0 : sql_errno(sqlite3_extended_errcode(db->conn));
}

static void rollback(struct db *db)
{
	sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

/* Grow *arr (of elem bytes) to hold one more; returns the new slot. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *p = reallocarray(*arr, nc, elem);

		if (!p)
			return NULL;
		*arr = p;
		*cap = nc;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	return (char *)*arr + (*n)++ * elem;
}

/* --- open, migrate ---------------------------------------------------------- */

static int read_version(struct db *db, int *version)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = prep(db, &st, "SELECT version FROM schema_version", NULL);
	if (r < 0)
		return r;
	r = step(db, st);
	if (r < 0)
		return r;
	*version = r ? (int)col_i(st, 0) : 0;
	return 0;
}

static int migrate(struct db *db)
{
	int r, v;

	r = exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		 NULL);
	if (r < 0)
		return r;
	r = read_version(db, &v);
	if (r < 0)
		return r;
	if (v < 0)
		return -EBADMSG;
	db->version = v;
	if (v > DB_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	/* SQLite: a table rebuilt by a migration must not take the rows that
	 * refer to it along (ON DELETE CASCADE); the PRAGMA is a no-op inside a
	 * transaction, so it goes around them all. */
	if (v < DB_SCHEMA_VERSION &&
	    sqlite3_exec(db->conn, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	for (; v < DB_SCHEMA_VERSION; v++) {
		r = begin(db);
		if (r < 0)
			return r;
		if (sqlite3_exec(db->conn, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			r = sql_errno(sqlite3_extended_errcode(db->conn));
			rollback(db);
			return r < 0 ? r : -EIO;
		}
		r = exec(db, "DELETE FROM schema_version", NULL);
		if (r >= 0)
			r = exec(db, "INSERT INTO schema_version (version) VALUES (?)", "i",
				 (int64_t)v + 1);
		if (r >= 0)
			r = commit(db);
		if (r < 0) {
			rollback(db);
			return r;
		}
		db->version = v + 1;
	}
	if (sqlite3_exec(db->conn, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	return 0;
}

int db_open(const char *path, int *found, struct db **ret)
{
	struct db *db;
	int fd, r;

	/* The file holds password hashes: create it 0600 before SQLite does
	 * (its -wal and -shm files take the same mode). */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	pthread_mutex_init(&db->lock, NULL);
	if (sqlite3_open_v2(path, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = db->conn ? sql_errno(sqlite3_errcode(db->conn)) : -ENOMEM;
		goto fail;
	}
	sqlite3_extended_result_codes(db->conn, 1);
	sqlite3_busy_timeout(db->conn, BUSY_MS);
	/* SQLite: journal mode and foreign keys are per-connection PRAGMAs. */
	if (sqlite3_exec(db->conn, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->conn, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->conn, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
		r = sql_errno(sqlite3_extended_errcode(db->conn));
		goto fail;
	}
	r = migrate(db);
	if (r < 0)
		goto fail;
	*ret = db;
	return 0;
fail:
	if (found)
		*found = db->version;
	if (r == 0)
		r = -EIO;
	db_close(db);
	return r;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	sqlite3_close(db->conn);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

int db_schema_version(struct db *db)
{
	return db->version;
}

/* --- users ------------------------------------------------------------------- */

#define USER_COLS "name, role, email, password, created, source"

static int read_user(sqlite3_stmt *st, struct db_user *u)
{
	char role[32], source[16];

	col_text(st, 0, u->name, sizeof(u->name));
	col_text(st, 1, role, sizeof(role));
	col_text(st, 2, u->email, sizeof(u->email));
	col_text(st, 3, u->password, sizeof(u->password));
	u->created = col_i(st, 4);
	col_text(st, 5, source, sizeof(source));
	if (user_role_parse(role, &u->role) < 0 || user_source_parse(source, &u->source) < 0)
		return -EBADMSG;
	return 0;
}

int db_user_add(struct db *db, const struct db_user *u)
{
	int r;

	lock(db);
	r = exec(db, "INSERT INTO users (" USER_COLS ") VALUES (?, ?, ?, ?, ?, ?)", "ssssis",
		 u->name, user_role_name(u->role), u->email, u->password, u->created,
		 user_source_name(u->source));
	unlock(db);
	return r < 0 ? r : 0;
}

int db_user_get(struct db *db, const char *name, struct db_user *u)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " USER_COLS " FROM users WHERE name = ?", "s", name);
	if (r >= 0)
		r = step(db, st);
	if (r > 0)
		r = read_user(st, u);
	else if (r == 0)
		r = -ENOENT;
	unlock(db);
	return r;
}

int db_user_update(struct db *db, const struct db_user *u)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE users SET role = ?, email = ?, password = ?, source = ?"
		 " WHERE name = ?", "sssss", user_role_name(u->role), u->email, u->password,
		 user_source_name(u->source), u->name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_user_delete(struct db *db, const char *name)
{
	int r;

	lock(db);
	r = exec(db, "DELETE FROM users WHERE name = ?", "s", name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_user_list(struct db *db, struct db_user **ret, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct db_user *arr = NULL, *u;
	size_t cnt = 0, cap = 0;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " USER_COLS " FROM users ORDER BY name", NULL);
	while (r >= 0 && (r = step(db, st)) > 0) {
		u = grow((void **)&arr, &cnt, &cap, sizeof(*u));
		r = u ? read_user(st, u) : -ENOMEM;
	}
	unlock(db);
	if (r < 0) {
		free(arr);
		return r;
	}
	*ret = arr;
	*n = cnt;
	return 0;
}

int db_user_count_role(struct db *db, enum user_role role, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT COUNT(*) FROM users WHERE role = ?", "s", user_role_name(role));
	if (r >= 0)
		r = step(db, st);
	if (r > 0) {
		*n = (size_t)col_i(st, 0);
		r = 0;
	} else if (r == 0) {
		r = -EIO;
	}
	unlock(db);
	return r;
}

/* --- sessions ---------------------------------------------------------------- */

int db_session_add(struct db *db, const struct db_session *s)
{
	int r;

	lock(db);
	r = exec(db, "INSERT INTO sessions (token_hash, user_name, csrf, created, last_seen)"
		 " VALUES (?, ?, ?, ?, ?)", "sssii",
		 s->token_hash, s->user, s->csrf, s->created, s->last_seen);
	unlock(db);
	return r < 0 ? r : 0;
}

int db_session_get(struct db *db, const char *token_hash, struct db_session *s)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT token_hash, user_name, csrf, created, last_seen FROM sessions"
		 " WHERE token_hash = ?", "s", token_hash);
	if (r >= 0)
		r = step(db, st);
	if (r > 0) {
		col_text(st, 0, s->token_hash, sizeof(s->token_hash));
		col_text(st, 1, s->user, sizeof(s->user));
		col_text(st, 2, s->csrf, sizeof(s->csrf));
		s->created = col_i(st, 3);
		s->last_seen = col_i(st, 4);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	unlock(db);
	return r;
}

int db_session_touch(struct db *db, const char *token_hash, int64_t now)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", "is", now,
		 token_hash);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_session_delete(struct db *db, const char *token_hash)
{
	int r;

	lock(db);
	r = exec(db, "DELETE FROM sessions WHERE token_hash = ?", "s", token_hash);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_session_delete_user(struct db *db, const char *user)
{
	int r;

	lock(db);
	r = exec(db, "DELETE FROM sessions WHERE user_name = ?", "s", user);
	unlock(db);
	return r < 0 ? r : 0;
}

int db_session_purge(struct db *db, int64_t created_before, int64_t seen_before)
{
	int r;

	lock(db);
	r = exec(db, "DELETE FROM sessions WHERE created < ? OR last_seen < ?", "ii",
		 created_before, seen_before);
	unlock(db);
	return r < 0 ? r : 0;
}

/* --- pools ------------------------------------------------------------------- */

#define POOL_COLS \
	"name, description, kind, template, memory_mb, cpus, max_desktops, expiry_days," \
	" cost_per_gb_day, cost_per_cpu_day, created, max_per_user"
#define POOL_COUNT "(SELECT COUNT(*) FROM desktops d WHERE d.pool = pools.name)"

static int read_pool(sqlite3_stmt *st, struct db_pool *p)
{
	char kind[32];

	col_text(st, 0, p->name, sizeof(p->name));
	col_text(st, 1, p->description, sizeof(p->description));
	col_text(st, 2, kind, sizeof(kind));
	col_text(st, 3, p->template, sizeof(p->template));
	p->memory_mb = col_i(st, 4);
	p->cpus = col_i(st, 5);
	p->max_desktops = col_i(st, 6);
	p->expiry_days = col_i(st, 7);
	p->cost_per_gb_day = sqlite3_column_double(st, 8);
	p->cost_per_cpu_day = sqlite3_column_double(st, 9);
	p->created = col_i(st, 10);
	p->max_per_user = col_i(st, 11);
	p->desktops = col_i(st, 12);
	return pool_kind_parse(kind, &p->kind) < 0 ? -EBADMSG : 0;
}

int db_pool_add(struct db *db, const struct db_pool *p)
{
	int r;

	lock(db);
	r = exec(db, "INSERT INTO pools (" POOL_COLS ")"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 "ssssiiiiddii", p->name, p->description, pool_kind_name(p->kind), p->template,
		 p->memory_mb, p->cpus, p->max_desktops, p->expiry_days, p->cost_per_gb_day,
		 p->cost_per_cpu_day, p->created, p->max_per_user);
	unlock(db);
	return r < 0 ? r : 0;
}

int db_pool_get(struct db *db, const char *name, struct db_pool *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " POOL_COLS ", " POOL_COUNT " FROM pools WHERE name = ?", "s",
		 name);
	if (r >= 0)
		r = step(db, st);
	if (r > 0)
		r = read_pool(st, p);
	else if (r == 0)
		r = -ENOENT;
	unlock(db);
	return r;
}

int db_pool_update(struct db *db, const struct db_pool *p)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE pools SET description = ?, kind = ?, template = ?, memory_mb = ?,"
		 " cpus = ?, max_desktops = ?, expiry_days = ?, cost_per_gb_day = ?,"
		 " cost_per_cpu_day = ?, max_per_user = ? WHERE name = ?", "sssiiiiddis",
		 p->description, pool_kind_name(p->kind), p->template, p->memory_mb, p->cpus,
		 p->max_desktops, p->expiry_days, p->cost_per_gb_day, p->cost_per_cpu_day,
		 p->max_per_user, p->name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_pool_delete(struct db *db, const char *name)
{
	int r;

	lock(db);
	r = exec(db, "DELETE FROM pools WHERE name = ?", "s", name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_pool_list(struct db *db, struct db_pool **ret, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct db_pool *arr = NULL, *p;
	size_t cnt = 0, cap = 0;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " POOL_COLS ", " POOL_COUNT " FROM pools ORDER BY name", NULL);
	while (r >= 0 && (r = step(db, st)) > 0) {
		p = grow((void **)&arr, &cnt, &cap, sizeof(*p));
		r = p ? read_pool(st, p) : -ENOMEM;
	}
	unlock(db);
	if (r < 0) {
		free(arr);
		return r;
	}
	*ret = arr;
	*n = cnt;
	return 0;
}

/* --- desktops ------------------------------------------------------------- */

#define DESKTOP_COLS \
	"name, description, pool, owner, state, host, vm, memory_mb, cpus, created, expires, job"

static int read_desktop(sqlite3_stmt *st, struct db_desktop *d)
{
	char state[32];

	col_text(st, 0, d->name, sizeof(d->name));
	col_text(st, 1, d->description, sizeof(d->description));
	col_text(st, 2, d->pool, sizeof(d->pool));
	col_text(st, 3, d->owner, sizeof(d->owner));
	col_text(st, 4, state, sizeof(state));
	col_text(st, 5, d->host, sizeof(d->host));
	col_text(st, 6, d->vm, sizeof(d->vm));
	d->memory_mb = col_i(st, 7);
	d->cpus = col_i(st, 8);
	d->created = col_i(st, 9);
	d->expires = col_i(st, 10);
	d->job = col_i(st, 11);
	return desktop_state_parse(state, &d->state) < 0 ? -EBADMSG : 0;
}

int db_desktop_add(struct db *db, const struct db_desktop *d, const char *const *admins,
		   size_t nadmins)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t i;
	int r;

	lock(db);
	r = begin(db);
	if (r < 0)
		goto out;
	/* The owner's desktops in the pool, but for Expired ones (a spare: none). */
	r = prep(db, &st, "SELECT max_desktops, " POOL_COUNT ", max_per_user,"
		 " (SELECT COUNT(*) FROM desktops d WHERE d.pool = pools.name AND d.owner = ?"
		 " AND d.state != 'Expired') FROM pools WHERE name = ?", "ss", d->owner, d->pool);
	if (r >= 0)
		r = step(db, st);
	if (r == 0)
		r = -ENOENT;
	if (r > 0)
		r = col_i(st, 1) >= col_i(st, 0) ? -EDQUOT
		    : d->owner[0] && col_i(st, 2) > 0 && col_i(st, 3) >= col_i(st, 2) ? -EUSERS
										      : 0;
	sqlite3_reset(st);
	if (r >= 0)
		r = exec(db, "INSERT INTO desktops (" DESKTOP_COLS ")"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "sssSsSSiiiII",
			 d->name, d->description, d->pool, d->owner, desktop_state_name(d->state),
			 d->host, d->vm, d->memory_mb, d->cpus, d->created, d->expires, d->job);
	for (i = 0; r >= 0 && i < nadmins; i++)
		r = exec(db, "INSERT INTO desktop_admins (desktop, user_name) VALUES (?, ?)", "ss",
			 d->name, admins[i]);
	if (r >= 0)
		r = commit(db);
	if (r < 0)
		rollback(db);
out:
	unlock(db);
	return r < 0 ? r : 0;
}

int db_desktop_get(struct db *db, const char *name, struct db_desktop *d)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " DESKTOP_COLS " FROM desktops WHERE name = ?", "s", name);
	if (r >= 0)
		r = step(db, st);
	if (r > 0)
		r = read_desktop(st, d);
	else if (r == 0)
		r = -ENOENT;
	unlock(db);
	return r;
}

int db_desktop_list(struct db *db, const struct db_desktop_filter *f, struct db_desktop **ret,
		    size_t *n)
{
	static const struct db_desktop_filter all;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct db_desktop *arr = NULL, *d;
	size_t cnt = 0, cap = 0;
	int r;

	if (!f)
		f = &all;
	lock(db);
	/* One statement for every filter: a NULL parameter matches all. */
	r = prep(db, &st, "SELECT " DESKTOP_COLS " FROM desktops WHERE"
		 " (? IS NULL OR owner = ? OR name IN"
		 "  (SELECT desktop FROM desktop_admins WHERE user_name = ?))"
		 " AND (? IS NULL OR owner = ?) AND (? IS NULL OR host = ?)"
		 " ORDER BY created, name", "sssssss",
		 f->visible_to, f->visible_to, f->visible_to, f->owner, f->owner, f->host, f->host);
	while (r >= 0 && (r = step(db, st)) > 0) {
		d = grow((void **)&arr, &cnt, &cap, sizeof(*d));
		r = d ? read_desktop(st, d) : -ENOMEM;
	}
	unlock(db);
	if (r < 0) {
		free(arr);
		return r;
	}
	*ret = arr;
	*n = cnt;
	return 0;
}

int db_desktop_delete(struct db *db, const char *name)
{
	int r;

	lock(db);
	r = exec(db, "DELETE FROM desktops WHERE name = ?", "s", name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_desktop_set_state(struct db *db, const char *name, const enum desktop_state *from,
			 enum desktop_state to)
{
	int r;

	lock(db);
	if (from)
		r = exec(db, "UPDATE desktops SET state = ? WHERE name = ? AND state = ?", "sss",
			 desktop_state_name(to), name, desktop_state_name(*from));
	else
		r = exec(db, "UPDATE desktops SET state = ? WHERE name = ?", "ss",
			 desktop_state_name(to), name);
	if (r == 0 && from) {
		struct db_desktop d;

		unlock(db);
		r = db_desktop_get(db, name, &d);
		return r < 0 ? r : -ESTALE;
	}
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_desktop_set_owner(struct db *db, const char *name, const char *owner)
{
	int r;

	lock(db);
	if (owner && *owner)
		r = exec(db, "UPDATE desktops SET owner = ? WHERE name = ? AND owner IS NULL", "ss",
			 owner, name);
	else
		r = exec(db, "UPDATE desktops SET owner = NULL WHERE name = ?", "s", name);
	unlock(db);
	if (r == 0 && owner && *owner) {
		struct db_desktop d;

		r = db_desktop_get(db, name, &d);
		return r < 0 ? r : -ESTALE;
	}
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_desktop_set_placement(struct db *db, const char *name, const char *host, const char *vm)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE desktops SET host = ?, vm = ? WHERE name = ?", "SSs", host, vm, name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_desktop_set_description(struct db *db, const char *name, const char *description)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE desktops SET description = ? WHERE name = ?", "ss", description,
		 name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_desktop_admins(struct db *db, const char *name, char (*out)[DB_NAME_MAX + 1], size_t max,
		      size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t cnt = 0;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT user_name FROM desktop_admins WHERE desktop = ?"
		 " ORDER BY user_name", "s", name);
	while (r >= 0 && (r = step(db, st)) > 0 && cnt < max)
		col_text(st, 0, out[cnt++], DB_NAME_MAX + 1);
	unlock(db);
	if (r < 0)
		return r;
	*n = cnt;
	return 0;
}

bool db_desktop_is_admin(struct db *db, const char *desktop, const char *user)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT 1 FROM desktop_admins WHERE desktop = ? AND user_name = ?", "ss",
		 desktop, user);
	if (r >= 0)
		r = step(db, st);
	unlock(db);
	return r > 0;
}

/* --- hosts ------------------------------------------------------------------- */

#define HOST_COLS \
	"name, api_url, rdp_address, healthy, maintenance, cpus, mem_total_mb, mem_free_mb," \
	" last_heartbeat," \
	" (SELECT COUNT(*) FROM desktops d WHERE d.host = hosts.name)," \
	" (SELECT COALESCE(SUM(d.memory_mb), 0) FROM desktops d WHERE d.host = hosts.name" \
	"  AND d.state IN ('Requested', 'Provisioning'))"

static void read_host(sqlite3_stmt *st, struct db_host *h)
{
	col_text(st, 0, h->name, sizeof(h->name));
	col_text(st, 1, h->api_url, sizeof(h->api_url));
	col_text(st, 2, h->rdp_address, sizeof(h->rdp_address));
	h->healthy = col_i(st, 3) != 0;
	h->maintenance = col_i(st, 4) != 0;
	h->cpus = col_i(st, 5);
	h->mem_total_mb = col_i(st, 6);
	h->mem_free_mb = col_i(st, 7);
	h->last_heartbeat = col_i(st, 8);
	h->desktops = col_i(st, 9);
	h->reserved_mb = col_i(st, 10);
}

int db_host_report(struct db *db, const struct db_host *h, int64_t now)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE hosts SET api_url = ?, rdp_address = ?, healthy = 1, cpus = ?,"
		 " mem_total_mb = ?, mem_free_mb = ?, last_heartbeat = ? WHERE name = ?",
		 "ssiiiis", h->api_url, h->rdp_address, h->cpus, h->mem_total_mb, h->mem_free_mb,
		 now, h->name);
	if (r == 0)
		r = exec(db, "INSERT INTO hosts (name, api_url, rdp_address, healthy, maintenance,"
			 " cpus, mem_total_mb, mem_free_mb, last_heartbeat)"
			 " VALUES (?, ?, ?, 1, 0, ?, ?, ?, ?)", "sssiiii", h->name, h->api_url,
			 h->rdp_address, h->cpus, h->mem_total_mb, h->mem_free_mb, now);
	unlock(db);
	return r < 0 ? r : 0;
}

int db_host_get(struct db *db, const char *name, struct db_host *h)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " HOST_COLS " FROM hosts WHERE name = ?", "s", name);
	if (r >= 0)
		r = step(db, st);
	if (r > 0) {
		read_host(st, h);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	unlock(db);
	return r;
}

int db_host_list(struct db *db, struct db_host **ret, size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct db_host *arr = NULL, *h;
	size_t cnt = 0, cap = 0;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " HOST_COLS " FROM hosts ORDER BY name", NULL);
	while (r >= 0 && (r = step(db, st)) > 0) {
		h = grow((void **)&arr, &cnt, &cap, sizeof(*h));
		if (!h)
			r = -ENOMEM;
		else
			read_host(st, h);
	}
	unlock(db);
	if (r < 0) {
		free(arr);
		return r;
	}
	*ret = arr;
	*n = cnt;
	return 0;
}

int db_host_set_healthy(struct db *db, const char *name, bool healthy)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE hosts SET healthy = ? WHERE name = ?", "is", (int64_t)healthy, name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int db_host_set_maintenance(struct db *db, const char *name, bool on)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE hosts SET maintenance = ? WHERE name = ?", "is", (int64_t)on, name);
	unlock(db);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* --- jobs -------------------------------------------------------------------- */

#define JOB_COLS "id, kind, desktop, host, user_name, state, progress, message, created, finished"

static int read_job(sqlite3_stmt *st, struct db_job *j)
{
	char kind[32], state[32];

	j->id = col_i(st, 0);
	col_text(st, 1, kind, sizeof(kind));
	col_text(st, 2, j->desktop, sizeof(j->desktop));
	col_text(st, 3, j->host, sizeof(j->host));
	col_text(st, 4, j->user, sizeof(j->user));
	col_text(st, 5, state, sizeof(state));
	j->progress = (int)col_i(st, 6);
	col_text(st, 7, j->message, sizeof(j->message));
	j->created = col_i(st, 8);
	j->finished = col_i(st, 9);
	if (job_kind_parse(kind, &j->kind) < 0 || job_state_parse(state, &j->state) < 0)
		return -EBADMSG;
	return 0;
}

int db_job_add(struct db *db, struct db_job *j)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t now = time(NULL);
	int r;

	lock(db);
	r = begin(db);
	if (r < 0)
		goto out;
	r = prep(db, &st, "SELECT job FROM desktops WHERE name = ?", "s", j->desktop);
	if (r >= 0)
		r = step(db, st);
	if (r == 0)
		r = -ENOENT;
	else if (r > 0)
		r = col_i(st, 0) ? -EBUSY : 0;
	sqlite3_reset(st);
	if (r >= 0)
		r = exec(db, "INSERT INTO jobs (kind, desktop, host, user_name, state, progress,"
			 " message, created, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
			 "sssssisi", job_kind_name(j->kind), j->desktop, j->host, j->user,
			 job_state_name(j->state), (int64_t)j->progress, j->message, now);
	if (r >= 0) {
		j->id = sqlite3_last_insert_rowid(db->conn);
		j->created = now;
		r = exec(db, "UPDATE desktops SET job = ? WHERE name = ?", "is", j->id,
			 j->desktop);
	}
	if (r >= 0)
		r = commit(db);
	if (r < 0)
		rollback(db);
out:
	unlock(db);
	return r < 0 ? r : 0;
}

int db_job_get(struct db *db, int64_t id, struct db_job *j)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", "i", id);
	if (r >= 0)
		r = step(db, st);
	if (r > 0)
		r = read_job(st, j);
	else if (r == 0)
		r = -ENOENT;
	unlock(db);
	return r;
}

int db_job_update(struct db *db, const struct db_job *j)
{
	bool done = j->state == JOB_SUCCEEDED || j->state == JOB_FAILED;
	int r;

	lock(db);
	r = exec(db, "UPDATE jobs SET state = ?, progress = ?, message = ?, finished = ?, host = ?"
		 " WHERE id = ?", "sisIsi", job_state_name(j->state), (int64_t)j->progress,
		 j->message, done ? (j->finished ? j->finished : (int64_t)time(NULL)) : (int64_t)0,
		 j->host, j->id);
	if (r > 0 && done)
		r = exec(db, "UPDATE desktops SET job = NULL WHERE name = ? AND job = ?", "si",
			 j->desktop, j->id);
	else if (r == 0)
		r = -ENOENT;
	unlock(db);
	return r < 0 ? r : 0;
}

int db_job_list(struct db *db, const char *visible_to, size_t limit, struct db_job **ret,
		size_t *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct db_job *arr = NULL, *j;
	size_t cnt = 0, cap = 0;
	int r;

	lock(db);
	r = prep(db, &st, "SELECT " JOB_COLS " FROM jobs WHERE ? IS NULL OR user_name = ?"
		 " OR desktop IN (SELECT name FROM desktops WHERE owner = ?)"
		 " OR desktop IN (SELECT desktop FROM desktop_admins WHERE user_name = ?)"
		 " ORDER BY id DESC LIMIT ?", "ssssi", visible_to, visible_to, visible_to,
		 visible_to, (int64_t)limit);
	while (r >= 0 && (r = step(db, st)) > 0) {
		j = grow((void **)&arr, &cnt, &cap, sizeof(*j));
		r = j ? read_job(st, j) : -ENOMEM;
	}
	unlock(db);
	if (r < 0) {
		free(arr);
		return r;
	}
	*ret = arr;
	*n = cnt;
	return 0;
}

int db_job_fail_unfinished(struct db *db, const char *message, int64_t now)
{
	int r;

	lock(db);
	r = exec(db, "UPDATE desktops SET job = NULL WHERE job IN"
		 " (SELECT id FROM jobs WHERE state IN ('queued', 'running'))", NULL);
	if (r >= 0)
		r = exec(db, "UPDATE jobs SET state = 'failed', message = ?, finished = ?"
			 " WHERE state IN ('queued', 'running')", "si", message, now);
	unlock(db);
	return r < 0 ? r : 0;
}
