// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * What skyrdp's worker reads from a VM's display socket (rdp/viewer.c):
 * skyvm is the peer, but a compromised VMM must not crash or steer the
 * RDP session.  Every accepted message must keep the promises the session
 * relies on; a pointer shape also goes through pointer_convert(), and the
 * same bytes through the auto-reconnect cookie parser (rdp/arc.c), which
 * reads files other processes wrote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "pointer.h"
#include "viewer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct viewer_msg *m)
{
	unsigned i;

	switch (m->type) {
	case VIEWER_MSG_MODE:
		if (m->mode.valid && ((uint64_t)m->mode.stride < (uint64_t)m->mode.width * 4 ||
				      !m->mode.width || m->mode.width > VIEWER_MAX_DIM ||
				      !m->mode.height || m->mode.height > VIEWER_MAX_DIM))
			abort();
		viewer_mode_fits(&m->mode, 0);
		viewer_mode_fits(&m->mode, 32u << 20);
		viewer_mode_fits(&m->mode, UINT64_MAX);
		break;
	case VIEWER_MSG_DAMAGE:
		if (m->damage.n > VIEWER_MAX_RECTS)
			abort();
		for (i = 0; i < m->damage.n; i++) {
			const struct rcc_rect *r = &m->damage.rects[i];

			if (!r->w || !r->h || r->x > VIEWER_MAX_DIM || r->w > VIEWER_MAX_DIM)
				abort();
		}
		break;
	case VIEWER_MSG_CURSOR:
		if (!m->cursor.width) {
			if (m->cursor.argb)
				abort();
			break;
		}
		if (!m->cursor.argb || !m->cursor.height ||
		    (uint64_t)m->cursor.width * m->cursor.height > VIEWER_CURSOR_MAX_PIXELS ||
		    m->cursor.hot_x >= m->cursor.width || m->cursor.hot_y >= m->cursor.height)
			abort();
		{
			struct pointer_shape p;

			if (pointer_convert(m->cursor.argb, m->cursor.width, m->cursor.height,
					    m->cursor.hot_x, m->cursor.hot_y, &p) == 0)
				pointer_shape_clear(&p);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct viewer_msg *m = malloc(sizeof(*m));
	struct arc_cookie c, d;
	char buf[256];
	int n;

	if (!m)
		return 0;
	if (viewer_parse((const char *)data, size, m) == 0) {
		check(m);
		viewer_msg_clear(m);
	}
	free(m);

	if (arc_parse((const char *)data, size, &c) == 0) {
		n = arc_format(&c, buf, sizeof(buf));
		if (n < 0 || arc_parse(buf, (size_t)n, &d) < 0 || memcmp(&c, &d, sizeof(c)))
			abort();
	}
	return 0;
}
