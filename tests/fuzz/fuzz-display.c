// SPDX-License-Identifier: GPL-3.0-or-later
/* The display socket's viewer-message parser (vgpu/display-server.c) on
 * arbitrary bytes: one line, as a viewer would send it. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "display-server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vgpu_display_msg m;
	const char *err = NULL;

	if (vgpu_display_msg_parse((const char *)data, size, &m, &err) < 0) {
		/* Every failure must name its reason for the viewer. */
		if (!err || !*err)
			__builtin_trap();
		return 0;
	}
	/* What reaches the input devices is in range. */
	switch (m.type) {
	case VGPU_DISPLAY_MSG_KEY:
		if (m.key.scancode < 1 || m.key.scancode > 127 || (m.key.e0 && m.key.e1))
			__builtin_trap();
		break;
	case VGPU_DISPLAY_MSG_MOUSE:
		if (m.mouse.x > 32767 || m.mouse.y > 32767 || m.mouse.buttons > 7 ||
		    m.mouse.wheel < -127)
			__builtin_trap();
		break;
	case VGPU_DISPLAY_MSG_RESOLUTION:
		if (!m.resolution.width || !m.resolution.height)
			__builtin_trap();
		break;
	case VGPU_DISPLAY_MSG_PING:
		if (m.id && json_object_is_type(m.id, json_type_string) &&
		    strlen(json_object_get_string(m.id)) > VGPU_DISPLAY_ID_MAX)
			__builtin_trap();
		break;
	}
	vgpu_display_msg_finish(&m);
	return 0;
}
