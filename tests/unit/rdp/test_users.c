// SPDX-License-Identifier: GPL-3.0-or-later
/* The RDP user store (rdp/users.c) on a temporary file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "users.h"

struct fixture {
	char dir[64];
	char path[96];
	struct rdp_users *u;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/skytest-users-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/users.db", f->dir);
	if (rdp_users_open(f->path, true, &f->u) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	rdp_users_close(f->u);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-journal", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_add_check(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rdp_users_add(f->u, "alice", "s3cret pass", true), 0);
	assert_int_equal(rdp_users_check_password(f->u, "alice", "s3cret pass"), 0);
	assert_int_equal(rdp_users_check_password(f->u, "alice", "s3cret pas"), -EACCES);
	assert_int_equal(rdp_users_check_password(f->u, "alice", "s3cret pass "), -EACCES);
	assert_int_equal(rdp_users_check_password(f->u, "alice", ""), -EACCES);
	assert_int_equal(rdp_users_check_password(f->u, "bob", "s3cret pass"), -ENOENT);
	/* Names are case-insensitive, as on Windows. */
	assert_int_equal(rdp_users_check_password(f->u, "ALICE", "s3cret pass"), 0);
	assert_int_equal(rdp_users_add(f->u, "alice", "other", true), -EEXIST);
	assert_int_equal(rdp_users_add(f->u, "Alice", "other", false), -EEXIST);
	/* The refused add left the password alone. */
	assert_int_equal(rdp_users_check_password(f->u, "alice", "s3cret pass"), 0);
}

static void test_set_password(void **state)
{
	struct fixture *f = *state;
	uint8_t h[16];

	assert_int_equal(rdp_users_set_password(f->u, "carol", "x", true), -ENOENT);
	assert_int_equal(rdp_users_add(f->u, "carol", "first", true), 0);
	assert_int_equal(rdp_users_nt_hash(f->u, "carol", h), 0);
	assert_int_equal(rdp_users_set_password(f->u, "carol", "second", false), 0);
	assert_int_equal(rdp_users_check_password(f->u, "carol", "first"), -EACCES);
	assert_int_equal(rdp_users_check_password(f->u, "carol", "second"), 0);
	/* --no-nla drops the NT hash. */
	assert_int_equal(rdp_users_nt_hash(f->u, "carol", h), -EPERM);
	assert_int_equal(rdp_users_set_password(f->u, "carol", "third", true), 0);
	assert_int_equal(rdp_users_nt_hash(f->u, "carol", h), 0);
}

static void test_remove(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rdp_users_add(f->u, "dave", "pw", false), 0);
	assert_int_equal(rdp_users_remove(f->u, "dave"), 0);
	assert_int_equal(rdp_users_remove(f->u, "dave"), -ENOENT);
	assert_int_equal(rdp_users_check_password(f->u, "dave", "pw"), -ENOENT);
	assert_int_equal(rdp_users_add(f->u, "dave", "pw2", false), 0);
	assert_int_equal(rdp_users_check_password(f->u, "dave", "pw2"), 0);
}

struct seen {
	char names[8][RDP_USERS_NAME_MAX + 1];
	bool nla[8];
	int64_t created[8];
	int n;
};

static void collect(const char *name, bool nla, int64_t created, void *data)
{
	struct seen *s = data;

	assert_true(s->n < 8);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->nla[s->n] = nla;
	s->created[s->n] = created;
	s->n++;
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	struct seen s = { 0 };
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(rdp_users_list(f->u, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(rdp_users_add(f->u, "zed", "pw", false), 0);
	assert_int_equal(rdp_users_add(f->u, "Bob", "pw", true), 0);
	assert_int_equal(rdp_users_add(f->u, "amy", "pw", true), 0);
	assert_int_equal(rdp_users_list(f->u, collect, &s), 0);
	assert_int_equal(s.n, 3);
	/* Name order, case-insensitively; spelled as added. */
	assert_string_equal(s.names[0], "amy");
	assert_string_equal(s.names[1], "Bob");
	assert_string_equal(s.names[2], "zed");
	assert_true(s.nla[0] && s.nla[1] && !s.nla[2]);
	for (int i = 0; i < 3; i++)
		assert_true(s.created[i] >= now - 5 && s.created[i] <= now + 5);
}

static void expect_nt(struct rdp_users *u, const char *name, const char *pw, const char *hex)
{
	uint8_t h[16];
	char got[33];

	assert_int_equal(rdp_users_add(u, name, pw, true), 0);
	assert_int_equal(rdp_users_nt_hash(u, name, h), 0);
	for (int i = 0; i < 16; i++)
		snprintf(got + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(got, hex);
}

static void test_nt_hash(void **state)
{
	struct fixture *f = *state;
	uint8_t h[16];

	/* MD4(UTF-16LE(password)); the last two were checked with
	 * iconv -t UTF-16LE | openssl dgst -md4 -provider legacy. */
	expect_nt(f->u, "u1", "password", "8846f7eaee8fb117ad06bdd830b7586c");
	expect_nt(f->u, "u2", "p\xc3\xa4ss", "411b68984d6b19bbb302455798320a06");
	expect_nt(f->u, "u3", "\xf0\x9f\x94\x91key", "08636ad2dbbe22210305db7278de577f");
	assert_int_equal(rdp_users_add(f->u, "u4", "password", false), 0);
	assert_int_equal(rdp_users_nt_hash(f->u, "u4", h), -EPERM);
	assert_int_equal(rdp_users_nt_hash(f->u, "nobody", h), -ENOENT);
	assert_int_equal(rdp_users_nt_hash(f->u, "bad name", h), -ENOENT);
}

static void test_bad_input(void **state)
{
	static const char *const names[] = {
		"", "-alice", ".alice", "a b", "a/b", "a\\b", "ali\xc3\xa9", "a@b", "a:b",
		"DOMAIN\\alice", "alice\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
	};
	struct fixture *f = *state;
	char big[RDP_USERS_PASSWORD_MAX + 2];
	struct seen s = { 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_false(rdp_users_name_valid(names[i]));
		assert_int_equal(rdp_users_add(f->u, names[i], "pw", false), -EINVAL);
		assert_int_equal(rdp_users_remove(f->u, names[i]), -EINVAL);
		assert_int_equal(rdp_users_check_password(f->u, names[i], "pw"), -ENOENT);
	}
	assert_false(rdp_users_name_valid(NULL));
	/* 64 bytes is the longest name. */
	assert_true(rdp_users_name_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_true(rdp_users_name_valid("a.b_c-D9"));

	assert_int_equal(rdp_users_add(f->u, "eve", "", false), -EINVAL);
	assert_int_equal(rdp_users_add(f->u, "eve", NULL, false), -EINVAL);
	memset(big, 'x', sizeof(big));
	big[RDP_USERS_PASSWORD_MAX + 1] = 0;
	assert_int_equal(rdp_users_add(f->u, "eve", big, false), -EINVAL);
	/* Invalid UTF-8: stray continuation, overlong '/', a surrogate,
	 * past U+10FFFF, truncated. */
	assert_int_equal(rdp_users_add(f->u, "eve", "a\x80", false), -EINVAL);
	assert_int_equal(rdp_users_add(f->u, "eve", "\xc0\xaf", true), -EINVAL);
	assert_int_equal(rdp_users_add(f->u, "eve", "\xed\xa0\x80", true), -EINVAL);
	assert_int_equal(rdp_users_add(f->u, "eve", "\xf4\x90\x80\x80", true), -EINVAL);
	assert_int_equal(rdp_users_add(f->u, "eve", "ab\xe2\x82", true), -EINVAL);
	big[RDP_USERS_PASSWORD_MAX] = 0;
	assert_int_equal(rdp_users_add(f->u, "eve", big, true), 0);
	assert_int_equal(rdp_users_check_password(f->u, "eve", big), 0);
	memset(big, 'x', sizeof(big));
	big[RDP_USERS_PASSWORD_MAX + 1] = 0;
	assert_int_equal(rdp_users_check_password(f->u, "eve", big), -EACCES);

	assert_int_equal(rdp_users_list(f->u, collect, &s), 0);
	assert_int_equal(s.n, 1);
}

/* Names that would break a statement built by pasting are refused before
 * SQL sees them, and the table survives. */
static void test_injection(void **state)
{
	static const char *const names[] = {
		"x' OR '1'='1", "x'; DROP TABLE users; --", "\" OR 1=1 --", "a%", "a_%'",
		"*", "alice' --",
	};
	struct fixture *f = *state;
	struct seen s = { 0 };

	assert_int_equal(rdp_users_add(f->u, "alice", "pw", true), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(rdp_users_add(f->u, names[i], "pw", true), -EINVAL);
		assert_int_equal(rdp_users_check_password(f->u, names[i], "pw"), -ENOENT);
		assert_int_equal(rdp_users_set_password(f->u, names[i], "pw", true), -EINVAL);
		assert_int_equal(rdp_users_remove(f->u, names[i]), -EINVAL);
	}
	/* Passwords are data too. */
	assert_int_equal(rdp_users_check_password(f->u, "alice", "' OR '1'='1"), -EACCES);
	assert_int_equal(rdp_users_add(f->u, "bob", "'); DROP TABLE users; --", true), 0);
	assert_int_equal(rdp_users_check_password(f->u, "bob", "'); DROP TABLE users; --"), 0);
	/* LIKE wildcards mean nothing to '='. */
	assert_int_equal(rdp_users_add(f->u, "a_b", "pw", false), 0);
	assert_int_equal(rdp_users_check_password(f->u, "axb", "pw"), -ENOENT);
	assert_int_equal(rdp_users_list(f->u, collect, &s), 0);
	assert_int_equal(s.n, 3);
}

static void test_file(void **state)
{
	struct fixture *f = *state;
	struct rdp_users *u2;
	char missing[128], notdb[128];
	struct stat st;
	mode_t old;
	FILE *fp;

	/* 0600 whatever the umask. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(missing, sizeof(missing), "%s/other.db", f->dir);
	old = umask(0);
	assert_int_equal(rdp_users_open(missing, true, &u2), 0);
	umask(old);
	assert_int_equal(stat(missing, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	rdp_users_close(u2);
	unlink(missing);

	assert_int_equal(rdp_users_open(missing, false, &u2), -ENOENT);
	assert_int_equal(access(missing, F_OK), -1);

	/* A second handle sees the first one's writes. */
	assert_int_equal(rdp_users_add(f->u, "frank", "pw", true), 0);
	assert_int_equal(rdp_users_open(f->path, false, &u2), 0);
	assert_int_equal(rdp_users_check_password(u2, "frank", "pw"), 0);
	assert_int_equal(rdp_users_remove(u2, "frank"), 0);
	rdp_users_close(u2);
	assert_int_equal(rdp_users_check_password(f->u, "frank", "pw"), -ENOENT);

	/* Something that is not a store. */
	snprintf(notdb, sizeof(notdb), "%s/not.db", f->dir);
	fp = fopen(notdb, "w");
	assert_non_null(fp);
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite database at all\n", fp);
	fclose(fp);
	assert_int_equal(rdp_users_open(notdb, false, &u2), -EBADMSG);
	unlink(notdb);

	assert_int_equal(rdp_users_open("", true, &u2), -EINVAL);
	rdp_users_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nt_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
