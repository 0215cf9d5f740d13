// SPDX-License-Identifier: GPL-3.0-or-later
/* VM templates (host/template.c): parsing, and loading a folder where some
 * files are bad. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "template.h"

static const char good[] =
	"{\"name\":\"desk\",\"description\":\"A desktop\",\"kernel\":\"vmlinuz\","
	"\"initrd\":\"/boot/initrd.img\",\"cmdline\":\"console=ttyS0 quiet\","
	"\"memory_mb\":2048,\"cpus\":2,\"resolution\":\"1280x800\"}";

static void test_parse(void **state)
{
	struct host_template t;
	char err[256];

	assert_int_equal(host_template_parse(good, strlen(good), "desk", "/etc/tpl", &t, err,
					     sizeof(err)), 0);
	assert_string_equal(t.name, "desk");
	assert_string_equal(t.description, "A desktop");
	/* Relative paths are the templates folder's; absolute ones stay. */
	assert_string_equal(t.kernel, "/etc/tpl/vmlinuz");
	assert_string_equal(t.initrd, "/boot/initrd.img");
	assert_string_equal(t.cmdline, "console=ttyS0 quiet");
	assert_int_equal(t.memory_mb, 2048);
	assert_int_equal(t.cpus, 2);
	assert_int_equal(t.width, 1280);
	assert_int_equal(t.height, 800);

	/* Optional fields left out. */
	static const char minimal[] =
		"{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1}";
	assert_int_equal(host_template_parse(minimal, strlen(minimal), "m", "/d", &t, err,
					     sizeof(err)), 0);
	assert_string_equal(t.initrd, "");
	assert_string_equal(t.cmdline, "");
	assert_int_equal(t.width, 0);
}

static void expect_bad(const char *text, const char *stem, const char *field)
{
	struct host_template t;
	char err[256] = "";

	assert_int_equal(host_template_parse(text, strlen(text), stem, "/d", &t, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, field))
		fail_msg("\"%s\": error \"%s\" does not name %s", text, err, field);
}

static void test_parse_bad(void **state)
{
	expect_bad(good, "other", "name");
	expect_bad("{\"name\":\"m\",\"memory_mb\":256,\"cpus\":1}", "m", "kernel");
	expect_bad("{\"name\":\"m\",\"kernel\":\"\",\"memory_mb\":256,\"cpus\":1}", "m", "kernel");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":8,\"cpus\":1}", "m",
		   "memory_mb");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":0}", "m", "cpus");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1,"
		   "\"resolution\":\"100x100\"}", "m", "resolution");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1,"
		   "\"resolution\":\"1024x768x\"}", "m", "resolution");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1,"
		   "\"resolution\":\"+1024x768\"}", "m", "resolution");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1,"
		   "\"cmdline\":\"a\\nb\"}", "m", "cmdline");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1,"
		   "\"extra\":1}", "m", "extra");
	expect_bad("{\"name\":\"m\",\"kernel\":\"/k\",\"memory_mb\":256,\"cpus\":1,"
		   "\"description\":5}", "m", "description");
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/skytest-tpl-XXXXXX", text[512], path[256];
	struct host_templates ts;
	const char *names[] = { "kernel", "b.json", "a.json", "bad.json", "nokernel.json",
				"wrongname.json", "notes.txt" };

	assert_non_null(mkdtemp(dir));
	put(dir, "kernel", "not really a kernel");
	snprintf(text, sizeof(text),
		 "{\"name\":\"b\",\"kernel\":\"kernel\",\"memory_mb\":256,\"cpus\":1}");
	put(dir, "b.json", text);
	snprintf(text, sizeof(text),
		 "{\"name\":\"a\",\"kernel\":\"%s/kernel\",\"memory_mb\":512,\"cpus\":2,"
		 "\"description\":\"first\"}", dir);
	put(dir, "a.json", text);
	put(dir, "bad.json", "{\"name\":\"bad\",");
	put(dir, "nokernel.json",
	    "{\"name\":\"nokernel\",\"kernel\":\"missing\",\"memory_mb\":256,\"cpus\":1}");
	put(dir, "wrongname.json",
	    "{\"name\":\"other\",\"kernel\":\"kernel\",\"memory_mb\":256,\"cpus\":1}");
	put(dir, "notes.txt", "ignored");

	assert_int_equal(host_templates_load(dir, &ts), 0);
	assert_int_equal(ts.n, 2);
	assert_string_equal(ts.items[0].name, "a");
	assert_string_equal(ts.items[1].name, "b");
	assert_int_equal(ts.items[0].memory_mb, 512);
	assert_non_null(host_templates_find(&ts, "b"));
	assert_null(host_templates_find(&ts, "bad"));
	assert_null(host_templates_find(&ts, "nokernel"));
	host_templates_free(&ts);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	assert_int_equal(host_templates_load(dir, &ts), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
