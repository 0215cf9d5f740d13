// SPDX-License-Identifier: GPL-3.0-or-later
/* The host API's request bodies (api.h). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "fields.h"
#include "util.h"

static const struct host_field vm_create_fields[] = {
	{ "template", HOST_FIELD_NAME, true, 0, 0, NULL },
	{ "memory_mb", HOST_FIELD_INT, false, HOST_VM_MEM_MIN_MB, HOST_VM_MEM_MAX_MB, NULL },
	{ "cpus", HOST_FIELD_INT, false, 1, HOST_VM_CPUS_MAX, NULL },
};

int host_api_parse_vm_create(const char *body, size_t len, struct host_vm_create *out,
			     char *err, size_t errlen)
{
	struct json_object *obj;
	int r;

	r = host_json_parse(body, len, &obj, err, errlen);
	if (r < 0)
		return r;
	r = host_fields_check(obj, vm_create_fields, ARRAY_SIZE(vm_create_fields), err, errlen);
	if (r == 0) {
		memset(out, 0, sizeof(*out));
		snprintf(out->template_name, sizeof(out->template_name), "%s",
			 host_field_str(obj, "template", ""));
		out->memory_mb = (uint32_t)host_field_int(obj, "memory_mb", 0);
		out->cpus = (uint32_t)host_field_int(obj, "cpus", 0);
	}
	json_object_put(obj);
	return r;
}

/* Printable ASCII without space: what tokens_generate() makes and what an
 * RDP client can carry as a password. */
static bool token_valid(const char *s)
{
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static const struct host_field token_fields[] = {
	{ "user", HOST_FIELD_NAME, true, 0, 0, NULL },
	{ "vm", HOST_FIELD_NAME, true, 0, 0, NULL },
	{ "token", HOST_FIELD_STRING, true, TOKENS_MIN_LEN, TOKENS_MAX_LEN, token_valid },
	{ "expires", HOST_FIELD_INT, true, 1, INT64_C(999999999999999999), NULL },
};

int host_api_parse_token(const char *body, size_t len, struct host_token_req *out, char *err,
			 size_t errlen)
{
	struct json_object *obj;
	int r;

	r = host_json_parse(body, len, &obj, err, errlen);
	if (r < 0)
		return r;
	r = host_fields_check(obj, token_fields, ARRAY_SIZE(token_fields), err, errlen);
	if (r == 0) {
		memset(out, 0, sizeof(*out));
		snprintf(out->user, sizeof(out->user), "%s", host_field_str(obj, "user", ""));
		snprintf(out->vm, sizeof(out->vm), "%s", host_field_str(obj, "vm", ""));
		snprintf(out->token, sizeof(out->token), "%s", host_field_str(obj, "token", ""));
		out->expires = host_field_int(obj, "expires", 0);
	}
	json_object_put(obj);
	return r;
}
