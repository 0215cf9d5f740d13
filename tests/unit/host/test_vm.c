// SPDX-License-Identifier: GPL-3.0-or-later
/* skyhostd's VM records, states, exits and crash policy (host/vm.c). */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "vm.h"

#define S(n) ((uint64_t)(n) * 1000000000ull)

/* wait(2) statuses as the kernel makes them. */
static int exited(int code)
{
	return (code & 0xff) << 8;
}

static int signaled(int sig)
{
	return sig & 0x7f;
}

static void test_names(void **state)
{
	char long_name[66];

	assert_true(host_name_valid("vm1"));
	assert_true(host_name_valid("A.b_c-9"));
	assert_false(host_name_valid(""));
	assert_false(host_name_valid("-vm"));
	assert_false(host_name_valid(".vm"));
	assert_false(host_name_valid("a/b"));
	assert_false(host_name_valid("a b"));
	assert_false(host_name_valid("é"));
	assert_false(host_name_valid(NULL));
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	assert_true(host_name_valid(long_name));
	long_name[64] = 'a';
	long_name[65] = '\0';
	assert_false(host_name_valid(long_name));
}

static void test_record_roundtrip(void **state)
{
	struct host_vm vm = { 0 }, back;
	struct json_object *o;
	const char *text;
	char err[128];

	strcpy(vm.name, "desk-1");
	strcpy(vm.template_name, "linux");
	vm.memory_mb = 2048;
	vm.cpus = 2;
	vm.want_running = true;
	vm.state = HOST_VM_RUNNING;
	vm.pid = 1234;
	o = host_vm_record_json(&vm);
	text = json_object_to_json_string(o);
	/* Only the record travels; the process does not. */
	assert_null(strstr(text, "1234"));
	memset(&back, 0x55, sizeof(back));
	assert_int_equal(host_vm_record_parse(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_string_equal(back.name, "desk-1");
	assert_string_equal(back.template_name, "linux");
	assert_int_equal(back.memory_mb, 2048);
	assert_int_equal(back.cpus, 2);
	assert_true(back.want_running);
	assert_int_equal(back.state, HOST_VM_OFF);
	assert_int_equal(back.pid, 0);
	assert_null(back.timer);
	json_object_put(o);

	vm.want_running = false;
	o = host_vm_record_json(&vm);
	text = json_object_to_json_string(o);
	assert_int_equal(host_vm_record_parse(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_false(back.want_running);
	json_object_put(o);
}

static void expect_bad(const char *text, const char *field)
{
	struct host_vm vm;
	char err[256] = "";

	assert_int_equal(host_vm_record_parse(text, strlen(text), &vm, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, field))
		fail_msg("\"%s\": error \"%s\" does not name %s", text, err, field);
}

static void test_record_bad(void **state)
{
	expect_bad("", "JSON");
	expect_bad("[]", "object");
	expect_bad("{\"name\":\"a\"", "truncated");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":64,\"cpus\":1,"
		   "\"desired\":\"off\"} x", "JSON");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":64,\"cpus\":1}", "desired");
	expect_bad("{\"name\":\"-a\",\"template\":\"t\",\"memory_mb\":64,\"cpus\":1,"
		   "\"desired\":\"off\"}", "name");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":\"64\",\"cpus\":1,"
		   "\"desired\":\"off\"}", "memory_mb");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":64.5,\"cpus\":1,"
		   "\"desired\":\"off\"}", "memory_mb");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":64,\"cpus\":65,"
		   "\"desired\":\"off\"}", "cpus");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":64,\"cpus\":1,"
		   "\"desired\":\"maybe\"}", "desired");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":64,\"cpus\":1,"
		   "\"desired\":\"off\",\"pid\":3}", "pid");
	expect_bad("{\"name\":\"a\",\"template\":\"t\",\"memory_mb\":99999999999999999999,"
		   "\"cpus\":1,\"desired\":\"off\"}", "memory_mb");
}

static void test_vm_json(void **state)
{
	struct host_vm vm = { 0 };
	struct json_object *o, *v;

	strcpy(vm.name, "v");
	strcpy(vm.template_name, "t");
	vm.memory_mb = 512;
	vm.cpus = 1;
	o = host_vm_json(&vm);
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "off");
	assert_true(json_object_object_get_ex(o, "pid", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "last_exit", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "started", &v));
	assert_null(v);
	json_object_put(o);

	vm.state = HOST_VM_RUNNING;
	vm.pid = 42;
	vm.started = 1700000000;
	vm.restarts = 3;
	strcpy(vm.last_exit, "killed by signal 9");
	o = host_vm_json(&vm);
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(o, "pid", &v));
	assert_int_equal(json_object_get_int(v), 42);
	assert_true(json_object_object_get_ex(o, "restarts", &v));
	assert_int_equal(json_object_get_int(v), 3);
	assert_true(json_object_object_get_ex(o, "started", &v));
	assert_string_equal(json_object_get_string(v), "2023-11-14T22:13:20Z");
	assert_true(json_object_object_get_ex(o, "last_exit", &v));
	assert_string_equal(json_object_get_string(v), "killed by signal 9");
	json_object_put(o);

	assert_string_equal(host_vm_state_name(HOST_VM_STARTING), "starting");
	assert_string_equal(host_vm_state_name(HOST_VM_STOPPING), "stopping");
	assert_string_equal(host_vm_state_name(HOST_VM_CRASHED), "crashed");
}

static void test_exit_text(void **state)
{
	char buf[48];

	host_exit_text(exited(3), buf, sizeof(buf));
	assert_string_equal(buf, "exit status 3");
	host_exit_text(exited(0), buf, sizeof(buf));
	assert_string_equal(buf, "exit status 0");
	host_exit_text(signaled(SIGKILL), buf, sizeof(buf));
	assert_string_equal(buf, "killed by signal 9");
	host_exit_text(signaled(SIGSEGV) | 0x80, buf, sizeof(buf));
	assert_string_equal(buf, "killed by signal 11 (core dumped)");
}

static void test_backoff(void **state)
{
	assert_int_equal(host_backoff_s(1), 1);
	assert_int_equal(host_backoff_s(2), 2);
	assert_int_equal(host_backoff_s(3), 4);
	assert_int_equal(host_backoff_s(5), 16);
	assert_int_equal(host_backoff_s(6), 30);
	assert_int_equal(host_backoff_s(7), 30);
	assert_int_equal(host_backoff_s(1000), 30);
}

static void test_crash_policy(void **state)
{
	struct host_crash_history h = { 0 };
	uint64_t t = S(1000);

	/* Quick crashes: 1, 2, 4, 8 s, then the fifth within 60 s gives up. */
	assert_int_equal(host_crash_record(&h, t, S(1)), 1);
	assert_int_equal(host_crash_record(&h, t += S(2), S(1)), 2);
	assert_int_equal(host_crash_record(&h, t += S(3), S(1)), 4);
	assert_int_equal(host_crash_record(&h, t += S(5), S(1)), 8);
	assert_int_equal(host_crash_record(&h, t += S(9), S(1)), -1);

	/* Crashes further apart than the window never give up, and the
	 * back-off grows to its cap while each run is short. */
	memset(&h, 0, sizeof(h));
	t = S(1000);
	for (int i = 0; i < 20; i++) {
		int d = host_crash_record(&h, t, S(20));

		assert_true(d >= 1 && d <= 30);
		if (i >= 5)
			assert_int_equal(d, 30);
		t += S(31);
	}
	/* A long run resets the back-off. */
	assert_int_equal(host_crash_record(&h, t, S(600)), 1);
}

static void test_exit_transitions(void **state)
{
	struct host_vm vm = { 0 };
	unsigned delay = 99;

	strcpy(vm.name, "v");
	/* A stop we asked for: off, whatever the status (even SIGKILL). */
	vm.state = HOST_VM_STOPPING;
	vm.pid = 10;
	vm.want_running = false;
	vm.stop_requested = true;
	assert_int_equal(host_vm_exited(&vm, signaled(SIGKILL), S(100), &delay), HOST_EXIT_OFF);
	assert_int_equal(vm.state, HOST_VM_OFF);
	assert_int_equal(vm.pid, 0);
	assert_false(vm.stop_requested);
	assert_int_equal(vm.restarts, 0);
	assert_string_equal(vm.last_exit, "killed by signal 9");

	/* A restart: off, then start again. */
	vm.state = HOST_VM_STOPPING;
	vm.pid = 11;
	vm.stop_requested = vm.restart_requested = vm.want_running = true;
	assert_int_equal(host_vm_exited(&vm, exited(0), S(110), &delay), HOST_EXIT_START);
	assert_int_equal(vm.state, HOST_VM_OFF);
	assert_false(vm.restart_requested);
	assert_true(vm.want_running);

	/* The guest powered off by itself: off, and it stays off. */
	vm.state = HOST_VM_RUNNING;
	vm.pid = 12;
	vm.want_running = true;
	assert_int_equal(host_vm_exited(&vm, exited(0), S(120), &delay), HOST_EXIT_OFF);
	assert_int_equal(vm.state, HOST_VM_OFF);
	assert_false(vm.want_running);
	assert_int_equal(vm.restarts, 0);

	/* Crashes: restarted with growing delays, then given up. */
	vm.want_running = true;
	for (unsigned i = 0; i < HOST_CRASH_MAX; i++) {
		enum host_exit_action a;

		vm.state = HOST_VM_RUNNING;
		vm.pid = 20 + (pid_t)i;
		vm.spawned_ns = S(200 + i * 2);
		vm.started = 1;
		a = host_vm_exited(&vm, i % 2 ? exited(3) : signaled(SIGKILL), S(201 + i * 2),
				   &delay);
		assert_int_equal(vm.state, HOST_VM_CRASHED);
		assert_int_equal(vm.pid, 0);
		assert_int_equal(vm.started, 0);
		assert_true(vm.want_running);
		if (i < HOST_CRASH_MAX - 1) {
			assert_int_equal(a, HOST_EXIT_RESTART);
			assert_int_equal(delay, 1u << i);
			assert_int_equal(vm.restarts, i + 1);
		} else {
			assert_int_equal(a, HOST_EXIT_GIVE_UP);
			assert_int_equal(vm.restarts, HOST_CRASH_MAX - 1);
		}
	}
	assert_string_equal(vm.last_exit, "killed by signal 9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_bad),
		cmocka_unit_test(test_vm_json),
		cmocka_unit_test(test_exit_text),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_crash_policy),
		cmocka_unit_test(test_exit_transitions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
