// SPDX-License-Identifier: GPL-3.0-or-later
#include "control.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "ipc.h"
#include "util.h"

static const char *const cmd_names[] = {
	[HV_CTL_STATUS] = "status",
	[HV_CTL_PAUSE] = "pause",
	[HV_CTL_RESUME] = "resume",
	[HV_CTL_STOP] = "stop",
	[HV_CTL_CONSOLE] = "console",
	[HV_CTL_VCPUS] = "vcpus",
	[HV_CTL_VMBUS] = "vmbus",
	[HV_CTL_IC] = "ic",
	[HV_CTL_SHUTDOWN] = "shutdown",
};

const char *hv_ctl_cmd_to_string(enum hv_ctl_cmd cmd)
{
	return (unsigned)cmd < ARRAY_SIZE(cmd_names) ? cmd_names[cmd] : "unknown";
}

static bool id_usable(struct json_object *id)
{
	switch (json_object_get_type(id)) {
	case json_type_int:
	case json_type_string:
	case json_type_double:
	case json_type_boolean:
		return true;
	default:
		return false;
	}
}

static int parse_shutdown(struct json_object *obj, struct hv_ctl_request *req, const char **ret_err)
{
	struct json_object *v;

	if (json_object_object_get_ex(obj, "reboot", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			*ret_err = "\"reboot\" must be true or false";
			return -EINVAL;
		}
		req->reboot = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(obj, "reason", &v)) {
		const char *s;

		if (!json_object_is_type(v, json_type_string)) {
			*ret_err = "\"reason\" must be a string";
			return -EINVAL;
		}
		s = json_object_get_string(v);
		if ((size_t)json_object_get_string_len(v) > HV_CTL_REASON_MAX ||
		    strlen(s) != (size_t)json_object_get_string_len(v)) {
			*ret_err = "\"reason\" is longer than 256 bytes or holds a NUL";
			return -EINVAL;
		}
		memcpy(req->reason, s, strlen(s) + 1);
	}
	if (json_object_object_get_ex(obj, "timeout_s", &v)) {
		int64_t t;

		if (!json_object_is_type(v, json_type_int) ||
		    (t = json_object_get_int64(v)) < 0 || t > HV_CTL_TIMEOUT_MAX) {
			*ret_err = "\"timeout_s\" must be an integer from 0 to 86400";
			return -EINVAL;
		}
		req->timeout_s = (unsigned)t;
	}
	return 0;
}

int hv_ctl_request_from_object(struct json_object *obj, struct hv_ctl_request *ret,
			       const char **ret_err, struct json_object **ret_id)
{
	struct json_object *cmd, *id = NULL;
	const char *name;

	*ret_id = NULL;
	if (json_object_object_get_ex(obj, "id", &id)) {
		if (!id_usable(id)) {
			*ret_err = "\"id\" must be a number, string or boolean";
			return -EINVAL;
		}
		*ret_id = json_object_get(id);
	}
	if (!json_object_object_get_ex(obj, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		*ret_err = "missing \"cmd\" string";
		return -EINVAL;
	}
	name = json_object_get_string(cmd);
	for (unsigned i = 0; i < ARRAY_SIZE(cmd_names); i++) {
		if (!strcmp(name, cmd_names[i])) {
			struct hv_ctl_request req = { .cmd = (enum hv_ctl_cmd)i };
			int r;

			if (req.cmd == HV_CTL_SHUTDOWN) {
				r = parse_shutdown(obj, &req, ret_err);
				if (r < 0)
					return r;
			}
			req.id = *ret_id;
			*ret_id = NULL;
			*ret = req;
			return 0;
		}
	}
	*ret_err = "unknown command";
	return -EOPNOTSUPP;
}

int hv_ctl_parse(const char *line, size_t len, struct hv_ctl_request *ret, const char **ret_err,
		 struct json_object **ret_id)
{
	struct json_object *obj = NULL;
	int r;

	*ret_id = NULL;
	r = ipc_parse_line(line, len, &obj);
	if (r < 0) {
		*ret_err = r == -EMSGSIZE ? "request line too long" : "request is not a JSON object";
		return r;
	}
	r = hv_ctl_request_from_object(obj, ret, ret_err, ret_id);
	json_object_put(obj);
	return r;
}

void hv_ctl_request_finish(struct hv_ctl_request *req)
{
	json_object_put(req->id);
	req->id = NULL;
}

static struct json_object *reply_new(struct json_object *id, bool ok)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(id);
		return NULL;
	}
	if (id)
		json_object_object_add(o, "id", id);
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	return o;
}

struct json_object *hv_ctl_reply_ok(struct json_object *id, struct json_object *result)
{
	struct json_object *o = reply_new(id, true);

	if (!o) {
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(o, "result", result ? result : json_object_new_object());
	return o;
}

struct json_object *hv_ctl_reply_error(struct json_object *id, const char *error)
{
	struct json_object *o = reply_new(id, false);

	if (o)
		json_object_object_add(o, "error", json_object_new_string(error));
	return o;
}
