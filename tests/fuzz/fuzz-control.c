// SPDX-License-Identifier: GPL-3.0-or-later
/* skyvm's control-socket request parser (hv/control.c) on arbitrary bytes. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_ctl_request req;
	struct json_object *id = NULL, *reply;
	const char *err = NULL;

	if (hv_ctl_parse((const char *)data, size, &req, &err, &id) == 0) {
		reply = hv_ctl_reply_ok(json_object_get(req.id), NULL);
		hv_ctl_request_finish(&req);
	} else {
		/* Every failure must name its reason for the client. */
		if (!err)
			__builtin_trap();
		reply = hv_ctl_reply_error(id, err);
	}
	json_object_put(reply);
	return 0;
}
