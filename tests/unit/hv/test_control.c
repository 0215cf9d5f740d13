// SPDX-License-Identifier: GPL-3.0-or-later
/* skyvm's control-request parser (hv/control.c). */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "control.h"

static int parse(const char *line, struct hv_ctl_request *req, const char **err,
		 struct json_object **id)
{
	return hv_ctl_parse(line, strlen(line), req, err, id);
}

static void test_commands(void **state)
{
	static const struct {
		const char *line;
		enum hv_ctl_cmd cmd;
	} ok[] = {
		{ "{\"cmd\":\"status\"}", HV_CTL_STATUS },
		{ "{\"cmd\":\"pause\",\"id\":1}", HV_CTL_PAUSE },
		{ "{\"id\":\"x\",\"cmd\":\"resume\"}", HV_CTL_RESUME },
		{ "{\"cmd\":\"stop\"}\r", HV_CTL_STOP },
		{ "{\"cmd\":\"console\"}", HV_CTL_CONSOLE },
		{ "{\"cmd\":\"vmbus\"}", HV_CTL_VMBUS },
		{ "{\"cmd\":\"ic\"}", HV_CTL_IC },
		{ "{\"cmd\":\"shutdown\"}", HV_CTL_SHUTDOWN },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct hv_ctl_request req;
		struct json_object *id = NULL;
		const char *err = NULL;

		assert_int_equal(parse(ok[i].line, &req, &err, &id), 0);
		assert_int_equal(req.cmd, ok[i].cmd);
		assert_null(id);
		assert_string_equal(hv_ctl_cmd_to_string(req.cmd),
				    i == 0 ? "status" : hv_ctl_cmd_to_string(ok[i].cmd));
		hv_ctl_request_finish(&req);
	}
}

static void test_shutdown_args(void **state)
{
	struct hv_ctl_request req;
	struct json_object *id = NULL;
	const char *err = NULL;
	char line[600];
	static const char *const bad[] = {
		"{\"cmd\":\"shutdown\",\"reboot\":1}",
		"{\"cmd\":\"shutdown\",\"reason\":5}",
		"{\"cmd\":\"shutdown\",\"timeout_s\":-1}",
		"{\"cmd\":\"shutdown\",\"timeout_s\":86401}",
		"{\"cmd\":\"shutdown\",\"timeout_s\":\"10\"}",
		"{\"cmd\":\"shutdown\",\"reason\":\"a\\u0000b\"}",
	};

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"shutdown\"}", &req, &err, &id), 0);
	assert_false(req.reboot);
	assert_string_equal(req.reason, "");
	assert_int_equal(req.timeout_s, 0);
	hv_ctl_request_finish(&req);
	assert_int_equal(parse("{\"cmd\":\"shutdown\",\"reboot\":true,\"reason\":\"patching\","
			       "\"timeout_s\":30,\"id\":4}", &req, &err, &id), 0);
	assert_true(req.reboot);
	assert_string_equal(req.reason, "patching");
	assert_int_equal(req.timeout_s, 30);
	hv_ctl_request_finish(&req);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(parse(bad[i], &req, &err, &id), -EINVAL);
		assert_non_null(err);
		json_object_put(id);
		id = NULL;
	}
	/* 257 bytes of reason is one too many. */
	snprintf(line, sizeof(line), "{\"cmd\":\"shutdown\",\"reason\":\"%0257d\"}", 0);
	assert_int_equal(parse(line, &req, &err, &id), -EINVAL);
	snprintf(line, sizeof(line), "{\"cmd\":\"shutdown\",\"reason\":\"%0256d\"}", 0);
	assert_int_equal(parse(line, &req, &err, &id), 0);
	assert_int_equal(strlen(req.reason), 256);
	hv_ctl_request_finish(&req);
}

static void test_id_echo(void **state)
{
	struct hv_ctl_request req;
	struct json_object *id = NULL, *reply, *v;
	const char *err = NULL;

	assert_int_equal(parse("{\"cmd\":\"status\",\"id\":42}", &req, &err, &id), 0);
	reply = hv_ctl_reply_ok(json_object_get(req.id), NULL);
	assert_true(json_object_object_get_ex(reply, "id", &v));
	assert_int_equal(json_object_get_int(v), 42);
	assert_true(json_object_object_get_ex(reply, "ok", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(reply);
	hv_ctl_request_finish(&req);
}

static void test_errors(void **state)
{
	static const struct {
		const char *line;
		const char *err;
		bool has_id;
	} bad[] = {
		{ "", "request is not a JSON object", false },
		{ "garbage", "request is not a JSON object", false },
		{ "[\"status\"]", "request is not a JSON object", false },
		{ "{\"cmd\":\"status\"} x", "request is not a JSON object", false },
		{ "{}", "missing \"cmd\" string", false },
		{ "{\"cmd\":7,\"id\":3}", "missing \"cmd\" string", true },
		{ "{\"cmd\":\"reboot\",\"id\":\"r\"}", "unknown command", true },
		{ "{\"cmd\":\"status\",\"id\":[1]}", "\"id\" must be a number, string or boolean", false },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hv_ctl_request req;
		struct json_object *id = NULL, *reply;
		const char *err = NULL;

		assert_true(parse(bad[i].line, &req, &err, &id) < 0);
		assert_non_null(err);
		assert_string_equal(err, bad[i].err);
		assert_int_equal(id != NULL, bad[i].has_id);
		reply = hv_ctl_reply_error(id, err);
		assert_non_null(reply);
		json_object_put(reply);
	}
}

static void test_oversized(void **state)
{
	static char line[70 * 1024];
	struct hv_ctl_request req;
	struct json_object *id = NULL;
	const char *err = NULL;

	memset(line, ' ', sizeof(line));
	memcpy(line, "{\"cmd\":\"status\"}", 16);
	assert_int_equal(hv_ctl_parse(line, sizeof(line), &req, &err, &id), -EMSGSIZE);
	assert_string_equal(err, "request line too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_shutdown_args),
		cmocka_unit_test(test_id_echo),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_oversized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
