// SPDX-License-Identifier: GPL-3.0-or-later
/* One-time logon tokens (base/tokens.c). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tokens.h"

#define TOKEN_A "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"
#define TOKEN_B "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210_-edcba"

static char root[64];
static char dir[96];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/skytest-tokens-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(dir, sizeof(dir), "%s/tokens", root);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static time_t later(void)
{
	return time(NULL) + 60;
}

static int count_files(void)
{
	char cmd[160];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

static void test_generate(void **state)
{
	char a[TOKENS_MAX_LEN + 1], b[TOKENS_MAX_LEN + 1];

	(void)state;
	assert_int_equal(tokens_generate(a), 0);
	assert_int_equal(tokens_generate(b), 0);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789-_"), 43);
	assert_string_not_equal(a, b);
	/* A generated token is one tokens_put takes. */
	assert_int_equal(tokens_put(dir, "alice", "desk1", a, later()), 0);
}

static void test_put_take(void **state)
{
	struct token_info info;
	struct stat st;
	char path[160];

	(void)state;
	assert_int_equal(tokens_put(dir, "Alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/alice", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Names compare case-insensitively. */
	assert_int_equal(tokens_take(dir, "ALICE", TOKEN_A, &info), 0);
	assert_string_equal(info.user, "Alice");
	assert_string_equal(info.vm, "desk1");
	assert_true(info.expires > time(NULL));
	/* Once only, and nothing is left behind. */
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -ENOENT);
	assert_int_equal(count_files(), 0);
	assert_int_equal(tokens_take(dir, "bob", TOKEN_A, &info), -ENOENT);
}

static void test_wrong_token_kept(void **state)
{
	struct token_info info;

	(void)state;
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_B, &info), -EACCES);
	assert_int_equal(tokens_take(dir, "alice", "", &info), -EACCES);
	assert_int_equal(tokens_take(dir, "alice", NULL, &info), -EACCES);
	assert_int_equal(tokens_take(dir, "alice", "password1", &info), -EACCES);
	/* Another user's token is not alice's. */
	assert_int_equal(tokens_put(dir, "bob", "desk2", TOKEN_B, later()), 0);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_B, &info), -EACCES);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), 0);
	assert_string_equal(info.vm, "desk1");
	assert_int_equal(tokens_take(dir, "bob", TOKEN_B, &info), 0);
	assert_string_equal(info.vm, "desk2");
}

static void test_expired(void **state)
{
	struct token_info info;
	uint8_t nt[16];

	(void)state;
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, time(NULL) - 1), 0);
	assert_int_equal(tokens_nt_hash(dir, "alice", nt), -ESTALE);
	/* Expired is expired, right token or not, and it is removed. */
	assert_int_equal(tokens_take(dir, "alice", TOKEN_B, &info), -ESTALE);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -ENOENT);
	assert_int_equal(count_files(), 0);

	/* A later put sweeps away other users' expired tokens. */
	assert_int_equal(tokens_put(dir, "bob", "desk2", TOKEN_B, time(NULL) - 1), 0);
	assert_int_equal(count_files(), 1);
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(count_files(), 1);
	assert_int_equal(tokens_take(dir, "bob", TOKEN_B, &info), -ENOENT);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), 0);
}

static void test_newer_replaces(void **state)
{
	struct token_info info;

	(void)state;
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(tokens_put(dir, "alice", "desk9", TOKEN_B, later()), 0);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -EACCES);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_B, &info), 0);
	assert_string_equal(info.vm, "desk9");
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -ENOENT);
}

/* MD4 of the token's UTF-16LE, computed here apart from tokens.c. */
static void md4_utf16le(const char *s, uint8_t out[16])
{
	OSSL_PROVIDER *legacy = OSSL_PROVIDER_load(NULL, "legacy");
	uint8_t wide[2 * TOKENS_MAX_LEN];
	size_t i, n = strlen(s);
	unsigned int len = 0;
	EVP_MD *md;

	assert_non_null(legacy);
	for (i = 0; i < n; i++) {
		wide[2 * i] = (uint8_t)s[i];
		wide[2 * i + 1] = 0;
	}
	md = EVP_MD_fetch(NULL, "MD4", NULL);
	assert_non_null(md);
	assert_int_equal(EVP_Digest(wide, 2 * n, out, &len, md, NULL), 1);
	assert_int_equal(len, 16);
	EVP_MD_free(md);
	OSSL_PROVIDER_unload(legacy);
}

static void test_nt_hash(void **state)
{
	uint8_t nt[16], want[16], wrong[16];
	struct token_info info;

	(void)state;
	assert_int_equal(tokens_nt_hash(dir, "alice", nt), -ENOENT);
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(tokens_nt_hash(dir, "alice", nt), 0);
	md4_utf16le(TOKEN_A, want);
	assert_memory_equal(nt, want, 16);
	/* Looking takes nothing. */
	assert_int_equal(tokens_nt_hash(dir, "alice", nt), 0);
	assert_memory_equal(nt, want, 16);

	/* After NLA: only the hash given takes it. */
	memcpy(wrong, want, 16);
	wrong[15] ^= 1;
	assert_int_equal(tokens_take_nt(dir, "alice", wrong, &info), -EACCES);
	assert_int_equal(tokens_take_nt(dir, "alice", nt, &info), 0);
	assert_string_equal(info.vm, "desk1");
	assert_int_equal(tokens_take_nt(dir, "alice", nt, &info), -ENOENT);
	assert_int_equal(tokens_nt_hash(dir, "alice", nt), -ENOENT);

	/* A newer token's hash is not the older's. */
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_B, later()), 0);
	assert_int_equal(tokens_take_nt(dir, "alice", want, &info), -EACCES);
	md4_utf16le(TOKEN_B, want);
	assert_int_equal(tokens_nt_hash(dir, "alice", nt), 0);
	assert_memory_equal(nt, want, 16);
}

/* Two processes take the same token at the same moment: exactly one gets
 * it, the other hears there is none.  Many rounds, so that the two really
 * meet inside take() now and then. */
static void test_race(void **state)
{
	int round, wins = 0;

	(void)state;
	for (round = 0; round < 200; round++) {
		int go[2], i, status, got[2] = { 0, 0 };
		pid_t pid[2];

		assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
		assert_int_equal(pipe(go), 0);
		for (i = 0; i < 2; i++) {
			pid[i] = fork();
			assert_true(pid[i] >= 0);
			if (pid[i] == 0) {
				struct token_info info;
				char c;
				int r;

				close(go[1]);
				/* Both wait for the pipe to close. */
				if (read(go[0], &c, 1) != 0)
					_exit(99);
				r = tokens_take(dir, "alice", TOKEN_A, &info);
				_exit(r == 0 ? 0 : r == -ENOENT ? 1 : 2);
			}
		}
		close(go[0]);
		close(go[1]);
		for (i = 0; i < 2; i++) {
			assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
			assert_true(WIFEXITED(status));
			assert_true(WEXITSTATUS(status) <= 1);
			got[WEXITSTATUS(status)]++;
		}
		assert_int_equal(got[0], 1);
		assert_int_equal(got[1], 1);
		wins++;
		assert_int_equal(count_files(), 0);
	}
	assert_int_equal(wins, 200);
}

static void test_bad_input(void **state)
{
	static const char *const bad_names[] = {
		"", "-alice", ".alice", "al ice", "al/ice", "alice\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
	};
	struct token_info info;
	uint8_t nt[16] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		assert_int_equal(tokens_put(dir, bad_names[i], "desk1", TOKEN_A, later()), -EINVAL);
		assert_int_equal(tokens_put(dir, "alice", bad_names[i], TOKEN_A, later()), -EINVAL);
		assert_int_equal(tokens_take(dir, bad_names[i], TOKEN_A, &info), -EINVAL);
		assert_int_equal(tokens_take_nt(dir, bad_names[i], nt, &info), -EINVAL);
		assert_int_equal(tokens_nt_hash(dir, bad_names[i], nt), -EINVAL);
	}
	/* 64 is fine. */
	assert_int_equal(tokens_put(dir, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "desk1", TOKEN_A, later()),
			 0);
	assert_int_equal(tokens_put(dir, "alice", "desk1", "short", later()), -EINVAL);
	assert_int_equal(tokens_put(dir, "alice", "desk1", "0123456789abcde", later()), -EINVAL);
	assert_int_equal(tokens_put(dir, "alice", "desk1", "0123456789abcdef", later()), 0);
	assert_int_equal(tokens_put(dir, "alice", "desk1", "0123456789 abcdef", later()), -EINVAL);
	assert_int_equal(tokens_put(dir, "alice", "desk1", "0123456789\tabcdef", later()), -EINVAL);
	assert_int_equal(tokens_put(dir, "alice", "desk1", "0123456789\xc3\xa9" "abcdef", later()),
			 -EINVAL);
	assert_int_equal(tokens_put(dir, "alice", "desk1", NULL, later()), -EINVAL);
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, 0), -EINVAL);
	{
		char long_token[TOKENS_MAX_LEN + 2];

		memset(long_token, 'x', sizeof(long_token));
		long_token[TOKENS_MAX_LEN] = '\0';
		assert_int_equal(tokens_put(dir, "alice", "desk1", long_token, later()), 0);
		assert_int_equal(tokens_take(dir, "alice", long_token, &info), 0);
		long_token[TOKENS_MAX_LEN] = 'x';
		long_token[TOKENS_MAX_LEN + 1] = '\0';
		assert_int_equal(tokens_put(dir, "alice", "desk1", long_token, later()), -EINVAL);
	}
}

/* template with "S" for a good SHA-256 hex, "N" for a good NT hash hex. */
static void expand(const char *t, char *out, size_t size)
{
	static const char sha[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const char nt[] = "0123456789abcdef0123456789abcdef";
	size_t o = 0;

	for (; *t; t++) {
		const char *add = *t == 'S' ? sha : *t == 'N' ? nt : NULL;
		size_t n = add ? strlen(add) : 1;

		assert_true(o + n < size);
		memcpy(out + o, add ? add : t, n);
		o += n;
	}
	out[o] = '\0';
}

/* A file that is not one of ours is never taken for a token. */
static void test_damaged(void **state)
{
	static const char *const bad[] = {
		"",
		"tok1 alice desk1 9999999999 ",
		"tok2 alice desk1 9999999999 S N\n",
		"tok1 alice desk1 9999999999 S N",
		"tok1 alice desk1 9999999999 S N\n\n",
		"tok1  alice desk1 9999999999 S N\n",
		"tok1 alice desk/1 9999999999 S N\n",
		"tok1 alice desk1 -9999999999 S N\n",
		"tok1 alice desk1 09999999999 S N\n",
		"tok1 alice desk1 99999999999999999999 S N\n",
		"tok1 alice desk1 9999999999 S 0123456789ABCDEF0123456789ABCDEF\n",
		"tok1 alice desk1 9999999999 S Na\n",
		"tok1 alice desk1 9999999999 S N extra\n",
		"tok1 alice desk1 9999999999 aS N\n",
		"tok1 alice desk1 9999999999 S 0123456789abcdef0123456789abcde\n",
		"tok1 alice desk1 9999999999 S N", /* + NUL + newline (below) */
	};
	char line[512], path[160];
	struct token_info info;
	uint8_t hash[16];
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/alice", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* The template itself is a good file. */
	expand("tok1 alice desk1 9999999999 S N\n", line, sizeof(line));
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(line, f);
		fclose(f);
		assert_int_equal(tokens_nt_hash(dir, "alice", hash), 0);
		assert_int_equal(hash[0], 0x01);
		assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -EACCES);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");
		size_t len;

		assert_non_null(f);
		expand(bad[i], line, sizeof(line));
		len = strlen(line);
		/* The last one has a NUL inside. */
		if (i == sizeof(bad) / sizeof(bad[0]) - 1) {
			line[len++] = '\0';
			line[len++] = '\n';
		}
		assert_int_equal(fwrite(line, 1, len, f), len);
		fclose(f);
		assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -EBADMSG);
		assert_int_equal(tokens_nt_hash(dir, "alice", hash), -EBADMSG);
	}
	/* A symlink is not followed. */
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), -EBADMSG);
	/* A newer token replaces whatever was there. */
	assert_int_equal(tokens_put(dir, "alice", "desk1", TOKEN_A, later()), 0);
	assert_int_equal(tokens_take(dir, "alice", TOKEN_A, &info), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_take, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_token_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nt_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
