// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The RDP user store (users.h): one SQLite table, PBKDF2-HMAC-SHA256 for
 * the TLS password path and the NT hash for NLA.  Only parameterised
 * statements touch user input.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "users.h"

#define SALT_LEN 16
#define KEY_LEN 32 /* SHA-256 */
#define ITERATIONS 200000
/* A damaged or hostile row must not make a check take minutes. */
#define ITERATIONS_MAX 10000000
#define SCHEMA_VERSION 1
#define BUSY_MS 5000

struct rdp_users {
	sqlite3 *db;
};

/* Case-insensitive names as on Windows: COLLATE NOCASE covers the ASCII
 * names we accept, in the key and in every WHERE name = ?. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS users ("
	" name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
	" salt BLOB NOT NULL,"
	" pbkdf2 BLOB NOT NULL,"
	" iterations INTEGER NOT NULL,"
	" nt_hash BLOB,"
	" created INTEGER NOT NULL)";

static int sql_errno(int rc)
{
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
	case SQLITE_SCHEMA:
	case SQLITE_MISMATCH: return -EBADMSG;
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_TOOBIG: return -E2BIG;
	default: return -EIO;
	}
}

bool rdp_users_name_valid(const char *name)
{
	size_t n;

	if (!name || !*name || *name == '-' || *name == '.')
		return false;
	for (n = 0; name[n]; n++) {
		char c = name[n];

		if (n >= RDP_USERS_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Strict UTF-8 to UTF-16LE: no overlong forms, surrogates or code points
 * past U+10FFFF.  out holds 2 * len bytes (a 4-byte sequence makes a
 * surrogate pair, 4 bytes).  Returns the bytes written, or -EINVAL.
 */
static int utf8_to_utf16le(const char *s, size_t len, uint8_t *out)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;
	size_t o = 0;

	while (p < end) {
		uint32_t cp, min;
		int more;

		if (*p < 0x80) {
			cp = *p++;
			more = 0;
			min = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p++ & 0x1f;
			more = 1;
			min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p++ & 0x0f;
			more = 2;
			min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p++ & 0x07;
			more = 3;
			min = 0x10000;
		} else {
			return -EINVAL;
		}
		if (end - p < more)
			return -EINVAL;
		while (more--) {
			if ((*p & 0xc0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | (*p++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -EINVAL;
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000, hi = 0xd800 | v >> 10, lo = 0xdc00 | (v & 0x3ff);

			out[o++] = hi & 0xff;
			out[o++] = hi >> 8;
			out[o++] = lo & 0xff;
			out[o++] = lo >> 8;
		} else {
			out[o++] = cp & 0xff;
			out[o++] = cp >> 8;
		}
	}
	return (int)o;
}

static int password_len(const char *password, size_t *ret)
{
	size_t n;

	if (!password)
		return -EINVAL;
	n = strnlen(password, RDP_USERS_PASSWORD_MAX + 1);
	if (n == 0 || n > RDP_USERS_PASSWORD_MAX)
		return -EINVAL;
	*ret = n;
	return 0;
}

/*
 * MD4 lives in OpenSSL 3's legacy provider.  Loading it in a library
 * context of our own keeps it away from everything else in the process
 * (skyrdp's TLS uses the default context).
 */
static int md4(const uint8_t *data, size_t len, uint8_t out[16])
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *legacy = NULL;
	EVP_MD *md = NULL;
	unsigned int n = 0;
	int r = -EOPNOTSUPP;

	if (!ctx)
		return -ENOMEM;
	legacy = OSSL_PROVIDER_load(ctx, "legacy");
	if (legacy)
		md = EVP_MD_fetch(ctx, "MD4", NULL);
	if (md && EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == 16)
		r = 0;
	else
		ERR_clear_error(); /* stale errors would confuse a later SSL_get_error() */
	EVP_MD_free(md);
	if (legacy)
		OSSL_PROVIDER_unload(legacy);
	OSSL_LIB_CTX_free(ctx);
	return r;
}

static int pbkdf2(const char *password, size_t len, const uint8_t *salt, int iterations,
		  uint8_t out[KEY_LEN])
{
	if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, SALT_LEN, iterations, EVP_sha256(),
			      KEY_LEN, out) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

/* Everything a row stores about a password. */
struct secret {
	uint8_t salt[SALT_LEN];
	uint8_t key[KEY_LEN];
	uint8_t nt[16];
	bool nla;
};

static int make_secret(const char *name, const char *password, bool nla, struct secret *s)
{
	uint8_t wide[2 * RDP_USERS_PASSWORD_MAX];
	size_t len;
	int n, r;

	if (!rdp_users_name_valid(name))
		return -EINVAL;
	r = password_len(password, &len);
	if (r < 0)
		return r;
	/* Valid UTF-8 for every user, NLA or not: RDP clients send UTF-16,
	 * so nothing else could ever be typed, and NLA can be turned on later. */
	n = utf8_to_utf16le(password, len, wide);
	if (n < 0)
		return n;
	memset(s, 0, sizeof(*s));
	s->nla = nla;
	if (RAND_bytes(s->salt, SALT_LEN) != 1)
		r = -EIO;
	if (r == 0)
		r = pbkdf2(password, len, s->salt, ITERATIONS, s->key);
	if (r == 0 && nla)
		r = md4(wide, (size_t)n, s->nt);
	OPENSSL_cleanse(wide, sizeof(wide));
	if (r < 0)
		OPENSSL_cleanse(s, sizeof(*s));
	return r;
}

static int prepare(struct rdp_users *u, const char *sql, sqlite3_stmt **st)
{
	return sql_errno(sqlite3_prepare_v2(u->db, sql, -1, st, NULL));
}

/* Step a statement that returns no rows, then finalize it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

static int exec(sqlite3 *db, const char *sql)
{
	return sql_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int check_schema(sqlite3 *db)
{
	sqlite3_stmt *st;
	int version, rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	rc = sqlite3_step(st);
	version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (version < 0)
		return sql_errno(rc);
	if (version > SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	if (version == 0)
		return exec(db, "PRAGMA user_version = 1");
	return 0;
}

int rdp_users_open(const char *path, bool create, struct rdp_users **ret)
{
	struct rdp_users *u;
	int fd, rc, r;

	if (!path || !*path)
		return -EINVAL;
	if (create) {
		/* Made 0600 here: SQLite would create it 0644 less the umask,
		 * and its journal takes the database file's mode. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		close(fd);
	} else if (access(path, F_OK) < 0) {
		return -errno;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	/* FULLMUTEX costs nothing at this rate and keeps a handle shared by
	 * threads safe; fork()ed children must open their own. */
	rc = sqlite3_open_v2(path, &u->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
			     NULL);
	if (rc != SQLITE_OK) {
		r = sqlite3_system_errno(u->db) ? -sqlite3_system_errno(u->db) : sql_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(u->db, 1);
	sqlite3_busy_timeout(u->db, BUSY_MS);
	/* Old salts and hashes are zeroed, not left in free pages. */
	r = exec(u->db, "PRAGMA secure_delete = ON");
	if (r == 0)
		r = exec(u->db, schema);
	if (r == 0)
		r = check_schema(u->db);
	if (r < 0)
		goto fail;
	*ret = u;
	return 0;
fail:
	sqlite3_close(u->db);
	free(u);
	return r;
}

void rdp_users_close(struct rdp_users *u)
{
	if (!u)
		return;
	sqlite3_close(u->db);
	free(u);
}

static void bind_secret(sqlite3_stmt *st, const struct secret *s)
{
	sqlite3_bind_blob(st, 2, s->salt, SALT_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, s->key, KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, ITERATIONS);
	if (s->nla)
		sqlite3_bind_blob(st, 5, s->nt, 16, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
}

int rdp_users_add(struct rdp_users *u, const char *name, const char *password, bool nla)
{
	struct secret s;
	sqlite3_stmt *st;
	int r;

	r = make_secret(name, password, nla, &s);
	if (r < 0)
		return r;
	r = prepare(u, "INSERT INTO users (name, salt, pbkdf2, iterations, nt_hash, created) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		bind_secret(st, &s);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
		r = run(st);
	}
	OPENSSL_cleanse(&s, sizeof(s));
	return r;
}

int rdp_users_set_password(struct rdp_users *u, const char *name, const char *password, bool nla)
{
	struct secret s;
	sqlite3_stmt *st;
	int r;

	r = make_secret(name, password, nla, &s);
	if (r < 0)
		return r;
	r = prepare(u, "UPDATE users SET salt = ?2, pbkdf2 = ?3, iterations = ?4, nt_hash = ?5 "
		       "WHERE name = ?1", &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		bind_secret(st, &s);
		r = run(st);
	}
	if (r == 0 && sqlite3_changes(u->db) == 0)
		r = -ENOENT;
	OPENSSL_cleanse(&s, sizeof(s));
	return r;
}

int rdp_users_remove(struct rdp_users *u, const char *name)
{
	sqlite3_stmt *st;
	int r;

	if (!rdp_users_name_valid(name))
		return -EINVAL;
	r = prepare(u, "DELETE FROM users WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = run(st);
	if (r == 0 && sqlite3_changes(u->db) == 0)
		r = -ENOENT;
	return r;
}

int rdp_users_list(struct rdp_users *u,
		   void (*fn)(const char *name, bool nla, int64_t created, void *data), void *data)
{
	sqlite3_stmt *st;
	int rc, r;

	r = prepare(u, "SELECT name, nt_hash IS NOT NULL, created FROM users ORDER BY name", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (name)
			fn(name, sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2), data);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

int rdp_users_check_password(struct rdp_users *u, const char *name, const char *password)
{
	static const uint8_t dummy_salt[SALT_LEN];
	uint8_t want[KEY_LEN], got[KEY_LEN];
	const void *salt, *key;
	sqlite3_stmt *st;
	int64_t iterations;
	size_t len;
	int rc, r;

	if (!rdp_users_name_valid(name))
		return -ENOENT;
	if (password_len(password, &len) < 0)
		return -EACCES;
	r = prepare(u, "SELECT salt, pbkdf2, iterations FROM users WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		/* The same work as for a real user: timing must not tell
		 * which names exist. */
		pbkdf2(password, len, dummy_salt, ITERATIONS, got);
		OPENSSL_cleanse(got, sizeof(got));
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sql_errno(rc);
	}
	salt = sqlite3_column_blob(st, 0);
	key = sqlite3_column_blob(st, 1);
	iterations = sqlite3_column_int64(st, 2);
	if (!salt || sqlite3_column_bytes(st, 0) != SALT_LEN || !key ||
	    sqlite3_column_bytes(st, 1) != KEY_LEN || iterations < 1 ||
	    iterations > ITERATIONS_MAX) {
		sqlite3_finalize(st);
		return -EBADMSG;
	}
	memcpy(want, key, KEY_LEN);
	r = pbkdf2(password, len, salt, (int)iterations, got);
	sqlite3_finalize(st);
	if (r == 0)
		r = CRYPTO_memcmp(want, got, KEY_LEN) ? -EACCES : 0;
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(got, sizeof(got));
	return r;
}

int rdp_users_nt_hash(struct rdp_users *u, const char *name, uint8_t out[16])
{
	sqlite3_stmt *st;
	const void *h;
	int rc, r;

	if (!rdp_users_name_valid(name))
		return -ENOENT;
	r = prepare(u, "SELECT nt_hash FROM users WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		h = sqlite3_column_blob(st, 0);
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			r = -EPERM;
		else if (!h || sqlite3_column_bytes(st, 0) != 16)
			r = -EBADMSG;
		else
			memcpy(out, h, 16);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : sql_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}
