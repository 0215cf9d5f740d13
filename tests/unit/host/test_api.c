// SPDX-License-Identifier: GPL-3.0-or-later
/* The host API's request bodies (host/api.c, host/fields.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"

static void test_vm_create(void **state)
{
	struct host_vm_create c;
	char err[256];
	const char *body = "{\"template\":\"desk\",\"memory_mb\":4096,\"cpus\":4}";

	assert_int_equal(host_api_parse_vm_create(body, strlen(body), &c, err, sizeof(err)), 0);
	assert_string_equal(c.template_name, "desk");
	assert_int_equal(c.memory_mb, 4096);
	assert_int_equal(c.cpus, 4);
	/* Sizes may be left to the template; whitespace is fine. */
	body = " {\n  \"template\": \"desk\"\n}\n";
	assert_int_equal(host_api_parse_vm_create(body, strlen(body), &c, err, sizeof(err)), 0);
	assert_int_equal(c.memory_mb, 0);
	assert_int_equal(c.cpus, 0);
}

static void bad_create(const char *body, size_t len, const char *field)
{
	struct host_vm_create c;
	char err[256] = "";

	assert_int_equal(host_api_parse_vm_create(body, len, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, field))
		fail_msg("\"%s\": error \"%s\" does not name %s", body, err, field);
}

static void test_vm_create_bad(void **state)
{
	static const char nul[] = "{\"template\":\"a\"}\0";

#define BAD(s, f) bad_create(s, strlen(s), f)
	BAD("", "JSON");
	BAD("null", "object");
	BAD("{\"template\":\"desk\"", "truncated");
	BAD("{\"template\":\"desk\"}{}", "JSON");
	BAD("{\"template\":\"desk\",}", "JSON");
	BAD("{'template':'desk'}", "JSON");
	BAD("{\"memory_mb\":1024}", "template");
	BAD("{\"template\":\"../etc\"}", "template");
	BAD("{\"template\":7}", "template");
	BAD("{\"template\":\"desk\",\"memory_mb\":\"1024\"}", "memory_mb");
	BAD("{\"template\":\"desk\",\"memory_mb\":-1}", "memory_mb");
	BAD("{\"template\":\"desk\",\"memory_mb\":1e3}", "memory_mb");
	BAD("{\"template\":\"desk\",\"cpus\":true}", "cpus");
	BAD("{\"template\":\"desk\",\"cpus\":1000}", "cpus");
	BAD("{\"template\":\"desk\",\"owner\":\"x\"}", "owner");
	BAD("{\"template\":\"desk\",\"\\u0001\":1}", "unknown field");
	BAD("{\"template\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "JSON");
	BAD("{\"template\":\"de\xffsk\"}", "JSON");
#undef BAD
	bad_create(nul, sizeof(nul) - 1, "NUL");
}

static void test_token(void **state)
{
	struct host_token_req t;
	char err[256] = "";
	const char *body = "{\"user\":\"alice\",\"vm\":\"desk-1\","
			   "\"token\":\"abcdefghijklmnopqrstuvwxyz_-0123\",\"expires\":1900000000}";

	assert_int_equal(host_api_parse_token(body, strlen(body), &t, err, sizeof(err)), 0);
	assert_string_equal(t.user, "alice");
	assert_string_equal(t.vm, "desk-1");
	assert_string_equal(t.token, "abcdefghijklmnopqrstuvwxyz_-0123");
	assert_int_equal(t.expires, 1900000000);

	static const struct { const char *body, *field; } bad[] = {
		{ "{\"vm\":\"v\",\"token\":\"abcdefghijklmnop\",\"expires\":1}", "user" },
		{ "{\"user\":\"a\",\"vm\":\"v\",\"token\":\"short\",\"expires\":1}", "token" },
		{ "{\"user\":\"a\",\"vm\":\"v\",\"token\":\"abcdefgh ijklmnop\",\"expires\":1}",
		  "token" },
		{ "{\"user\":\"a\",\"vm\":\"v\",\"token\":\"abcdefghijklmnop\","
		  "\"expires\":\"2026-01-01T00:00:00Z\"}", "expires" },
		{ "{\"user\":\"a\",\"vm\":\"v\",\"token\":\"abcdefghijklmnop\",\"expires\":0}",
		  "expires" },
		{ "{\"user\":\"a b\",\"vm\":\"v\",\"token\":\"abcdefghijklmnop\",\"expires\":1}",
		  "user" },
		{ "{\"user\":\"a\",\"vm\":\"-v\",\"token\":\"abcdefghijklmnop\",\"expires\":1}",
		  "vm" },
		{ "{\"user\":\"a\",\"vm\":\"v\",\"token\":\"abcdefghijklmnop\",\"expires\":1,"
		  "\"x\":1}", "x" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(host_api_parse_token(bad[i].body, strlen(bad[i].body), &t, err,
						      sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].field))
			fail_msg("\"%s\": error \"%s\" does not name %s", bad[i].body, err,
				 bad[i].field);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_create),
		cmocka_unit_test(test_vm_create_bad),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
