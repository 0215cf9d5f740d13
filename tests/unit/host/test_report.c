// SPDX-License-Identifier: GPL-3.0-or-later
/* The HostReport and its memory figures (host/report.c). */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static void test_meminfo(void **state)
{
	static const char text[] = "MemTotal:       16318480 kB\n"
				   "MemFree:         1203400 kB\n"
				   "MemAvailable:   10240000 kB\n"
				   "Buffers:          123456 kB\n";
	uint64_t total = 0, avail = 0;

	assert_int_equal(host_meminfo_parse(text, strlen(text), &total, &avail), 0);
	assert_int_equal(total, 16318480 / 1024);
	assert_int_equal(avail, 10000);

	/* Missing, malformed, truncated, overflowing. */
	static const char *bad[] = {
		"MemTotal: 100 kB\n",
		"MemTotal: kB\nMemAvailable: 5 kB\n",
		"MemTotal: 100 MB\nMemAvailable: 5 kB\n",
		"MemTotal: 100 kB\nMemAvailable: 5",
		"MemTotal: 99999999999999999999999 kB\nMemAvailable: 5 kB\n",
		"XMemTotal: 100 kB\nMemAvailable: 5 kB\n",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(host_meminfo_parse(bad[i], strlen(bad[i]), &total, &avail),
				 -EINVAL);
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(host_meminfo_parse(text, 20, &total, &avail), -EINVAL);
}

static void test_mem_free(void **state)
{
	struct host_vm a = { .memory_mb = 1024, .state = HOST_VM_RUNNING };
	struct host_vm b = { .memory_mb = 2048, .state = HOST_VM_OFF };
	struct host_vm c = { .memory_mb = 512, .state = HOST_VM_CRASHED };
	struct host_vm *vms[] = { &a, &b, &c };

	assert_int_equal(host_committed_mb(vms, 3), 1536);
	/* --mem-total: total minus committed. */
	assert_int_equal(host_mem_free_mb(4096, UINT64_MAX, 1536), 2560);
	/* Clamped at 0. */
	assert_int_equal(host_mem_free_mb(1024, UINT64_MAX, 1536), 0);
	/* /proc/meminfo: the smaller of available and total minus committed. */
	assert_int_equal(host_mem_free_mb(8192, 1000, 1536), 1000);
	assert_int_equal(host_mem_free_mb(8192, 7000, 1536), 6656);
}

static void test_report_json(void **state)
{
	struct host_vm a = { .name = "v1", .template_name = "t", .memory_mb = 1024, .cpus = 2,
			     .state = HOST_VM_RUNNING, .pid = 77, .started = 1 };
	struct host_vm *vms[] = { &a };
	struct host_info info = {
		.name = "h1", .api_url = "https://10.0.0.1:8445", .rdp_address = NULL,
		.cpus = 16, .mem_total_mb = 65536, .mem_free_mb = 64512,
	};
	struct json_object *o = host_report_json(&info, vms, 1), *v, *vm;
	static const char *keys[] = { "name", "api_url", "rdp_address", "cpus", "mem_total_mb",
				      "mem_free_mb", "vms" };

	assert_non_null(o);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_true(json_object_object_get_ex(o, keys[i], NULL));
	assert_int_equal(json_object_object_length(o), 7);
	json_object_object_get_ex(o, "rdp_address", &v);
	assert_null(v);
	json_object_object_get_ex(o, "mem_free_mb", &v);
	assert_int_equal(json_object_get_int64(v), 64512);
	json_object_object_get_ex(o, "vms", &v);
	assert_int_equal(json_object_array_length(v), 1);
	vm = json_object_array_get_idx(v, 0);
	json_object_object_get_ex(vm, "state", &v);
	assert_string_equal(json_object_get_string(v), "running");
	json_object_object_get_ex(vm, "pid", &v);
	assert_int_equal(json_object_get_int(v), 77);
	json_object_put(o);

	info.rdp_address = "10.0.0.1:3389";
	o = host_report_json(&info, vms, 0);
	json_object_object_get_ex(o, "rdp_address", &v);
	assert_string_equal(json_object_get_string(v), "10.0.0.1:3389");
	json_object_object_get_ex(o, "vms", &v);
	assert_int_equal(json_object_array_length(v), 0);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_mem_free),
		cmocka_unit_test(test_report_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
