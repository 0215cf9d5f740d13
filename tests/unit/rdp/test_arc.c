// SPDX-License-Identifier: GPL-3.0-or-later
/* Auto-reconnect cookies (rdp/arc.c): the verifier, the file format and the
 * store's once-only, time-limited rules on a temporary directory. */
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

#include "arc.h"

static const uint8_t zero32[32];

static void test_verifier(void **state)
{
	uint8_t random[16], v[16];
	/* HMAC-MD5(key 00..0f, 32 zero bytes), from Python's hmac. */
	static const uint8_t want[16] = {
		0xb6, 0x39, 0xc8, 0x73, 0x16, 0x38, 0x61, 0x8b,
		0x70, 0x79, 0x72, 0xaa, 0x6e, 0x96, 0xcf, 0x90,
	};
	int i;

	(void)state;
	for (i = 0; i < 16; i++)
		random[i] = (uint8_t)i;
	assert_int_equal(arc_verifier(random, zero32, v), 0);
	assert_memory_equal(v, want, 16);
	assert_true(arc_check(random, zero32, want));
	v[15] ^= 1;
	assert_false(arc_check(random, zero32, v));
	random[0] ^= 1;
	assert_false(arc_check(random, zero32, want));
}

static struct arc_cookie sample(void)
{
	struct arc_cookie c = {
		.logon_id = 0xdeadbeef,
		.issued = 1700000000,
		.ended = 0,
		.pid = 4242,
	};
	int i;

	for (i = 0; i < 16; i++)
		c.random[i] = (uint8_t)(0xa0 + i);
	strcpy(c.user, "alice.b-c_d");
	return c;
}

static void test_format(void **state)
{
	struct arc_cookie c = sample(), d;
	char buf[ARC_LINE_MAX];
	int n;

	(void)state;
	n = arc_format(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf, "arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1700000000 0 4242 "
				 "alice.b-c_d\n");
	assert_int_equal(arc_parse(buf, (size_t)n, &d), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(arc_format(&c, buf, 20), -ENOSPC);
	strcpy(c.user, "bad user");
	assert_int_equal(arc_format(&c, buf, sizeof(buf)), -EINVAL);

	/* With the session's VM, and a one-time token's NT hash. */
	c = sample();
	strcpy(c.vm, "desk1");
	n = arc_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1700000000 0 4242 "
				 "alice.b-c_d desk1\n");
	assert_int_equal(arc_parse(buf, (size_t)n, &d), 0);
	assert_string_equal(d.vm, "desk1");
	assert_false(d.have_nt);
	for (int i = 0; i < 16; i++)
		c.nt[i] = (uint8_t)(0x10 * i + 1);
	c.have_nt = true;
	n = arc_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1700000000 0 4242 "
				 "alice.b-c_d desk1 01112131415161718191a1b1c1d1e1f1\n");
	assert_int_equal(arc_parse(buf, (size_t)n, &d), 0);
	assert_string_equal(d.vm, "desk1");
	assert_true(d.have_nt);
	assert_memory_equal(d.nt, c.nt, 16);
	/* The longest cookie fits the store's buffers. */
	memset(c.user, 'u', ARC_USER_MAX);
	c.user[ARC_USER_MAX] = '\0';
	memset(c.vm, 'v', ARC_VM_MAX);
	c.vm[ARC_VM_MAX] = '\0';
	c.issued = c.ended = INT64_MAX;
	c.pid = INT32_MAX;
	n = arc_format(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(arc_parse(buf, (size_t)n, &d), 0);
	assert_memory_equal(d.vm, c.vm, sizeof(c.vm));
	/* A hash needs a VM before it. */
	c.vm[0] = '\0';
	assert_int_equal(arc_format(&c, buf, sizeof(buf)), -EINVAL);
	strcpy(c.vm, "bad vm");
	c.have_nt = false;
	assert_int_equal(arc_format(&c, buf, sizeof(buf)), -EINVAL);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"arc1",
		"arc2 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice",
		"arc1 deadbee a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice",
		"arc1 DEADBEEF a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeag 1 0 1 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadae 1 0 1 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf -1 0 1 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 ",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 al/ce",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice\n\n",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 99999999999999999999 0 1 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 2147483648 alice",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice ",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice desk/1",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice desk1 ",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice desk1 0011",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice desk1 "
		"01112131415161718191a1b1c1d1e1fg",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice desk1 "
		"01112131415161718191a1b1c1d1e1f1 x",
		"arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 alice  desk1",
		/* A 65-byte user name. */
		("arc1 deadbeef a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 1 0 1 "
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	};
	struct arc_cookie c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(arc_parse(bad[i], strlen(bad[i]), &c), -EINVAL);
}

static void test_usable(void **state)
{
	struct arc_cookie c = sample();

	(void)state;
	assert_true(arc_usable(&c, c.issued));
	assert_true(arc_usable(&c, c.issued + ARC_MAX_AGE_S));
	assert_false(arc_usable(&c, c.issued + ARC_MAX_AGE_S + 1));
	assert_false(arc_usable(&c, c.issued - 1));
	c.ended = c.issued + 100;
	assert_true(arc_usable(&c, c.ended + ARC_GRACE_S));
	assert_false(arc_usable(&c, c.ended + ARC_GRACE_S + 1));
	assert_false(arc_usable(&c, c.ended - 1));
}

static void test_store(void **state)
{
	char dir[64], sub[96], path[128];
	struct arc_cookie c, d, e;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/skytest-arc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/arc", dir);
	assert_int_equal(arc_issue(sub, "bad name", NULL, NULL, &c), -EINVAL);
	assert_int_equal(arc_issue(sub, "alice", NULL, NULL, &c), 0);
	assert_int_equal(c.pid, getpid());
	/* Once only. */
	assert_int_equal(arc_take(sub, c.logon_id, &d), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(arc_take(sub, c.logon_id, &d), -ENOENT);
	assert_int_equal(arc_take(sub, c.logon_id ^ 1, &d), -ENOENT);

	/* Ended long ago: stale, and gone after the attempt. */
	assert_int_equal(arc_issue(sub, "bob", NULL, NULL, &c), 0);
	e = c;
	e.issued -= 2 * ARC_GRACE_S;
	e.ended = e.issued + 1;
	snprintf(path, sizeof(path), "%s/%08x", sub, e.logon_id);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "arc1 %08x ", e.logon_id);
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", e.random[i]);
	fprintf(f, " %lld %lld %d bob\n", (long long)e.issued, (long long)e.ended, (int)e.pid);
	fclose(f);
	assert_int_equal(arc_take(sub, c.logon_id, &d), -ESTALE);
	assert_int_equal(access(path, F_OK), -1);

	/* A crashed worker's cookie ends when the listener reaps it. */
	assert_int_equal(arc_issue(sub, "carol", NULL, NULL, &c), 0);
	arc_orphan(sub, c.pid);
	assert_int_equal(arc_take(sub, c.logon_id, &d), 0);
	assert_true(d.ended >= c.issued);
	assert_int_equal(arc_end(sub, &c), -ENOENT);

	/* The VM and a token's NT hash come back with the cookie; the newest
	 * usable hash of a user is found without taking anything. */
	{
		uint8_t nt1[16], nt2[16], got[16];

		memset(nt1, 0x11, 16);
		memset(nt2, 0x22, 16);
		assert_int_equal(arc_find_nt(sub, "erin", got), -ENOENT);
		assert_int_equal(arc_issue(sub, "erin", NULL, nt1, &c), -EINVAL);
		assert_int_equal(arc_issue(sub, "erin", "bad/vm", NULL, &c), -EINVAL);
		assert_int_equal(arc_issue(sub, "erin", "desk1", NULL, &c), 0);
		assert_int_equal(arc_find_nt(sub, "erin", got), -ENOENT);
		assert_int_equal(arc_take(sub, c.logon_id, &d), 0);
		assert_string_equal(d.vm, "desk1");
		assert_false(d.have_nt);
		assert_int_equal(arc_issue(sub, "erin", "desk1", nt1, &e), 0);
		/* Issued a second later: the newer of the two. */
		sleep(1);
		assert_int_equal(arc_issue(sub, "erin", "desk2", nt2, &c), 0);
		assert_int_equal(arc_find_nt(sub, "ERIN", got), 0);
		assert_memory_equal(got, nt2, 16);
		assert_int_equal(arc_find_nt(sub, "frank", got), -ENOENT);
		assert_int_equal(arc_take(sub, c.logon_id, &d), 0);
		assert_string_equal(d.vm, "desk2");
		assert_memory_equal(d.nt, nt2, 16);
		assert_int_equal(arc_find_nt(sub, "erin", got), 0);
		assert_memory_equal(got, nt1, 16);
		assert_int_equal(arc_take(sub, e.logon_id, &d), 0);
		assert_memory_equal(d.nt, nt1, 16);
		assert_int_equal(arc_find_nt(sub, "erin", got), -ENOENT);
	}

	/* A normal end, then a take inside the grace period. */
	assert_int_equal(arc_issue(sub, "dave", NULL, NULL, &c), 0);
	assert_int_equal(arc_end(sub, &c), 0);
	assert_int_equal(arc_take(sub, c.logon_id, &d), 0);
	assert_true(d.ended != 0);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verifier),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
