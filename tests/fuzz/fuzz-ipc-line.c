// SPDX-License-Identifier: GPL-3.0-or-later
/* ipc_parse_line() sees every line a control-socket peer sends. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *again = NULL;
	const char *s;
	size_t len;

	if (ipc_parse_line((const char *)data, size, &o) < 0) {
		if (o)
			abort();
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		abort();

	/* What ipc_send() writes for it must parse again. */
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s || memchr(s, '\n', len))
		abort();
	if (len <= IPC_MAX_LINE && ipc_parse_line(s, len, &again) < 0)
		abort();
	json_object_put(again);
	json_object_put(o);
	return 0;
}
