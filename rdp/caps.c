// SPDX-License-Identifier: GPL-3.0-or-later
/* RDPGFX capability choice (caps.h). */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include "caps.h"


/* Newest first; 10.1 sits among the 10.x for the no-AVC fallback only. */
static const UINT32 order[] = {
	RDPGFX_CAPVERSION_107, RDPGFX_CAPVERSION_106, RDPGFX_CAPVERSION_106_ERR,
	RDPGFX_CAPVERSION_105, RDPGFX_CAPVERSION_104, RDPGFX_CAPVERSION_103,
	RDPGFX_CAPVERSION_102, RDPGFX_CAPVERSION_101, RDPGFX_CAPVERSION_10,
	RDPGFX_CAPVERSION_81,  RDPGFX_CAPVERSION_8,
};

static int find(const RDPGFX_CAPSET *sets, unsigned n, UINT32 version)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (sets[i].version == version)
			return (int)i;
	return -1;
}

static bool has_avc(const RDPGFX_CAPSET *c)
{
	switch (c->version) {
	case RDPGFX_CAPVERSION_8:
		return false;
	case RDPGFX_CAPVERSION_81:
		return c->flags & RDPGFX_CAPS_FLAG_AVC420_ENABLED;
	case RDPGFX_CAPVERSION_101:
		/* No flags field: nothing says AVC is on. */
		return false;
	default:
		return !(c->flags & RDPGFX_CAPS_FLAG_AVC_DISABLED);
	}
}

int gfx_caps_choose(const RDPGFX_CAPSET *sets, unsigned n, bool *avc)
{
	int first = -1;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(order); k++) {
		int i = find(sets, n, order[k]);

		if (i < 0)
			continue;
		if (has_avc(&sets[i])) {
			*avc = true;
			return i;
		}
		if (first < 0)
			first = i;
	}
	*avc = false;
	return first;
}
