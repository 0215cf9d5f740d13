/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The broker's users: password hashes (scrypt via OpenSSL 3's EVP_KDF,
 * stored "scrypt$N$r$p$salt$hash" with base64 salt and key), login with
 * rate limiting, and sessions (a random token the client keeps, stored
 * only as its SHA-256; a CSRF token per session).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* N=2^15, r=8, p=1: 32 MiB and tens of milliseconds per hash. */
#define AUTH_SCRYPT_N_DEFAULT 32768
/* Hashes with a larger N (a damaged or hostile row) are refused. */
#define AUTH_SCRYPT_N_MAX (1 << 20)
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256
/* base64url of 32 random bytes */
#define AUTH_TOKEN_LEN 43

#define AUTH_SESSION_LIFETIME_S (12 * 3600)
#define AUTH_SESSION_IDLE_S 3600

/* More than AUTH_FAIL_MAX failures per user or per address within
 * AUTH_FAIL_WINDOW_S: refused until the oldest of them ages out. */
#define AUTH_FAIL_MAX 5
#define AUTH_FAIL_WINDOW_S 300

/* The scrypt N new hashes use (and the dummy check for unknown users):
 * AUTH_SCRYPT_N_DEFAULT, or $SKYLIGHT_SCRYPT_N (a power of two from 16,
 * for tests) read once. */
uint64_t auth_scrypt_n(void);
void auth_set_scrypt_n(uint64_t n);

/* Hash password into out ("scrypt$..."); -EINVAL for a password outside
 * 1..AUTH_PASSWORD_MAX bytes. */
int auth_hash_password(const char *password, char *out, size_t size);
/* 0 if password matches stored (constant-time compare), -EACCES if not,
 * -EINVAL for a malformed stored string. */
int auth_verify_password(const char *password, const char *stored);
/* Password rules for new passwords: AUTH_PASSWORD_MIN..MAX bytes of valid
 * UTF-8 without control characters. */
bool auth_password_acceptable(const char *password);

/* The password column of PAM users: never a valid hash, so it can never
 * verify locally (not even with --pam off). */
#define AUTH_PASSWORD_PAM "!pam"

/* PAM (authpam.h) for logins of users whose source is pam; service NULL
 * (or no struct) = off. */
struct auth_pam {
	const char *service; /* SERVICE of /etc/pam.d/SERVICE */
	const char *confdir; /* NULL: the system's; else pam_start_confdir()'s */
};

/* Login rate limiting (in memory, bounded). */
struct auth_limiter;
int auth_limiter_new(struct auth_limiter **ret);
void auth_limiter_free(struct auth_limiter *l);
/* -EAGAIN with *retry_after (seconds) when key has failed more than
 * AUTH_FAIL_MAX times within the window before now; else 0. */
int auth_limiter_check(struct auth_limiter *l, const char *key, int64_t now,
		       unsigned *retry_after);
void auth_limiter_fail(struct auth_limiter *l, const char *key, int64_t now);
void auth_limiter_clear(struct auth_limiter *l, const char *key);

/*
 * Check name and password, rate limited per user and per peer address:
 * 0 and *u filled, -EACCES (wrong name or password: the same work either
 * way), -EAGAIN (*retry_after set).  Every login (the REST API's and the
 * RDP front door's) comes here.  Who checks the password (docs/broker.md
 * "PAM"):
 *   - a user whose source is local: its scrypt hash, as without PAM;
 *   - a user whose source is pam: PAM (-EACCES while pam is off);
 *   - a valid name not in the database, pam on: PAM, and when PAM says yes
 *     the user is added (role user, source pam, AUTH_PASSWORD_PAM).
 * PAM attempts cost at least the scrypt work of a local one; the same
 * counters limit them.  An empty or over-long password never reaches PAM.
 */
int auth_login(struct db *db, struct auth_limiter *l, const struct auth_pam *pam,
	       const char *name, const char *password, const char *peer, int64_t now,
	       struct db_user *u, unsigned *retry_after);

/* A new session for user: token (what the client keeps) and csrf. */
int auth_session_new(struct db *db, const char *user, int64_t now,
		     char token[AUTH_TOKEN_LEN + 1], char csrf[AUTH_TOKEN_LEN + 1]);
/* The session of token, refreshed: 0 and *s, -ENOENT none (or a malformed
 * token), -ETIMEDOUT past its lifetime or idle limit (and removed). */
int auth_session_check(struct db *db, const char *token, int64_t now, struct db_session *s);
int auth_session_end(struct db *db, const char *token);

/* Constant-time string equality (for CSRF tokens). */
bool auth_equal(const char *a, const char *b);
/* n random bytes as base64url without padding into out (4n/3+1 bytes). */
int auth_random_token(char *out, size_t size, size_t nbytes);
