// SPDX-License-Identifier: GPL-3.0-or-later
/* Placement of new desktops (placement.h). */
#include <errno.h>
#include <string.h>

#include "placement.h"

int placement_pick(const struct placement_host *hosts, size_t n, int64_t memory_mb)
{
	int best = -ENOSPC;
	size_t i;

	if (memory_mb <= 0)
		return -ENOSPC;
	for (i = 0; i < n && i < (size_t)__INT_MAX__; i++) {
		const struct placement_host *h = &hosts[i];
		const struct placement_host *b = best >= 0 ? &hosts[best] : NULL;

		if (!h->healthy || h->maintenance || h->mem_free_mb < memory_mb)
			continue;
		if (b && (h->mem_free_mb < b->mem_free_mb ||
			  (h->mem_free_mb == b->mem_free_mb && strcmp(h->name, b->name) >= 0)))
			continue;
		best = (int)i;
	}
	return best;
}
