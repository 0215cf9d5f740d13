// SPDX-License-Identifier: GPL-3.0-or-later
/* Passwords, logins, rate limits and sessions (broker/auth.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "db.h"

struct fixture {
	char dir[64];
	char path[96];
	struct db *db;
	struct auth_limiter *l;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct db_user u = { .role = ROLE_USER, .created = 1 };

	if (!f)
		return -1;
	/* Cheap hashes for the tests; the format carries N. */
	auth_set_scrypt_n(1024);
	snprintf(f->dir, sizeof(f->dir), "/tmp/skytest-broker-auth-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/broker.db", f->dir);
	if (db_open(f->path, NULL, &f->db) < 0 || auth_limiter_new(&f->l) < 0)
		return -1;
	snprintf(u.name, sizeof(u.name), "alice");
	if (auth_hash_password("correct horse", u.password, sizeof(u.password)) < 0 ||
	    db_user_add(f->db, &u) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	db_close(f->db);
	auth_limiter_free(f->l);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A base64 key of 32 zero bytes. */
#define KEY0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void test_hash(void **state)
{
	char h1[DB_HASH_MAX + 1], h2[DB_HASH_MAX + 1];
	char long_pw[AUTH_PASSWORD_MAX + 2];

	assert_int_equal(auth_hash_password("pässwörd 1", h1, sizeof(h1)), 0);
	assert_int_equal(strncmp(h1, "scrypt$1024$8$1$", 16), 0);
	assert_int_equal(auth_verify_password("pässwörd 1", h1), 0);
	assert_int_equal(auth_verify_password("pässwörd 2", h1), -EACCES);
	assert_int_equal(auth_verify_password("", h1), -EACCES);
	/* Salted: the same password hashes differently. */
	assert_int_equal(auth_hash_password("pässwörd 1", h2, sizeof(h2)), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(auth_verify_password("pässwörd 1", h2), 0);
	/* The default cost is what the brief asks. */
	assert_int_equal(AUTH_SCRYPT_N_DEFAULT, 1 << 15);

	assert_int_equal(auth_hash_password("", h1, sizeof(h1)), -EINVAL);
	memset(long_pw, 'a', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	assert_int_equal(auth_hash_password(long_pw, h1, sizeof(h1)), -EINVAL);
	assert_int_equal(auth_hash_password("x", h1, 10), -ENOBUFS);

	/* Malformed or hostile stored strings. */
	assert_int_equal(auth_verify_password("x", "scrypt$x"), -EINVAL);
	assert_int_equal(auth_verify_password("x", "pbkdf2$1$2$3$4$5"), -EINVAL);
	assert_int_equal(auth_verify_password("x", ""), -EINVAL);
	assert_int_equal(auth_verify_password("x", NULL), -EINVAL);
	/* N too large, not a power of two, r out of range. */
	assert_int_equal(auth_verify_password("x", "scrypt$4194304$8$1$"
					      "AAAAAAAAAAAAAAAAAAAAAA$"
					      KEY0), -EINVAL);
	assert_int_equal(auth_verify_password("x", "scrypt$1000$8$1$"
					      "AAAAAAAAAAAAAAAAAAAAAA$"
					      KEY0), -EINVAL);
	assert_int_equal(auth_verify_password("x", "scrypt$1024$99$1$"
					      "AAAAAAAAAAAAAAAAAAAAAA$"
					      KEY0), -EINVAL);
	/* Well formed, wrong key. */
	assert_int_equal(auth_verify_password("x", "scrypt$1024$8$1$"
					      "AAAAAAAAAAAAAAAAAAAAAA$"
					      KEY0), -EACCES);
	/* Salt of the wrong length. */
	assert_int_equal(auth_verify_password("x", "scrypt$1024$8$1$"
					      "AAAAAAAAAAAAAAAAAAAAA$"
					      KEY0), -EINVAL);
}

static void test_password_rules(void **state)
{
	assert_true(auth_password_acceptable("12345678"));
	assert_true(auth_password_acceptable("ünïcödé pass"));
	assert_false(auth_password_acceptable("1234567"));
	assert_false(auth_password_acceptable("1234\n5678"));
	assert_false(auth_password_acceptable("1234\xff" "5678"));
	assert_false(auth_password_acceptable("1234\xc0\xaf" "5678")); /* overlong */
	assert_false(auth_password_acceptable(NULL));
}

static void test_login(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	unsigned ra = 0;

	assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "correct horse", "10.0.0.1", 1000,
				    &u, &ra), 0);
	assert_string_equal(u.name, "alice");
	assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "wrong", "10.0.0.1", 1000, &u, &ra),
			 -EACCES);
	/* Unknown users: the same answer. */
	assert_int_equal(auth_login(f->db, f->l, NULL, "mallory", "x", "10.0.0.1", 1000, &u, &ra),
			 -EACCES);
	assert_int_equal(auth_login(f->db, f->l, NULL, NULL, NULL, "10.0.0.1", 1000, &u, &ra),
			 -EACCES);
}

static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	unsigned ra = 0;
	int i;

	/* Five failures for alice from different addresses... */
	for (i = 0; i < AUTH_FAIL_MAX; i++) {
		char peer[32];

		snprintf(peer, sizeof(peer), "10.0.1.%d", i);
		assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "bad", peer, 1000 + i, &u,
					    &ra), -EACCES);
	}
	/* ...and even the right password is refused for a while. */
	assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "correct horse", "10.9.9.9", 1010,
				    &u, &ra), -EAGAIN);
	assert_int_equal(ra, 1000 + AUTH_FAIL_WINDOW_S - 1010);
	/* Once the oldest failure ages out, it works (and clears the user). */
	assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "correct horse", "10.9.9.9",
				    1000 + AUTH_FAIL_WINDOW_S, &u, &ra), 0);

	/* Per address: failures on many names from one address. */
	for (i = 0; i < AUTH_FAIL_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "nobody%d", i);
		assert_int_equal(auth_login(f->db, f->l, NULL, name, "bad", "10.0.2.1", 2000, &u,
					    &ra), -EACCES);
	}
	assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "correct horse", "10.0.2.1", 2001,
				    &u, &ra), -EAGAIN);
	assert_true(ra > 0 && ra <= AUTH_FAIL_WINDOW_S);
	/* Another address is not affected. */
	assert_int_equal(auth_login(f->db, f->l, NULL, "alice", "correct horse", "10.0.2.2", 2001,
				    &u, &ra), 0);
}

static void test_limiter_eviction(void **state)
{
	struct fixture *f = *state;
	unsigned ra;
	int i;

	/* Old entries make room; recent ones are kept. */
	for (i = 0; i < AUTH_FAIL_MAX; i++)
		auth_limiter_fail(f->l, "u:target", 5000);
	for (i = 0; i < 5000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "a:%d", i);
		auth_limiter_fail(f->l, k, 100); /* long ago */
	}
	assert_int_equal(auth_limiter_check(f->l, "u:target", 5001, &ra), -EAGAIN);
	auth_limiter_clear(f->l, "u:target");
	assert_int_equal(auth_limiter_check(f->l, "u:target", 5001, &ra), 0);
}

static void test_sessions(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1], token2[AUTH_TOKEN_LEN + 1];
	struct db_session s;
	int64_t t0 = 100000;

	assert_int_equal(auth_session_new(f->db, "alice", t0, token, csrf), 0);
	assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
	assert_string_not_equal(token, csrf);
	assert_int_equal(auth_session_check(f->db, token, t0 + 10, &s), 0);
	assert_string_equal(s.user, "alice");
	assert_true(auth_equal(s.csrf, csrf));
	assert_false(auth_equal(s.csrf, token));
	/* The token itself is not stored. */
	assert_int_equal(db_session_get(f->db, token, &s), -ENOENT);
	/* Wrong or malformed tokens. */
	memcpy(token2, token, sizeof(token2));
	token2[0] = token2[0] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_session_check(f->db, token2, t0 + 10, &s), -ENOENT);
	assert_int_equal(auth_session_check(f->db, "short", t0, &s), -ENOENT);
	assert_int_equal(auth_session_check(f->db, "'; DELETE FROM sessions; --'''''''''''''''''",
					    t0, &s), -ENOENT);
	assert_int_equal(auth_session_check(f->db, NULL, t0, &s), -ENOENT);

	/* Idle: kept alive by use, gone after an hour without. */
	assert_int_equal(auth_session_check(f->db, token, t0 + AUTH_SESSION_IDLE_S - 1, &s), 0);
	assert_int_equal(auth_session_check(f->db, token, t0 + 2 * AUTH_SESSION_IDLE_S - 2, &s), 0);
	assert_int_equal(auth_session_check(f->db, token, t0 + 4 * AUTH_SESSION_IDLE_S, &s),
			 -ETIMEDOUT);
	assert_int_equal(auth_session_check(f->db, token, t0 + 4 * AUTH_SESSION_IDLE_S, &s),
			 -ENOENT);

	/* Lifetime: 12 hours however busy. */
	assert_int_equal(auth_session_new(f->db, "alice", t0, token, csrf), 0);
	for (int64_t t = t0; t < t0 + AUTH_SESSION_LIFETIME_S; t += 1800)
		assert_int_equal(auth_session_check(f->db, token, t, &s), 0);
	assert_int_equal(auth_session_check(f->db, token, t0 + AUTH_SESSION_LIFETIME_S, &s),
			 -ETIMEDOUT);

	/* Logout. */
	assert_int_equal(auth_session_new(f->db, "alice", t0, token, csrf), 0);
	assert_int_equal(auth_session_end(f->db, token), 0);
	assert_int_equal(auth_session_check(f->db, token, t0, &s), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limiter_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
